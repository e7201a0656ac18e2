"""vericarbon: check greenhouse-gas evidence packages against declarative YAML rulesets (ISO 14064-3,
ISO 14068-1, the International Carbon Registry) and write the findings up as a verification report.

    >>> import vericarbon
    >>> result = vericarbon.verify("evidence_samples/inventory-defects.json")
    >>> result.verdict
    'nonconformities'

The names in `__all__` are the public API (docs/python.md); every other module is internal. They load on
first use, so `import vericarbon` (and the command line's start-up) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vericarbon.version import __version__

__all__ = ["Finding", "InputError", "Result", "ValidationError", "load_ruleset", "screen", "validate", "verify", "__version__"]

if TYPE_CHECKING:
    from vericarbon.api import Finding, Result, ValidationError, load_ruleset, screen, validate, verify
    from vericarbon.errors import InputError


def __getattr__(name: str) -> Any:
    if name == "InputError":
        from vericarbon.errors import InputError

        return InputError
    if name in __all__:
        from vericarbon import api

        return getattr(api, name)
    raise AttributeError(f"module 'vericarbon' has no attribute {name!r}")

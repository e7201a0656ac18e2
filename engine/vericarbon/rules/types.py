"""Engagement types (issue 28 item 1): a ruleset declares once, in its header, the kinds of engagement or claim
it serves (`types: {NAME: {title, when}}`, each a condition over the package), and each rule names the types
it belongs to (`types: [..]`, absent: all). Here a rule naming an undeclared type is refused, and the
conditions (compiled per package kind in rules/compiling.py) say which types a package is and which rules
lie outside them; run/evaluate.py gates the rules with that before their `when`."""

from __future__ import annotations

from typing import Any

from vericarbon.errors import InputError
from vericarbon.lang import Compiled, Env
from vericarbon.rules.model import Ruleset

# A type whose condition names a field this package kind does not have: no package of the kind is of it
# (fields missing mean "not this type", never a failure).
NEVER = None


def check_rule_types(ruleset: Ruleset) -> None:
    """Every type a rule names is one the ruleset declares (a located error otherwise)."""
    declared = ruleset.data.get("types", {})
    for index, rule in enumerate(ruleset.rules):
        for position, name in enumerate(rule.get("types", [])):
            if name not in declared:
                known = ", ".join(declared) or "none declared"
                raise InputError(ruleset.path, f"rule {rule['id']}: type {name!r} is not declared in the ruleset's types (declared: {known})", f"/rules/{index}/types/{position}")


def package_types(types: dict[str, Compiled | None], package: Any, params: dict[str, Any]) -> list[str]:
    """The declared types the package is of: those whose condition holds (a missing field: it does not)."""
    return [name for name, condition in types.items() if condition is not NEVER and condition.fn(Env(package, params)) is True]


def outside_types(rule: dict, types: list[str]) -> str | None:
    """Why a rule does not apply to a package of these types, or None when it does (no `types`: all)."""
    belongs = rule.get("types")
    if not belongs or set(belongs) & set(types):
        return None
    return f"applies to {', '.join(belongs)}; this package is {', '.join(types) or 'of none of the ruleset types'}"

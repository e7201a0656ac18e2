"""Where the built-in rulesets and schemas live: engine/rulesets and engine/schemas (symlinks to the
repository's top-level folders in a checkout, real folders inside an installed wheel)."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def builtin_rulesets() -> list[Path]:
    return sorted((_HERE / "rulesets").glob("*.yaml"))


def builtin_schema_dir() -> Path:
    return _HERE / "schemas"

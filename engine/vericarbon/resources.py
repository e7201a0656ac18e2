"""Where the built-in rulesets and schemas live: engine/rulesets and engine/schemas (symlinks to the
repository's top-level folders in a checkout, real folders inside an installed wheel)."""

from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def builtin_rulesets() -> list[Path]:
    return sorted((_HERE / "rulesets").glob("*.yaml"))


def builtin_schema_dir() -> Path:
    return _HERE / "schemas"


def cache_dir(part: str) -> Path | None:
    """A folder for what vericarbon can compute again (parsed rulesets, compiled templates), keyed by
    content so it is never stale: $VERICARBON_CACHE_DIR, else $XDG_CACHE_HOME/vericarbon or
    ~/.cache/vericarbon. None when caching is off (VERICARBON_CACHE_DIR=off) or the folder cannot be made."""
    chosen = os.environ.get("VERICARBON_CACHE_DIR")
    if chosen == "off":
        return None
    base = Path(chosen) if chosen else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vericarbon"
    try:
        folder = base / part
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError:
        return None

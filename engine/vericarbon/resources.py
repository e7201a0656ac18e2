"""Where the built-in rulesets and schemas live: engine/rulesets and engine/schemas (symlinks to the
repository's top-level folders in a checkout, real folders inside an installed wheel)."""

from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


RULESET_HEADER = "ruleset.yaml"  # the file of a ruleset folder that holds everything but its rules


def builtin_rulesets() -> list[Path]:
    """Every built-in ruleset: a YAML file, or a folder of them (rules/sources.py)."""
    return sorted(p for p in (_HERE / "rulesets").iterdir() if p.suffix == ".yaml" or (p.is_dir() and not p.name.startswith((".", "_"))))


def ruleset_name(path: Path) -> str:
    """A ruleset file's or folder's name without .yaml: the id a built-in one is known by."""
    return path.name if path.is_dir() else path.stem


def ruleset_header(path: Path) -> Path:
    """The file holding a ruleset's header (id, document, test_base, ...): the ruleset file itself, or a folder's ruleset.yaml."""
    return path / RULESET_HEADER if path.is_dir() else path


def builtin_schema_dir() -> Path:
    return _HERE / "schemas"


def service_database() -> str:
    """The intake service's default database, one per user rather than one per working folder (a key made
    in one folder was refused by a server started in another): $VERICARBON_DATABASE, else
    $XDG_DATA_HOME/vericarbon/service.sqlite or ~/.local/share/vericarbon/service.sqlite."""
    chosen = os.environ.get("VERICARBON_DATABASE")
    if chosen:
        return chosen
    folder = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "vericarbon"
    return str(folder / "service.sqlite")


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

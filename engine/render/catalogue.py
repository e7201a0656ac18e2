"""The rule catalogue: one Markdown page per ruleset, written from the ruleset itself and kept in docs/."""

from __future__ import annotations

from pathlib import Path

from vericarbon.render.templating import environment
from vericarbon.rules.rulesets import Ruleset


def catalogue(ruleset: Ruleset) -> str:
    return environment(autoescape=False).get_template("catalogue.md.j2").render(r=ruleset.data)


def page_name(ruleset: Ruleset) -> str:
    """One page per installed version, so two versions of a ruleset can be documented side by side."""
    return f"{ruleset.id}-{ruleset.data['version']}.md"


def stale_pages(rulesets: list[Ruleset], folder: Path) -> list[Path]:
    """Pages in `folder` that are missing or differ from what the rulesets give."""
    return [folder / page_name(r) for r in rulesets if not (folder / page_name(r)).is_file() or (folder / page_name(r)).read_text(encoding="utf-8") != catalogue(r)]

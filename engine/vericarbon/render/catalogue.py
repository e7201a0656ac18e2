"""The rule catalogue and the reference notes, written from the rulesets themselves and kept in docs/:
one page per ruleset version (docs/rules/) and one page of reference notes per ruleset that indexes its
source document's requirements (docs/references/)."""

from __future__ import annotations

from pathlib import Path

from vericarbon.render.templating import environment
from vericarbon.resources import RULESET_HEADER
from vericarbon.rules.matrix import matrix
from vericarbon.rules.rulesets import Ruleset


def _in_repository(ruleset: Ruleset) -> tuple[str, str]:
    """Where to edit a ruleset, as the repository names it: the file (rulesets/ID.yaml) or the folder
    (rulesets/ID/), and the file holding its document and index (a folder's ruleset.yaml)."""
    path = Path(ruleset.path)
    if path.is_dir():
        return f"rulesets/{path.name}/", f"rulesets/{path.name}/{RULESET_HEADER}"
    return f"rulesets/{path.name}", f"rulesets/{path.name}"


def catalogue(ruleset: Ruleset) -> str:
    return environment(autoescape=False).get_template("catalogue.md.j2").render(r=ruleset.data, source=_in_repository(ruleset)[0])


def reference(ruleset: Ruleset) -> str:
    rows = matrix(ruleset)
    figures = [(name, p) for name, p in ruleset.data.get("parameters", {}).items() if "tolerance" not in name]
    return environment(autoescape=False).get_template("reference.md.j2").render(
        r=ruleset.data, header=_in_repository(ruleset)[1], figures=figures, cited={row.id: row.cited_as for row in rows}, covering={row.id: row.rules + row.manual_checks for row in rows})


def pages(rulesets: list[Ruleset]) -> dict[Path, str]:
    """Every page the rulesets give, by path under docs/: a catalogue page per installed version, and the
    reference notes of the newest version of each ruleset with an index."""
    written = {Path("rules") / f"{r.id}-{r.data['version']}.md": catalogue(r) for r in rulesets}
    newest: dict[str, Ruleset] = {}
    for ruleset in rulesets:
        if ruleset.data.get("index") and (ruleset.id not in newest or _version(ruleset) > _version(newest[ruleset.id])):
            newest[ruleset.id] = ruleset
    written.update({Path("references") / f"{r.id}.md": reference(r) for r in newest.values()})
    return written


def _version(ruleset: Ruleset) -> tuple[int, ...]:
    return tuple(int(part) for part in ruleset.data["version"].split("."))

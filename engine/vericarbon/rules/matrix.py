"""Traceability: which rules and manual checks cover each requirement of a ruleset's source document."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from vericarbon.rules.rulesets import Ruleset


@dataclass
class Row:
    id: str
    clause: str
    title: str
    check: str
    rules: list[str] = field(default_factory=list)
    manual_checks: list[str] = field(default_factory=list)
    cited_as: list[str] = field(default_factory=list)  # "clause (confidence)" of the citations that cover it

    @property
    def covered(self) -> bool:
        return bool(self.rules or self.manual_checks)


def matrix(ruleset: Ruleset) -> list[Row]:
    """One row per index entry, in the index's order, with the rules and manual checks whose citations cover it."""
    rows = {entry["id"]: Row(entry["id"], entry["clause"], entry["title"], entry.get("check", "")) for entry in ruleset.data.get("index", [])}
    for section, attribute in (("rules", "rules"), ("manual_checks", "manual_checks")):
        for item in ruleset.data.get(section, []):
            for requirement in dict.fromkeys(c for citation in item["clauses"] for c in citation.get("covers", [])):
                getattr(rows[requirement], attribute).append(item["id"])
            for citation in item["clauses"]:
                for requirement in citation.get("covers", []):
                    cited = f"{citation['clause']} ({citation['confidence']})"
                    if cited not in rows[requirement].cited_as:
                        rows[requirement].cited_as.append(cited)
    return list(rows.values())


_COLUMNS = ("requirement", "clause", "check", "rules", "manual checks", "title")


def _cells(row: Row) -> list[str]:
    return [row.id, row.clause, row.check, " ".join(row.rules) or "—", " ".join(row.manual_checks) or "—", row.title]


Matrices = list[tuple[Ruleset, list[Row]]]


def render_csv(matrices: Matrices) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ruleset", *_COLUMNS, "covered"])
    for ruleset, rows in matrices:
        for row in rows:
            writer.writerow([ruleset.id, row.id, row.clause, row.check, " ".join(row.rules), " ".join(row.manual_checks), row.title, "yes" if row.covered else "no"])
    return out.getvalue()


def render_markdown(matrices: Matrices) -> str:
    return "\n".join(_markdown(ruleset, rows) for ruleset, rows in matrices)


def render_table(matrices: Matrices) -> str:
    return "\n".join(_table(ruleset, rows) for ruleset, rows in matrices)


def _markdown(ruleset: Ruleset, rows: list[Row]) -> str:
    lines = [f"## {ruleset.id} {ruleset.data['version']} — {ruleset.data['document']['id']}", "", _summary(rows), "", "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _cells(row)) + " |" for row in rows]
    uncovered = [row.id for row in rows if not row.covered]
    if uncovered:
        lines += ["", "Not covered: " + ", ".join(uncovered)]
    return "\n".join(lines) + "\n"


def _table(ruleset: Ruleset, rows: list[Row]) -> str:
    body = [_cells(row)[:5] for row in rows]
    widths = [max(len(c) for c in column) for column in zip(_COLUMNS[:5], *body)]
    lines = [f"{ruleset.id} {ruleset.data['version']} — {ruleset.data['document']['id']}: {_summary(rows)}"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in [list(_COLUMNS[:5]), *body]]
    uncovered = [row.id for row in rows if not row.covered]
    lines.append("  not covered: " + (", ".join(uncovered) if uncovered else "none"))
    return "\n".join(lines) + "\n"


def _summary(rows: list[Row]) -> str:
    covered = sum(row.covered for row in rows)
    by_rule = sum(bool(row.rules) for row in rows)
    return f"{covered}/{len(rows)} requirements covered ({by_rule} by a rule, {covered - by_rule} by manual checks only)"


RENDERERS = {"table": render_table, "csv": render_csv, "md": render_markdown}

"""The findings as CSV, for a spreadsheet: one row per occurrence that did not pass (failing, waived, not
evaluated). A cell that a spreadsheet would read as a formula (= + - @ or a control character first) is
written with a leading apostrophe, so evidence text can never run as one."""

from __future__ import annotations

import csv
import io
import json

from vericarbon.render.findings import clause_text, occurrences

COLUMNS = ("ruleset", "rule", "title", "status", "finding_type", "clauses", "pointer", "message", "values")


def render(result: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for found in occurrences(result):
        row = (found.ruleset["id"], found.rule["id"], found.rule["title"], found.status, found.rule.get("finding_type", ""), clause_text(found.rule),
               found.pointer, found.message, json.dumps(found.values, ensure_ascii=False))
        writer.writerow([_inert(cell) for cell in row])
    return out.getvalue()


def _inert(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell

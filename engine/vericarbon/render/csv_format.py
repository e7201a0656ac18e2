"""The findings as CSV, for a spreadsheet: one row per occurrence that did not pass (failing, waived, not
evaluated). A cell that a spreadsheet would read as a formula (= + - @ or a control character first) is
written with a leading apostrophe, so evidence text can never run as one; so is each line inside a cell,
for readers that end a row at any CR or LF. Rows end in CRLF (RFC 4180), so the writer quotes every cell
holding a CR or an LF (it quotes the characters of its row ending)."""

from __future__ import annotations

import csv
import io
import json
import re

from vericarbon.render.findings import clause_text, occurrences

COLUMNS = ("ruleset", "rule", "title", "status", "finding_type", "clauses", "pointer", "message", "values")


def render(result: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for found in occurrences(result):
        row = (found.ruleset["id"], found.rule["id"], found.rule["title"], found.status, found.rule.get("finding_type", ""), clause_text(found.rule),
               found.pointer, found.message, json.dumps(found.values, ensure_ascii=False))
        writer.writerow([_inert(cell) for cell in row])
    return out.getvalue()


_FORMULA_START = re.compile(r"(^|[\r\n])(?=[=+\-@\t\r])")  # a cell's start or a line's start inside it, before what reads as a formula


def _inert(cell: str) -> str:
    return _FORMULA_START.sub(r"\1'", cell)

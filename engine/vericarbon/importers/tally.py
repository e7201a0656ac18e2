"""The importers' contract, shared by every layout module: `RowError` for a row that cannot be a package, and
per file a `Tally` of the rows read and imported and each `Refusal` (file, row, reason). Kept apart from the
stage's face (`vericarbon.importers`), which names the layouts and imports their modules, so that a layout
module needs only this."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vericarbon.errors import InputError


class RowError(ValueError):
    """Why one row is not a package."""


class Refusal(NamedTuple):
    """A row an import left out, and why."""

    file: str
    row: int
    reason: str


@dataclass
class Tally:
    """What an import did with one file."""

    file: str
    layout: str = ""
    rows: int = 0
    records: int = 0
    refused: list[Refusal] = field(default_factory=list)

    def refuse(self, row: int, reason: str) -> None:
        self.refused.append(Refusal(self.file, row, reason))

    def refuse_invalid(self, row: int, error: InputError) -> None:
        """The row made a package its schema rejects: the schema's reasons."""
        self.refuse(row, "; ".join(f"{pointer}: {message}" for pointer, message in error.problems))


def print_tally(tally: Tally, out: Any = None) -> None:
    out = out or sys.stderr
    print(f"{tally.file}: {tally.layout or 'not read'}: {tally.rows} row(s) read, {tally.records} record(s) imported, {len(tally.refused)} row(s) refused", file=out)
    for refusal in tally.refused:
        print(f"  row {refusal.row}: {refusal.reason}", file=out)

"""Published GHG statements in: tables that compile companies' reported scope figures, row by row, into
ghg-statement packages (schemas/ghg-statement-1.0.schema.json), one per row.

A row becomes a statement with the figures the row holds and nothing else: an empty cell is a figure not
reported, a unit is kept as written (even when it is not a unit: a rule reports that), free text stays the
statement's notes, and how the table was compiled becomes each figure's provenance. A row that cannot be a
statement (no organisation name, a figure that is not a number) is refused with its row number and reason.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.importers.tally import RowError, Tally
from vericarbon.importers.exports import csv_rows


@dataclass(frozen=True)
class StatementLayout:
    """A table's layout: the columns that tell it apart, what it is, and how a row becomes a statement."""

    columns: frozenset[str]  # the header a file of this layout has
    about: str
    statement: Callable[[dict[str, str], int], dict[str, Any]]


def read_statements(layout_name: str, layout: StatementLayout, path: Path, tally: Tally, store: SchemaStore) -> Iterator[dict]:
    """The statements of one file of `layout` (named `layout_name`), in row order, each valid against its
    schema; refused rows go to `tally`."""
    with contextlib.ExitStack() as stack:
        header, rows = csv_rows(path, stack)
        if missing := sorted(layout.columns - set(header)):
            raise InputError(str(path), f"is not a {layout_name} file: no column(s) {', '.join(missing)}")
        tally.layout = layout.about
        for number, row in enumerate(rows, 1):
            tally.rows += 1
            try:
                statement = layout.statement(row, number)
                validated_package(f"row {number}", statement, "", store)
            except RowError as error:
                tally.refuse(number, str(error))
                continue
            except InputError as error:
                tally.refuse_invalid(number, error)
                continue
            tally.records += 1
            yield statement


def figure(text: str, column: str) -> float:
    """A reported figure from its cell: a finite number (not 'inf' or 'nan', which float() reads and JSON
    cannot hold), else a RowError naming the column."""
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"column {column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(f"column {column}: {text!r} is not a finite number")
    return value

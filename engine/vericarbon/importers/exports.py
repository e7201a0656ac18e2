"""Registry exports in: the CSV files (or workbooks) registries publish, row by row, into credit-record
packages (schemas/credit-record-1.0.schema.json), one per record. This module is what every registry's
table layout shares; each registry's module (verra, gold_standard, …) holds only its own layouts.

A registry's layouts are data: for each kind of file (issuances, retirements, cancellations, Verra's
transactions), the columns that identify it and the column each field comes from. A row that cannot be a
record (no quantity, a date that is not one) is refused with its row number and the reason; the rest of the
file goes on. Rows stream: memory stays flat for any file size.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.importers.tally import RowError, Tally
from vericarbon.importers.workbooks import open_workbook, unreadable

Records = Callable[[Path, Tally], Iterator[tuple[int, dict]]]  # a file's records, each with its row number


@dataclass(frozen=True)
class Layout:
    """One kind of export file: the record type, the columns that tell it apart, and where each field is.
    `fields` maps a dotted package field to a column; `identity` (columns) names a record that has no
    serial and no registry id, from the registry's own values."""

    name: str
    record_type: str
    marks: tuple[str, ...]
    fields: dict[str, str]
    identity: tuple[str, ...] = ()
    retired_when: str = ""  # Verra: a transaction row is also a retirement when this column is set
    extra: Callable[[dict[str, str], dict[str, Any]], None] | None = None


def buffer_if_positive(column: str) -> Callable[[dict[str, str], dict[str, Any]], None]:
    """A record issued to a buffer pool, where the registry gives the buffer's share in its own column."""

    def mark(row: dict[str, str], record: dict[str, Any]) -> None:
        text = (row.get(column) or "0").strip() or "0"
        try:
            share = _number(text)
        except ValueError as error:
            raise RowError(f"{column} {text!r}: {error}") from None
        if share > 0:
            record["buffer"] = True

    return mark


_DATE_FIELDS = {"issued_on", "retired_on", "cancelled_on", "vintage.start", "vintage.end", "monitoring_period.start", "monitoring_period.end"}
_BOOLEAN_FIELDS = {"corsia_eligible", "buffer", "corresponding_adjustment"}


def table_records(registry: str, layouts: list[Layout]) -> Records:
    """The `records` of a registry whose exports are tables: the first of `layouts` whose columns the
    file has reads each of its rows."""

    def records(path: Path, tally: Tally) -> Iterator[tuple[int, dict]]:
        with contextlib.ExitStack() as stack:
            header, rows = _workbook_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm", ".xls") else csv_rows(path, stack)
            layout = _layout(registry, layouts, path, header)
            tally.layout = layout.name
            for number, row in enumerate(rows, 1):
                tally.rows += 1
                try:
                    found = _records(registry, layout, row, str(path), number)
                except RowError as error:
                    tally.refuse(number, str(error))
                    continue
                tally.records += len(found)
                for record in found:
                    yield number, record

    return records


def csv_rows(path: Path, stack: contextlib.ExitStack) -> tuple[list[str], Iterator[dict[str, str]]]:
    try:
        stream = stack.enter_context(path.open(newline="", encoding="utf-8-sig"))
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})") from None
    reader = csv.DictReader(stream, restval="")  # a short row's missing cells are empty, as in a spreadsheet
    try:
        header = reader.fieldnames or []
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(str(path), f"is not a CSV export ({error})") from None

    def rows() -> Iterator[dict[str, str]]:
        number = 0
        try:
            for number, row in enumerate(reader, 1):
                yield row
        except (csv.Error, UnicodeDecodeError) as error:
            raise InputError(str(path), f"row {number + 1}: not CSV any more ({error})") from None

    return list(header), rows()


def _workbook_rows(path: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The first sheet of a workbook as rows of text (dates as YYYY-MM-DD), read with python-calamine
    (about ten times openpyxl) once it is within the limits (xlsx_limits)."""
    book = open_workbook(path)
    try:
        table = book.get_sheet_by_index(0).iter_rows()
        header = [_cell_text(cell) for cell in next(table, [])]
    except BaseException as error:
        raise unreadable(str(path), error) from None

    def rows() -> Iterator[dict[str, str]]:
        for cells in table:
            texts = [_cell_text(cell) for cell in cells]
            if any(texts):
                yield dict(zip(header, texts))

    return header, rows()


def _cell_text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "Yes" if cell else "No"
    if isinstance(cell, float) and cell.is_integer() and abs(cell) <= 2**53:  # beyond, its digits are not what was typed
        return str(int(cell))
    if isinstance(cell, (dt.datetime, dt.date)):
        return cell.strftime("%Y-%m-%d")
    return "" if cell is None else str(cell)


def _layout(registry: str, layouts: list[Layout], path: Path, header: list[str]) -> Layout:
    present = set(header)
    for layout in layouts:
        if set(layout.marks) <= present:
            return layout
    expected = "; ".join(f"{layout.name} ({', '.join(layout.marks)})" for layout in layouts)
    raise InputError(str(path), f"its columns match no {registry} export this importer knows: {expected}")


def _records(registry: str, layout: Layout, row: dict[str, str], file: str, number: int) -> list[dict]:
    record: dict[str, Any] = {"kind": "credit-record", "schema_version": "1.0", "registry": registry, "record_type": layout.record_type, "source": {"file": file, "row": number}}
    for name, column in layout.fields.items():
        text = (row.get(column) or "").strip()
        if text:
            _put(record, name, _value(name, text, column))
    if layout.extra:
        layout.extra(row, record)
    if "serial" not in record:
        if not layout.identity:
            raise RowError("no serial number and no record id")
        values = [(row.get(column) or "").strip() for column in layout.identity]
        if not all(values):
            raise RowError(f"no serial number, and {', '.join(c for c, v in zip(layout.identity, values) if not v)} missing to name the record")
        record["serial"] = {"id": "|".join(values)}
    if ("from" in record["serial"]) != ("to" in record["serial"]):
        raise RowError(f"serial block {record['serial'].get('raw', '')!r}: a first serial number without a last, or a last without a first")
    if "quantity" not in record:
        raise RowError("no quantity")
    if record["quantity"] <= 0:
        raise RowError(f"quantity {record['quantity']:g} is not positive")
    if not layout.retired_when:
        return [named(record)]
    # a Verra transaction row is an issued block and, once it has a retirement date, its retirement too
    retired_on = record.pop("retired_on", None)
    retirement = {key: record.pop(key) for key in ("beneficiary", "retirement_reason", "retirement_purpose") if key in record}
    found = [named(record)]
    if retired_on:
        found.append(named({**record, **retirement, "record_type": "retirement", "retired_on": retired_on}))
    return found


def named(record: dict) -> dict:
    """The record with its id (registry, record type, serial) and its keys in the order packages have."""
    serial = record["serial"]
    record["id"] = f"{record['registry']}:{record['record_type']}:{serial.get('raw', serial.get('id'))}" + (f":{serial['from']}-{serial['to']}" if "from" in serial else "")
    return {key: record[key] for key in ("kind", "schema_version", "id", *[k for k in record if k not in ("kind", "schema_version", "id")])}


def _put(record: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        record = record.setdefault(part, {})
    record[last] = value


def _value(name: str, text: str, column: str) -> Any:
    try:
        if name in _DATE_FIELDS:
            return iso_date(text)
        if name in ("serial.from", "serial.to"):
            return _serial_number(text)
        if name in ("quantity", "vintage.year"):
            number = _number(text)
            return int(number) if number.is_integer() else number
        if name in _BOOLEAN_FIELDS:
            return _boolean(text)
    except ValueError as error:
        raise RowError(f"{column} {text!r}: {error}") from None
    return text


def _number(text: str) -> float:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ValueError("is not a number") from None
    if not math.isfinite(number):  # 'inf', 'NaN', 1e999: no count of credits, and JSON has no such number
        raise ValueError("is not a finite number")
    return number


def _serial_number(text: str) -> int:
    """A serial's number exactly, at any size: never through a float, whose 53 bits would change the last
    digits of a long serial (and so which credits it names)."""
    digits = text.replace(",", "").strip()
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("is not a whole number written in digits (a serial must be exact; a workbook's number cell is not beyond 2^53: store such serials as text)")
    return int(digits)


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "y", "1"):
        return True
    if lowered in ("no", "false", "n", "0"):
        return False
    raise ValueError("is not yes or no")


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?")


def iso_date(text: str) -> str:
    """YYYY-MM-DD from the forms registries use: ISO (with or without a time) and US month/day/year."""
    match = _ISO_DATE.fullmatch(text.strip())
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _US_DATE.fullmatch(text.strip())
        if not match:
            raise ValueError("is not a date (YYYY-MM-DD or M/D/YYYY)")
        month, day, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as error:
        raise ValueError(f"is not a date ({error})") from None

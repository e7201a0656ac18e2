"""Registry exports in: the CSV files registries publish (and CAD Trust unit records), row by row, into
credit-record packages (schemas/credit-record-1.0.schema.json), one per record.

Each registry's layouts are data: for each kind of file (issuances, retirements, cancellations, Verra's
transactions), the columns that identify it and the column each field comes from. A row that cannot be a
record (no quantity, a date that is not one, a serial off its registry's grammar) is refused with its row
number and the reason; the rest of the file goes on. Rows stream: memory stays flat for any file size.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.evidence.serials import SerialError, serial_range
from vericarbon.evidence.workbooks import open_workbook

REGISTRIES = ("verra", "gold-standard", "acr", "car", "art-trees", "cercarbono", "isometric", "cadt")


class RowError(ValueError):
    """Why one row is not a record."""


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


def _buffer_if_positive(column: str) -> Callable[[dict[str, str], dict[str, Any]], None]:
    def mark(row: dict[str, str], record: dict[str, Any]) -> None:
        if _number(row.get(column, "") or "0") > 0:
            record["buffer"] = True

    return mark


def _vintage_period(column: str) -> Callable[[dict[str, str], dict[str, Any]], None]:
    def split(row: dict[str, str], record: dict[str, Any]) -> None:  # "2010-01-01 / 2018-09-30"
        parts = [part.strip() for part in row.get(column, "").split("/")]
        if len(parts) == 2 and all(parts):
            record.setdefault("vintage", {}).update(start=_date(parts[0]), end=_date(parts[1]))

    return split


_PROJECT = {"project.id": "Project ID", "project.name": "Project Name", "project.type": "Project Type", "project.country": "Project Site Country"}
_ACR_CREDITS = {"serial.raw": "Credit Serial Numbers", "quantity": "Quantity of Credits", "vintage.year": "Vintage", "issued_on": "Date Issued (GMT)",
                "project.methodology": "Project Methodology/Protocol", "corsia_eligible": "CORSIA Eligible", **_PROJECT}
_CAR_CREDITS = {"serial.raw": "Offset Credit Serial Numbers", "quantity": "Quantity of Offset Credits", "vintage.year": "Vintage",
                "project.methodology": "Protocol and Version", **_PROJECT}
_ART_CREDITS = {"serial.raw": "Credit Serial Numbers", "quantity": "Quantity of Credits", "vintage.year": "Vintage"}
_ART_PROGRAM = {"project.id": "Program ID", "project.name": "Program Name", "project.type": "Program Type", "project.methodology": "Crediting Program and Standard", "project.country": "Program  Country"}

LAYOUTS: dict[str, list[Layout]] = {
    "verra": [Layout("transactions", "issuance", ("Serial Number", "Quantity Issued", "Retirement/Cancellation Date"), {
        "serial.raw": "Serial Number", "quantity": "Quantity Issued", "issued_on": "Issuance Date", "vintage.start": "Vintage Start",
        "vintage.end": "Vintage End", "project.id": "ID", "project.name": "Name", "project.type": "Project Type",
        "project.methodology": "Methodology", "project.country": "Country/Area", "retired_on": "Retirement/Cancellation Date",
        "beneficiary": "Retirement Beneficiary", "retirement_reason": "Retirement Reason", "retirement_purpose": "Retirement Details",
    }, retired_when="Retirement/Cancellation Date")],
    "gold-standard": [
        Layout("retirements", "retirement", ("Serial Number", "Retirement Date", "Using Entity"), {
            "serial.raw": "Serial Number", "quantity": "Quantity", "vintage.year": "Vintage", "project.id": "GSID", "project.name": "Project Name",
            "project.type": "Project Type", "project.methodology": "Methodology", "project.country": "Country", "product_type": "Product Type",
            "issued_on": "Issuance Date", "retired_on": "Retirement Date", "monitoring_period.start": "Monitoring Period Start",
            "monitoring_period.end": "Monitoring Period End", "beneficiary": "Using Entity", "retirement_reason": "Use Case",
            "retirement_purpose": "Note", "article6_authorization": "Article Six Authorization",
        }),
        Layout("issuances", "issuance", ("Serial Number", "Issuance Date", "Product Type"), {
            "serial.raw": "Serial Number", "quantity": "Quantity", "vintage.year": "Vintage", "project.id": "GSID", "project.name": "Project Name",
            "project.type": "Project Type", "project.methodology": "Methodology", "project.country": "Country", "product_type": "Product Type",
            "issued_on": "Issuance Date", "monitoring_period.start": "Monitoring Period Start", "monitoring_period.end": "Monitoring Period End",
            "article6_authorization": "Article Six Authorization",
        }),
    ],
    "acr": [
        Layout("retirements", "retirement", ("Credit Serial Numbers", "Retired on Behalf of"), {
            **_ACR_CREDITS, "retired_on": "Status Effective (GMT)", "beneficiary": "Retired on Behalf of", "retirement_reason": "Retirement Reason",
            "retirement_purpose": "Purpose of Retirement",
        }),
        Layout("cancellations", "cancellation", ("Credit Serial Numbers", "Cancellation Type"), {
            **_ACR_CREDITS, "cancelled_on": "Status Effective  (GMT)", "cancellation_type": "Cancellation Type",  # two spaces: as ACR writes it
        }),
        Layout("issuances", "issuance", ("Total Credits Issued", "ReportingPeriodBegin"), {
            "quantity": "Total Credits Issued", "vintage.year": "Vintage", "issued_on": "Date Issued (GMT)", "monitoring_period.start": "ReportingPeriodBegin",
            "monitoring_period.end": "ReportingPeriodEnd", "project.methodology": "Project Methodology/Protocol", **_PROJECT,
        }, identity=("Project ID", "Vintage", "Date Issued (GMT)", "Total Credits Issued"), extra=_buffer_if_positive("Credits Issued to Buffer Pool")),
    ],
    "car": [
        Layout("retirements", "retirement", ("Offset Credit Serial Numbers", "Retirement Reason"), {
            **_CAR_CREDITS, "retired_on": "Status Effective", "retirement_reason": "Retirement Reason", "retirement_purpose": "Retirement Reason Details",
            "corresponding_adjustment": "Corresponding Adjustment",
        }),
        Layout("cancellations", "cancellation", ("Offset Credit Serial Numbers", "Cancellation Reason"), {
            **_CAR_CREDITS, "cancelled_on": "Status Effective", "cancellation_type": "Cancellation Reason",
        }),
        Layout("issuances", "issuance", ("Total Offset Credits Issued", "Date Issued"), {
            "quantity": "Total Offset Credits Issued", "vintage.year": "Vintage", "issued_on": "Date Issued", "project.methodology": "Protocol and Version",
            "corresponding_adjustment": "Corresponding Adjustment", **_PROJECT,
        }, identity=("Project ID", "Vintage", "Date Issued", "Total Offset Credits Issued"), extra=_buffer_if_positive("Offset Credits Intended for Compliance Buffer Pool")),
    ],
    "art-trees": [
        Layout("retirements", "retirement", ("Credit Serial Numbers", "Retired on Behalf of"), {
            **_ART_CREDITS, **_ART_PROGRAM, "retired_on": "Status Effective", "beneficiary": "Retired on Behalf of", "retirement_reason": "Retirement Reason",
            "retirement_purpose": "Purpose of Retirement",
        }),
        Layout("cancellations", "cancellation", ("Credit Serial Numbers", "Cancellation Reason"), {
            **_ART_CREDITS, **_ART_PROGRAM, "cancelled_on": "Status Effective", "cancellation_type": "Cancellation Reason", "corsia_eligible": "CORSIA Eligible",
        }),
        Layout("issuances", "issuance", ("Credits Verified", "Credits Deposited in Buffer"), {
            "quantity": "Credits Verified", "vintage.year": "Vintage", "issued_on": "Date Approved", "corsia_eligible": "CORSIA Eligible", **_ART_PROGRAM,
        }, identity=("Program ID", "Vintage", "Date Approved", "Credits Verified"), extra=_buffer_if_positive("Credits Deposited in Buffer")),
    ],
    "cercarbono": [
        Layout("retirements", "retirement", ("serial", "from", "to", "end_user"), {
            "serial.raw": "serial", "serial.from": "from", "serial.to": "to", "quantity": "quantity", "vintage.year": "vintage", "retired_on": "date",
            "beneficiary": "end_user", "retirement_reason": "certificate_destination", "project.id": "project_id", "project.name": "project_name",
            "url": "public_consult",
        }),
        Layout("issuances", "issuance", ("serial", "issued_quantity", "vintage_of_credits"), {
            "serial.raw": "serial", "quantity": "issued_quantity", "issued_on": "issuance_date", "vintage.year": "year", "buffer": "is_buffer",
        }, extra=_vintage_period("vintage_of_credits")),
    ],
    "isometric": [
        Layout("retirements", "retirement", ("retirement_id", "retired_at"), {
            "serial.id": "retirement_id", "quantity": "credit_batch_size_total.credits", "retired_on": "retired_at", "beneficiary": "beneficiary.name",
            "retirement_purpose": "purposes", "project.id": "project_id", "url": "url",
        }),
        Layout("issuances", "issuance", ("id", "issued_at", "credit_batch_size_total.credits"), {
            "serial.id": "id", "quantity": "credit_batch_size_total.credits", "issued_on": "issued_at", "project.id": "project_id",
        }, extra=_buffer_if_positive("buffer_pool_credit_batch_size_total.credits")),
    ],
}

_CADT_STATUS = {"retired": "retirement", "cancelled": "cancellation"}
_DATE_FIELDS = {"issued_on", "retired_on", "cancelled_on", "vintage.start", "vintage.end", "monitoring_period.start", "monitoring_period.end"}
_BOOLEAN_FIELDS = {"corsia_eligible", "buffer", "corresponding_adjustment"}


@dataclass
class Tally:
    """What an import did with one file."""

    file: str
    layout: str = ""
    rows: int = 0
    records: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def import_file(registry: str, path: Path, tally: Tally, store: SchemaStore) -> Iterator[dict]:
    """The credit-record packages of one export file, in row order, each valid against its schema (a row
    that would not be is refused with the schema's reason); refused rows go to `tally`."""
    for number, record in _rows(registry, path, tally):
        try:  # reading derives the serial's range into `serial` (the one part it changes): on a copy of it
            validated_package(f"row {number}", {**record, "serial": dict(record["serial"])}, "", store)
        except InputError as error:
            tally.records -= 1
            tally.refused.append((number, "; ".join(f"{pointer}: {message}" for pointer, message in error.problems)))
            continue
        yield record


def _rows(registry: str, path: Path, tally: Tally) -> Iterator[tuple[int, dict]]:
    if registry == "cadt":
        yield from _cadt(path, tally)
        return
    with contextlib.ExitStack() as stack:
        header, rows = _workbook_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm", ".xls") else csv_rows(path, stack)
        layout = _layout(registry, path, header)
        tally.layout = layout.name
        for number, row in enumerate(rows, 1):
            tally.rows += 1
            try:
                records = _records(registry, layout, row, str(path), number)
            except RowError as error:
                tally.refused.append((number, str(error)))
                continue
            tally.records += len(records)
            for record in records:
                yield number, record


def csv_rows(path: Path, stack: contextlib.ExitStack) -> tuple[list[str], Iterator[dict[str, str]]]:
    try:
        stream = stack.enter_context(path.open(newline="", encoding="utf-8-sig"))
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})") from None
    reader = csv.DictReader(stream)
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
    (about ten times openpyxl) after its unpacked size and compression ratio are checked."""
    book = open_workbook(path)
    try:
        sheet = book.get_sheet_by_index(0)
        table = sheet.iter_rows()
        header = [_cell_text(cell) for cell in next(table, [])]
    except Exception as error:  # calamine raises its own error types for a damaged workbook
        raise InputError(str(path), f"cannot be read as a workbook ({error})") from None

    def rows() -> Iterator[dict[str, str]]:
        for cells in table:
            texts = [_cell_text(cell) for cell in cells]
            if any(texts):
                yield dict(zip(header, texts))

    return header, rows()


def _cell_text(cell: Any) -> str:
    if isinstance(cell, bool):
        return "Yes" if cell else "No"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dt.datetime, dt.date)):
        return cell.strftime("%Y-%m-%d")
    return "" if cell is None else str(cell)


def _layout(registry: str, path: Path, header: list[str]) -> Layout:
    present = set(header)
    for layout in LAYOUTS[registry]:
        if set(layout.marks) <= present:
            return layout
    expected = "; ".join(f"{layout.name} ({', '.join(layout.marks)})" for layout in LAYOUTS[registry])
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
    if "quantity" not in record:
        raise RowError("no quantity")
    if record["quantity"] <= 0:
        raise RowError(f"quantity {record['quantity']:g} is not positive")
    if not layout.retired_when:
        return [_named(record)]
    # a Verra transaction row is an issued block and, once it has a retirement date, its retirement too
    retired_on = record.pop("retired_on", None)
    retirement = {key: record.pop(key) for key in ("beneficiary", "retirement_reason", "retirement_purpose") if key in record}
    found = [_named(record)]
    if retired_on:
        found.append(_named({**record, **retirement, "record_type": "retirement", "retired_on": retired_on}))
    return found


def _named(record: dict) -> dict:
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
            return _date(text)
        if name in ("quantity", "serial.from", "serial.to", "vintage.year"):
            number = _number(text)
            return int(number) if number.is_integer() else number
        if name in _BOOLEAN_FIELDS:
            return _boolean(text)
    except ValueError as error:
        raise RowError(f"{column} {text!r}: {error}") from None
    if name == "retirement_purpose" and text.startswith("["):  # Isometric writes a list: ['public_environmental_claims']
        return ", ".join(re.findall(r"'([^']*)'", text)) or text
    return text


def _number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise ValueError("is not a number") from None


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "y", "1"):
        return True
    if lowered in ("no", "false", "n", "0"):
        return False
    raise ValueError("is not yes or no")


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?")


def _date(text: str) -> str:
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


def _cadt(path: Path, tally: Tally) -> Iterator[dict]:
    """A CAD Trust unit record (JSON): its serial block, vintage and status."""
    try:
        unit = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise InputError(str(path), f"is not a CAD Trust unit record ({error})") from None
    units = unit if isinstance(unit, list) else [unit]
    tally.layout = "unit records"
    for number, item in enumerate(units, 1):
        tally.rows += 1
        try:
            if not isinstance(item, dict) or not isinstance(item.get("serialNumberBlock"), str):
                raise RowError("no serialNumberBlock")
            record_type = _CADT_STATUS.get(str(item.get("unitStatus", "")).lower(), "issuance")
            serial = {"raw": item["serialNumberBlock"]}
            parsed = serial_range("cadt", serial, 0)
            record: dict[str, Any] = {"kind": "credit-record", "schema_version": "1.0", "registry": "cadt", "record_type": record_type,
                                      "source": {"file": str(path), "row": number}, "quantity": parsed.end - parsed.start + 1, "serial": serial}
            if isinstance(item.get("vintageYear"), int):
                record["vintage"] = {"year": item["vintageYear"]}
            issuance = item.get("issuance") or {}
            if issuance.get("warehouseProjectId"):
                record["project"] = {"id": str(issuance["warehouseProjectId"])}
            if issuance.get("startDate") and issuance.get("endDate"):
                record["monitoring_period"] = {"start": _date(issuance["startDate"]), "end": _date(issuance["endDate"])}
            if item.get("correspondingAdjustmentStatus"):
                record["article6_authorization"] = f"corresponding adjustment {item['correspondingAdjustmentStatus']}"
        except (RowError, SerialError, ValueError) as error:
            tally.refused.append((number, str(error)))
            continue
        tally.records += 1
        yield number, _named(record)


def print_tally(tally: Tally, out: Any = None) -> None:
    out = out or sys.stderr
    print(f"{tally.file}: {tally.layout or 'not read'}: {tally.rows} row(s) read, {tally.records} record(s) imported, {len(tally.refused)} row(s) refused", file=out)
    for number, reason in tally.refused:
        print(f"  row {number}: {reason}", file=out)

"""CAD Trust (the Climate Action Data Trust): unit records as JSON, one or a list; each gives its serial
block (the quantity is the block's size), vintage, status and the issuance it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from vericarbon.errors import InputError
from vericarbon.evidence.serials import SerialError, serial_range
from vericarbon.importers.tally import RowError, Tally
from vericarbon.importers.exports import iso_date, named

_STATUS = {"retired": "retirement", "cancelled": "cancellation"}


def records(path: Path, tally: Tally) -> Iterator[tuple[int, dict]]:
    try:
        unit = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: nesting deeper than json reads
        raise InputError(str(path), f"is not a CAD Trust unit record ({error})") from None
    units = unit if isinstance(unit, list) else [unit]
    tally.layout = "unit records"
    for number, item in enumerate(units, 1):
        tally.rows += 1
        try:
            record = _record(item, str(path), number)
        except (RowError, SerialError, ValueError) as error:
            tally.refuse(number, str(error))
            continue
        tally.records += 1
        yield number, named(record)


def _record(item: Any, file: str, number: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("serialNumberBlock"), str):
        raise RowError("no serialNumberBlock")
    record_type = _STATUS.get(str(item.get("unitStatus", "")).lower(), "issuance")
    serial = {"raw": item["serialNumberBlock"]}
    parsed = serial_range("cadt", serial, 0)
    record: dict[str, Any] = {"kind": "credit-record", "schema_version": "1.0", "registry": "cadt", "record_type": record_type,
                              "source": {"file": file, "row": number}, "quantity": parsed.end - parsed.start + 1, "serial": serial}
    if isinstance(item.get("vintageYear"), int):
        record["vintage"] = {"year": item["vintageYear"]}
    issuance = item.get("issuance") if isinstance(item.get("issuance"), dict) else {}
    if issuance.get("warehouseProjectId"):
        record["project"] = {"id": str(issuance["warehouseProjectId"])}
    if issuance.get("startDate") and issuance.get("endDate"):
        record["monitoring_period"] = {"start": iso_date(str(issuance["startDate"])), "end": iso_date(str(issuance["endDate"]))}
    if item.get("correspondingAdjustmentStatus"):
        record["article6_authorization"] = f"corresponding adjustment {item['correspondingAdjustmentStatus']}"
    return record

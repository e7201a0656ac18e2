"""Cercarbono: retirements and issuances exports, with lower-case column names; a retirement gives its
block's first and last serial numbers, an issuance its crediting period as one "start / end" cell."""

from __future__ import annotations

from typing import Any

from vericarbon.importers.exports import Layout, iso_date, table_records
from vericarbon.importers.tally import RowError


def _vintage_period(row: dict[str, str], record: dict[str, Any]) -> None:  # "2010-01-01 / 2018-09-30"
    text = row.get("vintage_of_credits") or ""
    parts = [part.strip() for part in text.split("/")]
    if len(parts) == 2 and all(parts):
        try:
            record.setdefault("vintage", {}).update(start=iso_date(parts[0]), end=iso_date(parts[1]))
        except ValueError as error:
            raise RowError(f"vintage_of_credits {text!r}: {error}") from None


LAYOUTS = [
    Layout("retirements", "retirement", ("serial", "from", "to", "end_user"), {
        "serial.raw": "serial", "serial.from": "from", "serial.to": "to", "quantity": "quantity", "vintage.year": "vintage", "retired_on": "date",
        "beneficiary": "end_user", "retirement_reason": "certificate_destination", "project.id": "project_id", "project.name": "project_name",
        "url": "public_consult",
    }),
    Layout("issuances", "issuance", ("serial", "issued_quantity", "vintage_of_credits"), {
        "serial.raw": "serial", "quantity": "issued_quantity", "issued_on": "issuance_date", "vintage.year": "year", "buffer": "is_buffer",
    }, extra=_vintage_period),
]

records = table_records("cercarbono", LAYOUTS)

"""Isometric: retirements and issuances exports of carbon removal credits. They have no serial numbers:
a record is named by the registry's own retirement or issuance id; a retirement's purposes come as a
Python-style list."""

from __future__ import annotations

import re
from typing import Any

from vericarbon.importers.exports import Layout, buffer_if_positive, table_records


def _purposes(row: dict[str, str], record: dict[str, Any]) -> None:
    """Isometric writes the purposes as a list, ['public_environmental_claims']: its items, comma-separated."""
    text = record.get("retirement_purpose", "")
    if text.startswith("["):
        record["retirement_purpose"] = ", ".join(re.findall(r"'([^']*)'", text)) or text


LAYOUTS = [
    Layout("retirements", "retirement", ("retirement_id", "retired_at"), {
        "serial.id": "retirement_id", "quantity": "credit_batch_size_total.credits", "retired_on": "retired_at", "beneficiary": "beneficiary.name",
        "retirement_purpose": "purposes", "project.id": "project_id", "url": "url",
    }, extra=_purposes),
    Layout("issuances", "issuance", ("id", "issued_at", "credit_batch_size_total.credits"), {
        "serial.id": "id", "quantity": "credit_batch_size_total.credits", "issued_on": "issued_at", "project.id": "project_id",
    }, extra=buffer_if_positive("buffer_pool_credit_batch_size_total.credits")),
]

records = table_records("isometric", LAYOUTS)

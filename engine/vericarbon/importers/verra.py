"""Verra (the VCS registry): one transactions export, a row per issued block, which once retired or
cancelled also carries the retirement (two records from one row)."""

from __future__ import annotations

from vericarbon.importers.exports import Layout, table_records

LAYOUTS = [Layout("transactions", "issuance", ("Serial Number", "Quantity Issued", "Retirement/Cancellation Date"), {
    "serial.raw": "Serial Number", "quantity": "Quantity Issued", "issued_on": "Issuance Date", "vintage.start": "Vintage Start",
    "vintage.end": "Vintage End", "project.id": "ID", "project.name": "Name", "project.type": "Project Type",
    "project.methodology": "Methodology", "project.country": "Country/Area", "retired_on": "Retirement/Cancellation Date",
    "beneficiary": "Retirement Beneficiary", "retirement_reason": "Retirement Reason", "retirement_purpose": "Retirement Details",
}, retired_when="Retirement/Cancellation Date")]

records = table_records("verra", LAYOUTS)

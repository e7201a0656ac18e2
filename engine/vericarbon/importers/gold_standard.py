"""Gold Standard (the Impact Registry): retirements and issuances exports, one record per row; the
project is named by its GSID."""

from __future__ import annotations

from vericarbon.importers.exports import Layout, table_records

LAYOUTS = [
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
]

records = table_records("gold-standard", LAYOUTS)

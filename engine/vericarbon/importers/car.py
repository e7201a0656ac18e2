"""CAR (Climate Action Reserve), on APX: retirements, cancellations and issuances exports of offset credits."""

from __future__ import annotations

from vericarbon.importers.apx import PROJECT_COLUMNS, apx_layouts
from vericarbon.importers.exports import table_records

LAYOUTS = apx_layouts(
    {"serial.raw": "Offset Credit Serial Numbers", "quantity": "Quantity of Offset Credits", "vintage.year": "Vintage", "project.methodology": "Protocol and Version",
     **PROJECT_COLUMNS},
    retirements=("Retirement Reason", {"retired_on": "Status Effective", "retirement_reason": "Retirement Reason", "retirement_purpose": "Retirement Reason Details",
                                       "corresponding_adjustment": "Corresponding Adjustment"}),
    cancellations=("Cancellation Reason", {"cancelled_on": "Status Effective", "cancellation_type": "Cancellation Reason"}),
    issuances=(("Total Offset Credits Issued", "Date Issued"), {
        "quantity": "Total Offset Credits Issued", "vintage.year": "Vintage", "issued_on": "Date Issued", "project.methodology": "Protocol and Version",
        "corresponding_adjustment": "Corresponding Adjustment", **PROJECT_COLUMNS,
    }, "Offset Credits Intended for Compliance Buffer Pool"),
)

records = table_records("car", LAYOUTS)

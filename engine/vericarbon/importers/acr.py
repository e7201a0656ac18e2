"""ACR (American Carbon Registry), on APX: retirements, cancellations and issuances exports."""

from __future__ import annotations

from vericarbon.importers.apx import PROJECT_COLUMNS, apx_layouts
from vericarbon.importers.exports import table_records

LAYOUTS = apx_layouts(
    {"serial.raw": "Credit Serial Numbers", "quantity": "Quantity of Credits", "vintage.year": "Vintage", "issued_on": "Date Issued (GMT)",
     "project.methodology": "Project Methodology/Protocol", "corsia_eligible": "CORSIA Eligible", **PROJECT_COLUMNS},
    retirements=("Retired on Behalf of", {"retired_on": "Status Effective (GMT)", "beneficiary": "Retired on Behalf of", "retirement_reason": "Retirement Reason",
                                          "retirement_purpose": "Purpose of Retirement"}),
    cancellations=("Cancellation Type", {"cancelled_on": "Status Effective  (GMT)", "cancellation_type": "Cancellation Type"}),  # two spaces: as ACR writes it
    issuances=(("Total Credits Issued", "ReportingPeriodBegin"), {
        "quantity": "Total Credits Issued", "vintage.year": "Vintage", "issued_on": "Date Issued (GMT)", "monitoring_period.start": "ReportingPeriodBegin",
        "monitoring_period.end": "ReportingPeriodEnd", "project.methodology": "Project Methodology/Protocol", **PROJECT_COLUMNS,
    }, "Credits Issued to Buffer Pool"),
)

records = table_records("acr", LAYOUTS)

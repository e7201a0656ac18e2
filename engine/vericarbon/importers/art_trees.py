"""ART TREES (Architecture for REDD+ Transactions), on APX: retirements, cancellations and issuances
exports, whose projects are jurisdictional programs."""

from __future__ import annotations

from vericarbon.importers.apx import apx_layouts
from vericarbon.importers.exports import table_records

_PROGRAM = {"project.id": "Program ID", "project.name": "Program Name", "project.type": "Program Type", "project.methodology": "Crediting Program and Standard",
            "project.country": "Program  Country"}  # two spaces, as the export has it

LAYOUTS = apx_layouts(
    {"serial.raw": "Credit Serial Numbers", "quantity": "Quantity of Credits", "vintage.year": "Vintage", **_PROGRAM},
    retirements=("Retired on Behalf of", {"retired_on": "Status Effective", "beneficiary": "Retired on Behalf of", "retirement_reason": "Retirement Reason",
                                          "retirement_purpose": "Purpose of Retirement"}),
    cancellations=("Cancellation Reason", {"cancelled_on": "Status Effective", "cancellation_type": "Cancellation Reason", "corsia_eligible": "CORSIA Eligible"}),
    issuances=(("Credits Verified", "Credits Deposited in Buffer"), {
        "quantity": "Credits Verified", "vintage.year": "Vintage", "issued_on": "Date Approved", "corsia_eligible": "CORSIA Eligible", **_PROGRAM,
    }, "Credits Deposited in Buffer"),
)

records = table_records("art-trees", LAYOUTS)

"""The EU ETS verified emissions per installation-year (EU Transaction Log, long layout: account_id, year,
tonnes_co2), a statement per installation-year."""

from __future__ import annotations

from typing import Any

from vericarbon.importers.tally import RowError
from vericarbon.importers.statements import StatementLayout, figure

SOURCE = {"id": "eutl", "title": "European Commission, EU Transaction Log (EUTL) verified emissions, via OSUKED Power Station Dictionary",
               "url": "https://github.com/OSUKED/Power-Station-Dictionary", "licence": "CC BY 4.0"}
STATUS = {"excluded": "excluded", "not reported": "not_reported"}


def _statement(row: dict[str, str], number: int) -> dict[str, Any]:
    """One installation-year of the EU ETS verified emissions (long layout: account_id, year, tonnes_co2):
    Scope 1 only, the installation's direct emissions; "Excluded" and "Not Reported" become the
    statement's status, with no figure."""
    account, year, text = (row.get(column, "").strip() for column in ("account_id", "year", "tonnes_co2"))
    if not account or not (year.isascii() and year.isdigit()):  # str.isdigit() alone takes '²', which int() refuses
        raise RowError(f"account {account!r}, year {year!r}: not an installation-year")
    statement: dict[str, Any] = {
        "kind": "ghg-statement", "schema_version": "1.0", "id": f"EUTL-{account}-{year}", "organisation": {"name": f"EU ETS installation account {account}"},
        "entity_id": f"EUTL:{account}", "reporting_year": int(year), "boundary": {"scopes": [1]}, "figures": [], "sources": [SOURCE],
    }
    if text.casefold() in STATUS:
        statement["status"] = STATUS[text.casefold()]
        return statement
    try:
        value = figure(text, "tonnes_co2")
    except RowError:
        raise RowError(f"tonnes_co2 {text!r} is neither a finite number nor a status") from None
    statement["status"] = "reported"
    statement["figures"] = [{"scope": 1, "value": value, "unit": "t CO2e", "provenance": {"source": "eutl", "extracted_by": "software", "checked_by_person": False}}]
    return statement


LAYOUT = StatementLayout(frozenset({"account_id", "year", "tonnes_co2"}), "EU ETS verified emissions per installation-year (EUTL, long layout)", _statement)

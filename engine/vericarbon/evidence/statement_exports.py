"""Published GHG statements in: tables that compile companies' reported scope figures, row by row, into
ghg-statement packages (schemas/ghg-statement-1.0.schema.json), one per row.

A row becomes a statement with the figures the row holds and nothing else: an empty cell is a figure not
reported, a unit is kept as written (even when it is not a unit: a rule reports that), free text stays the
statement's notes, and how the table was compiled becomes each figure's provenance. A row that cannot be a
statement (no organisation name, a figure that is not a number) is refused with its row number and reason.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.evidence.registry_exports import RowError, Tally, csv_rows


@dataclass(frozen=True)
class StatementLayout:
    columns: frozenset[str]  # the header a file of this layout has
    about: str
    statement: Callable[[dict[str, str], int], dict[str, Any]]


ROSEHILL_DATASET = "https://github.com/danielrosehill/GHG-Emissions-Data-Pipeline"
ROSEHILL_SCOPES = {1: "scope_1_emissions", 2: "scope_2_emissions", 3: "scope_3_emissions"}


def _rosehill(row: dict[str, str], number: int) -> dict[str, Any]:
    """The GHG Emissions Data Pipeline's company_data.csv (FY2023): the dataset defines every row's three
    columns as the company's Scope 1, 2 and 3 emissions, so each statement declares all three scopes, and
    an empty cell is a scope the row does not report. Its Scope 2 column does not say the method. The
    companies of the compilation are each other's peers (its sector column is free text, and shifted on
    some rows)."""
    name = row.get("company_name", "").strip()
    if not name:
        raise RowError("no company name")
    extracted_by = "language_model" if row.get("llm_derived", "").strip() == "1" else None
    provenance = {"source": "rosehill", **({"url": url} if (url := row.get("sustainability_report", "").strip()) else {}),
                  **({"extracted_by": extracted_by} if extracted_by else {}), "checked_by_person": row.get("human_verified", "").strip() == "1"}
    unit = row.get("emissions_reporting_unit", "").strip()
    figures = []
    for scope, column in ROSEHILL_SCOPES.items():
        text = row.get(column, "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise RowError(f"column {column}: {text!r} is not a number") from None
        figure: dict[str, Any] = {"scope": scope, "value": value, **({"unit": unit} if unit else {}), "provenance": provenance}
        if scope == 2:
            figure["method"] = "unspecified"  # the dataset does not say
        figures.append(figure)
    country = row.get("iso_3166_code", "").strip()
    statement = {
        "kind": "ghg-statement", "schema_version": "1.0", "id": f"rosehill:{_slug(name)}:FY2023",
        "organisation": {"name": name, **({"country": country} if re.fullmatch(r"[A-Z]{2}", country) else {})},
        "reporting_year": 2023, "peer_group": "Rosehill FY2023 companies", "boundary": {"scopes": [1, 2, 3]}, "figures": figures,
        "sources": [{"id": "rosehill", "title": "Daniel Rosehill, GHG Emissions Data Pipeline (company_data.csv), CC BY 4.0", "url": ROSEHILL_DATASET, "licence": "CC BY 4.0"}],
    }
    if notes := row.get("notes", "").strip():
        statement["notes"] = notes
    return statement


EUTL_SOURCE = {"id": "eutl", "title": "European Commission, EU Transaction Log (EUTL) verified emissions, via OSUKED Power Station Dictionary",
               "url": "https://github.com/OSUKED/Power-Station-Dictionary", "licence": "CC BY 4.0"}
EUTL_STATUS = {"excluded": "excluded", "not reported": "not_reported"}


def _eutl(row: dict[str, str], number: int) -> dict[str, Any]:
    """One installation-year of the EU ETS verified emissions (long layout: account_id, year, tonnes_co2):
    Scope 1 only, the installation's direct emissions; "Excluded" and "Not Reported" become the
    statement's status, with no figure."""
    account, year, text = (row.get(column, "").strip() for column in ("account_id", "year", "tonnes_co2"))
    if not account or not year.isdigit():
        raise RowError(f"account {account!r}, year {year!r}: not an installation-year")
    statement: dict[str, Any] = {
        "kind": "ghg-statement", "schema_version": "1.0", "id": f"EUTL-{account}-{year}", "organisation": {"name": f"EU ETS installation account {account}"},
        "entity_id": f"EUTL:{account}", "reporting_year": int(year), "boundary": {"scopes": [1]}, "figures": [], "sources": [EUTL_SOURCE],
    }
    if text.casefold() in EUTL_STATUS:
        statement["status"] = EUTL_STATUS[text.casefold()]
        return statement
    try:
        value = float(text)
    except ValueError:
        raise RowError(f"tonnes_co2 {text!r} is neither a number nor a status") from None
    statement["status"] = "reported"
    statement["figures"] = [{"scope": 1, "value": value, "unit": "t CO2e", "provenance": {"source": "eutl", "extracted_by": "software", "checked_by_person": False}}]
    return statement


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


LAYOUTS = {
    "rosehill": StatementLayout(frozenset({"company_name", "llm_derived", "human_verified", *ROSEHILL_SCOPES.values(), "emissions_reporting_unit", "notes"}),
                                "Daniel Rosehill's GHG Emissions Data Pipeline, company_data.csv (FY2023 scope 1/2/3)", _rosehill),
    "eutl": StatementLayout(frozenset({"account_id", "year", "tonnes_co2"}), "EU ETS verified emissions per installation-year (EUTL, long layout)", _eutl),
}


def import_statements(layout_name: str, path: Path, tally: Tally, store: SchemaStore) -> Iterator[dict]:
    """The statements of one file, in row order, each valid against its schema (a row that would not be
    is refused with the schema's reason); refused rows go to `tally`."""
    layout = LAYOUTS[layout_name]
    with contextlib.ExitStack() as stack:
        header, rows = csv_rows(path, stack)
        if missing := sorted(layout.columns - set(header)):
            raise InputError(str(path), f"is not a {layout_name} file: no column(s) {', '.join(missing)}")
        tally.layout = layout.about
        for number, row in enumerate(rows, 1):
            tally.rows += 1
            try:
                statement = layout.statement(row, number)
                validated_package(f"row {number}", statement, "", store)
            except RowError as error:
                tally.refused.append((number, str(error)))
                continue
            except InputError as error:
                tally.refused.append((number, "; ".join(f"{pointer}: {message}" for pointer, message in error.problems)))
                continue
            tally.records += 1
            yield statement

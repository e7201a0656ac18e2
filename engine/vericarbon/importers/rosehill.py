"""Daniel Rosehill's GHG Emissions Data Pipeline, company_data.csv (FY2023): a compilation of companies'
reported scope 1, 2 and 3 emissions, a statement per company."""

from __future__ import annotations

import re
from typing import Any

from vericarbon.importers.tally import RowError
from vericarbon.importers.statements import StatementLayout, figure

DATASET = "https://github.com/danielrosehill/GHG-Emissions-Data-Pipeline"
SCOPES = {1: "scope_1_emissions", 2: "scope_2_emissions", 3: "scope_3_emissions"}


def _statement(row: dict[str, str], number: int) -> dict[str, Any]:
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
    for scope, column in SCOPES.items():
        text = row.get(column, "").strip()
        if not text:
            continue
        reported: dict[str, Any] = {"scope": scope, "value": figure(text, column), **({"unit": unit} if unit else {}), "provenance": provenance}
        if scope == 2:
            reported["method"] = "unspecified"  # the dataset does not say
        figures.append(reported)
    country = row.get("iso_3166_code", "").strip()
    statement = {
        "kind": "ghg-statement", "schema_version": "1.0", "id": f"rosehill:{_slug(name)}:FY2023",
        "organisation": {"name": name, **({"country": country} if re.fullmatch(r"[A-Z]{2}", country) else {})},
        "reporting_year": 2023, "peer_group": "Rosehill FY2023 companies", "boundary": {"scopes": [1, 2, 3]}, "figures": figures,
        "sources": [{"id": "rosehill", "title": "Daniel Rosehill, GHG Emissions Data Pipeline (company_data.csv), CC BY 4.0", "url": DATASET, "licence": "CC BY 4.0"}],
    }
    if notes := row.get("notes", "").strip():
        statement["notes"] = notes
    return statement


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


LAYOUT = StatementLayout(frozenset({"company_name", "llm_derived", "human_verified", *SCOPES.values(), "emissions_reporting_unit", "notes"}),
                         "Daniel Rosehill's GHG Emissions Data Pipeline, company_data.csv (FY2023 scope 1/2/3)", _statement)

"""Build the two bundled ghg-statement samples from real published figures.

    python scripts/build_statement_samples.py [DATA_DIR]    # DATA_DIR: the shared data folder (../shared/data)

* evidence_samples/statement-eutl-100016-2006.json — a totals-only statement: the verified emissions the
  EU Transaction Log publishes for installation account 100016 in 2006, with 2005 as the previous period
  (CC BY 4.0, European Commission). The jump from 1 542 t to 198 899 t is in the published data.
* evidence_samples/statement-desnz-2023-lines.json — a line-level statement on official DESNZ 2023 factors,
  each cited by its id with the unit as the flat file prints it. The factors are the published ones; the
  activity amounts are illustrative (no public statement in the shared data gives activity data), and the
  sample says so in its notes.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from vericarbon import factors

ROOT = Path(__file__).resolve().parents[1]

# (line id, source, scope, Scope 2 method, Scope 3 category, DESNZ 2023 factor id, illustrative amount)
LINES = [
    ("L01", "Natural gas, head office boilers", 1, None, None, "1_100_1004_6_1", 1_250_000),
    ("L02", "Gas oil, standby generators", 1, None, None, "1_101_1014_8_1", 4_000),
    ("L03", "Diesel (average biofuel blend), van fleet", 1, None, None, "1_101_1011_8_1", 36_500),
    ("L04", "UK grid electricity, all sites", 2, "location", None, "7_400_4000_5_1", 2_400_000),
    ("L05", "Water supply", 3, None, 1, "17_404_4005_10_1", 6.5),
    ("L06", "Road freight, HGV average laden", 3, None, 4, "27_304_3140_14_1", 850_000),
    ("L07", "Rail travel, national rail", 3, None, 6, None, 410_000),
    ("L08", "Hotel stays, UK", 3, None, 6, "29_600_4000_13_1", 640),
    ("L09", "Homeworking (office equipment and heating)", 3, None, 7, "32_603_9999_12_1", 52_000),
]


def eutl_sample(data: Path) -> dict:
    wanted = {"2005": None, "2006": None}
    with (data / "eutl-verified-emissions" / "verified_emissions_long.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["account_id"] == "100016" and row["year"] in wanted:
                wanted[row["year"]] = float(row["tonnes_co2"])
    provenance = {"source": "eutl", "extracted_by": "software", "checked_by_person": False}
    return {
        "kind": "ghg-statement", "schema_version": "1.0", "id": "EUTL-100016-2006",
        "organisation": {"name": "EU ETS installation account 100016"}, "entity_id": "EUTL:100016",
        "period": {"start": "2006-01-01", "end": "2006-12-31"},
        "boundary": {"scopes": [1]},
        "figures": [{"scope": 1, "value": wanted["2006"], "unit": "t CO2e", "provenance": provenance}],
        "previous": {"period": {"start": "2005-01-01", "end": "2005-12-31"}, "figures": [{"scope": 1, "value": wanted["2005"], "unit": "t CO2e", "provenance": provenance}]},
        "sources": [{"id": "eutl", "title": "European Commission, EU Transaction Log (EUTL) verified emissions, via OSUKED Power Station Dictionary (verified_emissions.csv)",
                     "url": "https://github.com/OSUKED/Power-Station-Dictionary", "licence": "CC BY 4.0"}],
        "notes": "Verified emissions of an EU ETS installation (direct emissions only, hence Scope 1), copied from the EUTL compilation by scripts/build_statement_samples.py.",
    }


def desnz_sample() -> dict:
    desnz = factors.load("desnz-2023")
    lines, by_scope = [], {}
    for line_id, source, scope, method, category, factor_id, amount in LINES:
        if factor_id is None:  # a factor from elsewhere, cited in words only
            factor = desnz.by_id("25_315_3147_11_1")
            emission_factor = {"value": round(factor.value, 5), "unit": f"kg CO2e per {factor.unit}", "source": "DESNZ 2023, national rail (named in words, no id)"}
        else:
            factor = desnz.by_id(factor_id)
            emission_factor = {"value": round(factor.value, 5), "unit": factor.factor_unit, "official": {"set": "desnz-2023", "id": factor_id}}
        tco2e = round(amount * emission_factor["value"] / 1000, 3)
        line = {"id": line_id, "source": source, "source_id": line_id, "scope": scope, **({"method": method} if method else {}), **({"category": category} if category else {}),
                "activity": {"value": amount, "unit": factor.unit}, "emission_factor": emission_factor, "reported_tco2e": tco2e}
        lines.append(line)
        by_scope.setdefault((scope, method, category), 0.0)
        by_scope[(scope, method, category)] += tco2e
    scope_totals = {scope: round(sum(v for (s, _, _), v in by_scope.items() if s == scope), 3) for scope in (1, 2, 3)}
    figures = [{"scope": 1, "value": scope_totals[1], "unit": "t CO2e"}, {"scope": 2, "method": "location", "value": scope_totals[2], "unit": "t CO2e"},
               {"scope": 3, "value": scope_totals[3], "unit": "t CO2e"}]
    figures += [{"scope": 3, "category": c, "value": round(v, 3), "unit": "t CO2e"} for c, v in sorted(
        {c: sum(v for (s, _, cc), v in by_scope.items() if s == 3 and cc == c) for (_, _, c) in by_scope if c}.items())]
    return {
        "kind": "ghg-statement", "schema_version": "1.0", "id": "HARTWELL-2023",
        "organisation": {"name": "Hartwell Logistics Ltd (illustrative)", "country": "GB"},
        "period": {"start": "2023-01-01", "end": "2023-12-31"}, "gwp_set": "AR5",
        "boundary": {"approach": "operational_control", "scopes": [1, 2, 3], "scope2_methods": ["location"], "scope3_categories": [1, 4, 6, 7]},
        "figures": figures,
        "total": {"value": round(sum(scope_totals.values()), 3), "unit": "t CO2e", "scope2_method": "location"},
        "lines": lines,
        "sources": [{"id": "desnz-2023", "title": "UK Government GHG Conversion Factors for Company Reporting 2023, flat file v1.1", "licence": "Open Government Licence v3.0",
                     "url": "https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-2023"}],
        "notes": "Emission factors and their units are DESNZ 2023's as published (Contains public sector information licensed under the Open Government Licence v3.0); the organisation and its activity amounts are illustrative. Line L07 cites a factor in words only.",
    }


def main(data: Path) -> None:
    for name, sample in (("statement-eutl-100016-2006.json", eutl_sample(data)), ("statement-desnz-2023-lines.json", desnz_sample())):
        (ROOT / "evidence_samples" / name).write_text(json.dumps(sample, indent=2, ensure_ascii=False) + "\n")
        print(f"evidence_samples/{name}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"))

"""Convert the official emission-factor publications into vericarbon's factor sets
(engine/vericarbon/factors/sets/SET.json.gz), recording where each came from.

    python scripts/build_factor_sets.py [DATA_DIR]    # DATA_DIR: the shared data folder (../shared/data)

Values are copied as published (full precision where the file has it); nothing is computed except the
IPCC CO2 factors, which are the published carbon content × 44/12 (the molar-mass ratio of CO2 to C,
the conversion the IPCC Guidelines themselves apply), with the published 95 % range converted the same way.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
import sys
from pathlib import Path
from typing import Any, Iterable

import orjson
from python_calamine import CalamineWorkbook

from vericarbon.factors import COLUMNS, FORMAT, SETS_DIR

OGL = "Open Government Licence v3.0"
DESNZ_ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0. Source: DESNZ/Defra, UK Government GHG Conversion Factors for Company Reporting."
GHG_OF_DESNZ_COLUMN = {"kg CO2e": "CO2e", "kg CO2e of CO2 per unit": "CO2", "kg CO2e of CH4 per unit": "CH4", "kg CO2e of N2O per unit": "N2O"}
# Sheets of a condensed set that hold no emission factors (guidance, unit conversions, fuel properties).
NOT_FACTOR_SHEETS = {"Introduction", "What's new", "Index", "Conversions", "Fuel properties", "Haul definition"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def slug(parts: Iterable[str]) -> str:
    return "/".join(re.sub(r"[^a-z0-9]+", "-", part.casefold()).strip("-") for part in parts if part)


def write(about: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise SystemExit(f"{about['id']}: factor ids are not unique, e.g. {duplicated}")
    document = {"format": FORMAT, "about": about, "columns": {name: [row.get(name) for row in rows] for name in COLUMNS}}
    target = SETS_DIR / f"{about['id']}.json.gz"
    target.write_bytes(gzip.compress(orjson.dumps(document), mtime=0))
    print(f"{target.name}: {len(rows)} factors, {target.stat().st_size // 1024} KiB")


def desnz_flat_file(source: Path, year: int, version: str) -> None:
    rows = []
    with source.open(newline="", encoding="utf-8-sig") as handle:
        for record in csv.DictReader(handle):
            value, measure = record[f"GHG Conversion Factor {year}"], record["GHG/Unit"]
            if not value or not record["ID"] or record["Scope"] == "END":
                continue  # the file's blank "not available" cells and its end marker
            ghg = GHG_OF_DESNZ_COLUMN.get(measure, "energy")  # the rest give the kWh a vehicle uses per unit
            description = " / ".join(part for part in (record["Level 1"], record["Level 2"], record["Level 3"], record["Level 4"], record["Column Text"]) if part)
            rows.append({"id": record["ID"], "scope": record["Scope"], "description": description, "unit": record["UOM"], "ghg": ghg,
                         "value": float(value), "value_unit": "kg CO2e" if ghg != "energy" else measure})
    write(_desnz_about(f"desnz-{year}", year, version, "Flat file", source), rows)


def _desnz_about(set_id: str, year: int, version: str, kind: str, source: Path) -> dict[str, Any]:
    return {"id": set_id, "title": f"UK Government GHG Conversion Factors for Company Reporting {year} ({kind.lower()})", "publisher": "DESNZ / Defra",
            "edition": str(year), "version": version, "year": year, "gwp": "AR5", "licence": OGL, "attribution": DESNZ_ATTRIBUTION,
            "source": {"url": f"https://www.gov.uk/government/publications/greenhouse-gas-reporting-conversion-factors-{year}", "file": source.name, "sha256": sha256(source)},
            "ids": "the publication's own factor ids" if kind == "Flat file" else "made from the sheet, headings, unit and gas (the condensed set prints no ids)"}


def desnz_condensed_set(source: Path, year: int, version: str) -> None:
    workbook = CalamineWorkbook.from_path(str(source))
    rows: list[dict[str, Any]] = []
    for sheet in workbook.sheet_names:
        if sheet in NOT_FACTOR_SHEETS:
            continue
        rows += _condensed_sheet(sheet, workbook.get_sheet_by_name(sheet).to_python())
    write(_desnz_about(f"desnz-{year}", year, version, "Condensed set", source), rows)


def _text(cell: Any) -> str:
    return " ".join(str(cell).split()) if cell not in (None, "") else ""


def _condensed_sheet(sheet: str, grid: list[list[Any]]) -> list[dict[str, Any]]:
    """One sheet of a condensed set: a "Scope:" line, then tables whose header row starts with "Activity";
    the row above a header may name column groups (fuel, laden state) that span until the next name."""
    scope = next((_text(row[1]) for row in grid if row and _text(row[0]) == "Scope:"), "")
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    header_at = [index for index, row in enumerate(grid) if row and _text(row[0]) == "Activity"]
    for start in header_at:
        header = [_text(cell) for cell in grid[start]]
        groups, group = [], ""
        for cell in (grid[start - 1] if start else []) + [""] * len(header):
            group = _text(cell) or group
            groups.append(group)
        if "Unit" not in header:
            continue
        unit_at = header.index("Unit")
        measured = [(column, GHG_OF_DESNZ_COLUMN[name]) for column, name in enumerate(header) if name in GHG_OF_DESNZ_COLUMN]
        labels = [""] * unit_at
        for row in grid[start + 1:]:
            cells = [_text(cell) for cell in row]
            if not any(cells) or _text(row[0]) == "Activity":
                break
            for column in range(unit_at):
                if cells[column]:
                    labels[column:] = [cells[column]] + [""] * (unit_at - column - 1)
            extra = [f"{header[column]} {cells[column]}" for column in range(unit_at + 1, len(header)) if header[column] == "Year" and cells[column]]
            for column, ghg in measured:
                value = row[column] if column < len(row) else ""
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue  # blank: the set gives no factor there
                group_label = groups[column] if column > unit_at and groups[column] not in ("", *header) else ""
                parts = [sheet, *labels, group_label, *extra]
                description = " / ".join(part for part in parts if part)
                factor_id = slug([*parts, cells[unit_at], ghg.casefold()])
                seen[factor_id] = seen.get(factor_id, 0) + 1
                if seen[factor_id] > 1:  # a heading the sheet repeats in a second table
                    factor_id += f"/{seen[factor_id]}"
                rows.append({"id": factor_id, "scope": scope, "description": description, "unit": cells[unit_at], "ghg": ghg,
                             "value": float(value), "value_unit": "kg CO2e"})
    return rows


def epa_hub(source: Path, dump: Path) -> None:
    """Tables 1 (stationary combustion), 2 (mobile combustion CO2) and 6 (eGRID electricity) of the Hub."""
    grid = [row for row in csv.reader(dump.open(newline="", encoding="utf-8"))][1:]
    rows: list[dict[str, Any]] = []
    table, number, units, heading = "", "", [], ""
    for excel_row, *cells in grid:
        cells = [_text(cell) for cell in cells]
        if cells[1].startswith("Table"):
            table, number, heading = f"{cells[1]} {cells[2]}", cells[1].split()[1], ""
            continue
        name = cells[2]
        if number == "1":
            if not name and cells[3].startswith("mmBtu per"):
                units = cells[4:10]
            elif name and not cells[4]:
                heading = name
            elif name and _number(cells[4]) is not None:
                for unit_text, value in zip(units, cells[4:10]):
                    rows += _epa_factor(table, [heading, name], unit_text, value)
        elif number == "2" and name and _number(cells[3]) is not None:
            rows += _epa_factor(table, [name], f"kg CO2 per {cells[4]}", cells[3])
        elif number == "6" and name and len(name) <= 5 and _number(cells[4]) is not None:
            for basis, values in (("Total output", cells[4:7]), ("Non-baseload", cells[7:10])):
                for gas, value in zip(("CO2", "CH4", "N2O"), values):
                    rows += _epa_factor(table, [f"{name} ({cells[3]})", basis], f"lb {gas} per MWh", value)
    about = {"id": "epa-hub-2024", "title": "US EPA GHG Emission Factors Hub 2024 (Tables 1, 2 and 6)", "publisher": "US Environmental Protection Agency",
             "edition": "2024", "version": "2024-06-05", "year": 2024, "gwp": "AR5", "licence": "US public domain (17 U.S.C. §105)",
             "attribution": "US EPA GHG Emission Factors Hub 2024", "source": {"url": "https://www.epa.gov/climateleadership/ghg-emission-factors-hub", "file": source.name, "sha256": sha256(source)},
             "ids": "made from the table, headings, unit and gas (the Hub prints no ids)"}
    write(about, rows)


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _epa_factor(table: str, headings: list[str], unit_text: str, value: str) -> list[dict[str, Any]]:
    number = _number(value)
    mass, _, per = unit_text.partition(" per ")
    if number is None or not per:
        return []
    ghg = mass.split()[-1]
    return [{"id": slug([table.split()[1], *headings, per, ghg.casefold()]), "scope": "", "description": " / ".join([table, *filter(None, headings)]),
             "unit": per, "ghg": ghg, "value": number, "value_unit": mass}]


def ipcc_2006(folder: Path) -> None:
    """CO2 per energy from the IPCC default carbon contents (Vol. 2 Ch. 1 Table 1.3), with their 95 % range."""
    source = folder / "generic" / "par_carbon_content_per_energy.csv"
    by_product: dict[str, dict[str, float]] = {}
    for record in csv.DictReader(source.open(newline="", encoding="utf-8")):
        if record["unit"] == "kg/GJ":
            by_product.setdefault(record["product"], {})[record["property"]] = float(record["value"])
    rows = []
    for product, values in sorted(by_product.items()):
        if "def" not in values:
            continue
        co2 = {key: round(value * 44 / 12, 6) for key, value in values.items()}
        rows.append({"id": f"{product}/co2", "scope": "", "description": f"Energy / {product.replace('_', ' ')} (carbon content × 44/12)", "unit": "GJ",
                     "ghg": "CO2", "value": co2["def"], "value_unit": "kg CO2", "low": co2.get("min"), "high": co2.get("max")})
    about = {"id": "ipcc-2006", "title": "2006 IPCC Guidelines, default carbon content of fuels as CO2 per GJ (Vol. 2 Ch. 1 Table 1.3)", "publisher": "IPCC",
             "edition": "2006", "version": "2019 Refinement where applicable, tabulated by bonsai_ipcc 0.5.3", "year": 2006, "gwp": None,
             "licence": "MIT (bonsai_ipcc tabulation); the values are the IPCC's published defaults",
             "attribution": "2006 IPCC Guidelines for National Greenhouse Gas Inventories, as tabulated by bonsai_ipcc 0.5.3 (Copyright 2023 Maik Budzinski, MIT)",
             "source": {"url": "https://pypi.org/project/bonsai-ipcc/", "file": source.name, "sha256": sha256(source)},
             "ids": "the tabulation's product code and gas"}
    write(about, rows)


def main(data: Path) -> None:
    SETS_DIR.mkdir(exist_ok=True)
    desnz = data / "desnz-ghg-conversion-factors"
    desnz_flat_file(desnz / "ghg-conversion-factors-2023-flat-file-v1.1.csv", 2023, "1.1")
    desnz_condensed_set(desnz / "ghg-conversion-factors-2024-condensed-set-v1.1.xlsx", 2024, "1.1")
    desnz_condensed_set(desnz / "ghg-conversion-factors-2025-condensed-set-v1.0.xlsx", 2025, "1.0")
    epa = data / "epa-ghg-emission-factors-hub"
    epa_hub(epa / "ghg-emission-factors-hub-2024.xlsx", epa / "ghg-emission-factors-hub-2024.sheet-dump.csv")
    ipcc_2006(data / "ipcc2006-default-parameters-bonsai")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"))

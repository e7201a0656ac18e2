"""Write engine/lang/unit_table.json: the size in base units and the dimensions of every unit the built-in
factor sets, evidence samples and rulesets print, and of the units inventories commonly write, computed
by pint, so a run meeting only these units never loads pint (vericarbon.lang.units).

    python scripts/build_unit_table.py

A unit pint cannot read is left out (it stays a finding at run time). tests/test_units.py checks that
the table still holds what pint gives for every unit in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import yaml

from vericarbon import factors
from vericarbon.lang.units import TABLE_FILE, UnitProblem, measure

ROOT = Path(__file__).resolve().parent.parent
# Units inventories and statements commonly write, besides those the built-in files print.
COMMON = (
    "g", "kg", "t", "tonne", "tonnes", "kt", "Mt", "lb", "short ton", "metric ton",
    "tCO2e", "tCO2", "kgCO2e", "gCO2e", "kg CO2e", "t CO2e", "kt CO2e", "Mt CO2e", "tonnes CO2e", "metric tons CO2e",
    "million tonnes CO2e", "thousand tonnes CO2e", "lb CO2", "kg CO2", "g CO2", "g CH4", "g N2O", "kg CH4", "kg N2O",
    "Wh", "kWh", "MWh", "GWh", "TWh", "J", "kJ", "MJ", "GJ", "TJ", "PJ", "therm", "therms", "mmBtu", "MMBtu", "Btu",
    "kWh (Net CV)", "kWh (Gross CV)", "MWh (Net CV)", "MWh (Gross CV)", "GJ (Net CV)", "GJ (Gross CV)",
    "L", "litre", "litres", "liter", "liters", "m3", "m**3", "cubic metres", "gallon", "gallons", "scf", "million litres",
    "km", "mile", "miles", "passenger.km", "tonne.km", "passenger*km", "t*km", "vehicle*km", "Room per night", "room_night", "per FTE Working Hour",
    "kg/kWh", "kg/MWh", "t/MWh", "kg/GJ", "t/TJ", "kg/TJ", "kg/L", "kg/litre", "kg/m**3", "kg/t", "t/t", "kg/tonne", "kg/km",
    "kg/(passenger*km)", "kg/(t*km)", "kg/(tonne*km)", "kg/mmBtu", "kg/scf", "lb/MWh", "g/kWh", "kg/gallon", "kg/therm", "kg/room_night",
)


def strings(value: Any, key: str = "") -> Iterator[str]:
    """Every string held under a key naming a unit, anywhere in a document."""
    if isinstance(value, dict):
        for name, child in value.items():
            yield from strings(child, name)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child, key)
    elif isinstance(value, str) and (key == "unit" or key.endswith("_unit")):
        yield value


def units() -> set[str]:
    found = set(COMMON)
    for set_id in factors.available():
        for factor in factors.load(set_id):
            found |= {factor.unit, factor.value_unit, factor.factor_unit}
    for path in sorted((ROOT / "evidence_samples").glob("*.json")):
        found |= set(strings(json.loads(path.read_text())))
    for path in sorted((ROOT / "rulesets").glob("*.yaml")):
        found |= set(strings(yaml.safe_load(path.read_text())))
    return found


def main() -> None:
    table = {}
    for unit in sorted(units()):
        try:
            table[unit] = list(measure(unit))
        except UnitProblem:
            continue
    lines = [f"  {json.dumps(unit)}: {json.dumps(entry, sort_keys=True)}" for unit, entry in sorted(table.items())]
    about = json.dumps("size in base units and dimensions of each unit, by pint; scripts/build_unit_table.py")
    TABLE_FILE.write_text('{"about": ' + about + ', "units": {\n' + ",\n".join(lines) + "\n}}\n")
    print(f"{TABLE_FILE}: {len(table)} units")


if __name__ == "__main__":
    main()

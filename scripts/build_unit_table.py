"""Write engine/vericarbon/lang/unit_table.json: pint's answer to every unit conversion the built-in factor sets, the
bundled samples, the rule tests and the bundled statement tables ask for, so a run that asks only these
never loads pint (vericarbon.lang.units). The answers are pint's own, so results are the same with the
table and without it.

    python scripts/build_unit_table.py

Conversions are collected by running what ships — every sample through every built-in ruleset, every
rule test case, the statement tables under tests/data imported and checked — with the table switched off,
and from each official factor: its activity unit times its factor unit in tonnes, and its factor unit in
itself (the official-value check). tests/test_units.py checks every answer against pint again.
"""

from __future__ import annotations

import json
from pathlib import Path

from vericarbon import factors
from vericarbon.evidence.package import SchemaStore, load_package, validated_package
from vericarbon.importers import Tally, import_statements
from vericarbon.lang import units
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.run.checker import Checker
from vericarbon.run.ruletests import run_rule_tests

ROOT = Path(__file__).resolve().parent.parent
MASSES = ("t", "tonne", "tonnes", "kg", "g", "lb", "kt", "Mt", "tCO2e", "tCO2", "kgCO2e", "kg CO2e", "t CO2e", "kt CO2e", "Mt CO2e", "tonnes CO2e",
          "metric tons CO2e", "million tonnes CO2e", "thousand tonnes CO2e", "short ton", "metric ton")


def asked() -> set[tuple[tuple[str, ...], str]]:
    """Every (units, target) the shipped data and tests convert."""
    seen: set[tuple[tuple[str, ...], str]] = set()
    by_pint = units._by_pint

    def recording(product: tuple[str, ...], target: str) -> float:
        seen.add((product, target))
        return by_pint(product, target)

    units._by_pint = recording  # type: ignore[assignment]
    units._table = lambda: {}  # type: ignore[assignment]
    units._factor.cache_clear()
    store = SchemaStore()
    checker = Checker(store, [], [], None)
    for sample in sorted((ROOT / "evidence_samples").glob("*.json")):
        checker.check(load_package(sample, store))
    for path in builtin_rulesets():
        run_rule_tests(load_ruleset(path, store), store)
    for layout, table in (("rosehill", "rosehill-company_data.csv"), ("eutl", "eutl-sample.csv")):
        for data in import_statements(layout, ROOT / "tests" / "data" / "statements" / table, Tally(table), store):
            checker.check(validated_package(table, data, "", store))
    units._by_pint = by_pint  # type: ignore[assignment]
    for set_id in factors.available():
        for factor in factors.load(set_id):
            seen.add(((factor.unit, factor.factor_unit), "t"))
            seen.add(((factor.factor_unit,), factor.factor_unit))
    seen |= {((mass,), target) for mass in MASSES for target in ("t", "kg")}
    return seen


def main() -> None:
    rows = []
    for product, target in sorted(asked()):
        try:
            units._bounded(product + (target,))
        except units.UnitProblem:
            continue  # refused before pint is asked: nothing to keep
        factor, refusal = units.by_pint(product, target)
        rows.append([list(product), target, factor, refusal])
    lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows)
    about = json.dumps("pint's answer to each conversion: [units multiplied, target, factor or null, refusal or null]; scripts/build_unit_table.py")
    units.TABLE_FILE.write_text('{"about": ' + about + ', "conversions": [\n' + lines + "\n]}\n")
    print(f"{units.TABLE_FILE}: {len(rows)} conversions")


if __name__ == "__main__":
    main()

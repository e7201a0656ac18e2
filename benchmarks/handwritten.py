"""The yardstick: generated ghg-inventory packages, and the checks of rulesets/inventory-basics.yaml written by
hand in plain Python. Deliberately imports nothing from the engine, so a baseline process pays only for
what a hand-written screening script would.

    python benchmarks/handwritten.py SOURCE.jsonl OUT.jsonl   # the hand-written screening run
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jsonschema_rs
import orjson

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
TOLERANCE = 0.001  # inventory-basics: line_tolerance
RETIRE_BY = "2025-12-31"  # inventory-basics: the period's end (2024-12-31) + retirement_window_months (12)


def generate(lines: int, batches: int) -> dict:
    """A valid package with `lines` inventory lines and `batches` retired credit batches that conforms to every rule."""
    rows = []
    for i in range(lines):
        activity, factor = 100 + i, 0.00008 + (i % 7) * 0.01
        rows.append({"id": f"L{i}", "source": f"source {i}", "scope": 1 + i % 3, "activity": {"value": activity, "unit": "MWh"}, "emission_factor": {"value": factor, "unit": "tCO2e/MWh"}, "reported_tco2e": activity * factor})
    total = sum(r["reported_tco2e"] for r in rows)
    scope = {k: sum(r["reported_tco2e"] for r in rows if r["scope"] == k) for k in (1, 2, 3)}
    size = int(total // batches) + 1
    credits = [{"id": f"B{j}", "registry": "ICR", "project_id": f"P{j % 5}", "vintage": 2024, "serial": {"start": j * size + 1, "end": (j + 1) * size}, "quantity": size, "retired_on": "2025-03-01", "beneficiary": "Bench Ltd"} for j in range(batches)]
    return {
        "kind": "ghg-inventory", "schema_version": "1.0", "id": f"BENCH-{lines}",
        "organisation": {"name": "Bench Ltd"}, "period": {"start": "2024-01-01", "end": "2024-12-31"}, "lines": rows,
        "totals": {"scope1_tco2e": scope[1], "scope2_tco2e": scope[2], "scope3_tco2e": scope[3], "total_tco2e": total},
        "offsets": {"batches": credits},
        "documents": [{"id": f"D{j}", "kind": "retirement_certificate", "refers_to": f"B{j}"} for j in range(batches)],
        "verification": {"level_of_assurance": "reasonable", "materiality_percent": 5, "opinion_date": "2025-04-01"},
    }


def _differ(a: float, b: float) -> bool:
    return abs(a - b) > TOLERANCE * max(abs(a), abs(b))


def baseline(package: dict) -> list[tuple[str, str]]:
    """The rules of inventory-basics written by hand, for a valid package: (rule id, JSON pointer) per finding.
    The materiality ceiling is left out, as its parameter is unset in the ruleset."""
    found = []
    lines, batches, documents, totals = package["lines"], package["offsets"]["batches"], package["documents"], package["totals"]
    for i, line in enumerate(lines):
        if _differ(line["activity"]["value"] * line["emission_factor"]["value"], line["reported_tco2e"]):
            found.append(("INV-LINE-ARITH", f"/lines/{i}"))
    total = sum(line["reported_tco2e"] for line in lines)
    if _differ(total, totals["total_tco2e"]):
        found.append(("INV-TOTAL", "/totals/total_tco2e"))
    if "scope1_tco2e" in totals and _differ(sum(line["reported_tco2e"] for line in lines if line["scope"] == 1), totals["scope1_tco2e"]):
        found.append(("INV-SCOPE1-TOTAL", "/totals/scope1_tco2e"))
    verification = package.get("verification", {})
    if not (package["period"]["start"] < package["period"]["end"] < verification.get("opinion_date", "")):
        found.append(("INV-PERIOD-ORDER", "/verification/opinion_date"))
    if verification.get("level_of_assurance") == "reasonable" and "materiality_percent" not in verification:
        found.append(("INV-MATERIALITY-RECORDED", "/verification"))
    certified = {d["refers_to"] for d in documents if d["kind"] == "retirement_certificate"}
    ordered = sorted(range(len(batches)), key=lambda k: (batches[k]["registry"], batches[k]["serial"]["start"]))
    for before, after in zip(ordered, ordered[1:]):
        if batches[before]["registry"] == batches[after]["registry"] and batches[after]["serial"]["start"] <= batches[before]["serial"]["end"]:
            found.append(("CR-NO-OVERLAP", f"/offsets/batches/{after}"))
    name = package["organisation"]["name"].lower()
    for j, batch in enumerate(batches):
        if batch["serial"]["end"] - batch["serial"]["start"] + 1 != batch["quantity"]:
            found.append(("CR-SERIAL-QUANTITY", f"/offsets/batches/{j}"))
        if batch["retired_on"] > RETIRE_BY:
            found.append(("CR-RETIREMENT-WINDOW", f"/offsets/batches/{j}"))
        if batch["beneficiary"].lower() != name:
            found.append(("CR-RETIRED-FOR-SUBJECT", f"/offsets/batches/{j}"))
        if batch["id"] not in certified:
            found.append(("CR-RETIREMENT-EVIDENCE", f"/offsets/batches/{j}"))
    if sum(batch["quantity"] for batch in batches) < totals["total_tco2e"]:
        found.append(("CR-COVERS-TOTAL", "/offsets/batches"))
    return found


def cross_package_overlaps(ranges: list[tuple[str, int, int, str]]) -> list[tuple[str, str]]:
    """Pairs of packages retiring a shared credit: (registry, first, last, package id) sorted and swept."""
    ranges.sort()
    pairs = []
    for k, (registry, first, last, owner) in enumerate(ranges):
        j = k + 1
        while j < len(ranges) and ranges[j][0] == registry and ranges[j][1] <= last:
            if ranges[j][3] != owner:
                pairs.append((owner, ranges[j][3]))
            j += 1
    return pairs


def screen(source: Path, out: Path) -> float:
    """The hand-written screening run: validate, check and write one JSON line per package, then the
    cross-package overlaps. Returns the seconds spent per package in the loop (the steady state)."""
    schema = orjson.loads((SCHEMAS / "ghg-inventory-1.0.schema.json").read_bytes())
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in (orjson.loads(p.read_bytes()) for p in SCHEMAS.glob("*.schema.json"))])
    validator = jsonschema_rs.Draft202012Validator(schema, registry=registry, validate_formats=True)
    ranges: list[tuple[str, int, int, str]] = []
    count = 0
    start = time.perf_counter()
    with source.open("rb") as lines, out.open("wb") as results:
        for raw in lines:
            package = orjson.loads(raw)
            valid = validator.is_valid(package)
            findings = baseline(package) if valid else []
            if valid:
                ranges += [(b["registry"], b["serial"]["start"], b["serial"]["end"], package["id"]) for b in package["offsets"]["batches"]]
            results.write(orjson.dumps({"id": package["id"], "valid": valid, "failing": sorted({rule for rule, _ in findings}), "findings": findings}) + b"\n")
            count += 1
        loop = time.perf_counter() - start
        for first, second in cross_package_overlaps(ranges):
            results.write(orjson.dumps({"overlap": [first, second]}) + b"\n")
    return loop / count


if __name__ == "__main__":
    print(screen(Path(sys.argv[1]), Path(sys.argv[2])))

"""Evaluation throughput on generated ghg-inventory packages: packages/s and facts/s, small and large,
with the validation share and a hand-written Python baseline of the same checks measured in the same run.

    python benchmarks/evaluate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from engine.evaluate import evaluate
from engine.evidence import SchemaStore, load_package
from engine.resources import builtin_rulesets
from engine.rulesets import compile_ruleset, load_ruleset


def generate(lines: int, batches: int) -> dict:
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


def baseline(package: dict) -> int:
    """The same checks written by hand: the yardstick for the engine's overhead."""
    failures = 0
    lines, batches, documents = package["lines"], package["offsets"]["batches"], package["documents"]
    for line in lines:
        a, b = line["activity"]["value"] * line["emission_factor"]["value"], line["reported_tco2e"]
        failures += abs(a - b) > 0.001 * max(abs(a), abs(b))
    total = sum(line["reported_tco2e"] for line in lines)
    failures += abs(total - package["totals"]["total_tco2e"]) > 0.001 * max(abs(total), abs(package["totals"]["total_tco2e"]))
    scope1 = sum(line["reported_tco2e"] for line in lines if line["scope"] == 1)
    failures += "scope1_tco2e" in package["totals"] and abs(scope1 - package["totals"]["scope1_tco2e"]) > 0.001 * max(abs(scope1), abs(package["totals"]["scope1_tco2e"]))
    verification = package.get("verification", {})
    failures += not (package["period"]["start"] < package["period"]["end"] < verification.get("opinion_date", ""))
    failures += verification.get("level_of_assurance") == "reasonable" and "materiality_percent" not in verification
    failures += sum(batch["quantity"] for batch in batches) < package["totals"]["total_tco2e"]
    certified = {d["refers_to"] for d in documents if d["kind"] == "retirement_certificate"}
    ordered = sorted(batches, key=lambda b: (b["registry"], b["serial"]["start"]))
    for before, after in zip(ordered, ordered[1:]):
        failures += before["registry"] == after["registry"] and after["serial"]["start"] <= before["serial"]["end"]
    for batch in batches:
        failures += batch["serial"]["end"] - batch["serial"]["start"] + 1 != batch["quantity"]
        failures += batch["retired_on"] > "2025-12-31"
        failures += batch["beneficiary"].lower() != package["organisation"]["name"].lower()
        failures += batch["id"] not in certified
    return failures


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    store = SchemaStore()
    ruleset = load_ruleset(next(p for p in builtin_rulesets() if p.stem == "inventory-basics"), store)
    compiled = [compile_ruleset(ruleset, "ghg-inventory", "1.0", store)]
    print(f"{'package':<10}{'items':>7}{'KiB':>8}{'load+validate ms':>18}{'evaluate ms':>13}{'end-to-end ms':>15}{'packages/s':>12}{'facts/s':>11}{'baseline ms':>13}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for name, lines, batches in (("small", 50, 5), ("mid", 500, 50), ("large", 5000, 500)):
            path = Path(folder) / f"{name}.json"
            data = generate(lines, batches)
            path.write_text(json.dumps(data))
            package = load_package(path, store)
            items = lines + 2 * batches
            load_ms = timed(lambda: load_package(path, store), args.repeat) * 1000
            eval_ms = timed(lambda: evaluate(package, compiled), args.repeat) * 1000
            total_ms = timed(lambda: json.dumps(evaluate(load_package(path, store), compiled)), args.repeat) * 1000
            base_ms = timed(lambda: json.dumps({"failures": baseline(json.loads(path.read_bytes()))}), args.repeat) * 1000
            print(f"{name:<10}{items:>7}{path.stat().st_size / 1024:>8.0f}{load_ms:>18.2f}{eval_ms:>13.2f}{total_ms:>15.2f}{1000 / total_ms:>12.1f}{items * 1000 / total_ms:>11.0f}{base_ms:>13.2f}{total_ms / base_ms:>7.1f}")
    print("\nend-to-end = read + validate (jsonschema-rs) + evaluate 12 rules + serialise the JSON result; baseline = read + 11 of the same checks by hand (the materiality ceiling is unset) without validation.")


if __name__ == "__main__":
    main()

"""Evaluation throughput on generated ghg-inventory packages: packages/s and facts/s, small and large,
with the validation share and a hand-written Python baseline of the same checks measured in the same run.

    python benchmarks/evaluate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from vericarbon.evidence.package import SchemaStore, load_package
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import compile_ruleset, load_ruleset
from vericarbon.run.evaluate import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from handwritten import baseline, generate  # noqa: E402


def handwritten(path: Path, validator) -> bytes:
    package = orjson.loads(path.read_bytes())
    return orjson.dumps({"valid": validator.is_valid(package), "findings": baseline(package)})


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
    validator = store.fast_validator(store.kinds[("ghg-inventory", "1.0")])
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
            base_ms = timed(lambda: handwritten(path, validator), args.repeat) * 1000
            print(f"{name:<10}{items:>7}{path.stat().st_size / 1024:>8.0f}{load_ms:>18.2f}{eval_ms:>13.2f}{total_ms:>15.2f}{1000 / total_ms:>12.1f}{items * 1000 / total_ms:>11.0f}{base_ms:>13.2f}{total_ms / base_ms:>7.1f}")
    print("\nend-to-end = read + validate (jsonschema-rs) + evaluate 12 rules + serialise the JSON result; baseline = read (orjson) + validate (jsonschema-rs) + 11 of the same checks by hand (the materiality ceiling is unset) + serialise.")


if __name__ == "__main__":
    main()

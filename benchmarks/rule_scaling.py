"""Each built-in rule's time per line as packages grow: no rule should be worse than O(n log n), so the
figure per line should stay flat from 1 000 to 10 000 lines, whether the lines' sources are distinct or
the same few repeated (the copy-paste error a registry will meet: 31 source ids over and over).

For every kind whose packages hold lines, the bundled sample's lines (and, for inventories and claims,
its offset batches or credits, in offset serial ranges) are copied to each size; each rule runs as
`verify` runs it (vericarbon.run.evaluate: the relational answers, the statuses, the occurrences of the
items that did not pass), best of --repeat runs. Rules that take under 2 µs per line at every size are
summed in one row.

    python benchmarks/rule_scaling.py [--sizes 1000,3000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from vericarbon.evidence.package import SchemaStore, parse_package
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import compile_ruleset, load_ruleset
from vericarbon.run.evaluate import evaluate_rule

SAMPLES = Path(__file__).resolve().parent.parent / "evidence_samples"
# kind: (sample, the path of its lines, the path of its serial ranges or None)
KINDS = {
    "ghg-statement": ("statement-desnz-2023-lines.json", ("lines",), None),
    "ghg-inventory": ("inventory-conforming.json", ("lines",), ("offsets", "batches")),
    "ghg-verification": ("verification-organisation.json", ("statement", "lines"), None),
    "carbon-neutrality-claim": ("neutrality-company-2024.json", ("claims",), ("credits",)),
    "icr-project-submission": ("icr-removal-issuance.json", ("statement", "lines"), ("issuance_request", "serials")),
}
REPEATED_SOURCES = 31
FLAT = 2e-6  # seconds per line under which a rule is summed with the others


def _at(document: dict, path: tuple[str, ...]) -> list:
    for part in path:
        document = document[part]
    return document  # type: ignore[return-value]


def _grow(document: dict, path: tuple[str, ...], size: int, repeated: bool) -> None:
    """`size` elements copied from the sample's, each with its own id, activity (the sample's times the
    round of copies) and serial range; their sources distinct, or 31 repeated (and every serial range in
    the first one's block)."""
    parent = _at(document, path[:-1]) if len(path) > 1 else document
    originals = parent[path[-1]]
    grown = []
    for n in range(size):
        element = copy.deepcopy(originals[n % len(originals)])
        if "id" in element:
            element["id"] = f"{element['id']}-{n}"
        if "source_id" in element:
            element["source_id"] = f"S{n % REPEATED_SOURCES if repeated else n}"
        if isinstance(element.get("activity"), dict) and isinstance(element["activity"].get("value"), (int, float)):
            scale = 1 + n // len(originals)  # each round of copies its own activity, the arithmetic still right
            element["activity"]["value"] *= scale
            if isinstance(element.get("reported_tco2e"), (int, float)):
                element["reported_tco2e"] *= scale
        serial = element.get("serial") if isinstance(element.get("serial"), dict) else element
        first, last = ("from", "to") if "from" in serial else ("start", "end")
        if isinstance(serial.get(first), int):
            serial[first], serial[last] = 1 + n * 100, (n + 1) * 100
            for block in ("prefix", "block"):
                if repeated and block in serial:
                    serial[block] = (originals[0].get("serial") if "serial" in originals[0] else originals[0])[block]
        grown.append(element)
    parent[path[-1]] = grown


def _package(kind: str, size: int, repeated: bool) -> dict:
    sample, lines, ranges = KINDS[kind]
    document = json.loads((SAMPLES / sample).read_text())
    _grow(document, lines, size, repeated)
    if ranges is not None:
        _grow(document, ranges, max(1, size // 10), repeated)
    return document


def _rule_times(compiled: list, package: dict, repeat: int) -> dict[str, float]:
    """Each rule's best time over `repeat` runs, its ruleset's relational answers shared out equally."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        for ruleset in compiled:
            start = time.perf_counter()
            answers = ruleset.relation_engine.run(package)
            shared = (time.perf_counter() - start) / max(1, len(ruleset.rules))
            for rule in ruleset.rules:
                start = time.perf_counter()
                evaluate_rule(rule, package, ruleset.params, answers.get(rule.id))
                took = time.perf_counter() - start + shared
                best[rule.id] = min(best.get(rule.id, took), took)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    store = SchemaStore()
    rulesets = [load_ruleset(path, store) for path in builtin_rulesets()]
    for kind in KINDS:
        compiled = [compile_ruleset(ruleset, kind, "1.0", store) for ruleset in rulesets if kind in ruleset.data["applies_to"]]
        for repeated in (False, True):
            per_line: dict[str, list[float]] = {}
            for size in sizes:
                package = parse_package(Path(f"{kind}-{size}.json"), json.dumps(_package(kind, size, repeated)).encode(), store).data  # as verify reads it
                for rule_id, took in _rule_times(compiled, package, args.repeat).items():
                    per_line.setdefault(rule_id, []).append(took / size)
            print(f"\n{kind}, {'31 sources repeated' if repeated else 'distinct sources'}: µs per line")
            print(f"{'rule':<44}" + "".join(f"{size:>10}" for size in sizes) + f"{'last/first':>12}")
            flat = [0.0] * len(sizes)
            for rule_id, times in sorted(per_line.items(), key=lambda entry: -entry[1][-1]):
                if max(times) < FLAT:
                    flat = [total + took for total, took in zip(flat, times)]
                    continue
                print(f"{rule_id:<44}" + "".join(f"{took * 1e6:>10.2f}" for took in times) + f"{times[-1] / times[0]:>12.2f}")
            print(f"{'every other rule, summed':<44}" + "".join(f"{took * 1e6:>10.2f}" for took in flat) + f"{flat[-1] / flat[0] if flat[0] else 1:>12.2f}")


if __name__ == "__main__":
    main()

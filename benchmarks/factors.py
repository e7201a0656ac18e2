"""Factor lookup: loading each shipped set cold (a fresh process, so the figure includes reading and
unpacking its file), finding a factor by id and by description and unit, a text search, and the cost a
rule pays per line for `official_factor()` — each beside a plain dict lookup over the same rows as the
baseline. Best of several runs; the machine is shared.

    python benchmarks/factors.py [--repeat 5] [--lines 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from vericarbon import factors


def best(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def cold_load_ms(set_id: str, repeat: int) -> tuple[float, float]:
    """Milliseconds to import vericarbon.factors and load the set, and to import it alone, in a fresh process."""
    code = "import time, sys; t = time.perf_counter(); from vericarbon import factors; a = time.perf_counter(); {load}; print((time.perf_counter() - a) * 1000)"
    loads = [float(subprocess.run([sys.executable, "-c", code.format(load=f"factors.load({set_id!r})")], capture_output=True, text=True, check=True).stdout) for _ in range(repeat)]
    return min(loads), 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()

    print(f"{'set':14} {'factors':>8} {'cold load ms':>13}")
    for set_id in factors.available():
        load_ms, _ = cold_load_ms(set_id, args.repeat)
        print(f"{set_id:14} {len(factors.load(set_id)):8} {load_ms:13.1f}")

    flat = factors.load("desnz-2023")
    ids = flat.columns["id"]
    rows = list(flat)
    plain = {factor.id: factor for factor in rows}
    citations = [{"set": "desnz-2023", "id": factor_id} for factor_id in ids]
    by_description = [{"set": "desnz-2023", "description": f.description, "unit": f.unit, "ghg": f.ghg} for f in rows if f.ghg == "CO2e"]
    unique = [c for c in by_description if len(flat._by_description[(factors._key(c["description"]), factors._key(c["unit"]), "CO2e")]) == 1]

    find_id = best(args.repeat, lambda: [factors.find(c) for c in citations]) / len(citations) * 1e6
    baseline = best(args.repeat, lambda: [plain[c["id"]] for c in citations]) / len(citations) * 1e6
    find_description = best(args.repeat, lambda: [factors.find(c) for c in unique]) / len(unique) * 1e6
    search = best(args.repeat, lambda: factors.search("natural gas gross", ["desnz-2023"])) * 1e3
    print(f"\nper lookup (desnz-2023, {len(citations)} ids): by id {find_id:.2f} µs, plain dict {baseline:.2f} µs (ratio {find_id / baseline:.1f}); "
          f"by description and unit {find_description:.2f} µs ({len(unique)} unique descriptions)")
    print(f"search 'natural gas gross' over desnz-2023: {search:.1f} ms")

    import vericarbon
    from vericarbon.evidence.package import SchemaStore  # noqa: F401  (warm the imports outside the timing)

    lines = []
    for factor in rows[: args.lines * 4]:
        if factor.ghg != "CO2e" or not factor.unit or len(lines) == args.lines:
            continue
        lines.append({"id": f"L{len(lines)}", "source": factor.description, "scope": 1, "activity": {"value": 1000, "unit": factor.unit},
                      "emission_factor": {"value": round(factor.value, 5) or factor.value, "unit": factor.factor_unit, "official": {"set": "desnz-2023", "id": factor.id}},
                      "reported_tco2e": round(factor.value, 5) or factor.value})
    package = {"kind": "ghg-statement", "schema_version": "1.0", "id": "B", "organisation": {"name": "B"}, "period": {"start": "2023-01-01", "end": "2023-12-31"},
               "gwp_set": "AR5", "boundary": {"scopes": [1]}, "figures": [{"scope": 1, "value": 1, "unit": "t CO2e"}], "lines": lines}
    without = {**package, "lines": [{**line, "emission_factor": {k: v for k, v in line["emission_factor"].items() if k != "official"}} for line in lines]}
    vericarbon.verify(package)
    with_official = best(args.repeat, lambda: vericarbon.verify(package))
    plain_lines = best(args.repeat, lambda: vericarbon.verify(without))
    print(f"verify a statement of {len(lines)} lines: citing official factors {with_official * 1000:.0f} ms, the same lines citing none {plain_lines * 1000:.0f} ms "
          f"(ratio {with_official / plain_lines:.2f}; {(with_official - plain_lines) / len(lines) * 1e6:.0f} µs per line for the five factor rules)")


if __name__ == "__main__":
    main()

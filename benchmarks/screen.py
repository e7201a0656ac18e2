"""Screening throughput: generated ghg-inventory packages (a stated share with planted defects and with serial
overlaps across packages) screened with 1 and 2 worker processes, against a plain hand-written baseline that
parses with orjson, validates with jsonschema-rs and runs the same checks, measured in the same run.

    python benchmarks/screen.py [--scale 1.0]

Prints packages/s, facts/s, peak memory (of the screening process and of its busiest worker), the ratio to
the baseline, whether every planted overlap was found and nothing else, and peak memory for 1× and 5× the
packages (flat means memory does not grow with the number of packages)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import baseline, generate  # noqa: E402  the same generator and hand-written checks as benchmarks/evaluate.py

SIZES = {"small": (40, 5), "mid": (400, 50), "large": (4000, 500)}  # lines, credit batches: ≈50, ≈500, ≈5 000 items


def write_batch(path: Path, size: str, count: int, defect_share: float, overlap_share: float) -> set[tuple[str, str]]:
    """A JSON-Lines file of `count` packages; returns the planted overlaps as pairs of package ids."""
    lines, batches = SIZES[size]
    template = generate(lines, batches)
    span = template["offsets"]["batches"][-1]["serial"]["end"] + 1
    planted = set()
    every_defect = max(1, round(1 / defect_share)) if defect_share else 0
    every_overlap = max(2, round(1 / overlap_share)) if overlap_share else 0
    with path.open("w") as out:
        for n in range(count):
            package = json.loads(json.dumps(template))
            package["id"] = f"{size}-{n:06d}"
            for batch in package["offsets"]["batches"]:
                batch["serial"] = {"start": batch["serial"]["start"] + n * span, "end": batch["serial"]["end"] + n * span}
            if every_defect and n % every_defect == 1:
                package["lines"][0]["reported_tco2e"] *= 2  # a line that does not recompute
            if every_overlap and n % every_overlap == 0 and n:
                first = package["offsets"]["batches"][0]["serial"]
                shift = span // 2  # the first batch now reuses credits of the previous package's batches
                package["offsets"]["batches"][0]["serial"] = {"start": first["start"] - shift, "end": first["end"] - shift}
                planted.add((f"{size}-{n - 1:06d}", package["id"]))
            out.write(json.dumps(package) + "\n")
    return planted


def screen_once(source: Path, jobs: int) -> dict:
    """Run `vericarbon screen` in a fresh process; its own peak memory and its workers'."""
    code = (
        "import json, resource, sys, time\n"
        "from engine.cli import main\n"
        "start = time.perf_counter()\n"
        f"code = main(['screen', {str(source)!r}, '--jobs', '{jobs}', '-o', {str(source) + '.out'!r}])\n"
        "print(json.dumps({'seconds': time.perf_counter() - start, 'rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " 'worker_rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    lines = [json.loads(line) for line in Path(str(source) + ".out").read_text().splitlines()]
    # a conflict is reported on whichever of the two packages reached the ledger second
    stats["found"] = {tuple(sorted((line["id"], c["other"]["package_id"]))) for line in lines for c in line.get("ledger_conflicts", [])}
    stats["packages"] = len(lines)
    return stats


def baseline_once(source: Path) -> float:
    """Seconds for the hand-written path over the whole file, on one core."""
    import jsonschema_rs
    import orjson

    from engine.evidence import SchemaStore

    store = SchemaStore()
    validator = store.fast_validator(store.kinds[("ghg-inventory", "1.0")])
    start = time.perf_counter()
    with source.open("rb") as lines:
        for raw in lines:
            package = orjson.loads(raw)
            valid = validator.is_valid(package)
            orjson.dumps({"id": package["id"], "valid": valid, "failures": baseline(package)})
    del jsonschema_rs
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the package counts (default 1.0: 1 000 small, 200 mid, 20 large)")
    args = parser.parse_args()
    counts = {"small": int(1000 * args.scale), "mid": int(200 * args.scale), "large": max(2, int(20 * args.scale))}
    print(f"{'size':<7}{'items':>7}{'pkgs':>6}{'jobs':>5}{'pkg/s':>9}{'facts/s':>10}{'ms/pkg':>8}{'steady':>8}{'baseline ms':>12}{'ratio':>7}{'steady':>7}{'peak MiB':>10}{'worker MiB':>11}  overlaps")
    with tempfile.TemporaryDirectory() as folder:
        fixed = {}
        for jobs in (1, 2):  # start-up: interpreter, workers, loading and compiling the rulesets
            one = Path(folder) / f"one-{jobs}.jsonl"
            write_batch(one, "small", 1, defect_share=0, overlap_share=0)
            fixed[jobs] = screen_once(one, jobs)["seconds"]
        for size, count in counts.items():
            source = Path(folder) / f"{size}.jsonl"
            planted = write_batch(source, size, count, defect_share=0.1, overlap_share=0.05)
            lines, batches = SIZES[size]
            items = lines + 2 * batches
            base_ms = baseline_once(source) / count * 1000
            for jobs in (1, 2):
                stats = screen_once(source, jobs)
                ms = stats["seconds"] / count * 1000
                steady = max(stats["seconds"] - fixed[jobs], 1e-9) / count * 1000
                overlaps = "all found, nothing else" if stats["found"] == planted else f"found {len(stats['found'])}, planted {len(planted)}"
                print(f"{size:<7}{items:>7}{count:>6}{jobs:>5}{count / stats['seconds']:>9.1f}{count * items / stats['seconds']:>10.0f}{ms:>8.2f}{steady:>8.2f}{base_ms:>12.2f}{ms / base_ms:>7.1f}{steady / base_ms:>7.1f}"
                      f"{stats['rss_kib'] / 1024:>10.0f}{stats['worker_rss_kib'] / 1024:>11.0f}  {overlaps}")
        source = Path(folder) / "flat.jsonl"
        print("\npeak memory against the number of packages (small, 2 jobs):")
        for factor in (1, 5):
            write_batch(source, "small", counts["small"] * factor, defect_share=0.1, overlap_share=0.05)
            stats = screen_once(source, 2)
            print(f"  {counts['small'] * factor:>6} packages: screening process {stats['rss_kib'] / 1024:.0f} MiB, busiest worker {stats['worker_rss_kib'] / 1024:.0f} MiB")
    print("\nratio = vericarbon end to end (spawn workers, read, validate, evaluate every rule, ledger, JSON line) per package ÷ baseline per package (orjson + jsonschema-rs + the checks by hand, one core);")
    print(f"steady = the same without the fixed start-up of a run ({fixed[1]:.2f} s with 1 job, {fixed[2]:.2f} s with 2: interpreter, workers, loading and compiling every ruleset).")
    print(f"this machine: {resource.getpagesize()} B pages; run on the same machine for comparable figures")


if __name__ == "__main__":
    main()

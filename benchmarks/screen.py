"""Screening throughput: generated ghg-inventory packages (a stated share with planted defects and with serial
overlaps across packages) screened by `vericarbon screen` with 1 and 2 worker processes, against a plain
hand-written screening script (benchmarks/handwritten.py: orjson, jsonschema-rs, the same checks, the same
cross-package overlap check) measured in the same run on the same files.

    python benchmarks/screen.py [--scale 1.0]

Both sides run as fresh processes, timed from outside, so "end to end" includes each one's start-up. The
steady state is the cost of one more package: vericarbon's from the slope between N and 3N packages, the
baseline's from its own loop. The runs are interleaved, one of each kind per round (baseline, then
vericarbon on N and 3N packages with 1 and 2 workers), so a machine that slows down mid-run slows both
sides; every figure is the best of the rounds (the machines are shared and noisy).
It also checks that both sides find the same failing rules in every package and every planted overlap,
and prints peak memory for 1x and 5x the packages (flat means memory does not grow with the count)."""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from handwritten import generate  # noqa: E402

SIZES = {"small": (40, 5), "mid": (400, 50), "large": (4000, 500)}  # lines, credit batches: ≈50, ≈500, ≈5 000 items
COUNTS = {"small": 2000, "mid": 300, "large": 30}
# Runs `vericarbon screen` and prints the peak resident memory (VmHWM) of this process and of its busiest
# worker, polled while they run. Not ru_maxrss: Linux carries a parent's peak across fork and exec into it.
SCREEN = """
import json, os, sys, threading, time
from vericarbon.cli import main

def high_water(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0

workers = {}
def watch():
    while True:
        for task in os.listdir("/proc/self/task"):
            try:
                children = open(f"/proc/self/task/{task}/children").read().split()
            except OSError:
                continue
            for pid in children:
                workers[pid] = max(workers.get(pid, 0), high_water(pid))
        time.sleep(0.02)

threading.Thread(target=watch, daemon=True).start()
main(sys.argv[1:])
print(json.dumps({"rss_kib": high_water("self"), "worker_rss_kib": max(workers.values(), default=0)}))
"""


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


def _timed(argv: list[str]) -> tuple[float, str]:
    """Wall seconds of one run and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return seconds, done.stdout


class Runs:
    """The runs of one command across rounds: their times and what each printed."""

    def __init__(self, argv: list[str]) -> None:
        self.argv: list[str] = argv
        self.times: list[float] = []
        self.outputs: list[str] = []

    def run(self) -> None:
        seconds, output = _timed(self.argv)
        self.times.append(seconds)
        self.outputs.append(output)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def spread(self) -> float:
        return max(self.times) / self.best


def vericarbon_runs(source: Path, jobs: int) -> Runs:
    return Runs([sys.executable, "-c", SCREEN, "screen", str(source), "--jobs", str(jobs), "-o", f"{source}.{jobs}.out"])


def vericarbon(runs: Runs) -> dict:
    """What `vericarbon screen` found (each package's failing rules and the cross-package conflicts), its
    peak memory (its own and its busiest worker's), and its timing."""
    lines = [json.loads(line) for line in Path(runs.argv[-1]).read_text().splitlines()]
    return {
        **json.loads(runs.outputs[-1].strip().splitlines()[-1]),
        "seconds": runs.best,
        "spread": runs.spread,
        "failing": {line["id"]: sorted(line.get("failing", [])) for line in lines},
        # a conflict is reported on whichever of the two packages reached the ledger second
        "overlaps": {tuple(sorted((line["id"], c["other"]["package_id"]))) for line in lines for c in line.get("ledger_conflicts", [])},
    }


def handwritten(runs: Runs) -> dict:
    lines = [json.loads(line) for line in Path(runs.argv[-1]).read_text().splitlines()]
    return {
        "seconds": runs.best,
        "steady": min(float(output) for output in runs.outputs),
        "failing": {line["id"]: line["failing"] for line in lines if "id" in line},
        "overlaps": {tuple(sorted(line["overlap"])) for line in lines if "overlap" in line},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the package counts (default 1.0: 2 000 small, 300 mid, 30 large)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each figure is the best of them (default 3)")
    args = parser.parse_args()
    counts = {size: max(2, int(count * args.scale)) for size, count in COUNTS.items()}
    print(f"{'size':<7}{'items':>6}{'pkgs':>6}{'jobs':>5}{'pkg/s':>8}{'facts/s':>9}"
          f"{'ms/pkg end to end':>19}{'baseline':>9}{'ratio':>6}{'ms/pkg steady':>15}{'baseline':>9}{'ratio':>6}{'spread':>7}{'peak MiB':>10}{'worker MiB':>11}  same findings and overlaps as the baseline")
    with tempfile.TemporaryDirectory() as folder:
        for size, count in counts.items():
            lines, batches = SIZES[size]
            items = lines + 2 * batches
            triple = Path(folder) / f"{size}-{3 * count}.jsonl"
            write_batch(triple, size, 3 * count, defect_share=0.1, overlap_share=0.05)
            source = Path(folder) / f"{size}-{count}.jsonl"
            with triple.open() as lines, source.open("w") as first:
                first.writelines(itertools.islice(lines, count))
            baseline = Runs([sys.executable, str(HERE / "handwritten.py"), str(source), f"{source}.base"])
            screens = {(jobs, n): vericarbon_runs(path, jobs) for jobs in (1, 2) for n, path in ((1, source), (3, triple))}
            for _ in range(args.rounds):
                baseline.run()
                for runs in screens.values():
                    runs.run()
            base = handwritten(baseline)
            for jobs in (1, 2):
                once, thrice = vericarbon(screens[jobs, 1]), vericarbon(screens[jobs, 3])
                end_to_end = once["seconds"] / count * 1000
                steady = max(thrice["seconds"] - once["seconds"], 1e-9) / (2 * count) * 1000
                base_end_to_end, base_steady = base["seconds"] / count * 1000, base["steady"] * 1000
                agree = "yes" if once["failing"] == base["failing"] and once["overlaps"] == base["overlaps"] else (
                    f"NO: {sum(once['failing'].get(k) != v for k, v in base['failing'].items())} packages differ, overlaps {len(once['overlaps'])} vs {len(base['overlaps'])}")
                print(f"{size:<7}{items:>6}{count:>6}{jobs:>5}{1000 / steady:>8.0f}{items * 1000 / steady:>9.0f}"
                      f"{end_to_end:>19.2f}{base_end_to_end:>9.2f}{end_to_end / base_end_to_end:>6.1f}{steady:>15.2f}{base_steady:>9.2f}{steady / base_steady:>6.1f}{max(once['spread'], thrice['spread']):>7.2f}"
                      f"{once['rss_kib'] / 1024:>10.0f}{once['worker_rss_kib'] / 1024:>11.0f}  {agree} ({len(base['overlaps'])} overlaps)")
        print("\npeak memory against the number of packages (small, 2 jobs):")
        source = Path(folder) / "flat.jsonl"
        for factor in (1, 5):
            write_batch(source, "small", counts["small"] * factor, defect_share=0.1, overlap_share=0.05)
            runs = vericarbon_runs(source, 2)
            runs.run()
            stats = vericarbon(runs)
            print(f"  {counts['small'] * factor:>6} packages: screening process {stats['rss_kib'] / 1024:.0f} MiB, busiest worker {stats['worker_rss_kib'] / 1024:.0f} MiB")
    print("\nend to end: a fresh process each side, timed from outside, start-up included, N packages; "
          "steady: one more package (vericarbon: the slope between N and 3N packages; baseline: its own loop). pkg/s and facts/s are steady; "
          "spread: worst / best of the rounds behind each of vericarbon's figures.")
    print("vericarbon: validate, every rule's status (findings with pointers and values only with --report-dir), the SQLite ledger written by the workers, one JSON line per package; "
          "baseline (benchmarks/handwritten.py, one core): orjson, jsonschema-rs, the same checks, an in-memory overlap sweep, one JSON line per package.")
    print(f"this machine: {resource.getpagesize()} B pages; compare figures from one run only")


if __name__ == "__main__":
    main()

"""Conflicts bounded: `vericarbon screen` of 2 000 small packages that all retire the same serial block
(every pair of them a double retirement) against 2 000 whose blocks are all distinct, with one worker:
the size of the JSON-Lines output and the wall time of each, best of --rounds interleaved runs, each a
fresh process timed from outside.

    python benchmarks/one_block.py [--packages 2000] [--rounds 3]

Before the conflicts were bounded, the shared block wrote 4 997 000 findings, 1.65 GB, in 78 s (distinct
blocks: 722 KB in 0.4 s). Now each line has one finding per range and kind, naming a run-level record
of the block."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from test_screen import inventory  # noqa: E402  the small valid package the tests screen


def write(folder: Path, count: int, shared: bool) -> None:
    folder.mkdir()
    for n in range(count):
        first = 1 if shared else n * 1000 + 1
        (folder / f"P{n:05d}.json").write_text(json.dumps(inventory(f"P{n:05d}", [(first, first + 499)])))


def screen(folder: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vericarbon", "screen", str(folder), "--jobs", "1", "-o", str(out)], check=False, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        cases = {"one shared block": root / "shared", "distinct blocks": root / "distinct"}
        for name, folder in cases.items():
            write(folder, args.packages, shared=name == "one shared block")
        best = {name: float("inf") for name in cases}
        for _ in range(args.rounds):
            for name, folder in cases.items():
                best[name] = min(best[name], screen(folder, root / f"{folder.name}.jsonl"))
        for name, folder in cases.items():
            lines = (root / f"{folder.name}.jsonl").read_text().splitlines()
            findings = sum(len(json.loads(line).get("ledger_conflicts", [])) for line in lines)
            size = (root / f"{folder.name}.jsonl").stat().st_size
            print(f"{name:17} {args.packages} packages: {size / 1e6:8.2f} MB of output, {findings:7} findings on the lines, {best[name]:6.2f} s (best of {args.rounds})")


if __name__ == "__main__":
    main()

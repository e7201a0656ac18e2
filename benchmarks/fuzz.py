"""The fuzz test's generator at scale: mutate the bundled samples N times (tests/fuzzing.py), check every
mutant in process as `vericarbon verify` would, and count what escaped.

    python benchmarks/fuzz.py --n 100000 [--jobs 2] [--seed 0]

Prints inputs run, outcomes by exit code, uncaught exceptions by type and the vericarbon line they came
from (with a seed that reproduces each), inputs that took over 10 s (hangs), and wall time. Exits 1 if
anything escaped or hung. A seed reproduces its input: random.Random(seed) through tests/fuzzing.mutated.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzzing import check, mutated  # noqa: E402

HANG_SECONDS = 10
TASK = 250  # seeds per task


class Hang(Exception):
    pass


def _expire(signum: int, frame: object) -> None:
    raise Hang


def run_seeds(seeds: range) -> dict:
    signal.signal(signal.SIGALRM, _expire)
    outcomes: Counter = Counter()
    escaped: dict[str, list] = {}
    hangs: list[int] = []
    slowest = (0.0, -1)
    for seed in seeds:
        _, raw = mutated(random.Random(seed))
        started = time.perf_counter()
        signal.alarm(HANG_SECONDS)
        try:
            outcomes[check(raw)] += 1
        except Hang:
            hangs.append(seed)
        except Exception as error:  # noqa: BLE001 - counting them is the point
            frames = [f for f in traceback.extract_tb(error.__traceback__) if "vericarbon" in f.filename or "/engine/" in f.filename]
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} {frames[-1].name}" if frames else "outside vericarbon"
            entry = escaped.setdefault(f"{type(error).__name__} at {where}", [0, seed, str(error)[:120]])
            entry[0] += 1
        finally:
            signal.alarm(0)
        slowest = max(slowest, (time.perf_counter() - started, seed))
    return {"outcomes": outcomes, "escaped": escaped, "hangs": hangs, "slowest": slowest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0, help="first seed; inputs use seed, seed + 1, …")
    args = parser.parse_args()
    started = time.perf_counter()
    tasks = [range(start, min(start + TASK, args.seed + args.n)) for start in range(args.seed, args.seed + args.n, TASK)]
    outcomes: Counter = Counter()
    escaped: dict[str, list] = {}
    hangs: list[int] = []
    slowest = (0.0, -1)
    with ProcessPoolExecutor(args.jobs) as pool:
        for done in pool.map(run_seeds, tasks):
            outcomes.update(done["outcomes"])
            hangs += done["hangs"]
            slowest = max(slowest, done["slowest"])
            for key, (count, seed, message) in done["escaped"].items():
                entry = escaped.setdefault(key, [0, seed, message])
                entry[0] += count
    seconds = time.perf_counter() - started
    total = sum(outcomes.values()) + sum(entry[0] for entry in escaped.values()) + len(hangs)
    print(f"inputs run            {total}")
    for code, label in ((0, "exit 0 (no failing finding)"), (1, "exit 1 (failing findings)"), (2, "exit 2 (refused as input)")):
        print(f"  {label:<28}{outcomes[code]:>8}")
    print(f"uncaught exceptions   {sum(entry[0] for entry in escaped.values())}")
    for key, (count, seed, message) in sorted(escaped.items(), key=lambda item: -item[1][0]):
        print(f"  {count:>6}  {key}  (seed {seed}: {message})")
    print(f"hangs over {HANG_SECONDS} s       {len(hangs)}" + (f"  (seeds {hangs[:10]})" if hangs else ""))
    print(f"slowest input         {slowest[0]:.2f} s (seed {slowest[1]})")
    print(f"wall time             {seconds:.1f} s ({total / seconds:.0f} inputs/s, {args.jobs} processes)")
    return 1 if escaped or hangs else 0


if __name__ == "__main__":
    raise SystemExit(main())

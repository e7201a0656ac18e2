"""The fuzzer at scale: every input family (tests/fuzz_families.py) through the Python API and the command
line, in forked worker processes, so that an abort or a hang is counted, not fatal.

    python benchmarks/fuzz.py --n 100000 [--family all|packages,workbooks,…] [--jobs 2] [--seed 0] [--chunk 50] [--budget SECONDS]

`--n` inputs in all, shared evenly by the families chosen, whose chunks take turns
(`--budget` stops starting chunks after that long: the table says how many inputs each family ran). Each worker is forked for a chunk of seeds and
reports every input as it starts and ends; a worker killed by a signal is an abort of the input it was on, an
input still running after --kill seconds is killed as a hang, and the chunk goes on from the next seed in a
new worker. Prints, by family: inputs run, outcomes by exit code, exit codes outside 0/1/2/130, uncaught
exceptions (by type and the vericarbon line they came from, with a seed that reproduces each), hangs over 10 s,
aborts (signals), the workers' peak memory (ru_maxrss), the largest input and how many were over 1 GB.
Exits 1 if anything escaped, hung or aborted. An input is reproduced by its family and seed:
`python benchmarks/fuzz.py --family workbooks --seed 123 --n 1`.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_families import FAMILIES, generate, run_api, run_cli  # noqa: E402

HANG_SECONDS = 10
GIGABYTE = 1 << 30
WORKER_MEMORY = 6 * GIGABYTE  # address space per worker: a blow-up is a MemoryError, not the machine's swap
DOCUMENTED = {0, 1, 2, 130}


class Hang(Exception):
    pass


def _expire(signum: int, frame: object) -> None:
    raise Hang


def site(error: BaseException) -> str:
    """The exception's type and the innermost vericarbon frame it passed through."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/engine/vericarbon/" in f.filename or "/vericarbon/" in f.filename]
    where = f"{frames[-1].filename.split('vericarbon/', 1)[-1]}:{frames[-1].lineno} {frames[-1].name}" if frames else "outside vericarbon"
    return f"{type(error).__name__} at {where}"


def run_one(family: str, seed: int) -> tuple[str, object, int]:
    """(outcome, detail, input size): outcome "exit" (detail the code), "escaped" (detail (site, message)) or "hang"."""
    try:
        made, rng, _ = generate(family, seed)
    except Exception as error:  # noqa: BLE001 - a fault of the fuzzer's own, listed as such, not as vericarbon's
        return "escaped", (f"{type(error).__name__} in the fuzzer's generator", f"{error}"[:160]), 0
    signal.alarm(HANG_SECONDS)
    try:
        with tempfile.TemporaryDirectory(prefix="vericarbon-fuzz-") as folder:
            code = run_cli(made, Path(folder), rng)[0] if family == "cli" else run_api(made, Path(folder))
        return "exit", code, made.size
    except Hang:
        return "hang", None, made.size
    except BaseException as error:  # noqa: BLE001 - counting them is the point (MemoryError, RecursionError, SystemExit from a bug)
        return "escaped", (site(error), f"{error}"[:160]), made.size
    finally:
        signal.alarm(0)


def _worker(family: str, seeds: range, pipe: int) -> None:
    """A forked worker: each input's start and outcome down the pipe, one pickled record a message."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    signal.signal(signal.SIGALRM, _expire)
    with os.fdopen(pipe, "wb", buffering=0) as out:
        for seed in seeds:
            out.write(_message(("start", seed)))
            out.write(_message(("done", seed, *run_one(family, seed))))


def _message(record: tuple) -> bytes:
    body = pickle.dumps(record)
    return len(body).to_bytes(4, "little") + body


@dataclass
class Tally:
    """What one family's inputs did."""

    inputs: int = 0
    codes: Counter = field(default_factory=Counter)
    escaped: dict = field(default_factory=dict)  # site -> [count, seed, message]
    hangs: list = field(default_factory=list)
    aborts: list = field(default_factory=list)  # (seed, signal name)
    peak_kb: int = 0
    largest: int = 0
    over_gigabyte: int = 0

    def add(self, seed: int, outcome: str, detail: object, size: int) -> None:
        self.inputs += 1
        self.largest = max(self.largest, size)
        self.over_gigabyte += size > GIGABYTE
        if outcome == "exit":
            self.codes[detail] += 1
        elif outcome == "hang":
            self.hangs.append(seed)
        else:
            where, message = detail  # type: ignore[misc]
            entry = self.escaped.setdefault(where, [0, seed, message])
            entry[0] += 1


@dataclass
class Running:
    family: str
    seeds: range
    pid: int
    stream: object
    buffer: bytes = b""
    current: int | None = None
    started: float = 0.0


def _start(family: str, seeds: range) -> Running:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(read)
        code = 0
        try:
            _worker(family, seeds, write)
        except BaseException:  # noqa: BLE001 - the parent counts what the worker did not report
            code = 70
        os._exit(code)
    os.close(write)
    return Running(family, seeds, pid, os.fdopen(read, "rb", buffering=0))


def campaign(tasks: list[tuple[str, range]], jobs: int, kill_after: float, budget: float) -> dict[str, Tally]:
    """Run the tasks (family, seeds) in `jobs` forked workers; no new worker starts after `budget` seconds."""
    tallies = {family: Tally() for family, _ in tasks}
    pending, running, deadline = list(tasks), [], time.monotonic() + budget
    while pending or running:
        if time.monotonic() > deadline:
            pending.clear()
        while pending and len(running) < jobs:
            running.append(_start(*pending.pop(0)))
        ready, _, _ = select.select([worker.stream for worker in running], [], [], 1.0)
        for worker in list(running):
            if worker.stream in ready:
                piece = worker.stream.read(1 << 16)
                worker.buffer += piece
                while len(worker.buffer) >= 4 and len(worker.buffer) >= 4 + (size := int.from_bytes(worker.buffer[:4], "little")):
                    record, worker.buffer = pickle.loads(worker.buffer[4:4 + size]), worker.buffer[4 + size:]
                    if record[0] == "start":
                        worker.current, worker.started = record[1], time.monotonic()
                    else:
                        tallies[worker.family].add(*record[1:])
                        worker.current = None
                if piece:
                    continue
            elif worker.current is None or time.monotonic() - worker.started < kill_after:
                continue
            else:  # stuck where the alarm cannot reach it (native code): a hang, killed
                os.kill(worker.pid, signal.SIGKILL)
            _, status, usage = os.wait4(worker.pid, 0)
            worker.stream.close()
            running.remove(worker)
            tally = tallies[worker.family]
            tally.peak_kb = max(tally.peak_kb, usage.ru_maxrss)
            if worker.current is not None:  # it died on this input: an abort (or the kill above), then on from the next seed
                tally.inputs += 1
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and time.monotonic() - worker.started >= kill_after:
                    tally.hangs.append(worker.current)
                else:
                    tally.aborts.append((worker.current, signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"))
                rest = range(worker.current + 1, worker.seeds.stop)
                if rest:
                    pending.insert(0, (worker.family, rest))
    return tallies


def report(tallies: dict[str, Tally], seconds: float, jobs: int) -> bool:
    """Print the table by family, then each family's findings; True if nothing escaped, hung or aborted."""
    print(f"{'family':<11}{'inputs':>8}{'exit 0':>8}{'exit 1':>8}{'exit 2':>8}{'other':>7}{'uncaught':>9}{'hangs':>7}{'aborts':>7}{'peak MB':>9}{'largest':>10}{'>1 GB':>6}")
    clean = True
    for family, tally in tallies.items():
        other = sum(count for code, count in tally.codes.items() if code not in DOCUMENTED)
        uncaught = sum(entry[0] for entry in tally.escaped.values())
        clean = clean and not (other or uncaught or tally.hangs or tally.aborts)
        print(f"{family:<11}{tally.inputs:>8}{tally.codes[0]:>8}{tally.codes[1]:>8}{tally.codes[2]:>8}{other:>7}{uncaught:>9}{len(tally.hangs):>7}{len(tally.aborts):>7}"
              f"{tally.peak_kb / 1024:>9.0f}{_size(tally.largest):>10}{tally.over_gigabyte:>6}")
    for family, tally in tallies.items():
        strays = {code: count for code, count in tally.codes.items() if code not in DOCUMENTED}
        if not (tally.escaped or tally.hangs or tally.aborts or strays):
            continue
        print(f"\n{family}:")
        for where, (count, seed, message) in sorted(tally.escaped.items(), key=lambda item: -item[1][0]):
            print(f"  {count:>6}  {where}  (seed {seed}: {message})")
        if strays:
            print(f"  exit codes outside 0/1/2/130: {strays}")
        if tally.hangs:
            print(f"  hangs over {HANG_SECONDS} s: seeds {tally.hangs[:10]}")
        if tally.aborts:
            print(f"  aborts: {tally.aborts[:10]}")
    total = sum(tally.inputs for tally in tallies.values())
    print(f"\nwall time {seconds:.0f} s ({total / max(seconds, 1e-9):.1f} inputs/s, {jobs} workers)")
    return clean


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MB" if count >= 1 << 20 else f"{count / 1024:.0f} KB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs in all, shared by the families")
    parser.add_argument("--family", default="all", help=f"all, or some of {','.join(FAMILIES)}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0, help="first seed; inputs use seed, seed + 1, …")
    parser.add_argument("--chunk", type=int, default=50, help="inputs per forked worker")
    parser.add_argument("--kill", type=float, default=3 * HANG_SECONDS, help="seconds before a stuck worker is killed")
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds after which no new chunk starts (the table says how many ran)")
    args = parser.parse_args()
    families = FAMILIES if args.family == "all" else args.family.split(",")
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"no family {', '.join(sorted(unknown))} (known: {', '.join(FAMILIES)})")
    share = max(1, args.n // len(families))
    tasks = [(family, range(start, min(start + args.chunk, args.seed + share))) for start in range(args.seed, args.seed + share, args.chunk) for family in families]
    started = time.perf_counter()
    clean = report(campaign(tasks, args.jobs, args.kill, args.budget), time.perf_counter() - started, args.jobs)
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Registry intake at scale: stream packages from directories, zip archives and JSON-Lines files, check each
in worker processes, and record the serial ranges each issues or retires in the ledger, where a range claimed
twice across submissions shows up. A bad package is that package's result; it never stops the batch.

Each worker records its chunk of packages in the ledger itself, in one transaction, before it hands their
lines back: the database's own locks (SQLite's writer lock, PostgreSQL's advisory locks) order the workers,
and the parent process only reads, dispatches and writes lines. Recording in the parent made it the
bottleneck with two workers on two cores (it used ~40 % of a core for ledger writes alone). A lock of the
pool's own around the transaction, so that a waiting worker wakes at once rather than after SQLite's busy
handler sleeps, measured no better (best of 5-8 interleaved runs of 2 000 and 300 packages, either way
within the noise) and was left out."""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

from vericarbon.errors import InputError, OutOfScope, RunStopped
from vericarbon.evidence.package import parse_package
from vericarbon.files import write_atomically
from vericarbon.render import renderer
from vericarbon.run.checker import Checker
from vericarbon.run.evaluate import screening_line
from vericarbon.run.series import evaluate_group, group_field, link
from vericarbon.screening import DEFAULT_TIMEOUT, Limits
from vericarbon.screening.ledger import Ledger
from vericarbon.screening.ledger.records import BlockSummaries, submission_of
from vericarbon.screening.ordering import BENEFICIARIES, InputOrder
from vericarbon.screening.sources import Item, items

# ---------------------------------------------------------------- one package, in a worker

_checker: Checker | None = None
_book: Ledger | None = None  # the ledger this process records in, or None: lines only
_in_worker = False
_report_dir: Path | None = None
_timeout: float = 0.0
_deadline: float = 0.0  # monotonic time by which the current package must be done; 0 between packages
_limited = False  # whether the packages of the chunk being screened have a time limit (set by _alarms)


class PackageTimeout(RunStopped):
    """Raised inside the package being checked when its time is up (through the rules' isolation)."""


def start_worker(shipped_file: str, report_dir: str | None, timeout: float, parent: int) -> None:
    global _in_worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    signal.signal(signal.SIGPROF, signal.SIG_DFL)  # the hard limit below: the kernel ends the process
    checker, book = pickle.loads(Path(shipped_file).read_bytes())  # noqa: S301 - the file this run's parent just wrote
    use(checker, book, report_dir, timeout)
    _in_worker = True
    threading.Thread(target=_watchdog, args=(parent,), daemon=True, name="vericarbon-watchdog").start()


def _grace(timeout: float) -> float:
    return max(1.0, min(10.0, timeout))


def _watchdog(parent: int) -> None:
    """A worker ends when its parent is gone (killed, even by SIGKILL: nothing else would stop it), or when
    a package overran its limit while waiting without the timeout landing. (One stuck computing in native
    code, holding the interpreter, is ended by the kernel: see _start_limit.) The parent then finds the
    package by checking its chunk again one package at a time."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent or (_deadline and time.monotonic() > _deadline + _grace(_timeout)):
            os._exit(70)


def use(checker: Checker, book: Ledger | None, report_dir: str | None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Screen with this checker in this process, recording in this ledger (None: none); 0 means no time limit."""
    global _checker, _book, _report_dir, _timeout
    _checker, _book = checker, book
    _report_dir = Path(report_dir) if report_dir else None
    _timeout = timeout


def _screen_one(item: Item) -> dict:
    """The package's line: its verdict and failing rules, or why it could not be checked; plus its claims."""
    line: dict[str, Any] = {"source": item.source}
    if item.problem:
        line.update({"status": item.status, "error" if item.status == "invalid" else "reason": f"{item.source}: {item.problem}"})
        return line
    global _deadline
    try:
        try:
            if _limited:
                _start_limit(_timeout)
            _check(item, line)
        finally:
            _deadline = 0.0  # from here an alarm left running is ignored (_expire); one landing before it is caught below
    except PackageTimeout:
        line.clear()
        line.update(source=item.source, status="error", error=f"{item.source}: not done within the {_timeout:g} s limit per package (--timeout)")
    except OutOfScope as error:  # nothing chosen covers this kind: not the package's fault, nor the batch's
        line.update(status="not_applicable", reason=error.render())
    except InputError as error:
        if error.file == item.name:  # the member's bare name: say where it came from, on every line of the error
            error.file = item.source
        line.update(status="invalid", error=error.render())
    except Exception as error:  # a crash inside a rule is this package's result, never the batch's end
        line.update(status="error", error=f"{type(error).__name__}: {error}")
    return line


def _check(item: Item, line: dict) -> None:
    package = parse_package(Path(item.name), item.raw, _checker.store)  # type: ignore[union-attr]
    line.update(id=package.data.get("id"), kind=package.kind, sha256=package.sha256)
    # what the ledger records, taken off the line by screen_chunk; first, as a range it cannot read makes the line invalid
    ledger = submission_of(package, line["id"] or item.source, item.source, _checker.series_records(package))  # type: ignore[union-attr]
    if _report_dir is None:
        line.update(status="checked", **_checker.screening_line(package))  # type: ignore[union-attr]
    else:
        result = _checker.check(package)  # type: ignore[union-attr]
        stem = _report_dir / _safe_name(item.source)
        write_atomically(stem.with_name(stem.name + ".result.json"), renderer("json")(result))
        write_atomically(stem.with_name(stem.name + ".report.html"), renderer("html")(result))
        line.update(status="checked", **screening_line([r for rs in result["rulesets"] for r in rs["results"]], decide="decision" in result))
    line["ledger"] = ledger


def _start_limit(seconds: float) -> None:
    """Raise PackageTimeout in the package about to be checked once `seconds` have passed (SIGALRM, whose
    handler _alarms set for the chunk). A Python signal handler runs only between bytecodes, so in a worker
    process a CPU timer backs it: SIGPROF, left at its default action, ends the process a grace period
    later whatever native code holds it. The timers are left running when the package ends: the next
    package sets them again and the chunk's end stops them (two system calls per package, not four)."""
    global _deadline
    _deadline = time.monotonic() + seconds
    signal.setitimer(signal.ITIMER_REAL, seconds)
    if _in_worker:
        signal.setitimer(signal.ITIMER_PROF, seconds + _grace(seconds))


def _expire(signum: int, frame: Any) -> None:
    if _deadline:  # inside a package; an alarm the last package left running, landing between two, is not one
        raise PackageTimeout


@contextlib.contextmanager
def _alarms() -> Iterator[None]:
    """Packages have their time limit while a chunk is screened (SIGALRM raises PackageTimeout: the handler
    set once per chunk rather than once per package, two signal() calls being ~7 us, 2 % of a small
    package); at its end the timers stop and the handler before is restored. Not for a limit of 0, nor
    outside the main thread, where no signal lands."""
    global _limited
    if not _timeout or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    _limited = True
    try:
        yield
    finally:
        _limited = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if _in_worker:
            signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, previous)


def _safe_name(source: str) -> str:
    """A file name for the source's reports: unique per source (a JSON-Lines line, a zip member, pkg.json
    beside pkg.yaml), a hash of the whole source ending a name shortened to fit."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_")
    if len(name) > 180:
        name = name[-160:] + "_" + hashlib.sha256(source.encode()).hexdigest()[:16]
    return name


# ---------------------------------------------------------------- the batch


# A task carries at most CHUNK packages and CHUNK_BYTES of them: few enough bytes that a few large packages
# still spread over every worker, and enough small packages to amortise what each task costs (the round
# trip between processes, the ledger's transaction). On 6 000 small packages with two workers, 64 a task
# took 1.52 s against 1.82 s with 8 (best of 7 interleaved runs); at 64 KB each 90 KB package went alone,
# 14 % more wall time on 300 of them than at 512 KB (best of 6).
CHUNK = 64
CHUNK_BYTES = 1024 * 1024
CHUNKS_PER_JOB = 4  # tasks queued per worker: enough to keep it busy, few enough to keep memory flat


def screen_chunk(chunk: list[Item]) -> list[dict]:
    """The chunk's lines, its packages' serial claims and series records recorded in this process's ledger
    in one transaction, each package's conflicts on its line."""
    with _alarms():
        lines = [_screen_one(item) for item in chunk]
    checked = [line for line in lines if line["status"] == "checked"]
    recorded = [line.pop("ledger") for line in checked]
    if _book is not None:
        found = _book.record_many(recorded)
        for line, submission, conflicts in zip(checked, recorded, found):
            line["ledger_conflicts"] = conflicts
            if conflicts:  # to turn a finding round onto the other submission's line (ordering)
                line[BENEFICIARIES] = {claim.pointer: claim.beneficiary for claim in submission.claims}
    return lines


def run(item_stream: Iterator[Item], jobs: int, checker: Checker, report_dir: str | None, timeout: float = DEFAULT_TIMEOUT,
        work: Callable[[list[Item]], list[dict]] = screen_chunk, book: Ledger | None = None, stop: threading.Event | None = None) -> Iterator[list[dict]]:
    """Screen every item with `jobs` processes (in this process, with `checker`, for 1), yielding the lines of
    each chunk of packages in input order (screening.ordering), its claims recorded in `book` (None: lines
    only). A few chunks per worker are read ahead, so memory stays flat however many packages the sources
    hold. Each worker gets a copy of `checker`, its rulesets loaded and linted once here, compiles the rules
    it needs on first use, and opens `book` again for itself.

    Once `stop` is set (Ctrl-C), no new chunk starts; the chunks already with a worker finish and are
    yielded, so every package recorded in the ledger has its line, then the run ends. A worker that dies (a
    crash in native code) breaks only its chunk's packages, which are checked again one at a time to find
    the culprit."""
    stop = stop or threading.Event()
    chunks = _chunked(item_stream)
    order = InputOrder()  # the lines whatever the worker count (ordering)
    if jobs == 1:
        use(checker, book, report_dir, timeout)
        for chunk in chunks:
            yield from order.finished(order.add([item.source for item in chunk]), work(chunk))
            if stop.is_set():
                return
        return
    with tempfile.TemporaryDirectory(prefix="vericarbon-screen-") as folder:
        # Each worker unpickles its own checker (nothing compiled yet) and ledger (opened again), forked or
        # spawned; through a file, not the spawn pipe, where ~400 KB would block this process until each
        # worker had booted, one after the other.
        shipped = Path(folder) / "checker.pickle"
        shipped.write_bytes(pickle.dumps((checker, book)))
        worker_args = (str(shipped), report_dir, timeout, os.getpid())  # the parent: a worker started after it died ends too
        while lost := (yield from _screen_in_pool(chunks, jobs, worker_args, work, stop, order)):
            yield from _isolate(lost, worker_args, work)


def screen(sources: list[Path], jobs: int, checker: Checker, report_dir: str | None, book: Ledger | None,
           limits: Limits = Limits(), timeout: float = DEFAULT_TIMEOUT, stop: threading.Event | None = None) -> Iterator[list[dict]]:
    """`run` over the sources, recording in `book`: each chunk's lines carry their ledger conflicts."""
    return run(items(sources, limits), jobs, checker, report_dir, timeout, book=book, stop=stop)


def cross_package_records(book: Ledger, checker: Checker) -> list[dict]:
    """The batch rules' findings over every record in the ledger's series — this run's and earlier runs' —
    that involve at least one package recorded in this run (earlier findings were reported then), one
    run-level record per rule and group (run_record). Groups stream from the ledger one at a time; rules
    that group alike share the pass."""
    found: list[dict] = []
    for ruleset, params in checker.batch_rulesets():
        by_grouping: dict[str, list] = {}
        for rule in ruleset.batch_rules:
            by_grouping.setdefault(rule.spec["group_by"], []).append(rule)
        for group_by, rules in by_grouping.items():
            for key, members, recent in book.series_groups(ruleset.id, group_field(group_by)):
                if not recent:
                    continue
                linked = link(members)
                for rule in rules:
                    findings: list[dict] = []
                    evaluate_group(rule, key, linked, params, findings)
                    findings = [f for f in findings if recent.intersection(p["package_id"] for p in f["packages"])]
                    if findings:
                        found.append(run_record(f"cross-package-{len(found) + 1}", ruleset.id, key, findings))
    return found


def run_record(record_id: str, ruleset_id: str, key: Any, findings: list[dict]) -> dict:
    """One rule's findings in one group, written once per run: the packages they rest on (as the series
    store holds them) once, and each finding with the ids of its packages where not the whole record's. A
    member's line refers to it by id (references): 312 copies of one group's findings in every member's
    line grew with the cube of the group."""
    first = findings[0]
    packages = {p["package_id"]: p for f in findings for p in f["packages"]}
    return {"record": "cross_package", "id": record_id, "ruleset": ruleset_id, "group": key,
            **{name: first[name] for name in ("rule", "title", "finding_type", "severity", "clauses")},
            "packages": list(packages.values()),
            "findings": [{"about": f["package_id"], "message": f["message"],
                          **({} if len(f["packages"]) == len(packages) else {"packages": [p["package_id"] for p in f["packages"]]})} for f in findings]}


def references(records: list[dict]) -> dict[str, list[dict]]:
    """Per package id, the run records that involve it, each by id with the messages about that package."""
    involving: dict[str, list[dict]] = {}
    for record in records:
        about: dict[str, list[str]] = {}
        for finding in record["findings"]:
            about.setdefault(finding["about"], []).append(finding["message"])
        for package in record["packages"]:
            involving.setdefault(package["package_id"], []).append(
                {"record": record["id"], "rule": record["rule"], "finding_type": record["finding_type"], "severity": record["severity"], "about_this_package": about.get(package["package_id"], [])})
    return involving


def _chunked(item_stream: Iterator[Item]) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    size = 0
    for item in item_stream:
        chunk.append(item)
        size += len(item.raw)
        if len(chunk) == CHUNK or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# Workers are forked on Linux: they start with the parent's modules already imported, where a spawned worker
# imports them again (~110 ms each, which both workers pay at once on two cores: 170 ms of wall time on
# 2 000 small packages, best of 5). It is safe here: the parent has not started a durable-rules session
# (workers check; the parent only reads and writes lines) nor any thread (the pool forks its workers before
# starting its own, and the progress bar runs without its monitor thread), and each worker still unpickles
# its checker, compiling rules afresh, and opens the ledger again. Elsewhere fork is unsafe (macOS) or
# missing (Windows): spawn.
_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _pool(jobs: int, worker_args: tuple) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(jobs, multiprocessing.get_context(_START_METHOD), initializer=start_worker, initargs=worker_args)


def _screen_in_pool(chunks: Iterator[list[Item]], jobs: int, worker_args: tuple,
                    work: Callable[[list[Item]], list[dict]], stop: threading.Event, order: InputOrder) -> Generator[list[dict], None, list[Item]]:
    """Screen chunks until they run out or `stop` is set (returns []), or a worker dies (returns the
    packages it left unchecked), handing lines on in input order: a chunk done early waits, and counts
    against the read-ahead, so memory stays bounded."""
    executor = _pool(jobs, worker_args)
    in_flight: dict[Future, tuple[int, list[Item]]] = {}
    try:
        while True:
            if stop.is_set():  # chunks no worker has taken are dropped, never recorded
                for future, (number, _) in list(in_flight.items()):
                    if future.cancel():
                        del in_flight[future]
                        yield from order.finished(number, [])
            while not stop.is_set() and order.waiting() + len(in_flight) < jobs * CHUNKS_PER_JOB and (chunk := next(chunks, None)):
                in_flight[executor.submit(work, chunk)] = (order.add([item.source for item in chunk]), chunk)
            if not in_flight:
                return []
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            if any(isinstance(future.exception(), BrokenProcessPool) for future in done):
                done, _ = wait(in_flight)  # the pool is broken: every other chunk ends at once
            lost: list[Item] = []
            for future in sorted(done, key=lambda future: in_flight[future][0]):
                number, chunk = in_flight.pop(future)
                if isinstance(future.exception(), BrokenProcessPool):
                    lost += chunk
                    yield from order.finished(number, [])  # its packages' lines come from _isolate
                else:
                    yield from order.finished(number, future.result())
            if lost:
                return lost
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _isolate(suspects: list[Item], worker_args: tuple, work: Callable[[list[Item]], list[dict]]) -> Iterator[list[dict]]:
    """Check each suspect alone in its own worker: the one whose worker dies gets that as its result."""
    executor = None
    try:
        for item in suspects:
            executor = executor or _pool(1, worker_args)
            try:
                lines = executor.submit(work, [item]).result()
            except BrokenProcessPool:
                executor.shutdown(wait=True)
                executor = None
                lines = [{"source": item.source, "status": "error", "error": "the worker process checking this package died (a crash in native code, or stuck past the time limit)"}]
            yield lines
    finally:
        if executor:
            executor.shutdown(wait=True, cancel_futures=True)


class Tally:
    """Counts for the closing summary table."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_status: dict[str, int] = {}
        self.by_verdict: dict[str, int] = {}
        self.by_decision: dict[str, int] = {}
        self.conflicts: dict[str, int] = {}
        self.cross_package: list[dict] = []  # the run records (cross_package_records)
        self.blocks = BlockSummaries()  # the run-level records of blocks with conflicts, which the lines' findings name
        self.packages = 0

    def add(self, line: dict) -> None:
        self.packages += 1
        for table, key in ((self.by_status, line["status"]), (self.by_verdict, line.get("verdict")), (self.by_decision, line.get("decision"))):
            if key:
                table[key] = table.get(key, 0) + 1
        for conflict in line.get("ledger_conflicts", []):
            self.conflicts[conflict["kind"]] = self.conflicts.get(conflict["kind"], 0) + 1
            self.blocks.add(line.get("id") or line["source"], conflict)

    @property
    def clean(self) -> bool:
        return (not self.conflicts and set(self.by_status) <= {"checked", "not_applicable", "skipped"} and set(self.by_verdict) <= {"no_nonconformity"}
                and set(self.by_decision) <= {"accept"} and all(record["severity"] == "observation" for record in self.cross_package))

    def table(self, interrupted: bool = False) -> str:
        elapsed = time.monotonic() - self.started
        rows = [("packages", self.packages), *sorted(self.by_status.items()), *((f"verdict {k}", v) for k, v in sorted(self.by_verdict.items()))]
        rows += [(f"decision {k}", v) for k, v in sorted(self.by_decision.items())]
        rows += [(f"ledger {k}", v) for k, v in sorted(self.conflicts.items())] or [("ledger conflicts", 0)]
        by_rule: dict[str, int] = {}
        for record in self.cross_package:
            by_rule[record["rule"]] = by_rule.get(record["rule"], 0) + len(record["findings"])
        rows += [(f"cross-package {rule}", n) for rule, n in sorted(by_rule.items())]
        rows += [("seconds", f"{elapsed:.1f}"), ("packages/s", f"{self.packages / elapsed:.1f}" if elapsed else "-")]
        width = max(len(name) for name, _ in rows)
        head = "screening interrupted: what finished is above and in the ledger" if interrupted else "screening summary"
        table = [head] + [f"  {name:<{width}}  {value}" for name, value in rows]
        findings = [(record, finding) for record in self.cross_package for finding in record["findings"]]
        if findings:
            table.append(f"cross-package findings ({len(findings)}{', the first 20' if len(findings) > 20 else ''}):")
            for record, finding in findings[:20]:
                named = finding.get("packages") or [p["package_id"] for p in record["packages"]]
                table.append(f"  {record['rule']} [{', '.join(named[:6])}{' …' if len(named) > 6 else ''}]: {finding['message']}")
        return "\n".join(table)


def jsonl(line: dict) -> str:
    return json.dumps(line, ensure_ascii=False, sort_keys=True)


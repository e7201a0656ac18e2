"""Registry intake at scale: stream packages from directories, zip archives and JSON-Lines files, check each
in worker processes, and record the serial ranges each issues or retires in the ledger, where a range claimed
twice across submissions shows up. A bad package is that package's result; it never stops the batch."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import InputError
from engine.evidence import SchemaStore, parse_package
from engine.ledger import claims_of
from engine.render import RENDERERS
from engine.runs import Checker

SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True)
class Item:
    """One package to screen: where it came from, a name whose suffix gives its format, its bytes (or why
    they could not be read: that package's result, not the batch's end)."""

    source: str
    name: str
    raw: bytes
    unreadable: str = ""


def _read(source: str, name: str, read: Callable[[], bytes]) -> Item:
    try:
        return Item(source, name, read())
    except (OSError, zipfile.BadZipFile) as error:
        return Item(source, name, b"", f"cannot be read ({getattr(error, 'strerror', None) or error})")


def items(sources: list[Path]) -> Iterator[Item]:
    """Every package in the sources, read one at a time."""
    for source in sources:
        if source.is_dir():
            for folder, subfolders, files in os.walk(source):
                subfolders.sort()
                for name in sorted(files):
                    if name.endswith(SUFFIXES):
                        path = Path(folder) / name
                        yield _read(str(path), name, path.read_bytes)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                for member in archive.infolist():
                    if not member.is_dir() and member.filename.endswith(SUFFIXES):
                        yield _read(f"{source}!{member.filename}", member.filename, lambda member=member: archive.read(member))
        else:
            with source.open("rb") as lines:
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        yield Item(f"{source}:{number}", f"line{number}.json", line)


def count(sources: list[Path]) -> int | None:
    """How many packages the sources hold, when that is cheap to know (folders and archives), else None."""
    total = 0
    for source in sources:
        if source.is_dir():
            total += sum(name.endswith(SUFFIXES) for _, _, files in os.walk(source) for name in files)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                total += sum(not m.is_dir() and m.filename.endswith(SUFFIXES) for m in archive.infolist())
        else:
            return None
    return total


def check_sources(sources: list[Path]) -> None:
    for source in sources:
        if not source.exists():
            raise InputError(str(source), "no such file or folder")
        if not source.is_dir() and not zipfile.is_zipfile(source) and source.suffix not in (".jsonl", ".ndjson"):
            raise InputError(str(source), "a source is a folder, a zip archive or a JSON-Lines file (.jsonl)")


# ---------------------------------------------------------------- one package, in a worker


_checker: Checker | None = None
_report_dir: Path | None = None


def start_worker(selectors: list[str], assignments: list[str], profile: str | None, report_dir: str | None) -> None:
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    use(Checker(SchemaStore(), selectors, assignments, profile), report_dir)


def use(checker: Checker, report_dir: str | None) -> None:
    """Screen with this checker in this process."""
    global _checker, _report_dir
    _checker = checker
    _report_dir = Path(report_dir) if report_dir else None


def screen_one(item: Item) -> dict:
    """The package's line: its verdict and failing rules, or why it could not be checked; plus its claims."""
    line: dict[str, Any] = {"source": item.source}
    if item.unreadable:
        line.update(status="invalid", error=f"{item.source}: {item.unreadable}")
        return line
    try:
        package = parse_package(Path(item.name), item.raw, _checker.store)  # type: ignore[union-attr]
        line.update(id=package.data.get("id"), kind=package.kind)
        result = _checker.check(package)  # type: ignore[union-attr]
    except InputError as error:
        line.update(status="invalid", error=error.render().replace(item.name, item.source, 1))
        return line
    except Exception as error:  # a crash inside a rule is this package's result, never the batch's end
        line.update(status="error", error=f"{type(error).__name__}: {error}")
        return line
    failing = [r["id"] for rs in result["rulesets"] for r in rs["results"] if r["status"] == "fail"]
    line.update(status="checked", verdict=result["verdict"], counts=result["summary"]["by_status"], failing=failing)
    if "decision" in result:
        line["decision"] = result["decision"]["outcome"]
    if _report_dir is not None:
        stem = _report_dir / _safe_name(item.source)
        _write(stem.with_suffix(".result.json"), RENDERERS["json"](result))
        _write(stem.with_suffix(".report.html"), RENDERERS["html"](result))
    line["claims"] = [claim.__dict__ for claim in claims_of(package.kind, package.data)]
    return line


def _safe_name(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_")[-180:]


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------- the batch


def run(item_stream: Iterator[Item], jobs: int, checker: Checker, worker_args: tuple, on_line: Callable[[dict], None]) -> None:
    """Screen every item with `jobs` processes (in this process, with `checker`, for 1), calling on_line with
    each result as it comes, in completion order. At most a few items per worker are read ahead, so memory
    stays flat however many packages the sources hold. Workers build their own checker from `worker_args`."""
    if jobs == 1:
        use(checker, worker_args[-1])
        for item in item_stream:
            on_line(screen_one(item))
        return
    window = threading.BoundedSemaphore(jobs * 32)
    stopping = threading.Event()

    def throttled() -> Iterator[Item]:
        for item in item_stream:
            while not window.acquire(timeout=0.1):  # released as each result is consumed below
                if stopping.is_set():
                    return  # let the pool's feeder thread end, so terminate() can join it
            yield item

    # spawn, not fork: each worker builds its own durable-rules engine instead of inheriting the parent's
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=start_worker, initargs=worker_args) as pool:
        try:
            for line in pool.imap_unordered(screen_one, throttled(), chunksize=8):
                window.release()
                on_line(line)
        except BaseException:
            stopping.set()
            pool.terminate()
            raise


class Tally:
    """Counts for the closing summary table."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.by_status: dict[str, int] = {}
        self.by_verdict: dict[str, int] = {}
        self.by_decision: dict[str, int] = {}
        self.conflicts: dict[str, int] = {}
        self.packages = 0

    def add(self, line: dict) -> None:
        self.packages += 1
        for table, key in ((self.by_status, line["status"]), (self.by_verdict, line.get("verdict")), (self.by_decision, line.get("decision"))):
            if key:
                table[key] = table.get(key, 0) + 1
        for conflict in line.get("ledger_conflicts", []):
            self.conflicts[conflict["kind"]] = self.conflicts.get(conflict["kind"], 0) + 1

    @property
    def clean(self) -> bool:
        return not self.conflicts and set(self.by_status) <= {"checked"} and set(self.by_verdict) <= {"no_nonconformity"} and set(self.by_decision) <= {"accept"}

    def table(self, interrupted: bool = False) -> str:
        elapsed = time.monotonic() - self.started
        rows = [("packages", self.packages), *sorted(self.by_status.items()), *((f"verdict {k}", v) for k, v in sorted(self.by_verdict.items()))]
        rows += [(f"decision {k}", v) for k, v in sorted(self.by_decision.items())]
        rows += [(f"ledger {k}", v) for k, v in sorted(self.conflicts.items())] or [("ledger conflicts", 0)]
        rows += [("seconds", f"{elapsed:.1f}"), ("packages/s", f"{self.packages / elapsed:.1f}" if elapsed else "-")]
        width = max(len(name) for name, _ in rows)
        head = "screening interrupted: what finished is above and in the ledger" if interrupted else "screening summary"
        return "\n".join([head] + [f"  {name:<{width}}  {value}" for name, value in rows])


def jsonl(line: dict) -> str:
    return json.dumps({k: v for k, v in line.items() if k != "claims"}, ensure_ascii=False, sort_keys=True)


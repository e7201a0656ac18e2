"""`vericarbon screen`, many packages checked in worker processes, one JSON line each, with the batch
rules' cross-package findings; and `vericarbon ledger`, the serial ranges screening recorded."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, TextIO

import orjson

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK
from vericarbon.cli.verify import budget_options, budgets_of
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.files import make_folder, open_for_writing
from vericarbon.lang import format_value
from vericarbon.run.checker import Checker
from vericarbon.screening import DEFAULT_TIMEOUT, Limits


def _ledger_location(text: str) -> Path | str:
    """A ledger file, or a database URL kept as written (a Path would fold its //)."""
    return text if text.startswith(("postgresql://", "postgres://")) else Path(text)


def screen_options(screen: argparse.ArgumentParser) -> None:
    screen.add_argument("sources", nargs="+", type=Path, metavar="SOURCE", help="a folder, a zip archive or a JSON-Lines file (.jsonl) of packages")
    screen.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: the machine's cores)")
    screen.add_argument("--ruleset", action="append", default=[], metavar="ID|ID@VERSION|PATH", help="rulesets to apply instead of the built-ins for each package's kind (repeatable)")
    screen.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="set a ruleset parameter for this run (repeatable)")
    screen.add_argument("--profile", metavar="NAME", help="run only this profile's rules, e.g. intake")
    screen.add_argument("--ledger", type=_ledger_location, metavar="PATH|URL", help="ledger of serial ranges kept across runs: a SQLite file, or a postgresql:// URL (default: a temporary file for this batch)")
    screen.add_argument("--report-dir", type=Path, metavar="DIR", help="also write each package's full result (JSON) and report (HTML) here")
    screen.add_argument("-o", "--output", type=Path, help="write the JSON lines here instead of stdout")
    budget_options(screen)
    screen.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help=f"time limit per package (default {DEFAULT_TIMEOUT:g}; 0: none); a package over it gets an error line")
    screen.add_argument("--max-package-mb", type=float, default=Limits().max_bytes / 1048576, metavar="MB", help="largest package read, file or zip member (default %(default)g)")
    screen.add_argument("--max-zip-ratio", type=int, default=Limits().max_ratio, metavar="N", help="largest compression ratio N:1 of a zip member (default %(default)s)")


def screen(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.screening import batch
    from vericarbon.screening.ledger import open_ledger
    from vericarbon.screening.sources import check_sources, count

    check_sources(args.sources)
    if args.jobs < 1:
        raise InputError("--jobs", f"needs at least 1 worker, not {args.jobs}")
    if args.timeout < 0 or args.max_package_mb <= 0 or args.max_zip_ratio < 1:
        raise InputError("--timeout/--max-package-mb/--max-zip-ratio", "need a positive number (--timeout 0: no limit)")
    limits = Limits(int(args.max_package_mb * 1048576), args.max_zip_ratio)
    if args.report_dir:
        make_folder(args.report_dir)
    checker = Checker(store, args.ruleset, args.param, args.profile, budgets=budgets_of(args))  # refuses bad options before any worker starts
    with contextlib.ExitStack() as stack:
        book = stack.enter_context(open_ledger(args.ledger))
        out = stack.enter_context(open_for_writing(args.output)) if args.output else sys.stdout
        # a progress bar on a terminal; else quiet: no bar, no first pass to count the packages, and no tqdm
        # to import (22 ms)
        progress = stack.enter_context(_progress_bar(count(args.sources))) if sys.stderr.isatty() else None
        tally = batch.Tally()
        # Ctrl-C stops the batch between chunks of packages: the chunks being checked finish, are recorded
        # in the ledger and written, then the run ends
        interrupted = threading.Event()
        stack.callback(signal.signal, signal.SIGINT, signal.signal(signal.SIGINT, lambda *_: interrupted.set()))

        # The lines of packages that batch rules read wait in a spool until those rules, which need every
        # package, have added their cross-package findings to them; every other line streams.
        batch_kinds = checker.batch_kinds()
        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        for lines in batch.screen(args.sources, args.jobs, checker, str(args.report_dir) if args.report_dir else None, book, limits, args.timeout, interrupted):
            for line in lines:
                (spool if line.get("kind") in batch_kinds else out).write(batch.jsonl(line) + "\n")
                tally.add(line)
            if progress is not None:
                progress.update(len(lines))
        if progress is not None:
            progress.close()
        for record in tally.blocks.records():  # after the lines: each block's conflicts once, which the lines name
            out.write(batch.jsonl(record) + "\n")
        if interrupted.is_set():
            _unspool(spool, out, [])
            print(tally.table(interrupted=True), file=sys.stderr)
            return 130
        if batch_kinds:
            tally.cross_package = batch.cross_package_records(book, checker)
        _unspool(spool, out, tally.cross_package)
        print(tally.table(), file=sys.stderr)
        return EXIT_OK if tally.clean else EXIT_FINDINGS


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked (vericarbon.screening.batch)
    return tqdm(total=total, unit="pkg", file=sys.stderr, dynamic_ncols=True)


_FIRST_ID = re.compile(r'"id": "((?:[^"\\]|\\.)*)"')


def _unspool(spool: TextIO, out: TextIO, records: list[dict]) -> None:
    """The cross-package run records (each rule's findings in a group, with every package they rest on, as
    the series store holds it: id, source file and line, values read), then the spooled lines, each
    referring to the records that involve its package by id (vericarbon.screening.batch.references)."""
    from vericarbon.screening import batch

    involving = batch.references(records)
    for record in records:
        out.write(batch.jsonl(record) + "\n")
    spool.seek(0)
    for text in spool:
        # Lines are written with sorted keys and none before "id" holds an "id": the first one is the
        # package's, so only the lines of involved packages need parsing.
        quick = _FIRST_ID.search(text)
        if involving and (quick is None or orjson.loads(f'"{quick.group(1)}"') in involving):
            line = orjson.loads(text)
            if line.get("id") in involving:
                line["cross_package"] = involving[line["id"]]
                text = batch.jsonl(line) + "\n"
        out.write(text)


def ledger_options(ledger: argparse.ArgumentParser) -> None:
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    audit = ledger_commands.add_parser("audit", help="list every pair of recorded ranges that overlap (a sorted sweep over the whole ledger)")
    audit.add_argument("ledger", type=_ledger_location, metavar="PATH|URL")
    series = ledger_commands.add_parser("series", help="an entity's series as screening recorded it, per ruleset, in period order")
    series.add_argument("entity", help="the entity, as the ruleset's series names it (e.g. EUTL:100016, or an organisation's name)")
    series.add_argument("--ledger", type=_ledger_location, required=True, metavar="PATH|URL")


def ledger(args: argparse.Namespace, store: SchemaStore) -> int:
    return _ledger_audit(args) if args.ledger_command == "audit" else _ledger_series(args)


def _existing_ledger(location: Path | str) -> contextlib.AbstractContextManager:
    from vericarbon.screening.ledger import is_database_url, open_ledger

    if not is_database_url(location) and not Path(location).is_file():
        raise InputError(str(location), "no such ledger file")
    return open_ledger(location)


def _ledger_audit(args: argparse.Namespace) -> int:
    from vericarbon.screening.ledger import audit

    with _existing_ledger(args.ledger) as book:
        pairs = audit(book)
    for pair in pairs:
        print(json.dumps(pair, ensure_ascii=False, sort_keys=True))
    print(f"{len(pairs)} overlapping pair(s)", file=sys.stderr)
    return EXIT_FINDINGS if pairs else EXIT_OK


def _ledger_series(args: argparse.Namespace) -> int:
    with _existing_ledger(args.ledger) as book:
        rows = book.series_of(args.entity)
    if not rows:
        print(f"{args.entity}: no series recorded in {args.ledger}", file=sys.stderr)
        return EXIT_FINDINGS
    for ruleset, record, source in rows:
        values = ", ".join(f"{name} {format_value(value)}" for name, value in record.items() if name not in ("package_id", "entity", "period") and value is not None)
        print(f"{ruleset}  {format_value(record['period'])}  {record['package_id']}  {values}  ({source})")
    return EXIT_OK

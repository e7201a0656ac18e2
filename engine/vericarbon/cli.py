"""The `vericarbon` command. Exit codes: 0 no failing finding, 1 failing findings (or failing rule tests), 2 usage or input error.

A module only some commands use is imported in the function that runs the command, so `verify` does not
pay at start-up for screening, importing, workbooks and documentation pages (benchmarks/startup.py)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, TextIO

import orjson

from vericarbon import __version__
from vericarbon.errors import InputError
from vericarbon.evidence.documents import parse_document, read_text
from vericarbon.evidence.package import SchemaStore, load_package
from vericarbon.files import open_atomically, write_atomically
from vericarbon.lang import format_value
from vericarbon.render import FORMATS, renderer
from vericarbon.rules.rulesets import compile_ruleset, resolve_rulesets
from vericarbon.run.checker import Checker
from vericarbon.screening import DEFAULT_TIMEOUT, Limits

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3  # README, 'Exit codes'
DEFAULT_DATABASE = "vericarbon-service.sqlite"


def _date_argument(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


class _Names:
    """The names a command's option accepts, read from the module that defines them only when argparse
    checks a value or writes help: parsing `verify` must not import the registry importers. (An option
    with these choices needs a metavar: argparse formats an argument's metavar as it is added, and without
    one it would list the choices then.)"""

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def _names(self) -> list[str]:
        import importlib

        return sorted(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


def _ledger_location(text: str) -> Path | str:
    """A ledger file, or a database URL kept as written (a Path would fold its //)."""
    return text if text.startswith(("postgresql://", "postgres://")) else Path(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording, drop nothing
        self.print_usage(sys.stderr)
        print(f"vericarbon: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line. Every command is listed, but only the one `argv` names gets its options (all of
    them with argv None): building every command's, with argparse looking up a translation of each help
    string on disk, is ~4 ms of each start."""
    parser = _Parser(prog="vericarbon", description="Check GHG evidence packages against declarative rulesets.")
    parser.add_argument("--version", action="version", version=f"vericarbon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    named = None if argv is None else next((word for word in argv if not word.startswith("-")), "")
    for name, (help_text, add_options) in _COMMANDS.items():
        command = commands.add_parser(name, help=help_text)
        if named is None or named == name:
            add_options(command)
    return parser


def _verify_options(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("package", type=Path)
    verify.add_argument("--ruleset", action="append", default=[], metavar="ID|PATH", help="ruleset to apply (repeatable); default: the built-ins for the package's kind")
    verify.add_argument("--format", choices=sorted(set(FORMATS) - {"text"}), help="write this format (to -o, or stdout) instead of the summary and HTML report")
    verify.add_argument("-o", "--output", type=Path, help="output file; default with no --format: PACKAGE-NAME.report.html here")
    verify.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="set a ruleset parameter for this run, e.g. max_vintage_age_years=5 (repeatable; 'null' unsets)")
    verify.add_argument("--profile", metavar="NAME", help="run only the rules of this profile, e.g. intake: a registry's completeness and consistency screen with an accept / return decision")
    verify.add_argument("--answers", type=Path, metavar="FILE", help="merge an auditor's answers file: judgements and waivers")
    verify.add_argument("--no-waivers", action="store_true", help="with --answers: apply the judgements but none of the waivers")
    verify.add_argument("--as-of", type=_date_argument, metavar="YYYY-MM-DD", help="date against which waivers expire (default: today)")
    verify.add_argument("--require-judgements", action="store_true", help="exit 1 while any manual check awaits the auditor's judgement (with --answers: any left unjudged)")
    verify.add_argument("--explain", action="append", default=[], metavar="RULE_ID", help="show why a rule decided as it did (repeatable)")
    verify.add_argument("--explain-all", action="store_true", help="with --explain: every sub-expression, not only the failing ones")


def _screen_options(screen: argparse.ArgumentParser) -> None:
    screen.add_argument("sources", nargs="+", type=Path, metavar="SOURCE", help="a folder, a zip archive or a JSON-Lines file (.jsonl) of packages")
    screen.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: the machine's cores)")
    screen.add_argument("--ruleset", action="append", default=[], metavar="ID|ID@VERSION|PATH", help="rulesets to apply instead of the built-ins for each package's kind (repeatable)")
    screen.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="set a ruleset parameter for this run (repeatable)")
    screen.add_argument("--profile", metavar="NAME", help="run only this profile's rules, e.g. intake")
    screen.add_argument("--ledger", type=_ledger_location, metavar="PATH|URL", help="ledger of serial ranges kept across runs: a SQLite file, or a postgresql:// URL (default: a temporary file for this batch)")
    screen.add_argument("--report-dir", type=Path, metavar="DIR", help="also write each package's full result (JSON) and report (HTML) here")
    screen.add_argument("-o", "--output", type=Path, help="write the JSON lines here instead of stdout")
    screen.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help=f"time limit per package (default {DEFAULT_TIMEOUT:g}; 0: none); a package over it gets an error line")
    screen.add_argument("--max-package-mb", type=float, default=Limits().max_bytes / 1048576, metavar="MB", help="largest package read, file or zip member (default %(default)g)")
    screen.add_argument("--max-zip-ratio", type=int, default=Limits().max_ratio, metavar="N", help="largest compression ratio N:1 of a zip member (default %(default)s)")


def _ledger_options(ledger: argparse.ArgumentParser) -> None:
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True, parser_class=_Parser)
    audit = ledger_commands.add_parser("audit", help="list every pair of recorded ranges that overlap (a sorted sweep over the whole ledger)")
    audit.add_argument("ledger", type=_ledger_location, metavar="PATH|URL")
    series = ledger_commands.add_parser("series", help="an entity's series as screening recorded it, per ruleset, in period order")
    series.add_argument("entity", help="the entity, as the ruleset's series names it (e.g. EUTL:100016, or an organisation's name)")
    series.add_argument("--ledger", type=_ledger_location, required=True, metavar="PATH|URL")


def _import_options(importing: argparse.ArgumentParser) -> None:
    import_commands = importing.add_subparsers(dest="import_command", required=True, parser_class=_Parser)
    registry = import_commands.add_parser("registry", help="a registry's public export (CSV; CAD Trust unit JSON) into credit-record packages, one per record, as JSON Lines")
    registry.add_argument("--from", dest="registry", required=True, choices=_Names("vericarbon.evidence.registry_exports", "REGISTRIES"), metavar="REGISTRY", help="the registry that published the files: %(choices)s")
    registry.add_argument("files", nargs="+", type=Path, metavar="FILE")
    registry.add_argument("-o", "--output", type=Path, metavar="OUT.jsonl", help="write the packages here (default: stdout)")
    statements = import_commands.add_parser("statements", help="a table of published GHG statements into ghg-statement packages, one per row, as JSON Lines")
    statements.add_argument("--from", dest="layout", required=True, choices=_Names("vericarbon.evidence.statement_exports", "LAYOUTS"), metavar="LAYOUT", help="the table's layout: %(choices)s")
    statements.add_argument("files", nargs="+", type=Path, metavar="FILE")
    statements.add_argument("-o", "--output", type=Path, metavar="OUT.jsonl", help="write the packages here (default: stdout)")

    workbook_in = import_commands.add_parser("workbook", help="a filled vericarbon workbook (see template) into a package")
    workbook_in.add_argument("workbook", type=Path, metavar="FILE.xlsx")
    workbook_in.add_argument("-o", "--output", type=Path, metavar="PACKAGE.json", help="write the package here (default: stdout)")


def _export_options(exporting: argparse.ArgumentParser) -> None:
    export_commands = exporting.add_subparsers(dest="export_command", required=True, parser_class=_Parser)
    workbook_out = export_commands.add_parser("workbook", help="a package as a workbook in the template's layout, to edit and import again")
    workbook_out.add_argument("package", type=Path)
    workbook_out.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")


def _template_options(template: argparse.ArgumentParser) -> None:
    template.add_argument("kind", help="a package kind, e.g. ghg-statement (KIND@VERSION for another schema version)")
    template.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")


def _init_options(init: argparse.ArgumentParser) -> None:
    init.add_argument("kind", help="a package kind, e.g. ghg-statement (KIND@VERSION for another schema version)")
    init.add_argument("-o", "--output", type=Path, metavar="FILE.yaml", help="write it here (default: stdout)")


def _schemas_options(schemas: argparse.ArgumentParser) -> None:
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True, parser_class=_Parser)
    schema_docs = schema_commands.add_parser("docs", help="write a reference page per package kind to docs/schemas/")
    schema_docs.add_argument("--out", type=Path, default=Path("docs"), help="the docs folder (default: docs)")
    schema_docs.add_argument("--check", action="store_true", help="fail if a page is out of date instead of writing")


def _factors_options(factor_sets: argparse.ArgumentParser) -> None:
    factor_commands = factor_sets.add_subparsers(dest="factors_command", required=True, parser_class=_Parser)
    factor_commands.add_parser("list", help="the sets, with edition, GWP basis, licence and size")
    search = factor_commands.add_parser("search", help="factors whose description, unit or id contain every word given")
    search.add_argument("text", nargs="+")
    search.add_argument("--set", dest="sets", action="append", metavar="SET", help="search only this set (repeatable)")
    search.add_argument("--all-gases", action="store_true", help="also the per-gas parts (CO2, CH4, N2O) of CO2e factors")
    show = factor_commands.add_parser("show", help="one factor, with its set's edition, licence and attribution")
    show.add_argument("set")
    show.add_argument("id")


def _validate_options(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("package", type=Path)


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL", help=f"a SQLite file or a postgresql:// URL (default {DEFAULT_DATABASE})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes started with it (default: one per core; 0: the API alone)")
    serve.add_argument("--max-body-mb", type=float, default=64, metavar="MB", help="largest submission read (default %(default)g)")
    serve.add_argument("--lease", type=float, default=60, metavar="SECONDS", help="how long a worker holds a submission before another may take it over (default %(default)g)")
    serve.add_argument("--job-timeout", type=float, metavar="SECONDS", help="a submission checked longer than this is failed with that reason (default: half the lease; 0: no limit)")
    serve.add_argument("--webhook-allow-http", action="append", default=[], metavar="HOST",
                       help="allow http webhooks, and addresses of this machine or network, for this host exactly as written in the URL (repeatable; default: https to public addresses only)")
    serve.add_argument("--openapi", type=Path, metavar="FILE", help="write the OpenAPI document to FILE and exit")


def _worker_options(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL")
    worker.add_argument("--lease", type=float, default=60, metavar="SECONDS")
    worker.add_argument("--job-timeout", type=float, metavar="SECONDS", help="a submission checked longer than this is failed (default: half the lease; 0: no limit)")


def _keys_options(keys: argparse.ArgumentParser) -> None:
    key_commands = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    create = key_commands.add_parser("create", help="a new key for a registry, or for one proponent of it; printed once, stored hashed")
    create.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL")
    create.add_argument("--registry", required=True)
    create.add_argument("--proponent", help="the proponent's name: the key sees only its own submissions")
    revoke = key_commands.add_parser("revoke", help="remove a key: requests with it are refused from then on")
    revoke.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL")
    revoke.add_argument("--key", required=True, help="the key, as printed when it was created")
    listing = key_commands.add_parser("list", help="every key's registry, proponent and creation time (keys themselves are not stored)")
    listing.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL")


def _audit_options(audit: argparse.ArgumentParser) -> None:
    verify = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser).add_parser("verify", help="exit 1 if an entry was edited or cut out")
    verify.add_argument("--database", default=DEFAULT_DATABASE, metavar="PATH|URL")


def _rules_options(rules: argparse.ArgumentParser) -> None:
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    rule_commands.add_parser("list", help="every rule and manual check of the built-in rulesets")
    show = rule_commands.add_parser("show", help="one rule in full")
    show.add_argument("rule_id")
    matrix = rule_commands.add_parser("matrix", help="which rules and manual checks cover each requirement of the source document")
    matrix.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    matrix.add_argument("--format", choices=_Names("vericarbon.rules.matrix", "RENDERERS"), metavar="FORMAT", default="table", help="%(choices)s (default %(default)s)")
    matrix.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    matrix.add_argument("--strict", action="store_true", help="exit 1 when a requirement is covered by nothing")
    docs = rule_commands.add_parser("docs", help="write the rule catalogue (docs/rules/, a page per ruleset version) and the reference notes (docs/references/)")
    docs.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    docs.add_argument("--out", type=Path, default=Path("docs"), help="folder holding rules/ and references/ (default: docs)")
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is missing or out of date")
    test = rule_commands.add_parser("test", help="run the rules' own test cases")
    test.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    test.add_argument("--strict", action="store_true", help="fail when any rule lacks a passing or a failing case")


_COMMANDS = {
    "verify": ("evaluate a package and report findings", _verify_options),
    "screen": ("screen many packages: folders, zip archives or JSON-Lines files; one JSON line per package", _screen_options),
    "ledger": ("the credit ledger", _ledger_options),
    "import": ("turn published data into packages", _import_options),
    "export": ("write a package in another form", _export_options),
    "template": ("an empty workbook for a package kind: a sheet per list of records, dropdowns, descriptions", _template_options),
    "init": ("a commented YAML skeleton of a package kind: every field, what it is, an example", _init_options),
    "schemas": ("the evidence schemas", _schemas_options),
    "factors": ("the official emission-factor sets vericarbon ships", _factors_options),
    "validate": ("validate a package against its schema", _validate_options),
    "serve": ("the intake service: an HTTP API and worker processes on one database (pip install 'vericarbon[serve]')", _serve_options),
    "worker": ("a worker process of the intake service, for more machines on the same database", _worker_options),
    "keys": ("API keys of the intake service", _keys_options),
    "audit": ("the intake service's audit log: verify checks its hash chain for edits and cuts", _audit_options),
    "rules": ("list, show and test rules", _rules_options),
}

def main(argv: list[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    try:
        store = SchemaStore()
        if args.command == "verify":
            return _verify(args, store)
        if args.command == "screen":
            return _screen(args, store)
        if args.command == "ledger":
            return _ledger_audit(args) if args.ledger_command == "audit" else _ledger_series(args)
        if args.command == "import" and args.import_command != "workbook":
            return _import(args, store)
        if args.command in ("import", "export", "template", "init", "schemas"):
            return _write_document(args, store)
        if args.command in ("serve", "worker", "keys", "audit"):
            return _service(args)
        if args.command == "factors":
            return {"list": _factors_list, "search": _factors_search, "show": _factors_show}[args.factors_command](args)
        if args.command == "validate":
            package = load_package(args.package, store)
            print(f"{package.path}: valid {package.kind} {package.schema_version} package")
            return EXIT_OK
        return {"list": _rules_list, "show": _rules_show, "test": _rules_test, "matrix": _rules_matrix, "docs": _rules_docs}[args.rules_command](args, store)
    except InputError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("vericarbon: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) left; files were already written atomically
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # a bug of vericarbon's, never "findings": its own exit code, the trace on request
        if os.environ.get("VERICARBON_DEBUG"):
            raise
        print(f"vericarbon: internal error ({type(error).__name__}: {error}); please report it, with VERICARBON_DEBUG=1 for the trace", file=sys.stderr)
        return EXIT_INTERNAL


def _verify(args: argparse.Namespace, store: SchemaStore) -> int:
    package = load_package(args.package, store)
    checker = Checker(store, args.ruleset, args.param, args.profile)
    answers = None
    if args.answers:
        from vericarbon.run.answers import load_answers

        answers = load_answers(args.answers, store)
    result = checker.check(package, set(args.explain), args.explain_all)
    known = {item["id"] for ruleset in result["rulesets"] for item in ruleset["results"] if item["kind"] == "rule"}
    unknown = [rule_id for rule_id in args.explain if rule_id not in known]
    if unknown:
        raise InputError("--explain", f"no rule {', '.join(unknown)} in the selected rulesets")
    if answers:
        from vericarbon.run.answers import merge_answers

        result = merge_answers(result, answers, args.as_of or dt.date.today(), use_waivers=not args.no_waivers)
    if args.format:
        _write_out(args.output, renderer(args.format)(result), f"--format {args.format}")
    else:
        print(renderer("text")(result), end="")
        report = args.output or Path(f"{Path(package.path).stem}.report.html")
        write_atomically(report, renderer("html")(result))
        print(f"\nHTML report: {report}")
    if args.explain and not (args.format and not args.output):  # never mix the trace into a document on stdout
        _print_explain(result, set(args.explain))
    if args.require_judgements and result["summary"]["by_status"]["manual"]:
        return EXIT_FINDINGS
    if "decision" in result:
        return EXIT_FINDINGS if result["decision"]["outcome"] != "accept" else EXIT_OK
    return EXIT_FINDINGS if result["verdict"] == "nonconformities" else EXIT_OK


def _write_document(args: argparse.Namespace, store: SchemaStore) -> int:
    """The commands that turn a kind or a package into another document: workbooks, skeletons, schema pages."""
    from vericarbon.evidence.skeletons import samples_of, skeleton
    from vericarbon.evidence.workbooks import read_workbook, write_workbook
    from vericarbon.render.schema_docs import schema_pages

    if args.command == "import":
        return _write_out(args.output, orjson.dumps(read_workbook(args.workbook, store), option=orjson.OPT_INDENT_2).decode() + "\n", "import workbook")
    if args.command == "export":
        package = load_package(args.package, store)  # validated; the workbook gets the document as written, not what reading derives
        return _write_out(args.output, write_workbook(store.shape(package.kind, package.schema_version), package.kind, package.schema_version, parse_document(args.package, read_text(args.package))), "export workbook")
    if args.command == "schemas":
        return _write_pages(schema_pages(store, resolve_rulesets([], store)), args.out, args.check, "vericarbon schemas docs")
    kind, version = _kind(args.kind, store)
    if args.command == "template":
        return _write_out(args.output, write_workbook(store.shape(kind, version), kind, version), "template")
    return _write_out(args.output, skeleton(store.shape(kind, version), kind, version, samples_of(kind, version, store)), "init")


def _service(args: argparse.Namespace) -> int:
    """serve, worker and keys: the intake service (vericarbon.service)."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(args.command, "the intake service needs its extra: pip install 'vericarbon[serve]'") from None
    from vericarbon.service import worker
    from vericarbon.service.store import Store

    if args.command == "keys":
        store = Store(args.database)
        if args.keys_command == "create":
            print(store.create_key(args.registry, args.proponent))
        elif args.keys_command == "revoke":
            owner = store.revoke_key(args.key)
            if owner is None:
                raise InputError("--key", "no such key in this database")
            print(f"revoked the key of {owner.name}")
        else:
            for key in store.keys():
                created = dt.datetime.fromtimestamp(key["created"], dt.timezone.utc).isoformat(timespec="seconds")
                print(f"{key['registry']}\t{key['proponent'] or '(registry key)'}\t{created}\tsha256 {key['hash']}…")
        return EXIT_OK
    if args.command == "audit":
        checked = Store(args.database).verify_audit()
        print("\n".join(checked["problems"]) or f"the audit log's chain is whole: {checked['checked']} entries, head {checked['head']}"
              + (f" ({checked['before_the_chain']} older entries predate the chain)" if checked["before_the_chain"] else ""))
        return EXIT_OK if checked["ok"] else EXIT_FINDINGS
    if args.command == "worker":
        worker.run(args.database, lease_seconds=args.lease, job_seconds=args.job_timeout)
        return EXIT_OK
    if args.openapi:
        from vericarbon.service.openapi import document

        return _write_out(args.openapi, json.dumps(document(), indent=1, sort_keys=True) + "\n", "--openapi")
    from vericarbon.service.supervisor import serve
    from vericarbon.service.webhooks import Policy

    serve(args.database, args.host, args.port, args.workers, args.lease, args.job_timeout, int(args.max_body_mb * 1048576), Policy(frozenset(args.webhook_allow_http)))
    return EXIT_OK


def _screen(args: argparse.Namespace, store: SchemaStore) -> int:
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
        _make_folder(args.report_dir)
    checker = Checker(store, args.ruleset, args.param, args.profile)  # refuses bad options before any worker starts
    with contextlib.ExitStack() as stack:
        book = stack.enter_context(open_ledger(args.ledger))
        out = stack.enter_context(_open_for_writing(args.output)) if args.output else sys.stdout
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
        if interrupted.is_set():
            _unspool(spool, out, [])
            print(tally.table(interrupted=True), file=sys.stderr)
            return 130
        if batch_kinds:
            tally.cross_package = batch.cross_package_findings(book, checker)
        _unspool(spool, out, tally.cross_package)
        print(tally.table(), file=sys.stderr)
        return EXIT_OK if tally.clean else EXIT_FINDINGS


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked (vericarbon.screening.batch)
    return tqdm(total=total, unit="pkg", file=sys.stderr, dynamic_ncols=True)


_FIRST_ID = re.compile(r'"id": "((?:[^"\\]|\\.)*)"')


def _unspool(spool: TextIO, out: TextIO, findings: list[dict]) -> None:
    """The spooled lines, each with the cross-package findings that involve its package: each finding with
    every package it rests on, as the series store holds it (id, source file and line, values read)."""
    from vericarbon.screening import batch

    involving: dict[str, list[dict]] = {}
    for finding in findings:
        for package in finding["packages"]:
            involving.setdefault(package["package_id"], []).append(finding)
    spool.seek(0)
    for text in spool:
        # Lines are written with sorted keys and none before "id" holds an "id": the first one is the
        # package's, so only the lines of involved packages need parsing.
        quick = _FIRST_ID.search(text)
        if involving and (quick is None or orjson.loads(f'"{quick.group(1)}"') in involving):
            line = orjson.loads(text)
            if line.get("id") in involving:
                line["cross_package"] = [{"rule": f["rule"], "finding_type": f["finding_type"], "severity": f["severity"], "about": f["package_id"],
                                          "message": f["message"], "packages": f["packages"]} for f in involving[line["id"]]]
                text = batch.jsonl(line) + "\n"
        out.write(text)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(str(folder), f"cannot be created ({error.strerror})") from None


def _open_for_writing(path: Path) -> TextIO:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise InputError(str(path), f"cannot be written ({error.strerror})") from None


def _import(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.evidence.registry_exports import Tally, import_file, print_tally
    from vericarbon.evidence.statement_exports import import_statements

    """Every file's packages, streamed; per file the rows read, imported and refused (each with its row
    number and reason). Exit 1 when a row was refused, so a pipeline notices."""
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open_atomically(args.output)) if args.output else sys.stdout.buffer
        tallies = []
        for path in args.files:
            tally = Tally(str(path))
            tallies.append(tally)
            packages = import_file(args.registry, path, tally, store) if args.import_command == "registry" else import_statements(args.layout, path, tally, store)
            for package in packages:
                out.write(orjson.dumps(package) + b"\n")
    for tally in tallies:
        print_tally(tally)
    return EXIT_FINDINGS if any(tally.refused for tally in tallies) else EXIT_OK


def _kind(text: str, store: SchemaStore) -> tuple[str, str]:
    kind, _, version = text.partition("@")
    versions = sorted(v for k, v in store.kinds if k == kind)
    if not versions or (version and version not in versions):
        raise InputError(text, f"not a package kind (known: {store.known_kinds()})")
    return kind, version or versions[-1]


def _write_out(path: Path | None, content: str | bytes, what: str) -> int:
    """Text or a binary document to `path`, else to stdout; binary output is refused on a terminal."""
    if path is not None:
        write_atomically(path, content)
    elif isinstance(content, str):
        sys.stdout.write(content)
    elif sys.stdout.isatty():
        raise InputError(what, "is a binary format: write it to a file with -o FILE")
    else:
        sys.stdout.buffer.write(content)
    return EXIT_OK


def _factors_list(args: argparse.Namespace) -> int:
    from vericarbon import factors

    for set_id in factors.available():
        about = factors.load(set_id).about
        print(f"{set_id}: {about['title']} — edition {about['edition']} v{about['version']}, GWP {about['gwp'] or 'n/a'}, {len(factors.load(set_id))} factors; {about['licence']}")
    return EXIT_OK


def _factors_search(args: argparse.Namespace) -> int:
    from vericarbon import factors

    sets = args.sets or factors.available()
    for set_id in sets:
        factors.load(set_id)  # an unknown set is an input error before any output
    found = [f for f in factors.search(" ".join(args.text), sets, limit=10_000) if args.all_gases or f.ghg in ("CO2e", "CO2") or f.set.startswith("epa")]
    for factor in found[:200]:
        print(f"{factor.set} {factor.id}  {factor.description} | {factor.unit} | {factor.ghg} {format_value(factor.value)} {factor.factor_unit}" + (f" | {factor.scope}" if factor.scope else ""))
    print(f"{len(found)} factor(s)" + (", the first 200 shown" if len(found) > 200 else ""), file=sys.stderr)
    return EXIT_OK if found else EXIT_FINDINGS


def _factors_show(args: argparse.Namespace) -> int:
    from vericarbon import factors

    factor = factors.load(args.set).by_id(args.id)
    about = factors.load(args.set).about
    rows = [("set", f"{factor.set} — {about['title']}"), ("edition", f"{about['edition']} (version {about['version']}, for reporting year {about['year']})"),
            ("id", factor.id), ("description", factor.description), ("scope", factor.scope or "(not given)"), ("unit", factor.unit), ("gas", factor.ghg),
            ("value", f"{format_value(round(factor.value, 5))} {factor.factor_unit}" + (f" (to 5 decimal places, as the sets print it; the file holds {factor.value!r})" if round(factor.value, 5) != factor.value else ""))]
    if factor.low is not None:
        rows.append(("range", f"{format_value(factor.low)} to {format_value(factor.high)} {factor.factor_unit}"))
    rows += [("GWP basis", about["gwp"] or "n/a"), ("licence", about["licence"]), ("attribution", about["attribution"]), ("source", f"{about['source']['url']} ({about['source']['file']})")]
    for label, text in rows:
        print(f"{label + ':':13} {text}")
    return EXIT_OK


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


def _print_explain(result: dict, rule_ids: set[str]) -> None:
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            if item["id"] not in rule_ids:
                continue
            print(f"\nexplain {item['id']}: {item['status']}\n  check: {item['check']}")
            if item.get("when"):
                print(f"  when:  {item['when']}")
            print(f"  engine: {item['engine']}")
            for occurrence in item["occurrences"]:
                print(f"  at {occurrence['pointer'] or '/'} → {occurrence['status']}")
                for entry in occurrence.get("explain", []):
                    where = f"  @ {entry['pointer']}" if "pointer" in entry else ""
                    elements = f"  elements: {', '.join(entry['elements'])}" if entry.get("elements") else ""
                    print(f"    {'  ' * entry['depth']}{entry['expr']} = {format_value(entry['value'])}{where}{elements}")


def _rules_list(args: argparse.Namespace, store: SchemaStore) -> int:
    for ruleset in resolve_rulesets([], store):
        print(f"{ruleset.id} {ruleset.data['version']} — {ruleset.data['title']} (applies to {', '.join(ruleset.data['applies_to'])})")
        batch_rules = ruleset.data.get("batch_rules", [])
        width = max(len(item["id"]) for item in ruleset.rules + ruleset.manual_checks + batch_rules)
        for rule in ruleset.rules:
            print(f"  {rule['id']:<{width}} {rule['finding_type']:<24} {_cite(rule)}  {rule['title']}")
        for rule in batch_rules:
            print(f"  {rule['id']:<{width}} {rule['finding_type']:<24} {_cite(rule)}  {rule['title']} (across packages, grouped by {rule['group_by']})")
        for check in ruleset.manual_checks:
            print(f"  {check['id']:<{width}} {'manual check':<24} {_cite(check)}  {check['title']}")
    return EXIT_OK


def _cite(item: dict) -> str:
    return "; ".join(f"{c['document']} {c['clause']}" for c in item["clauses"])


def _rules_show(args: argparse.Namespace, store: SchemaStore) -> int:
    for ruleset in resolve_rulesets([], store):
        for item in ruleset.rules + ruleset.manual_checks + ruleset.data.get("batch_rules", []):
            if item["id"] != args.rule_id:
                continue
            print(f"{item['id']} — {item['title']}\nruleset: {ruleset.id} {ruleset.data['version']} ({ruleset.path})")
            for clause in item["clauses"]:
                note = f" — {clause['note']}" if clause.get("note") else ""
                covers = f" (covers {', '.join(clause['covers'])})" if clause.get("covers") else ""
                print(f"clause: {clause['document']} {clause['clause']} [{clause['confidence']}]{note}{covers}")
            print(f"requirement ({item['verb']}): {item['requirement']}")
            if "look_at" in item:
                print(f"manual check: {item['look_at']}")
                return EXIT_OK
            kind = ruleset.data["applies_to"][0]
            version = max(v for k, v in store.kinds if k == kind)
            if "group_by" in item:
                engine = "python, in screen: over the series store's records, grouped by " + item["group_by"]
            else:
                engine = next(r.engine_note for r in compile_ruleset(ruleset, kind, version, store).rules if r.id == item["id"])
            for key in ("for_each", "group_by", "when", "check", "message", "finding_type", "remediation"):
                if key in item:
                    print(f"{key}: {item[key]}")
            print(f"engine: {engine}")
            print(f"tests: {', '.join(case['name'] + ' → ' + case['expect'] for case in item['tests'])}")
            return EXIT_OK
    raise InputError(args.rule_id, "no rule or manual check with this id in the built-in rulesets")


def _rules_matrix(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.rules.matrix import matrix

    chosen = resolve_rulesets(args.ruleset, store)
    indexed = [(ruleset, matrix(ruleset)) for ruleset in chosen if ruleset.data.get("index")]
    for ruleset in chosen:
        if not ruleset.data.get("index"):
            print(f"{ruleset.id}: no requirement index, nothing to trace", file=sys.stderr)
    from vericarbon.rules.matrix import RENDERERS

    rendered = RENDERERS[args.format](indexed)
    if args.output:
        write_atomically(args.output, rendered)
    else:
        sys.stdout.write(rendered)
    uncovered = any(not row.covered for _, rows in indexed for row in rows)
    return EXIT_FINDINGS if args.strict and uncovered else EXIT_OK


def _rules_docs(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.render.catalogue import pages

    return _write_pages(pages(resolve_rulesets(args.ruleset, store)), args.out, args.check, "vericarbon rules docs")


def _write_pages(written: dict[Path, str], out: Path, check: bool, command: str) -> int:
    """Write generated pages under `out`; with `check`, only say which are out of date (exit 1)."""
    stale = [out / name for name, text in written.items() if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    if check:
        for page in stale:
            print(f"{page}: out of date; run {command}", file=sys.stderr)
        return EXIT_FINDINGS if stale else EXIT_OK
    for name, text in written.items():
        _make_folder((out / name).parent)
        write_atomically(out / name, text)
    print(f"wrote {len(written)} page(s) to {out} ({len(stale)} changed)")
    return EXIT_OK


def _rules_test(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.run.ruletests import coverage, run_rule_tests

    failed = total = uncovered = 0
    for ruleset in resolve_rulesets(args.ruleset, store):
        results = run_rule_tests(ruleset, store)
        covered = coverage(ruleset)
        complete = [rule_id for rule_id, expects in covered.items() if {"pass", "fail"} <= expects]
        bad = [r for r in results if not r.ok]
        total += len(results)
        print(f"{ruleset.id}: {len(results) - len(bad)}/{len(results)} cases pass; {len(complete)}/{len(covered)} rules have a passing and a failing case")
        for rule_id in sorted(set(covered) - set(complete)):
            print(f"  missing a pass or fail case: {rule_id}")
            uncovered += 1
        for result in bad:
            failed += 1
            print(f"  FAILED {result.rule_id} / {result.case}: expected {result.expected}, got {result.actual}{'; ' + result.detail if result.detail else ''}")
            for entry in result.explain:
                where = f"  @ {entry['pointer']}" if "pointer" in entry else ""
                print(f"      {'  ' * max(entry['depth'], 0)}{entry['expr']} = {format_value(entry['value'])}{where}")
    print(f"rule tests: {total - failed} passed, {failed} failed")
    return EXIT_FINDINGS if failed or (args.strict and uncovered) else EXIT_OK

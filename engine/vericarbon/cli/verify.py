"""`vericarbon verify`, one package checked and reported (with --explain, why a rule decided as it did),
and `vericarbon validate`, a package checked against its schema alone."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK
from vericarbon.cli.output import write_out
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, load_package
from vericarbon.files import write_atomically
from vericarbon.lang import format_value
from vericarbon.render import FORMATS, renderer
from vericarbon.run.checker import Checker
from vericarbon.run.evaluate import MAX_OCCURRENCES, PACKAGE_BUDGET_S, RULE_BUDGET_S, Budgets


def _date_argument(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0: no limit)")
    return value


def budget_options(parser: argparse.ArgumentParser) -> None:
    """--rule-budget and --package-budget, for verify and screen (read with budgets_of)."""
    parser.add_argument("--rule-budget", type=_seconds, default=RULE_BUDGET_S, metavar="S", help=f"seconds one rule may run; past it the rule is an engine error and the others go on (default {RULE_BUDGET_S:g}; 0: none)")
    parser.add_argument("--package-budget", type=_seconds, default=PACKAGE_BUDGET_S, metavar="S", help=f"seconds a package's rules may run together; rules still running past it are engine errors (default {PACKAGE_BUDGET_S:g}; 0: none)")


def budgets_of(args: argparse.Namespace) -> Budgets:
    return Budgets(args.rule_budget, args.package_budget)


def verify_options(verify: argparse.ArgumentParser) -> None:
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
    budget_options(verify)
    verify.add_argument("--profile-rules", type=_positive_count, nargs="?", const=20, metavar="N", help="print the N slowest rules' times to stderr (default 20)")
    verify.add_argument("--max-occurrences", type=_positive_count, default=MAX_OCCURRENCES, metavar="N", help=f"occurrences kept per rule, the true count beside them (default {MAX_OCCURRENCES})")


def verify(args: argparse.Namespace, store: SchemaStore) -> int:
    package = load_package(args.package, store)
    checker = Checker(store, args.ruleset, args.param, args.profile, args.max_occurrences, budgets_of(args))
    answers = None
    if args.answers:
        from vericarbon.run.answers import load_answers

        answers = load_answers(args.answers, store)
    timings: dict[str, float] | None = {} if args.profile_rules else None
    result = checker.check(package, set(args.explain), args.explain_all, timings)
    if timings is not None:
        _print_profile(timings, args.profile_rules)
    known = {item["id"] for ruleset in result["rulesets"] for item in ruleset["results"] if item["kind"] == "rule"}
    unknown = [rule_id for rule_id in args.explain if rule_id not in known]
    if unknown:
        raise InputError("--explain", f"no rule {', '.join(unknown)} in the selected rulesets")
    if answers:
        from vericarbon.run.answers import merge_answers

        result = merge_answers(result, answers, args.as_of or dt.date.today(), use_waivers=not args.no_waivers)
    if args.format:
        write_out(args.output, renderer(args.format)(result), f"--format {args.format}")
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


def _print_profile(timings: dict[str, float], top: int) -> None:
    """The slowest rules first, on stderr: the result on stdout stays a clean document."""
    slowest = sorted(timings.items(), key=lambda entry: -entry[1])[:top]
    print(f"rule times (the {len(slowest)} slowest of {len(timings)}; all rules {sum(timings.values()) * 1000:.1f} ms):", file=sys.stderr)
    for name, seconds in slowest:
        print(f"  {seconds * 1000:10.2f} ms  {name}", file=sys.stderr)


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


def validate_options(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("package", type=Path)


def validate(args: argparse.Namespace, store: SchemaStore) -> int:
    package = load_package(args.package, store)
    print(f"{package.path}: valid {package.kind} {package.schema_version} package")
    return EXIT_OK

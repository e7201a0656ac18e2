"""`vericarbon rules`, the rulesets listed, shown, traced to their source documents, documented and
tested; and `vericarbon schemas`, the evidence schemas' reference pages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK, Names
from vericarbon.cli.output import write_out, write_pages
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.lang import format_value
from vericarbon.render.findings import review_text
from vericarbon.rules.rulesets import compile_ruleset, resolve_rulesets


def schemas_options(schemas: argparse.ArgumentParser) -> None:
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    schema_docs = schema_commands.add_parser("docs", help="write a reference page per package kind to docs/schemas/")
    schema_docs.add_argument("--out", type=Path, default=Path("docs"), help="the docs folder (default: docs)")
    schema_docs.add_argument("--check", action="store_true", help="fail if a page is out of date instead of writing")


def schemas(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.render.schema_docs import schema_pages

    return write_pages(schema_pages(store, resolve_rulesets([], store)), args.out, args.check, "vericarbon schemas docs")


def rules_options(rules: argparse.ArgumentParser) -> None:
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    rule_commands.add_parser("list", help="every rule and manual check of the built-in rulesets")
    show = rule_commands.add_parser("show", help="one rule in full")
    show.add_argument("rule_id")
    matrix = rule_commands.add_parser("matrix", help="which rules and manual checks cover each requirement of the source document")
    matrix.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    matrix.add_argument("--format", choices=Names("vericarbon.rules.matrix", "RENDERERS"), metavar="FORMAT", default="table", help="%(choices)s (default %(default)s)")
    matrix.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    matrix.add_argument("--strict", action="store_true", help="exit 1 when a requirement is covered by nothing")
    docs = rule_commands.add_parser("docs", help="write the rule catalogue (docs/rules/, a page per ruleset version) and the reference notes (docs/references/)")
    docs.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    docs.add_argument("--out", type=Path, default=Path("docs"), help="folder holding rules/ and references/ (default: docs)")
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is missing or out of date")
    test = rule_commands.add_parser("test", help="run the rules' own test cases")
    test.add_argument("ruleset", nargs="*", metavar="ID|PATH")
    test.add_argument("--strict", action="store_true", help="fail when any rule lacks a passing or a failing case")


def rules(args: argparse.Namespace, store: SchemaStore) -> int:
    return {"list": _list, "show": _show, "test": _test, "matrix": _matrix, "docs": _docs}[args.rules_command](args, store)


def _list(args: argparse.Namespace, store: SchemaStore) -> int:
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
def _show(args: argparse.Namespace, store: SchemaStore) -> int:
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
            print(f"review: {review_text(item)}")
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


def _matrix(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.rules.matrix import RENDERERS, matrix

    chosen = resolve_rulesets(args.ruleset, store)
    indexed = [(ruleset, matrix(ruleset)) for ruleset in chosen if ruleset.data.get("index")]
    for ruleset in chosen:
        if not ruleset.data.get("index"):
            print(f"{ruleset.id}: no requirement index, nothing to trace", file=sys.stderr)
    write_out(args.output, RENDERERS[args.format](indexed), "rules matrix")
    uncovered = any(not row.covered for _, rows in indexed for row in rows)
    return EXIT_FINDINGS if args.strict and uncovered else EXIT_OK


def _docs(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.render.catalogue import pages

    return write_pages(pages(resolve_rulesets(args.ruleset, store)), args.out, args.check, "vericarbon rules docs")


def _test(args: argparse.Namespace, store: SchemaStore) -> int:
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

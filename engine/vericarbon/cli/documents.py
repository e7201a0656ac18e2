"""The commands that turn published data, a kind or a package into another document: `vericarbon import`
(registry exports, tables of statements, workbooks), `export`, `template` and `init`.

The importers, workbooks and skeletons are imported only by the commands that use them (start-up)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import orjson

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK, Names
from vericarbon.cli.output import write_out
from vericarbon.errors import InputError
from vericarbon.evidence.documents import parse_document, read_text
from vericarbon.evidence.package import SchemaStore, load_package
from vericarbon.files import open_atomically


def import_options(importing: argparse.ArgumentParser) -> None:
    import_commands = importing.add_subparsers(dest="import_command", required=True)
    registry = import_commands.add_parser("registry", help="a registry's public export (CSV; CAD Trust unit JSON) into credit-record packages, one per record, as JSON Lines")
    registry.add_argument("--from", dest="registry", required=True, choices=Names("vericarbon.importers", "REGISTRIES"), metavar="REGISTRY", help="the registry that published the files: %(choices)s")
    registry.add_argument("files", nargs="+", type=Path, metavar="FILE")
    registry.add_argument("-o", "--output", type=Path, metavar="OUT.jsonl", help="write the packages here (default: stdout)")
    statements = import_commands.add_parser("statements", help="a table of published GHG statements into ghg-statement packages, one per row, as JSON Lines")
    statements.add_argument("--from", dest="layout", required=True, choices=Names("vericarbon.importers", "STATEMENT_LAYOUTS"), metavar="LAYOUT", help="the table's layout: %(choices)s")
    statements.add_argument("files", nargs="+", type=Path, metavar="FILE")
    statements.add_argument("-o", "--output", type=Path, metavar="OUT.jsonl", help="write the packages here (default: stdout)")

    workbook_in = import_commands.add_parser("workbook", help="a filled vericarbon workbook (see template) into a package")
    workbook_in.add_argument("workbook", type=Path, metavar="FILE.xlsx")
    workbook_in.add_argument("-o", "--output", type=Path, metavar="PACKAGE.json", help="write the package here (default: stdout)")


def import_documents(args: argparse.Namespace, store: SchemaStore) -> int:
    if args.import_command == "workbook":
        from vericarbon.importers.workbooks import read_workbook

        return write_out(args.output, _json(read_workbook(args.workbook, store), indent=True).decode() + "\n", "import workbook")
    return _import_packages(args, store)


def _json(package: dict, indent: bool = False) -> bytes:
    """A package as JSON with every integer exact: orjson (fast) writes none beyond 64 bits, which a credit
    serial can be; such a package is written by the standard encoder instead."""
    try:
        return orjson.dumps(package, option=orjson.OPT_INDENT_2 if indent else 0)
    except TypeError:
        return json.dumps(package, ensure_ascii=False, indent=2 if indent else None, default=str).encode()


def _import_packages(args: argparse.Namespace, store: SchemaStore) -> int:
    """Every file's packages, streamed; per file the rows read, imported and refused (each with its row
    number and reason). Exit 1 when a row was refused, so a pipeline notices."""
    from vericarbon.importers import Tally, import_file, import_statements, print_tally

    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open_atomically(args.output)) if args.output else sys.stdout.buffer
        tallies = []
        for path in args.files:
            tally = Tally(str(path))
            tallies.append(tally)
            packages = import_file(args.registry, path, tally, store) if args.import_command == "registry" else import_statements(args.layout, path, tally, store)
            for package in packages:
                out.write(_json(package) + b"\n")
    for tally in tallies:
        print_tally(tally)
    return EXIT_FINDINGS if any(tally.refused for tally in tallies) else EXIT_OK


def export_options(exporting: argparse.ArgumentParser) -> None:
    export_commands = exporting.add_subparsers(dest="export_command", required=True)
    workbook_out = export_commands.add_parser("workbook", help="a package as a workbook in the template's layout, to edit and import again")
    workbook_out.add_argument("package", type=Path)
    workbook_out.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")


def export(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.importers.workbooks import write_workbook

    package = load_package(args.package, store)  # validated; the workbook gets the document as written, not what reading derives
    return write_out(args.output, write_workbook(store.shape(package.kind, package.schema_version), package.kind, package.schema_version, parse_document(args.package, read_text(args.package))), "export workbook")


def template_options(template: argparse.ArgumentParser) -> None:
    template.add_argument("kind", help="a package kind, e.g. ghg-statement (KIND@VERSION for another schema version)")
    template.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.xlsx")


def template(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.importers.workbooks import write_workbook

    kind, version = _kind(args.kind, store)
    return write_out(args.output, write_workbook(store.shape(kind, version), kind, version), "template")


def init_options(init: argparse.ArgumentParser) -> None:
    init.add_argument("kind", help="a package kind, e.g. ghg-statement (KIND@VERSION for another schema version)")
    init.add_argument("-o", "--output", type=Path, metavar="FILE.yaml", help="write it here (default: stdout)")


def init(args: argparse.Namespace, store: SchemaStore) -> int:
    from vericarbon.importers.skeletons import samples_of, skeleton

    kind, version = _kind(args.kind, store)
    return write_out(args.output, skeleton(store.shape(kind, version), kind, version, samples_of(kind, version, store)), "init")


def _kind(text: str, store: SchemaStore) -> tuple[str, str]:
    kind, _, version = text.partition("@")
    versions = sorted(v for k, v in store.kinds if k == kind)
    if not versions or (version and version not in versions):
        raise InputError(text, f"not a package kind (known: {store.known_kinds()})")
    return kind, version or versions[-1]

"""Stage 11: the `vericarbon` command (it may use any other stage). Exit codes: 0 no failing finding, 1 failing findings (or failing rule tests), 2 usage or input error.

This module builds the parser and dispatches; each command group's module (verify.py, screen.py,
documents.py, factors.py, rules.py, service.py) declares its options beside its handler and is imported
only when its command is named, and a module only some of its commands use is imported in the function
that runs them, so `verify` does not pay at start-up for screening, importing, workbooks and documentation
pages (benchmarks/startup.py)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Iterator, NamedTuple

from vericarbon.version import __version__
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3  # README, 'Exit codes'


class _Command(NamedTuple):
    help: str
    module: str  # the module of vericarbon.cli declaring the command
    options: str  # its function adding the command's options to the command's parser
    handler: str  # its function running the command: (args, store) -> exit code


_COMMANDS = {
    "verify": _Command("evaluate a package and report findings", "verify", "verify_options", "verify"),
    "screen": _Command("screen many packages: folders, zip archives or JSON-Lines files; one JSON line per package", "screen", "screen_options", "screen"),
    "ledger": _Command("the credit ledger", "screen", "ledger_options", "ledger"),
    "import": _Command("turn published data into packages", "documents", "import_options", "import_documents"),
    "export": _Command("write a package in another form", "documents", "export_options", "export"),
    "template": _Command("an empty workbook for a package kind: a sheet per list of records, dropdowns, descriptions", "documents", "template_options", "template"),
    "init": _Command("a commented YAML skeleton of a package kind: every field, what it is, an example", "documents", "init_options", "init"),
    "schemas": _Command("the evidence schemas", "rules", "schemas_options", "schemas"),
    "factors": _Command("the official emission-factor sets vericarbon ships", "factors", "factors_options", "factors"),
    "validate": _Command("validate a package against its schema", "verify", "validate_options", "validate"),
    "serve": _Command("the intake service: an HTTP API and worker processes on one database (pip install 'vericarbon[serve]')", "service", "serve_options", "serve"),
    "worker": _Command("a worker process of the intake service, for more machines on the same database", "service", "worker_options", "worker"),
    "keys": _Command("API keys of the intake service", "service", "keys_options", "keys"),
    "audit": _Command("the intake service's audit log: verify checks its hash chain for edits and cuts", "service", "audit_options", "audit"),
    "rules": _Command("list, show and test rules", "rules", "rules_options", "rules"),
}


def _function_of(command: str, function: str) -> Callable:
    """A function of the module declaring `command`, which is imported here, on first use."""
    return getattr(importlib.import_module(f"vericarbon.cli.{_COMMANDS[command].module}"), function)


class Names:
    """The names a command's option accepts, read from the module that defines them only when argparse
    checks a value or writes help: parsing `verify` must not import the registry importers. (An option
    with these choices needs a metavar: argparse formats an argument's metavar as it is added, and without
    one it would list the choices then.)"""

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def _names(self) -> list[str]:
        return sorted(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording, drop nothing
        self.print_usage(sys.stderr)
        print(f"vericarbon: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line. Every command is listed, but only the one `argv` names gets its options (all of
    them with argv None): building every command's, with argparse looking up a translation of each help
    string on disk, is ~4 ms of each start, and importing every command's module more. The commands' own
    sub-commands are _Parsers too: argparse makes a sub-parser of its parent's class."""
    parser = _Parser(prog="vericarbon", description="Check GHG evidence packages against declarative rulesets.")
    parser.add_argument("--version", action="version", version=f"vericarbon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    named = None if argv is None else next((word for word in argv if not word.startswith("-")), "")
    for name, declared in _COMMANDS.items():
        command = commands.add_parser(name, help=declared.help)
        if named is None or named == name:
            _function_of(name, declared.options)(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    try:
        return _function_of(args.command, _COMMANDS[args.command].handler)(args, SchemaStore())
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

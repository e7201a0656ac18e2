"""The fuzzer's input families and how each input is run, shared by tests/test_fuzz.py (a small seeded slice
of every family) and benchmarks/fuzz.py (at scale, in forked workers).

A family turns a seed into an `Input`: its files, the command line that reads them, and the same through
the Python API. `run_api` and `run_cli` give the outcome as an exit code (0, 1, 2 as documented); anything
else escapes and is the defect being looked for. The `cli` family runs another family's input through
`vericarbon.cli.main` in process, with `VERICARBON_DEBUG=1` so a bug raises instead of printing, and a
`verify` in every output format in turn.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import fuzz_files as files
from fuzzing import api_value, from_schema, mutated

import vericarbon
from vericarbon.cli import main
from vericarbon.evidence.package import SchemaStore
from vericarbon.importers import Tally, import_file, import_statements
from vericarbon.importers.workbooks import read_workbook
from vericarbon.screening.sources import items

FORMATS = ["json", "md", "html", "pdf", "xml", "sarif", "junit", "oscal-ar", "csv"]
_STORE = SchemaStore()


@dataclass
class Input:
    files: dict[str, bytes]  # written into the input's own folder
    argv: list[str]  # "@NAME" is the file NAME in that folder
    api: Callable[[Path], int]  # the same through the Python API, given the folder
    value: Any = None  # for the API family: the Python value itself, not in a file

    @property
    def size(self) -> int:
        return sum(map(len, self.files.values()))


def _rendered(result: vericarbon.Result, rng: random.Random) -> int:
    """Render the result in a format picked by the seed (JSON always): what the API user does next."""
    for name in {"json", rng.choice([f for f in FORMATS if f != "pdf"])}:
        result.render(name)
    return 1 if result.summary["by_status"]["fail"] else 0


def _package_input(raw: bytes, rng: random.Random) -> Input:
    return Input({"p.json": raw}, ["verify", "@p.json"], lambda folder: _rendered(vericarbon.verify(raw), rng))


def packages(rng: random.Random) -> Input:
    return _package_input(mutated(rng)[1], rng)


def schemas(rng: random.Random) -> Input:
    return _package_input(from_schema(rng)[1], rng)


def values(rng: random.Random) -> Input:
    value = api_value(rng)
    call = rng.choice(["verify", "validate"])

    def api(folder: Path) -> int:
        if call == "validate":
            return 2 if vericarbon.validate(value) else 0
        return _rendered(vericarbon.verify(value, params=rng.choice([{}, {"materiality_percent_max": value.get("id")}])), rng)

    try:
        raw = json.dumps(value, default=repr).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError, TypeError):  # keys no JSON has, nesting too deep for json: the API alone
        raw = b"{}"
    return Input({"p.json": raw}, ["verify", "@p.json"], api, value)


def workbooks(rng: random.Random) -> Input:
    if rng.random() < 0.15:  # the other way: a mutated package out to a workbook
        raw = mutated(rng)[1]
        return Input({"p.json": raw}, ["export", "workbook", "@p.json", "-o", "@out.xlsx"], lambda folder: _exported(folder / "p.json"))
    book = files.workbook(rng)
    return Input({"book.xlsx": book}, ["import", "workbook", "@book.xlsx", "-o", "@out.json"], lambda folder: _read(folder / "book.xlsx"))


def _exported(path: Path) -> int:
    from vericarbon.evidence.package import load_package
    from vericarbon.importers.workbooks import write_workbook

    package = load_package(path, _STORE)
    write_workbook(_STORE.shape(package.kind, package.schema_version), package.kind, package.schema_version, package.data)
    return 0


def _read(path: Path) -> int:
    read_workbook(path, _STORE)
    return 0


def registry(rng: random.Random) -> Input:
    name, filename, raw = files.registry_export(rng)

    def api(folder: Path) -> int:
        tally = Tally(filename)
        list(import_file(name, folder / filename, tally, _STORE))
        return 1 if tally.refused else 0

    return Input({filename: raw}, ["import", "registry", "--from", name, f"@{filename}", "-o", "@out.jsonl"], api)


def statements(rng: random.Random) -> Input:
    layout, raw = files.statement_table(rng)

    def api(folder: Path) -> int:
        tally = Tally("table.csv")
        list(import_statements(layout, folder / "table.csv", tally, _STORE))
        return 1 if tally.refused else 0

    return Input({"table.csv": raw}, ["import", "statements", "--from", layout, "@table.csv", "-o", "@out.jsonl"], api)


def answers(rng: random.Random) -> Input:
    if rng.random() < 0.5:
        raw, sample = files.answers_file(rng), files.SAMPLE_FOR_ANSWERS
        return Input({"answers.yaml": raw}, ["verify", str(sample), "--answers", "@answers.yaml", "--as-of", "2025-06-30"],
                     lambda folder: _rendered(vericarbon.verify(sample, answers=folder / "answers.yaml"), rng))
    raw, sample = files.overlay_file(rng), files.ROOT / "evidence_samples" / "verification-organisation.json"
    return Input({"overlay.yaml": raw}, ["verify", str(sample), "--ruleset", "@overlay.yaml"],
                 lambda folder: _rendered(vericarbon.verify(sample, rulesets=[folder / "overlay.yaml"]), rng))


def sources(rng: random.Random) -> Input:
    name, raw = files.screen_source(rng)

    def api(folder: Path) -> int:  # the reading side of screen, in process (screen's workers are processes)
        found = list(items([folder / name]))
        for item in found:
            if not item.problem:
                vericarbon.validate(item.raw)
        return 1 if any(item.problem for item in found) else 0

    return Input({name: raw}, ["screen", f"@{name}", "--jobs", "1", "-o", "@out.jsonl"], api)


API_FAMILIES: dict[str, Callable[[random.Random], Input]] = {
    "packages": packages, "schemas": schemas, "values": values, "workbooks": workbooks, "registry": registry,
    "statements": statements, "answers": answers, "sources": sources,
}
FAMILIES = [*API_FAMILIES, "cli"]


def generate(family: str, seed: int) -> tuple[Input, random.Random, str]:
    """The input of `family` for `seed`, the generator to run it with, and (for `cli`) the family it came from."""
    rng = random.Random(f"{family}:{seed}")
    source = family if family != "cli" else rng.choice([name for name in API_FAMILIES if name != "values"] + ["packages"] * 3)
    return API_FAMILIES[source](rng), rng, source


def write(made: Input, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in made.files.items():
        (folder / name).write_bytes(raw)


def run_api(made: Input, folder: Path) -> int:
    write(made, folder)
    try:
        return made.api(folder)
    except vericarbon.InputError:
        return 2


def run_cli(made: Input, folder: Path, rng: random.Random) -> tuple[int, str]:
    """(exit code, stderr) of the input's command line, in process; a bug raises (VERICARBON_DEBUG)."""
    write(made, folder)
    argv = [str(folder / part[1:]) if part.startswith("@") else part for part in made.argv]
    if argv[0] == "verify":
        argv += ["--format", rng.choice(FORMATS), "-o", str(folder / "out")]
    out, err = io.StringIO(), io.StringIO()
    debug = os.environ.get("VERICARBON_DEBUG")
    os.environ["VERICARBON_DEBUG"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as stop:  # argparse: a usage error
        code = stop.code if isinstance(stop.code, int) else 2
    finally:
        if debug is None:
            del os.environ["VERICARBON_DEBUG"]
        else:
            os.environ["VERICARBON_DEBUG"] = debug
    return code, err.getvalue()

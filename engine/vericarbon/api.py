"""The public face: check, validate and screen evidence packages from Python. `vericarbon/__init__.py`
re-exports these names; every other module is internal and may change between versions.

A package is given as a path, as the text of a JSON or YAML document, or as the parsed data (a dict).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import orjson

from vericarbon.errors import InputError
from vericarbon.evidence.documents import escape_pointer_part
from vericarbon.limits import MAX_NESTING
from vericarbon.evidence.package import Package, SchemaStore, load_package, parse_package, validated_package
from vericarbon.render import renderer
from vericarbon.rules.rulesets import Ruleset, resolve_rulesets
from vericarbon.run.answers import load_answers, merge_answers
from vericarbon.run.checker import Checker


@functools.cache
def _schemas() -> SchemaStore:
    return SchemaStore()


@dataclass(frozen=True)
class ValidationError:
    """One way a package fails its schema (or cannot be read): where, and what is wrong."""

    file: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.pointer}: {self.message}" if self.pointer else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Finding:
    """One failing occurrence of a rule: the rule, what it cites, where in the package and why."""

    rule_id: str
    ruleset: str
    finding_type: str
    clauses: tuple[str, ...]
    pointer: str
    message: str
    values: tuple[dict, ...]


class Result:
    """The outcome of checking one package. `data` is the canonical result document (plain JSON data,
    `schemas/result.schema.json`); the properties read it, and `render` writes it in any output format."""

    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def verdict(self) -> str:
        """`no_nonconformity`, `nonconformities` or `incomplete` (a requirement could not be evaluated)."""
        return self.data["verdict"]

    @property
    def findings(self) -> list[Finding]:
        """Every failing occurrence, in ruleset and rule order."""
        found = []
        for ruleset in self.data["rulesets"]:
            for item in ruleset["results"]:
                if item["status"] != "fail":
                    continue
                clauses = tuple(f"{c['document']} {c['clause']}" for c in item.get("clauses", []))
                for occurrence in item.get("occurrences", []):
                    if occurrence["status"] == "fail":
                        found.append(Finding(item["id"], ruleset["id"], item.get("finding_type", ""), clauses, occurrence.get("pointer", ""),
                                             occurrence.get("message", ""), tuple(occurrence.get("values", []))))
        return found

    @property
    def summary(self) -> dict:
        """Counts by status and by finding type."""
        return self.data["summary"]

    def to_json(self) -> str:
        """The canonical JSON document."""
        return self.render("json")

    def render(self, format: str) -> str | bytes:
        """The result as `json`, `md`, `html`, `xml`, `text`, `sarif`, `junit`, `oscal-ar` or `csv` (text), or `pdf` (bytes)."""
        return renderer(format)(self.data)

    def __repr__(self) -> str:
        return f"<Result {self.data['evidence'].get('id')!r}: {self.verdict}, {len(self.findings)} finding(s)>"


def verify(package: str | os.PathLike[str] | bytes | Mapping[str, Any], *, rulesets: Sequence[str | os.PathLike[str]] | None = None,
           params: Mapping[str, Any] | None = None, profile: str | None = None, answers: str | os.PathLike[str] | None = None,
           as_of: dt.date | None = None, explain: Sequence[str] = ()) -> Result:
    """Check a package against the built-in rulesets for its kind (or `rulesets`: ids, ID@VERSION, ruleset or
    overlay files), with parameter values `params`, only the rules of `profile`, and an auditor's `answers`
    merged (waivers judged as of `as_of`, default today). `explain` lists rule ids to trace.

    Raises `vericarbon.InputError` for a package or option that cannot be used."""
    store = _schemas()
    loaded = _package(package, store)
    data = _checker([str(r) for r in rulesets or []], _assignments(params or {}), profile).check(loaded, set(explain))
    if answers is not None:
        data = merge_answers(data, load_answers(Path(answers), store), as_of or dt.date.today())
    return Result(data)


def validate(package: str | os.PathLike[str] | bytes | Mapping[str, Any]) -> list[ValidationError]:
    """Every problem that stops the package from being checked (unreadable, malformed, unknown kind, schema
    errors), each with its JSON pointer; an empty list when it is valid."""
    try:
        _package(package, _schemas())
    except InputError as error:
        return [ValidationError(error.file, pointer, message) for pointer, message in error.problems]
    return []


def screen(sources: Sequence[str | os.PathLike[str]], *, jobs: int | None = None, ledger: str | os.PathLike[str] | None = None,
           rulesets: Sequence[str] | None = None, params: Mapping[str, Any] | None = None, profile: str | None = None) -> Iterator[dict]:
    """Screen folders, zip archives and JSON-Lines files of packages with `jobs` worker processes (default one
    per core), yielding one line per package as `vericarbon screen` writes it (status, verdict, counts, failing
    rules, ledger conflicts). Serial ranges go into the `ledger` — a SQLite file or a postgresql:// URL, kept —
    or a temporary one. Leaving the loop early lets the chunks of packages being checked finish: they are
    recorded in the ledger, though not yielded."""
    from vericarbon.screening import batch
    from vericarbon.screening import ledger as ledgers
    from vericarbon.screening.sources import check_sources

    paths = [Path(source) for source in sources]
    check_sources(paths)
    checker = _checker(list(rulesets or []), _assignments(params or {}), profile)
    with contextlib.ExitStack() as stack:
        book = stack.enter_context(ledgers.open_ledger(ledger or None))
        batches = stack.enter_context(contextlib.closing(batch.screen(paths, jobs or os.cpu_count() or 1, checker, None, book)))
        for lines in batches:
            yield from lines


def load_ruleset(path_or_id: str | os.PathLike[str]) -> Ruleset:
    """A ruleset by built-in id (the newest installed version), ID@VERSION, or a ruleset or overlay file,
    linted and with its rule tests' structure checked."""
    found = resolve_rulesets([str(path_or_id)], _schemas())
    return max(found, key=lambda ruleset: ruleset.data["effective"]["from"] if "effective" in ruleset.data else "")


_checkers: dict[tuple, Checker] = {}


def _checker(selectors: list[str], assignments: list[str], profile: str | None) -> Checker:
    """A checker for these options, kept for the next call when it uses built-in rulesets only (they cannot
    change while the process runs; a ruleset file is read again each time, as it may have been edited)."""
    if any(Path(selector).suffix in (".yaml", ".yml") or Path(selector).exists() for selector in selectors):
        return Checker(_schemas(), selectors, assignments, profile)
    key = (tuple(selectors), tuple(assignments), profile)
    if key not in _checkers:
        _checkers[key] = Checker(_schemas(), selectors, assignments, profile)
    return _checkers[key]


def _package(source: str | os.PathLike[str] | bytes | Mapping[str, Any], store: SchemaStore) -> Package:
    if isinstance(source, Mapping):
        data = dict(source)
        try:
            raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an integer beyond 64 bits, nesting deeper than orjson writes, or what is not JSON data
            raw = _canonical_json(data)
        return validated_package("<data>", data, hashlib.sha256(raw).hexdigest(), store)
    if isinstance(source, bytes):
        return parse_package(Path("<text>"), source, store)
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith(("{", "["))):
        return parse_package(Path("<text>"), source.encode("utf-8"), store)
    if isinstance(source, (str, os.PathLike)):
        return load_package(Path(source), store)
    raise InputError(f"<{type(source).__name__}>", "a package is given as a path, a JSON or YAML text (str or bytes) or a mapping, "
                     f"not {type(source).__name__}")


class _Written(str):
    """Punctuation of the canonical text, already written out."""


def _canonical_json(data: dict) -> bytes:
    """The JSON text of package data that orjson will not write: sorted keys, integers exact, written
    without recursion; InputError at the first place that is not JSON data or nests deeper than a file may."""
    chunks: list[str] = []
    pending: list[Any] = [(data, "", 1)]
    while pending:
        item = pending.pop()
        if type(item) is _Written:
            chunks.append(item)
            continue
        value, pointer, depth = item
        if depth > MAX_NESTING:
            raise InputError("<data>", f"nested more than {MAX_NESTING} levels deep", pointer)
        if type(value) is dict:
            key = next((key for key in value if not isinstance(key, str)), "")
            if key != "":
                raise InputError("<data>", f"a key must be text, not {type(key).__name__} {key!r}", pointer or "/")
            parts: list[Any] = []
            for index, key in enumerate(sorted(value)):
                parts += [_Written(("," if index else "{") + json.dumps(key) + ":"), (value[key], f"{pointer}/{escape_pointer_part(key)}", depth + 1)]
            pending += reversed([*parts, _Written("}" if parts else "{}")])
        elif type(value) is list:
            parts = [part for index, child in enumerate(value) for part in (_Written("," if index else "["), (child, f"{pointer}/{index}", depth + 1))]
            pending += reversed([*parts, _Written("]" if parts else "[]")])
        elif value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
            chunks.append(json.dumps(value))
        else:
            raise InputError("<data>", f"{value!r} is not JSON data: a package holds objects (dict), arrays (list), text, numbers, true, false and null", pointer or "/")
    return "".join(chunks).encode()


def _assignments(params: Mapping[str, Any]) -> list[str]:
    """Parameter values in the form `--param` takes, so both go through one type check."""
    return [f"{name}={_parameter_text(value)}" for name, value in params.items()]


def _parameter_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)

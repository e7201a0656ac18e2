"""A loaded ruleset: its document, where it came from, and what tailoring changed (rules/rulesets.py
loads it, rules/compiling.py compiles it for a package kind)."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.lang import Env, Type
from vericarbon.rules.batch import CompiledBatchRule, compile_batch_rules
from vericarbon.rules.sources import Source

PARAM_TYPES = {"number": Type("number"), "string": Type("string"), "boolean": Type("boolean"), "date": Type("date")}


@dataclass
class Ruleset:
    """A loaded, schema-valid ruleset (a file or a folder, rules/sources.py): data plus where it came from."""

    path: str
    sha256: str
    data: dict
    source: Source | None = None  # where in a folder each rule lies (None: one file, or an overlay's merged rules)
    overlays: list[dict] = field(default_factory=list)  # what each tailoring overlay changed, base first
    package_date: dict[tuple[str, str], Callable[[Env], Any]] = field(default_factory=dict)  # effective.selects_by, per kind
    # rules.compiling.CompiledRuleset per (kind, schema version), with its own parameter values; typed Any because
    # compiling builds on this module, not the other way round
    compiled: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.data["ruleset"]

    @property
    def rules(self) -> list[dict]:
        return self.data["rules"]

    @property
    def manual_checks(self) -> list[dict]:
        return self.data.get("manual_checks", [])

    @functools.cached_property
    def batch_rules(self) -> list[CompiledBatchRule]:
        """The batch rules, compiled against the records the series declares (not against a package kind)."""
        if not self.data.get("batch_rules"):
            return []
        param_types = {name: PARAM_TYPES[spec["type"]] for name, spec in self.data.get("parameters", {}).items()}
        with located(self):
            return compile_batch_rules(self.path, self.data["series"], self.data["batch_rules"], param_types)

    def __getstate__(self) -> dict:
        """Pickled for a worker process without its compiled closures: the worker compiles on first use."""
        return {**{k: v for k, v in self.__dict__.items() if k != "batch_rules"}, "package_date": {}, "compiled": {}}

    def where(self, pointer: str) -> str:
        """A pointer into the ruleset as a reader finds it: in a folder, the file and line too."""
        if self.source is None or not self.source.parts:
            return pointer
        file, location = self.source.locate(pointer)
        return f"{Path(file).name} {location}"

    def params(self) -> dict[str, Any]:
        return {name: spec.get("value") for name, spec in self.data.get("parameters", {}).items()}

    def base_params(self) -> dict[str, Any]:
        """Parameter values before any overlay changed them."""
        values = self.params()
        for overlay in reversed(self.overlays):
            values.update(overlay["base_parameters"])
        return values


@contextlib.contextmanager
def located(ruleset: Ruleset) -> Iterator[None]:
    """An error about a folder ruleset's merged document names the file and line it concerns instead."""
    try:
        yield
    except InputError as error:
        if ruleset.source is None or not ruleset.source.parts or error.file != ruleset.path:
            raise
        raise ruleset.source.relocated(error) from None

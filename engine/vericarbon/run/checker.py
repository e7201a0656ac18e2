"""What a run checks each package with: the rulesets chosen (built-ins for the package's kind, or named ones),
the version in effect on the package's date, a profile, parameter values set for the run. `verify` uses one
Checker for one package; `screen` gives one to each worker process for many."""

from __future__ import annotations

import datetime as dt
from typing import Any

from vericarbon.errors import InputError, OutOfScope
from vericarbon.evidence.package import Package, SchemaStore
from vericarbon.rules.rulesets import CompiledRuleset, Ruleset, compile_ruleset, parameter_problem, profile_view, resolve_rulesets, select_versions
from vericarbon.run.evaluate import evaluate, intake_decision, outcomes, screening_line
from vericarbon.run.series import series_record


class Checker:
    def __init__(self, store: SchemaStore, selectors: list[str], assignments: list[str], profile: str | None) -> None:
        self.store = store
        self.explicit = bool(selectors)
        self.rulesets = resolve_rulesets(selectors, store)
        self.overrides = parameter_overrides(assignments, self.rulesets)
        self.profile = profile
        if profile and not any(profile in rule.get("profiles", []) for ruleset in self.rulesets for rule in ruleset.rules):
            raise InputError("--profile", f"no rule of the selected rulesets belongs to profile {profile!r}")
        self._compiled: dict[tuple[str, str, str, str], CompiledRuleset] = {}

    def __getstate__(self) -> dict:
        """What a worker process needs to check as this checker does, without loading and linting every
        ruleset again: the loaded rulesets and the options. Compiled rules are rebuilt there on first use."""
        return {"schemas": self.store.folder, "explicit": self.explicit, "rulesets": self.rulesets, "overrides": self.overrides, "profile": self.profile}

    def __setstate__(self, state: dict) -> None:
        self.store = SchemaStore(state.pop("schemas"))
        self.__dict__.update(state)
        self._compiled = {}

    def compiled_for(self, package: Package) -> tuple[list[CompiledRuleset], dict[str, str]]:
        """The compiled rulesets that apply to this package, and for each chosen among versions, why."""
        chosen = [r for r in self.rulesets if package.kind in r.data["applies_to"]]
        if self.explicit:
            for ruleset in self.rulesets:
                if package.kind not in ruleset.data["applies_to"]:
                    raise OutOfScope(ruleset.path, f"applies to {', '.join(ruleset.data['applies_to'])}, not to a {package.kind} package")
        if not chosen:
            raise OutOfScope(package.path, f"no built-in ruleset applies to kind {package.kind!r}")
        selected = select_versions(chosen, package.data, package.kind, package.schema_version, self.store)
        compiled = []
        for ruleset, _ in selected:
            if (found := self._compiled_once(ruleset, package)).rules:
                compiled.append(found)
        return compiled, {ruleset.id: note for ruleset, note in selected if note}

    def series_records(self, package: Package) -> dict[str, dict[str, Any]]:
        """What the package contributes to the series store, per ruleset that declares a series."""
        records = {}
        for ruleset, _ in select_versions([r for r in self.rulesets if package.kind in r.data["applies_to"] and "series" in r.data], package.data, package.kind, package.schema_version, self.store):
            compiled = self._compiled_once(ruleset, package)
            records[ruleset.id] = series_record(compiled.series, package.data.get("id") or package.path, package.data, compiled.params)  # type: ignore[arg-type]
        return records

    def batch_kinds(self) -> set[str]:
        """The package kinds that batch rules read (whose screening lines wait for them), without compiling
        the rules (13 ms: the parent of a screening run compiles them only at the end)."""
        return {kind for ruleset in self.rulesets if ruleset.data.get("batch_rules") for kind in ruleset.data["applies_to"]}

    def batch_rulesets(self) -> list[tuple[Ruleset, dict[str, Any]]]:
        """The rulesets with batch rules, each with the parameter values of this run."""
        return [(ruleset, {**ruleset.params(), **self.overrides[ruleset.id]}) for ruleset in self.rulesets if ruleset.batch_rules]

    def _compiled_once(self, ruleset: Ruleset, package: Package) -> CompiledRuleset:
        """The ruleset compiled for the package's kind and schema version, once per checker."""
        key = (ruleset.id, ruleset.data["version"], package.kind, package.schema_version)
        if key not in self._compiled:
            self._compiled[key] = self._compile(ruleset, package)
        return self._compiled[key]

    def _compile(self, ruleset: Ruleset, package: Package) -> CompiledRuleset:
        if self.profile:
            ruleset = profile_view(ruleset, self.profile)
        values = {**ruleset.params(), **self.overrides[ruleset.id]} if self.overrides[ruleset.id] else None
        return compile_ruleset(ruleset, package.kind, package.schema_version, self.store, values)

    def check(self, package: Package, explain: set[str] | None = None, explain_all: bool = False) -> dict:
        """The result document. A parameter set for the run that no ruleset applying to this package
        declares is refused: it would change nothing, and the user believes it did."""
        compiled, notes = self._applicable(package)
        self._refuse_unused_overrides(package, compiled)
        result = evaluate(package, compiled, explain, explain_all)
        for entry in result["rulesets"]:
            if entry["id"] in notes:
                entry["selected"] = notes[entry["id"]]
        if self.profile:
            result["profile"] = self.profile
            result = intake_decision(result)
        return result

    def screening_line(self, package: Package) -> dict:
        """What screening says of the package (vericarbon.run.evaluate.screening_line) from its rules'
        statuses alone: check() builds every occurrence and value, which a screening line does not show."""
        compiled, _ = self._applicable(package)
        return screening_line(outcomes(package, compiled), decide=bool(self.profile))

    def _refuse_unused_overrides(self, package: Package, compiled: list[CompiledRuleset]) -> None:
        applied = {ruleset.ruleset.id for ruleset in compiled}
        used = {name for ruleset_id in applied for name in self.overrides[ruleset_id]}
        for ruleset_id, values in self.overrides.items():
            for name in sorted(set(values) - used):
                raise InputError("--param", f"{name} belongs to ruleset {ruleset_id}, which does not apply to this {package.kind} package: it would change nothing")

    def _applicable(self, package: Package) -> tuple[list[CompiledRuleset], dict[str, str]]:
        compiled, notes = self.compiled_for(package)
        if not compiled:
            raise OutOfScope("--profile", f"no rule of profile {self.profile!r} applies to a {package.kind} package")
        return compiled, notes


def parameter_overrides(assignments: list[str], rulesets: list[Ruleset]) -> dict[str, dict[str, Any]]:
    """NAME=VALUE for every ruleset that declares NAME, converted to the parameter's type."""
    overrides: dict[str, dict[str, Any]] = {r.id: {} for r in rulesets}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals or not name:
            raise InputError("--param", f"{assignment!r} is not NAME=VALUE")
        declaring = [r for r in rulesets if name in r.data.get("parameters", {})]
        if not declaring:
            known = sorted({n for r in rulesets for n in r.data.get("parameters", {})})
            raise InputError("--param", f"no selected ruleset has a parameter {name!r} (they have: {', '.join(known) or 'none'})")
        for ruleset in declaring:
            spec = ruleset.data["parameters"][name]
            value = _parameter_value(name, text, spec["type"])
            problem = parameter_problem(spec, value)
            if problem:
                raise InputError("--param", f"{name}: {problem}")
            overrides[ruleset.id][name] = value
    return overrides


def _parameter_value(name: str, text: str, kind: str) -> Any:
    if text == "null":
        return None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise InputError("--param", f"{name} is a boolean: write true or false, not {text!r}")
        return text == "true"
    if kind == "date":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise InputError("--param", f"{name} is a date YYYY-MM-DD, not {text!r}") from None
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise InputError("--param", f"{name} is a number, not {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError("--param", f"{name} must be a finite number, not {text!r}")
        return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    return text

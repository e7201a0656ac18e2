"""Rulesets. A YAML ruleset is checked against schemas/ruleset.schema.json, linted, and each
rule's expressions are parsed and type-checked against the schema of every package kind it applies to."""


from __future__ import annotations

from pathlib import Path
from typing import Any

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.lang import MISSING, Env, ExprError, Scope, as_date, compile_expression, parse
from vericarbon.resources import builtin_rulesets, ruleset_name
from vericarbon.rules.compiling import CompiledRule, CompiledRuleset, absence_decides, compile_ruleset, evidence_read, located_error
from vericarbon.rules.model import Ruleset, located
from vericarbon.rules.overlays import apply_overlay
from vericarbon.rules.sources import read_source

__all__ = ["CompiledRule", "CompiledRuleset", "Ruleset", "absence_decides", "compile_ruleset", "evidence_read", "load_ruleset", "parameter_problem", "profile_view", "resolve_rulesets", "select_versions"]


def load_ruleset(path: Path, store: SchemaStore, _extending: tuple[Path, ...] = (), *, compile_now: bool = True) -> Ruleset:
    """A ruleset file or folder, or an overlay file applied to the ruleset it extends. Its rules are compiled
    for every package kind it applies to, which type-checks every expression, unless `compile_now` is false:
    the built-in rulesets (checked in CI by `rules test --strict`) compile on first use, so a run pays only
    for the kinds it meets (~0.15 s less at every start)."""
    source = read_source(path)
    data, digest, name = source.data, source.sha256, str(path)
    is_overlay = isinstance(data, dict) and "overlay" in data
    with located(Ruleset(name, digest, data, source)):  # the marker's name is the hash of every file of a folder
        problems = store.file_errors("urn:vericarbon:schema:" + ("overlay" if is_overlay else "ruleset"), data, digest)
        if problems:
            raise InputError(name, problems)
    if is_overlay:
        base = load_ruleset(_extended(path, data["extends"], _extending), store, _extending + (path.resolve(),))
        merged, record = apply_overlay(data, name, digest, base.data)
        problems = store.errors("urn:vericarbon:schema:ruleset", merged)
        if problems:
            raise InputError(name, problems)
        record["extends"] = {"id": base.id, "file": base.path, "sha256": base.sha256}
        ruleset = Ruleset(name, digest, merged, overlays=base.overlays + [record])
    else:
        ruleset = Ruleset(name, digest, data, source)
    with located(ruleset):
        _lint(ruleset)
        if compile_now:
            ruleset.batch_rules  # noqa: B018 (type-checks them now)
        for kind in ruleset.data["applies_to"]:
            versions = sorted(v for k, v in store.kinds if k == kind)
            if not versions:
                raise InputError(name, f"applies to unknown package kind {kind!r} (known: {store.known_kinds()})", "/applies_to")
            if not compile_now:
                continue
            for version in versions:
                compile_ruleset(ruleset, kind, version, store)
                _check_selects_by(ruleset, store, kind, version)
    return ruleset


def _check_selects_by(ruleset: Ruleset, store: SchemaStore, kind: str, version: str) -> None:
    """Type-check effective.selects_by for a kind and keep it compiled for choosing versions."""
    source = ruleset.data.get("effective", {}).get("selects_by")
    if source is None:
        return
    try:
        compiled = compile_expression(parse(source), Scope(store.shape(kind, version), {}))
    except ExprError as error:
        raise located_error(ruleset, "effective.selects_by", "/effective/selects_by", source, error) from None
    if compiled.type.kind not in ("date", "any"):
        raise InputError(ruleset.path, f"effective.selects_by must give a date, but {source!r} is {compiled.type}", "/effective/selects_by")
    ruleset.package_date[(kind, version)] = compiled.fn


def parameter_problem(spec: dict, value: Any) -> str | None:
    """Why `value` cannot be this parameter's value (its type, whole number, range), or None."""
    kind = spec["type"]
    if value is None:
        return None
    if kind == "boolean":
        fits = isinstance(value, bool)
    elif kind == "number":
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "date":
        fits = isinstance(value, str) and as_date(value) is not MISSING
    else:
        fits = isinstance(value, str)
    if not fits:
        return f"{value!r} is not a {kind}" + (" (write YYYY-MM-DD)" if kind == "date" else "")
    if kind == "number":
        if spec.get("integer") and value != int(value):
            return f"{value!r} is not a whole number"
        if "minimum" in spec and value < spec["minimum"]:
            return f"{value!r} is below the smallest allowed value, {spec['minimum']:g}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"{value!r} is above the largest allowed value, {spec['maximum']:g}"
    return None


def _extended(overlay: Path, extends: str, chain: tuple[Path, ...]) -> Path:
    """The ruleset an overlay extends: a built-in ruleset id, or a path (a file or a folder) relative to the overlay."""
    relative = overlay.parent / extends
    builtin = {ruleset_name(p): p for p in builtin_rulesets()}
    target = relative if relative.suffix in (".yaml", ".yml") or relative.is_dir() else builtin.get(extends)
    if target is None:
        raise InputError(str(overlay), f"extends {extends!r}, which is neither a built-in ruleset ({', '.join(builtin)}) nor a YAML file or ruleset folder", "/extends")
    if target.resolve() in chain + (overlay.resolve(),):
        raise InputError(str(overlay), f"extends {extends!r}, which extends this overlay again", "/extends")
    return target


def _lint(ruleset: Ruleset) -> None:
    seen: dict[str, str] = {}
    problems = []
    for name, spec in ruleset.data.get("parameters", {}).items():
        problem = parameter_problem(spec, spec.get("value"))
        if problem:
            problems.append((f"/parameters/{name}/value", problem))
    for section in ("rules", "manual_checks", "batch_rules"):
        for index, item in enumerate(ruleset.data.get(section, [])):
            where = f"/{section}/{index}/id"
            if item["id"] in seen:
                problems.append((where, f"duplicate rule id {item['id']!r} (first at {ruleset.where(seen[item['id']])})"))
            seen.setdefault(item["id"], where)
    index_ids: dict[str, int] = {}
    for position, entry in enumerate(ruleset.data.get("index", [])):
        if entry["id"] in index_ids:
            problems.append((f"/index/{position}/id", f"duplicate index id {entry['id']!r}"))
        index_ids.setdefault(entry["id"], position)
    if index_ids:
        for section in ("rules", "manual_checks"):
            for position, item in enumerate(ruleset.data.get(section, [])):
                for number, citation in enumerate(item["clauses"]):
                    for unknown in [c for c in citation.get("covers", []) if c not in index_ids]:
                        problems.append((f"/{section}/{position}/clauses/{number}/covers", f"{item['id']} covers {unknown!r}, which is not in the ruleset's index"))
    for section in ("rules", "batch_rules"):
        for index, rule in enumerate(ruleset.data.get(section, [])):
            expectations = {case["expect"] for case in rule["tests"]}
            if "pass" not in expectations or "fail" not in expectations:
                problems.append((f"/{section}/{index}/tests", f"rule {rule['id']} needs at least one 'pass' and one 'fail' test case"))
    if ruleset.data.get("batch_rules") and "series" not in ruleset.data:
        problems.append(("/batch_rules", "batch rules read the records the ruleset's series: section declares, and it has none"))
        if any("patch" in case for case in rule["tests"]) and "test_base" not in ruleset.data:
            problems.append((f"/rules/{index}/tests", "test cases patch test_base, but the ruleset has no test_base"))
    if problems:
        raise InputError(ruleset.path, problems)


def resolve_rulesets(selectors: list[str], store: SchemaStore) -> list[Ruleset]:
    """Each selector is a path to a YAML file or a ruleset folder, a built-in ruleset id (every installed version of it) or
    ID@VERSION (that version only); none means every built-in ruleset."""
    builtins = [load_ruleset(path, store, compile_now=False) for path in builtin_rulesets()]
    if not selectors:
        return builtins
    chosen = []
    for selector in selectors:
        path = Path(selector)
        if path.suffix in (".yaml", ".yml") or path.exists():
            chosen.append(load_ruleset(path, store))
            continue
        ruleset_id, _, version = selector.partition("@")
        matches = [r for r in builtins if r.id == ruleset_id and version in ("", r.data["version"])]
        if not matches:
            known = ", ".join(f"{r.id}@{r.data['version']}" for r in builtins) or "none"
            raise InputError(selector, f"no such ruleset file or built-in ruleset (built-in: {known})")
        chosen += matches
    return chosen


def profile_view(ruleset: Ruleset, profile: str) -> Ruleset:
    """The ruleset narrowed to the rules of one profile (e.g. intake), without manual checks."""
    data = {**ruleset.data, "rules": [rule for rule in ruleset.rules if profile in rule.get("profiles", [])], "manual_checks": []}
    return Ruleset(ruleset.path, ruleset.sha256, data, None, ruleset.overlays)


def select_versions(rulesets: list[Ruleset], package: Any, kind: str, version: str, store: SchemaStore) -> list[tuple[Ruleset, str]]:
    """One version per ruleset id: the latest in effect on the package's date (each version's `selects_by`),
    with a sentence saying which was used and why. A single installed version is used as it is."""
    groups: dict[str, list[Ruleset]] = {}
    for ruleset in rulesets:
        groups.setdefault(ruleset.id, []).append(ruleset)
    chosen = []
    for ruleset_id, versions in groups.items():
        if len(versions) == 1:
            chosen.append((versions[0], ""))
            continue
        dated = [(r, _package_date(r, package, kind, version, store)) for r in versions]
        in_effect = [(r, day) for r, day in dated if day is not None and as_date(r.data["effective"]["from"]) <= day]
        installed = ", ".join(f"{r.data['version']} from {r.data['effective']['from']}" for r in versions)
        if any(day is None for _, day in dated):
            newest = max(versions, key=lambda r: r.data["effective"]["from"])
            chosen.append((newest, f"{ruleset_id} {newest.data['version']}: the package has no {newest.data['effective']['selects_by']}, so the newest installed version (installed: {installed})"))
        elif not in_effect:
            raise InputError(ruleset_id, f"no installed version is in effect on the package's date {dated[0][1]} (installed: {installed}); choose one with --ruleset {ruleset_id}@VERSION")
        else:
            picked, day = max(in_effect, key=lambda pair: pair[0].data["effective"]["from"])
            chosen.append((picked, f"{ruleset_id} {picked.data['version']}: {picked.data['effective']['selects_by']} is {day}, in effect from {picked.data['effective']['from']} (installed: {installed})"))
    return chosen


def _package_date(ruleset: Ruleset, package: Any, kind: str, version: str, store: SchemaStore) -> Any:
    if (kind, version) not in ruleset.package_date:  # compiled at load, or here in a worker process
        _check_selects_by(ruleset, store, kind, version)
    read = ruleset.package_date.get((kind, version))
    if read is None:
        return None
    day = as_date(read(Env(package, {})))
    return None if day is MISSING else day

"""Rule test cases: each case patches the ruleset's test_base (JSON merge patch), is schema-validated,
and must give the expected status and, for a failure, point where the case says."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.rules.rulesets import Ruleset, compile_ruleset
from vericarbon.rules.types import package_types
from vericarbon.run.evaluate import evaluate_rule
from vericarbon.run.series import evaluate_batch


@dataclass
class CaseResult:
    rule_id: str
    case: str
    expected: str
    actual: str
    ok: bool
    detail: str
    explain: list[dict]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def set_pointers(package: Any, assignments: dict[str, Any]) -> Any:
    """Apply {"/json/pointer": value} assignments; null deletes, the index one past a list's end appends.
    Reaches into lists, which a merge patch can only replace whole. A pointer whose parent does not exist is a ruleset error."""
    for pointer, value in assignments.items():
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
        target = package
        try:
            for part in parents:
                target = target[int(part)] if isinstance(target, list) else target[part]
            if isinstance(target, list):
                if value is None:
                    del target[int(last)]
                elif int(last) == len(target):
                    target.append(value)  # one past the end appends, like JSON Patch's "-"
                else:
                    target[int(last)] = value
            elif value is None:
                target.pop(last, None)
            else:
                target[last] = value
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"test case sets {pointer}, which does not exist in the test package") from None
    return package


def run_rule_tests(ruleset: Ruleset, store: SchemaStore) -> list[CaseResult]:
    base = ruleset.data.get("test_base", {})
    kind, version = base.get("kind"), base.get("schema_version")
    if (kind, version) not in store.kinds:
        raise InputError(ruleset.path, f"test_base must be a package of a known kind and schema_version (known: {store.known_kinds()})", "/test_base")
    # A rule's cases are its contract with the parameter values its own ruleset ships; an overlay's values
    # change what a run decides, not what the rule means, so cases run with the base values.
    defaults = ruleset.base_params()
    compiled = compile_ruleset(ruleset, kind, version, store, defaults if ruleset.overlays else None)  # None: the load-time compilation
    problems = _problems(copy.deepcopy(base), store)
    if problems:  # one clear error instead of every case failing the same way
        raise InputError(ruleset.path, [("/test_base" + pointer, message) for pointer, message in problems])
    results = []
    for index, spec in enumerate(ruleset.rules):
        for case in spec["tests"]:
            chosen = compile_ruleset(ruleset, kind, version, store, {**defaults, **case["params"]}) if "params" in case else compiled
            rule = chosen.rules[index]
            try:
                package = set_pointers(merge_patch(base, case.get("patch", {})), case.get("set", {}))
            except ValueError as error:
                results.append(CaseResult(rule.id, case["name"], case["expect"], "invalid", False, str(error), []))
                continue
            problems = _problems(package, store)
            if problems:
                detail = "; ".join(f"{p}: {m}" for p, m in problems[:3])
                results.append(CaseResult(rule.id, case["name"], case["expect"], "invalid", False, f"the patched package fails its schema: {detail}", []))
                continue
            types = package_types(chosen.types, package, chosen.params)
            outcome = evaluate_rule(rule, package, chosen.params, chosen.relation_engine.run(package).get(rule.id), explain=True, types=types)
            ok = outcome["status"] == case["expect"]
            detail = ""
            if ok and "pointer" in case:
                pointers = {o["pointer"] for o in outcome["occurrences"] if o["status"] == outcome["status"]}
                pointers |= {v["pointer"] for o in outcome["occurrences"] for v in o["values"]}
                pointers |= {p for o in outcome["occurrences"] for p in o.get("related", [])}
                ok = case["pointer"] in pointers
                if not ok:
                    detail = f"expected a finding at {case['pointer']}, got {', '.join(sorted(pointers)) or 'none'}"
            trace = [entry for o in outcome["occurrences"] for entry in o.get("explain", [])]
            results.append(CaseResult(rule.id, case["name"], case["expect"], outcome["status"], ok, detail, trace))
    return results + _batch_cases(ruleset, defaults)


def _batch_cases(ruleset: Ruleset, defaults: dict) -> list[CaseResult]:
    """A batch rule's cases give the records directly (what the series store would hold) and may name the
    packages the failure must involve."""
    results = []
    for rule in ruleset.batch_rules:
        for case in rule.spec["tests"]:
            status, findings = evaluate_batch(rule, [dict(record) for record in case["series"]], {**defaults, **case.get("params", {})})
            ok, detail = status == case["expect"], ""
            if ok and "involved" in case:
                involved = {package["package_id"] for finding in findings for package in finding["packages"]}
                ok = involved == set(case["involved"])
                detail = "" if ok else f"expected the packages {', '.join(sorted(case['involved']))} involved, got {', '.join(sorted(involved)) or 'none'}"
            results.append(CaseResult(rule.id, case["name"], case["expect"], status, ok, detail, [{"depth": 0, "expr": f["message"], "value": f["package_id"]} for f in findings]))
    return results


def _problems(package: dict, store: SchemaStore) -> list[tuple[str, str]]:
    """Why a test package could not be checked, read as any package is (which also fills what reading
    derives, such as a credit record's serial range); [] when it can."""
    try:
        validated_package("test package", package, "", store)
    except InputError as error:
        return error.problems
    return []


def coverage(ruleset: Ruleset) -> dict[str, set[str]]:
    """Per rule id, the expectations its cases cover."""
    return {rule["id"]: {case["expect"] for case in rule["tests"]} for rule in ruleset.rules + ruleset.data.get("batch_rules", [])}

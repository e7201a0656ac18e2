"""Rule test cases: each case patches the ruleset's test_base (JSON merge patch), is schema-validated,
and must give the expected status and, for a failure, point where the case says."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from engine.evaluate import evaluate_rule
from engine.evidence import SchemaStore, schema_errors
from engine.rulesets import Ruleset, compile_ruleset


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


def run_rule_tests(ruleset: Ruleset, store: SchemaStore) -> list[CaseResult]:
    base = ruleset.data.get("test_base", {})
    kind, version = base.get("kind"), base.get("schema_version")
    compiled = compile_ruleset(ruleset, kind, version, store)
    validator = store.explaining_validator(store.schema_for(kind, version))
    results = []
    for index, spec in enumerate(ruleset.rules):
        for case in spec["tests"]:
            chosen = compile_ruleset(ruleset, kind, version, store, {**ruleset.params(), **case["params"]}) if "params" in case else compiled
            rule = chosen.rules[index]
            package = merge_patch(base, case.get("patch", {}))
            problems = schema_errors(validator, package)
            if problems:
                detail = "; ".join(f"{p}: {m}" for p, m in problems[:3])
                results.append(CaseResult(rule.id, case["name"], case["expect"], "invalid", False, f"the patched package fails its schema: {detail}", []))
                continue
            failures = chosen.relation_engine.run(package).get(rule.id)
            outcome = evaluate_rule(rule, package, chosen.params, failures, explain=True)
            ok = outcome["status"] == case["expect"]
            detail = ""
            if ok and "pointer" in case:
                pointers = {o["pointer"] for o in outcome["occurrences"] if o["status"] == outcome["status"]}
                pointers |= {v["pointer"] for o in outcome["occurrences"] for v in o["values"]}
                ok = case["pointer"] in pointers
                if not ok:
                    detail = f"expected a finding at {case['pointer']}, got {', '.join(sorted(pointers)) or 'none'}"
            trace = [entry for o in outcome["occurrences"] for entry in o.get("explain", [])]
            results.append(CaseResult(rule.id, case["name"], case["expect"], outcome["status"], ok, detail, trace))
    return results


def coverage(ruleset: Ruleset) -> dict[str, set[str]]:
    """Per rule id, the expectations its cases cover."""
    return {rule["id"]: {case["expect"] for case in rule["tests"]} for rule in ruleset.rules}

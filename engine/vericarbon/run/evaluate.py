"""Evaluate compiled rulesets over a validated package and produce the canonical result (plain data)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Collection, Iterable

from vericarbon.version import __version__
from vericarbon.evidence.documents import field_at
from vericarbon.evidence.package import Package
from vericarbon.evidence.shapes import Shape
from vericarbon.lang import MISSING, Env, Months
from vericarbon.relational import relations
from vericarbon.rules.reports import evaluate_report
from vericarbon.rules.rulesets import CompiledRule, CompiledRuleset
from vericarbon.rules.templates import render_message

STATUSES = ("fail", "not_evaluated", "manual", "waived", "pass", "not_applicable")
_SEVERITY = {"shall": "nonconformity", "should": "observation"}
_NONE_SETTLED: frozenset[int] = frozenset()


def evaluate(package: Package, compiled: list[CompiledRuleset], explain: set[str] | None = None, explain_all: bool = False) -> dict:
    """The result document (schemas/result.schema.json). `explain` names rules whose trace is attached."""
    explain = explain or set()
    rulesets = []
    for ruleset in compiled:
        answers = ruleset.relation_engine.run(package.data)
        results = [evaluate_rule(rule, package.data, ruleset.params, answers.get(rule.id), rule.id in explain, explain_all) for rule in ruleset.rules]
        results += [_manual(check) for check in ruleset.ruleset.manual_checks]
        source = ruleset.ruleset
        rulesets.append(
            {
                "id": source.id,
                "title": source.data["title"],
                "version": source.data["version"],
                "document": {key: value for key, value in source.data["document"].items() if key != "about"},  # `about` is for the reference page
                "file": source.path,
                "sha256": source.sha256,
                "parameters": ruleset.params,
                "overlays": source.overlays,
                "results": results,
                **({"report": evaluate_report(ruleset.report, package.data, ruleset.params)} if ruleset.report else {}),
                **({"requirements": source.data["index"]} if "index" in source.data else {}),
            }
        )
    result = summarize({
        "vericarbon": __version__,
        "evidence": {"file": package.path, "sha256": package.sha256, "kind": package.kind, "schema_version": package.schema_version, "id": package.data.get("id")},
        "rulesets": rulesets,
    })
    shape = next((ruleset.shape for ruleset in compiled if ruleset.shape is not None), None)
    for entry in result["summary"]["missing_inputs"]:
        entry["description"] = describe(shape, entry["pointer"]) if shape is not None else ""
    return result


def describe(shape: Shape, pointer: str) -> str:
    """What the schema says a field is (list positions skipped), or "" where it says nothing."""
    for part in pointer.strip("/").split("/"):
        if shape is None:
            return ""
        if part.isdigit():
            shape = shape.items()
        else:
            shape = shape.field(part.replace("~1", "/").replace("~0", "~"))
    return shape.description() if shape is not None else ""


def intake_decision(result: dict) -> dict:
    """Accept, or return to the proponent with the list of what to fix: every failing requirement (shall) and
    every check that could not run for missing data; failing recommendations (should) are listed as notes."""
    to_fix, notes = [], []
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            if item["status"] not in ("fail", "not_evaluated"):
                continue
            occurrences = [o for o in item["occurrences"] if o["status"] == item["status"]]
            entry = {
                "rule": item["id"],
                "title": item["title"],
                "clauses": item["clauses"],
                "status": item["status"],
                "where": [{"pointer": o["pointer"], "what": o.get("message") or o.get("reason", "")} for o in occurrences],
                "fix": item["remediation"] if item["status"] == "fail" else "Supply the missing information: " + item.get("reason", ""),
            }
            (to_fix if _to_fix(item) else notes).append(entry)
    result["decision"] = {"outcome": _outcome(to_fix), "to_fix": to_fix, "notes": notes}
    return result


def _to_fix(item: dict) -> bool:
    """Whether a result stops intake: a failing requirement, or a check that could not run."""
    return item["status"] == "not_evaluated" or (item["status"] == "fail" and item["severity"] != "observation")


def _outcome(to_fix: list) -> str:
    return "return_to_proponent" if to_fix else "accept"


def summarize(result: dict) -> dict:
    """Set the verdict and tallies from the statuses of every result (again after answers are merged)."""
    summary, by_finding_type, observations = _tally(item for ruleset in result["rulesets"] for item in ruleset["results"])
    result["verdict"] = _verdict(summary, observations)
    result["summary"] = {"by_status": summary, "failures_by_finding_type": dict(sorted(by_finding_type.items())), "statement": _statement(summary, observations),
                         "missing_inputs": _missing_inputs(result)}
    return result


def screening_line(results: list[dict], decide: bool) -> dict:
    """What a screening line says of a package, from its results (evaluate()'s, or the outcomes() that
    stand for them): the verdict, the count per status, the failing rules and observations, and with
    `decide` (an intake profile) the intake outcome."""
    by_status, _, observations = _tally(results)
    failed = [item for item in results if item["status"] == "fail"]
    line = {
        "verdict": _verdict(by_status, observations),
        "counts": by_status,
        "failing": [item["id"] for item in failed if item["severity"] != "observation"],
        "observations": [item["id"] for item in failed if item["severity"] == "observation"],
    }
    if decide:
        line["decision"] = _outcome([item for item in results if _to_fix(item)])
    return line


def _tally(results: Iterable[dict]) -> tuple[dict[str, int], dict[str, int], int]:
    """Results per status, failures per finding type, and the failing "should" rules (findings, but not
    nonconformities)."""
    by_status = {status: 0 for status in STATUSES}
    by_finding_type: dict[str, int] = {}
    observations = 0
    for item in results:
        by_status[item["status"]] += 1
        if item["status"] == "fail":
            by_finding_type[item["finding_type"]] = by_finding_type.get(item["finding_type"], 0) + 1
            observations += item["severity"] == "observation"
    return by_status, by_finding_type, observations


def _verdict(by_status: dict[str, int], observations: int) -> str:
    return "nonconformities" if by_status["fail"] - observations else ("incomplete" if by_status["not_evaluated"] else "no_nonconformity")


def _missing_inputs(result: dict) -> list[dict]:
    """Every field a rule could not be evaluated without, or fails for leaving out, once, with the rules
    waiting on it: what to fill in, all at once (unset programme parameters are not inputs of the package
    and are left out)."""
    waiting: dict[str, list[str]] = {}
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            if item["status"] not in ("not_evaluated", "fail"):
                continue
            for occurrence in item.get("occurrences", []):
                for pointer in occurrence.get("missing", []):
                    rules = waiting.setdefault(pointer, [])
                    if item["id"] not in rules:
                        rules.append(item["id"])
    described = {entry["pointer"]: entry.get("description", "") for entry in result.get("summary", {}).get("missing_inputs", [])}  # kept when answers re-summarize
    return [{"pointer": pointer, "section": "/" + pointer.strip("/").split("/")[0], "rules": rules, **({"description": described[pointer]} if pointer in described else {})}
            for pointer, rules in sorted(waiting.items())]


def _statement(by_status: dict[str, int], observations: int) -> str:
    """The verdict in words, saying what is still open: a rule-based "no nonconformity" is not a clean
    bill while checks await the auditor."""
    nonconformities = by_status["fail"] - observations
    found = f"{_count(nonconformities, 'nonconformity', 'nonconformities')} found by the rules" if nonconformities else "no nonconformity found by the rules"
    open_items = [_count(observations, "observation")] if observations else []
    if by_status["not_evaluated"]:
        open_items.append(f"{_count(by_status['not_evaluated'], 'check')} could not be evaluated")
    if by_status["manual"]:
        open_items.append(f"{_count(by_status['manual'], 'check')} await{'s' if by_status['manual'] == 1 else ''} auditor judgement")
    return found + ("; " + "; ".join(open_items) if open_items else "; nothing left open")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _common(spec: dict) -> dict:
    return {
        "id": spec["id"],
        "title": spec["title"],
        "clauses": spec["clauses"],
        "requirement": spec["requirement"],
        "severity": _SEVERITY[spec["verb"]],
    }


def _manual(spec: dict) -> dict:
    return {**_common(spec), "kind": "manual_check", "status": "manual", "look_at": spec["look_at"], "evidence": spec.get("evidence", [])}


def evaluate_rule(rule: CompiledRule, package: Any, params: dict, answer: relations.Answer | None, explain: bool = False, explain_all: bool = False) -> dict:
    """One rule's result: a status and, for every item that did not pass, an occurrence with its values."""
    spec = rule.spec
    result = {**_common(spec), "kind": "rule", "finding_type": spec["finding_type"], "check": spec["check"], "engine": rule.engine_note, "remediation": spec["remediation"], "reads": rule.reads}
    if spec.get("when"):
        result["when"] = spec["when"]
    ran = _run(rule, package, params, answer)
    if ran is None:
        result.update(status="not_applicable", reason=f"no items at {rule.base}", occurrences=[])
        return result
    items, statuses = ran
    base = rule.base
    occurrences: list[dict] = []
    counts: dict[str, int] = {}
    for index, status in enumerate(statuses):
        counts[status] = counts.get(status, 0) + 1
        if status == "fail" or status == "not_evaluated" or (explain and status == "pass"):
            occurrences.append(_occurrence(rule, package, params, items[index], f"{base}/{index}" if rule.for_each is not None else "", status, explain, explain_all))
    result["status"] = _overall(counts)
    if result["status"] == "not_evaluated":
        result["reason"] = "; ".join(sorted({o["reason"] for o in occurrences if o["status"] == "not_evaluated"}))
    result["occurrences"] = occurrences
    if rule.for_each is not None:
        result["items"] = dict(sorted(counts.items()))
    return result


def outcomes(package: Package, compiled: list[CompiledRuleset]) -> list[dict]:
    """Each rule's and manual check's status, without occurrences, values or report facts: what a
    screening line is made of (screening_line), at a fraction of evaluate()'s cost. The statuses are the
    ones evaluate() gives."""
    found = []
    for ruleset in compiled:
        answers = ruleset.relation_engine.run(package.data)
        for rule in ruleset.rules:
            ran = _run(rule, package.data, ruleset.params, answers.get(rule.id))
            status = "not_applicable" if ran is None else _overall(ran[1])
            found.append({"id": rule.id, "status": status, "severity": _SEVERITY[rule.spec["verb"]], "finding_type": rule.spec["finding_type"]})
        found += [{"id": check["id"], "status": "manual", "severity": _SEVERITY[check["verb"]]} for check in ruleset.ruleset.manual_checks]
    return found


def _run(rule: CompiledRule, package: Any, params: dict, answer: relations.Answer | None) -> tuple[list[Any], list[str]] | None:
    """The items the rule runs over and each one's status (durable-rules' `answer` where it stands);
    None when its collection holds no item."""
    if rule.for_each is None:
        items = [None]
    else:
        items = field_at(package, rule.for_each)
        if not isinstance(items, list) or not items:
            return None
    env = Env(package, params)
    env.memo = {}
    fails, settled = (answer.failing, answer.settled) if answer is not None else (None, _NONE_SETTLED)
    return items, rule.run(env, items, rule.base, fails, settled, rule.absent)


def _overall(statuses: Collection[str]) -> str:
    """A rule's status from its items': any failure fails it, else any item not evaluated, else any pass."""
    for status in ("fail", "not_evaluated", "pass"):
        if status in statuses:
            return status
    return "not_applicable"


def _occurrence(rule: CompiledRule, package: Any, params: dict, item: Any, pointer: str, status: str, explain: bool, explain_all: bool) -> dict:
    """Re-run the rule traced for one item: its message, the values that decided it, and the trace."""
    traced = Env(package, params, item, pointer)
    traced.trace = []
    value = rule.explain_when.fn(traced) if rule.explain_when is not None else True
    if value is True:
        value = rule.explain_check.fn(traced)
    occurrence: dict[str, Any] = {"status": status, "pointer": pointer or _deciding_pointer(traced.trace, status)}
    left_out = [absent for absent in dict.fromkeys(traced.absent) if absent.startswith("/")]  # fields the package does not record
    if status == "fail":
        occurrence["message"] = render_message(rule.message, Env(package, params, item, pointer))
        if left_out:  # a required field the package leaves out (absent: fail)
            occurrence["message"] += f" (not recorded: {', '.join(left_out)})"
            occurrence["missing"] = left_out
    if status == "not_evaluated":
        occurrence["reason"] = "cannot evaluate: " + ", ".join(dict.fromkeys(traced.absent)) if traced.absent else "cannot evaluate"
        occurrence["missing"] = left_out  # the fields it waits on
    first_reads = {e["pointer"]: e for e in reversed(traced.trace) if "pointer" in e}  # each field once ...
    occurrence["values"] = [{"expr": e["expr"], "pointer": e["pointer"], "value": _plain(e["value"])} for e in traced.trace if first_reads.get(e.get("pointer")) is e]  # ... in reading order
    deciding = [p for e in traced.trace for p in e.get("elements", [])]
    if deciding:
        occurrence["related"] = deciding
    if explain:
        occurrence["explain"] = [_explain_entry(e) for e in traced.trace if explain_all or e.get("value") is not True]
    return occurrence


def _explain_entry(entry: dict) -> dict:
    out = {"depth": entry["depth"], "expr": entry["expr"], "value": _plain(entry.get("value"))}
    for key in ("pointer", "elements"):
        if key in entry:
            out[key] = entry[key]
    return out


def _deciding_pointer(trace: list[dict], status: str) -> str:
    """Where a whole-package rule points: follow the sub-conditions that decided it (false for a failure,
    missing for not evaluated) from the top down to the innermost one, and take the first scalar it read;
    else the first scalar read at all, else the first list or object (an empty list, a present object)."""
    decided: Any = False if status == "fail" else MISSING
    index = max((i for i, e in enumerate(trace) if e["depth"] == 0), default=0)  # the check's root, after the when's
    while trace and trace[index].get("value") is decided:
        below = _subtree(trace, index)
        depth = trace[index]["depth"] + 1
        deeper = [i for i, e in enumerate(below, index + 1) if e["depth"] == depth and e.get("value") is decided and "pointer" not in e and _subtree(trace, i)]
        if not deeper:
            return _read_pointer(below) or _read_pointer(trace)
        index = deeper[0]
    return _read_pointer(trace)


def _subtree(trace: list[dict], index: int) -> list[dict]:
    depth, below = trace[index]["depth"], []
    for entry in trace[index + 1 :]:
        if entry["depth"] <= depth:
            break
        below.append(entry)
    return below


def _read_pointer(entries: list[dict]) -> str:
    read = [e for e in entries if e.get("pointer")]
    scalars = (e["pointer"] for e in read if not isinstance(e.get("value"), (list, dict)))
    return next(scalars, read[0]["pointer"] if read else "")


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, missing as null, long lists summarised."""
    if value is MISSING:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return "{object}"
    if isinstance(value, Months):
        return f"{value.count} months"
    if isinstance(value, dt.timedelta):
        return f"{value.days} days"
    return value

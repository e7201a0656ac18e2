"""Batch rules at run time: the record a package contributes to the series store, and the findings of a
batch rule over a set of records (vericarbon.rules.batch says how both are declared)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vericarbon.lang import MISSING, Env
from vericarbon.rules.batch import CompiledBatchRule, CompiledSeries
from vericarbon.rules.templates import render_message

STATUSES = ("fail", "not_evaluated", "pass", "not_applicable")


def series_record(series: CompiledSeries, package_id: str, data: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What one package contributes: its id, entity, period and values (None where the package has none)."""
    env = Env(data, params)
    record: dict[str, Any] = {"package_id": package_id}
    for name, compiled in (("entity", series.entity), ("period", series.period), *series.values.items()):
        condition = series.conditions.get(name)
        if condition is not None and condition.fn(env) is not True:
            record[name] = None
            continue
        value = render_message(compiled, env) if isinstance(compiled, list) else compiled.fn(env)
        record[name] = None if value is MISSING else value
    return record


def evaluate_batch(rule: CompiledBatchRule, records: list[dict], params: dict[str, Any]) -> tuple[str, list[dict]]:
    """The rule's status over all records (as for per-item rules: any failure fails it) and a finding per
    failing record, naming every package its verdict rests on."""
    statuses: set[str] = set()
    findings: list[dict] = []
    for key, members in group_records(rule.spec["group_by"], records):
        statuses |= evaluate_group(rule, key, link(members), params, findings)
    return next((status for status in STATUSES if status in statuses), "not_applicable"), findings


def evaluate_group(rule: CompiledBatchRule, key: Any, linked: list[dict], params: dict[str, Any], findings: list[dict]) -> set[str]:
    """One group's statuses under the rule; its findings are added to `findings`."""
    statuses: set[str] = set()
    package = {"group": {"key": key, "members": linked}}
    for index, record in enumerate(linked):
        env = Env(package, params, record, f"/group/members/{index}")
        if rule.when is not None:
            applies = rule.when.fn(env)
            if applies is MISSING:
                statuses.add("not_evaluated")
                continue
            if not applies:
                continue
        verdict = rule.check.fn(env)
        if verdict is MISSING:
            statuses.add("not_evaluated")
        elif verdict:
            statuses.add("pass")
        else:
            statuses.add("fail")
            findings.append(_finding(rule, record, linked, env))
    return statuses


def link(members: list[dict]) -> list[dict]:
    """A group's records in period order, each with its neighbours as prev and next."""
    members = sorted(members, key=lambda record: (record.get("period") is None, record.get("period") or 0, record["package_id"]))
    return [{**record, "prev": members[i - 1] if i else None, "next": members[i + 1] if i + 1 < len(members) else None} for i, record in enumerate(members)]


def group_field(group_by: str) -> str | None:
    """The record field a rule groups by; None for one group of every record."""
    return None if group_by == "all" else group_by


def group_records(group_by: str, records: list[dict]) -> list[tuple[Any, list[dict]]]:
    field = group_field(group_by)
    if field is None:
        return [("all", list(records))]
    grouped: dict[Any, list[dict]] = defaultdict(list)
    for record in records:
        if record.get(field) is not None:
            grouped[record[field]].append(record)
    return list(grouped.items())


def _finding(rule: CompiledBatchRule, record: dict, members: list[dict], env: Env) -> dict:
    if "group" in rule.reads:
        involved = members
    else:
        involved = [record] + [record[side] for side in ("prev", "next") if side in rule.reads and record[side] is not None]
    return {
        "rule": rule.id, "title": rule.spec["title"], "finding_type": rule.spec["finding_type"],
        "severity": "observation" if rule.spec["verb"] == "should" else "nonconformity", "clauses": rule.spec["clauses"],
        "message": render_message(rule.message, Env(env.package, env.params, env.item, env.item_pointer)),
        "package_id": record["package_id"], "packages": [_plain(member) for member in involved],
    }


def _plain(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in ("prev", "next")}

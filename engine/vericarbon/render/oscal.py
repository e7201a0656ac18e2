"""NIST OSCAL Assessment Results (1.0.6), for GRC platforms: each requirement the rulesets index becomes a
reviewed control; each rule's verdict a finding (`satisfied` or `not-satisfied`) on the requirements it
covers; each occurrence that did not pass an observation with its evidence pointer and values.

OSCAL ids must be tokens, so a requirement id such as 14064-3/5.1.7-a becomes `req-14064-3_5.1.7-a` (the
original kept as a property). UUIDs are derived from the content (version 5), so the same input gives the
same document; only the generation time differs between runs."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from vericarbon.render.findings import clause_text, occurrences, rules

_NAMESPACE = uuid.UUID("5f0d3c1e-6a55-4c5b-9a0e-7d8a1a2f9c41")  # vericarbon's own namespace for OSCAL uuids
_STATE = {"pass": "satisfied", "fail": "not-satisfied"}


def render(result: dict, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    evidence = result["evidence"]
    seed = evidence["sha256"] + "".join(ruleset["sha256"] for ruleset in result["rulesets"])
    observations, findings, controls = [], [], {}
    by_rule: dict[tuple[str, str], list[str]] = {}
    for found in occurrences(result):
        observation_uuid = _uuid(seed, "observation", found.ruleset["id"], found.rule["id"], found.pointer, found.status)
        by_rule.setdefault((found.ruleset["id"], found.rule["id"]), []).append(observation_uuid)
        observations.append({
            "uuid": observation_uuid,
            "title": f"{found.rule['id']} at {found.pointer}",
            "description": found.message or found.rule["title"],
            "methods": ["TEST"],
            "types": ["finding" if found.status == "fail" else "discovery"],
            "relevant-evidence": [{"href": f"{evidence['file']}#{found.pointer}", "description": _values(found.values) or found.pointer}],
            "props": [{"name": "status", "ns": "https://vericarbon.org/ns/oscal", "value": found.status.replace("_", "-")}],
            "collected": stamp,
        })
    for ruleset, item in rules(result):
        covered = [requirement for clause in item["clauses"] for requirement in clause.get("covers", [])]
        for requirement in covered:
            controls.setdefault(_token(requirement), requirement)
        if item["status"] not in _STATE:
            continue  # not applicable, not evaluated or waived: no verdict to report as a finding
        finding = {
            "uuid": _uuid(seed, "finding", ruleset["id"], item["id"]),
            "title": f"{item['id']}: {item['title']}",
            "description": f"{item['requirement']} ({clause_text(item)})",
            "target": {
                "type": "objective-id",
                "target-id": _token(covered[0]) if covered else _token(item["id"]),
                "status": {"state": _STATE[item["status"]]},
            },
            "props": [{"name": "rule", "ns": "https://vericarbon.org/ns/oscal", "value": item["id"]}],
        }
        related = by_rule.get((ruleset["id"], item["id"]))
        if related:
            finding["related-observations"] = [{"observation-uuid": value} for value in related]
        findings.append(finding)
    selection: dict = {"include-controls": [{"control-id": token} for token in sorted(controls)]} if controls else {"include-all": {}}
    document = {
        "assessment-results": {
            "uuid": _uuid(seed, "assessment-results"),
            "metadata": {
                "title": f"vericarbon assessment of {evidence.get('id') or evidence['file']}",
                "last-modified": stamp,
                "version": result["vericarbon"],
                "oscal-version": "1.0.6",
                "props": [{"name": "evidence-sha256", "ns": "https://vericarbon.org/ns/oscal", "value": evidence["sha256"]}],
            },
            "import-ap": {"href": "#vericarbon-rulesets", "remarks": "The assessment plan is the rulesets listed in the result: " + ", ".join(f"{r['id']} {r['version']} ({r['sha256']})" for r in result["rulesets"])},
            "results": [{
                "uuid": _uuid(seed, "result"),
                "title": f"Verdict: {result['verdict'].replace('_', ' ')}",
                "description": result["summary"]["statement"],
                "start": stamp,
                "reviewed-controls": {"control-selections": [selection]},
                **({"observations": observations} if observations else {}),
                **({"findings": findings} if findings else {}),
            }],
        }
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _token(identifier: str) -> str:
    return "req-" + re.sub(r"[^A-Za-z0-9._-]", "_", identifier)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _values(values: list) -> str:
    return "; ".join(f"{value['pointer']} = {json.dumps(value['value'], ensure_ascii=False)}" for value in values if "pointer" in value)

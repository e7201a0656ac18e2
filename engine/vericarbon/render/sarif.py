"""SARIF 2.1.0, for code-scanning dashboards: a SARIF rule per vericarbon rule (its clause and
remediation as help), a result per failing occurrence located in the evidence file by JSON pointer (a
logical location), waived ones as suppressed results, levels from the finding type."""

from __future__ import annotations

import json

from vericarbon.render.findings import LEVEL, clause_text, occurrences, rules

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def render(result: dict) -> str:
    descriptors, index = [], {}
    for _, item in rules(result):
        if item["id"] in index:
            continue
        index[item["id"]] = len(descriptors)
        descriptors.append({
            "id": item["id"],
            "name": item["title"],
            "shortDescription": {"text": item["title"]},
            "fullDescription": {"text": item["requirement"]},
            "help": {"text": f"{clause_text(item)}. {item['remediation']}"},
            "defaultConfiguration": {"level": LEVEL.get(item.get("finding_type", ""), "note")},
            "properties": {"clauses": item["clauses"], "finding_type": item.get("finding_type", "")},
        })
    evidence = result["evidence"]
    results = []
    for found in occurrences(result):
        if found.status in ("not_evaluated", "engine_error"):
            continue  # nothing found, nothing passed: the JSON result and the report say why (an engine error also below, as the tool's notification)
        entry = {
            "ruleId": found.rule["id"],
            "ruleIndex": index[found.rule["id"]],
            "level": LEVEL.get(found.rule.get("finding_type", ""), "note"),
            "message": {"text": found.message or found.rule["title"]},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": evidence["file"], "index": 0}},
                "logicalLocations": [{"fullyQualifiedName": found.pointer, "kind": "member"}],
            }],
            "properties": {"pointer": found.pointer, "values": found.values, "ruleset": found.ruleset["id"]},
        }
        if found.waiver:
            entry["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f"{found.waiver['justification']} (approved by {found.waiver['approved_by']}, until {found.waiver['expires']})"}]
        results.append(entry)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "vericarbon", "version": result["vericarbon"], "informationUri": "https://github.com/vericarbon/vericarbon", "rules": descriptors}},
            "artifacts": [{"location": {"uri": evidence["file"]}, "hashes": {"sha-256": evidence["sha256"]}}],
            "results": results,
            "invocations": [_invocation(result)],
            "properties": {"verdict": result["verdict"], "statement": result["summary"]["statement"]},
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _invocation(result: dict) -> dict:
    """The run, unsuccessful where a rule or report fact raised inside vericarbon: each as an error
    notification (SARIF's way to say a check did not run; its results are incomplete)."""
    errors = result["summary"].get("engine_errors", [])
    return {"executionSuccessful": not errors,
            "toolExecutionNotifications": [{"level": "error", "message": {"text": f"engine error in {e.get('rule') or e['fact']}: {e['reason']}"},
                                            **({"descriptor": {"id": e["rule"]}} if "rule" in e else {})} for e in errors]}

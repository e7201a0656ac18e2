"""One finding per cause (issue 28 item 3): the findings of a result that rest on the same evidence and the
same cause, grouped, so that one wrong figure is reported once with every requirement it breaks.

Two findings (occurrences that fail, are waived or could not be evaluated) of one ruleset have the same cause
when, and only when, either
- they point at the same place in the package (the same non-root pointer) and every value one of them read
  was read, with the same value, by the other: the same evidence decided both; or
- the ruleset declares one rule a consequence of the other (`same_cause_as: RULE-ID`) and both found
  something: the one finding is what the other implies.
Anything else stays its own cause. Each rule keeps its own status; causes only change what is counted."""

from __future__ import annotations

import json
from typing import Iterator

FINDING_STATUSES = ("fail", "waived", "not_evaluated")


def causes(result: dict) -> list[dict]:
    """The result's causes in reading order, each with its id, the pointers and values that decided it and
    the rules it breaks."""
    found = list(_findings(result))
    parent = list(range(len(found)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for a, first in enumerate(found):
        for b in range(a + 1, len(found)):
            if _same_cause(first, found[b]):
                parent[root(b)] = root(a)
    groups: dict[int, list[dict]] = {}
    for index, finding in enumerate(found):
        groups.setdefault(root(index), []).append(finding)
    listed = []
    for number, members in enumerate(groups.values(), 1):
        values = {(v["pointer"], json.dumps(v["value"], sort_keys=True)): v for m in members for v in m["values"]}
        listed.append({
            "id": f"C-{number:02d}",
            "pointers": list(dict.fromkeys(m["pointer"] for m in members)),
            "values": list(values.values()),
            "rules": list(dict.fromkeys(m["rule"] for m in members)),
            "findings": [{"ruleset": m["ruleset"], "rule": m["rule"], "pointer": m["pointer"], "status": m["status"]} for m in members],
        })
    return listed


def _findings(result: dict) -> Iterator[dict]:
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            for occurrence in item.get("occurrences", []):
                if occurrence["status"] in FINDING_STATUSES:
                    yield {"ruleset": ruleset["id"], "rule": item["id"], "consequence_of": item.get("same_cause_as"), "status": occurrence["status"],
                           "pointer": occurrence.get("pointer") or "/", "values": occurrence.get("values", [])}


def _same_cause(a: dict, b: dict) -> bool:
    if a["ruleset"] != b["ruleset"] or a["rule"] == b["rule"]:
        return False
    if a["consequence_of"] == b["rule"] or b["consequence_of"] == a["rule"]:
        return True
    if a["pointer"] != b["pointer"] or a["pointer"] == "/":
        return False
    read_a, read_b = _read(a), _read(b)
    return bool(read_a) and bool(read_b) and (read_a <= read_b or read_b <= read_a)


def _read(finding: dict) -> set[tuple[str, str]]:
    return {(v["pointer"], json.dumps(v["value"], sort_keys=True)) for v in finding["values"]}

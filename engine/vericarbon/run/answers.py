"""Merge an auditor's answers into a result: judgements give manual checks (or any rule) a status,
waivers set findings aside in their own tally. The result stays plain data; nothing here re-evaluates."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from vericarbon.errors import InputError
from vericarbon.evidence.documents import parse_document, read_text
from vericarbon.evidence.package import SchemaStore
from vericarbon.run.evaluate import summarize

_JUDGED_STATUS = {"conforms": "pass", "nonconformity": "fail", "not_applicable": "not_applicable"}


@dataclass
class Answers:
    path: str
    sha256: str
    data: dict


def load_answers(path: Path, store: SchemaStore) -> Answers:
    raw = read_text(path)
    data = parse_document(path, raw)
    problems = store.errors("urn:vericarbon:schema:answers", data)
    if problems:
        raise InputError(str(path), problems)
    return Answers(str(path), hashlib.sha256(raw).hexdigest(), data)


def merge_answers(result: dict, answers: Answers, as_of: dt.date, use_waivers: bool = True) -> dict:
    """The result with the answers applied. Unknown ids, or answers for another package, are an input error."""
    items = {item["id"]: item for ruleset in result["rulesets"] for item in ruleset["results"]}
    problems = []
    package_id = result["evidence"].get("id")
    if "answers_for" in answers.data and answers.data["answers_for"] != package_id:
        problems.append(("/answers_for", f"these answers are for {answers.data['answers_for']!r}, the package is {package_id!r}"))
    for section in ("judgements", "waivers", "responses"):
        for position, entry in enumerate(answers.data.get(section, [])):
            if entry["id"] not in items:
                problems.append((f"/{section}/{position}/id", f"no rule or manual check {entry['id']!r} in the evaluated rulesets"))
            elif section != "judgements" and items[entry["id"]]["kind"] != "rule":
                problems.append((f"/{section}/{position}/id", f"{entry['id']} is a manual check: judge it; {section} are about a rule's findings"))
    if problems:
        raise InputError(answers.path, problems)
    for entry in answers.data.get("judgements", []):
        item = items[entry["id"]]
        item["judgement"] = {"judgement": entry["judgement"], "by": entry["by"], "date": entry["date"], "justification": entry["justification"], "engine_status": item["status"]}
        item["status"] = _JUDGED_STATUS[entry["judgement"]]
    waivers = [_apply_waiver(items[entry["id"]], entry, as_of, use_waivers) for entry in answers.data.get("waivers", [])]
    for entry in answers.data.get("responses", []):
        for occurrence in items[entry["id"]].get("occurrences", []):
            if entry.get("pointer", occurrence["pointer"]) == occurrence["pointer"]:
                occurrence["response"] = {key: value for key, value in entry.items() if key not in ("id", "pointer")}
    result["answers"] = {
        "file": answers.path,
        "sha256": answers.sha256,
        "as_of": as_of.isoformat(),
        "waivers_used": use_waivers,
        "judgements": [{"id": e["id"], "judgement": e["judgement"], "by": e["by"]} for e in answers.data.get("judgements", [])],
        "waivers": waivers,
        **({"report": answers.data["report"]} if "report" in answers.data else {}),
    }
    return summarize(result)


def _apply_waiver(item: dict, entry: dict, as_of: dt.date, use_waivers: bool) -> dict:
    record = {"id": entry["id"], **({"pointer": entry["pointer"]} if "pointer" in entry else {}), "approved_by": entry["approved_by"], "expires": entry["expires"], "justification": entry["justification"]}
    if not use_waivers:
        return {**record, "status": "ignored"}
    if dt.date.fromisoformat(entry["expires"]) < as_of:
        return {**record, "status": "expired"}
    targets = [o for o in item.get("occurrences", []) if o["status"] == "fail" and entry.get("pointer", o["pointer"]) == o["pointer"]]
    if item["status"] != "fail" or not targets:
        return {**record, "status": "unused"}
    for occurrence in targets:
        occurrence["status"] = "waived"
        occurrence["waiver"] = {"justification": entry["justification"], "approved_by": entry["approved_by"], "approved_on": entry["approved_on"], "expires": entry["expires"]}
    if not any(o["status"] == "fail" for o in item["occurrences"]):
        item["status"] = "waived"
    return {**record, "status": "applied"}

"""The report as issued, as data for its template (`report.html.j2`, printed to PDF by `pdf.py`): cover
details, the engagement facts of the first ruleset that declares a `report:`, the findings register numbered
by type, the clause index, the evidence register and the sign-off. Everything comes from the result; only
the generation time is the clock's, so two renderings of one result differ in that line alone."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

DEFAULT_REGISTER = {"major_nonconformity": "NC-MAJ", "minor_nonconformity": "NC-MIN", "clarification_request": "CL", "observation": "OBS", "not_evaluated": "CL"}
TYPE_LABEL = {"major_nonconformity": "Major nonconformity", "minor_nonconformity": "Minor nonconformity", "clarification_request": "Clarification request",
              "observation": "Observation", "not_evaluated": "Could not be evaluated"}
_UNSET_PARAMETER = re.compile(r"\bparameter \S+ is unset\b")  # the reason evaluate gives for an unset parameter
FACT_SECTIONS = ("engagement", "figures", "statement")  # the optional lists of facts of a ruleset's `report:`, in the report's order
CONFIDENCE_NOTE = {"secondary": "clause number from a secondary source", "partial": "clause number partly confirmed", "unverified": "clause number not confirmed; cited by topic"}


def model(result: dict, generated: dt.datetime | None = None) -> dict[str, Any]:
    generated = generated or dt.datetime.now(dt.timezone.utc)
    primary = next((rs["report"] for rs in result["rulesets"] if "report" in rs), None)
    issued = result.get("answers", {}).get("report", {})
    footnotes: list[str] = []
    register, unset = _register(result, {**DEFAULT_REGISTER, **(primary or {}).get("register", {})}, footnotes)
    return {
        "title": (primary or {}).get("title", "Verification findings report"),
        "subject": next((fact["value"] for fact in (primary or {}).get("engagement", []) if fact["value"]), result["evidence"].get("id") or result["evidence"]["file"]),
        "document_id": issued.get("id") or "VC-" + _digest(result)[:10].upper(),
        "version": issued.get("version", "1"),
        "date": issued.get("date") or generated.date().isoformat(),
        "generated": generated.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "generated_iso": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "facts": {section: (primary or {}).get(section, []) for section in FACT_SECTIONS},  # a ruleset's report may leave any section out
        "contradiction": _contradiction(result, primary),
        "register": register,
        "unset": unset,
        "clause_index": [_clause_index(ruleset) for ruleset in result["rulesets"] if ruleset.get("requirements")],
        "rules": [{"ruleset": ruleset, "rows": [_rule_row(item, ruleset, footnotes) for item in ruleset["results"] if item["kind"] == "rule"]} for ruleset in result["rulesets"]],
        "signoff": issued.get("signoff") or [{"role": fact["label"], "name": fact["value"]} for fact in (primary or {}).get("signoff", []) if fact["value"]],
        "footnotes": footnotes,
    }


def _digest(result: dict) -> str:
    """What makes a report the report it is: the evidence, the rulesets and the answers, by their hashes."""
    parts = [result["evidence"]["sha256"], *(ruleset["sha256"] for ruleset in result["rulesets"]), result.get("answers", {}).get("sha256", "")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def issued_cite(clauses: list[dict], ruleset: dict, footnotes: list[str]) -> str:
    """A citation as a client reads it: a verified clause by number; any other by the title of the
    requirement it covers, with a footnote saying how sure the number is (internal topic codes never shown)."""
    titles = {requirement["id"]: requirement["title"] for requirement in ruleset.get("requirements", [])}
    cited = []
    for clause in clauses:
        numbered = clause["clause"][:1].isdigit()  # programme documents without numbered clauses are cited by topic
        if clause["confidence"] == "verified" and numbered:
            cited.append(f"{clause['document']} §{clause['clause']}")
            continue
        mark = ""
        if clause["confidence"] != "verified":
            note = CONFIDENCE_NOTE[clause["confidence"]]
            if note not in footnotes:
                footnotes.append(note)
            mark = "*" * (footnotes.index(note) + 1)
        topic = next((titles[i] for i in clause.get("covers", []) if i in titles), None)
        cited.append(f"{clause['document']} — {topic}{mark}" if topic else f"{clause['document']}{mark}")
    return "; ".join(dict.fromkeys(cited))


def _register(result: dict, prefixes: dict[str, str], footnotes: list[str]) -> tuple[list[dict], list[dict]]:
    """The findings, numbered by type; and apart, the checks that did not run because a programme figure
    (a ruleset parameter) is unset — nothing the evidence can answer."""
    entries: list[dict] = []
    unset: list[dict] = []
    numbers: dict[str, int] = {}
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            if item["kind"] != "rule":
                continue
            for occurrence in item.get("occurrences", []):
                if occurrence["status"] not in ("fail", "waived", "not_evaluated"):
                    continue
                if occurrence["status"] == "not_evaluated" and _UNSET_PARAMETER.search(occurrence.get("reason", "")):
                    unset.append({"rule": item, "cited": issued_cite(item["clauses"], ruleset, footnotes), "reason": occurrence["reason"]})
                    continue
                kind = "not_evaluated" if occurrence["status"] == "not_evaluated" else item["finding_type"]
                prefix = prefixes.get(kind, "F")
                numbers[prefix] = numbers.get(prefix, 0) + 1
                response = occurrence.get("response", {})
                status = "waived" if occurrence["status"] == "waived" else response.get("status", "open")
                entries.append({
                    "number": f"{prefix}-{numbers[prefix]:02d}", "type": TYPE_LABEL.get(kind, kind.replace("_", " ")), "kind": kind,
                    "rule": item, "cited": issued_cite(item["clauses"], ruleset, footnotes), "pointer": occurrence["pointer"] or "/",
                    "text": occurrence.get("message") or occurrence.get("reason", ""), "values": occurrence.get("values", []),
                    "remediation": item["remediation"] if kind != "not_evaluated" else "Supply or correct the information the check reads.",
                    "response": response, "status": status, "closed_on": response.get("closed_on"), "waiver": occurrence.get("waiver"),
                })
    return entries, unset


def _contradiction(result: dict, primary: dict | None) -> str | None:
    """A note where the engine's findings contradict the opinion as issued."""
    if not primary or primary.get("opinion_unmodified") is not True or result["verdict"] != "nonconformities":
        return None
    by_type = result["summary"]["failures_by_finding_type"]
    major = by_type.get("major_nonconformity", 0)
    found = sum(n for kind, n in by_type.items() if kind != "observation")
    return (f"The opinion as issued is unmodified, but the rules found {found} nonconformit{'y' if found == 1 else 'ies'}"
            f"{f', {major} of them major' if major else ''}. Each is in the findings register; the opinion should be reconsidered or the findings closed.")


def _clause_index(ruleset: dict) -> dict:
    covering: dict[str, list[dict]] = {}
    for item in ruleset["results"]:
        for clause in item["clauses"]:
            for requirement in clause.get("covers", []):
                if item not in covering.setdefault(requirement, []):
                    covering[requirement].append(item)
    rows = []
    for requirement in ruleset["requirements"]:
        items = covering.get(requirement["id"], [])
        numbered = requirement["clause"][:1].isdigit()
        rows.append({"requirement": requirement, "cited": f"§{requirement['clause']}" if numbered else "by topic", "items": items, "verdict": _requirement_verdict(items)})
    return {"ruleset": ruleset, "rows": rows}


def _requirement_verdict(items: list[dict]) -> str:
    statuses = {item["status"] for item in items}
    for status in ("fail", "not_evaluated", "manual", "waived", "pass"):
        if status in statuses:
            return status
    return "not_applicable" if statuses else "not_covered"


def _rule_row(item: dict, ruleset: dict, footnotes: list[str]) -> dict:
    return {"item": item, "cited": issued_cite(item["clauses"], ruleset, footnotes)}

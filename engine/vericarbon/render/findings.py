"""The occurrences the interchange formats report, read once from the canonical result: every rule, and
every occurrence that did not pass (failing, waived or not evaluated), with its clause text; a rule that
raised inside vericarbon (engine_error) is one occurrence at the package's root carrying the reason."""

from __future__ import annotations

from typing import Iterator, NamedTuple

LEVEL = {"major_nonconformity": "error", "minor_nonconformity": "warning"}  # the rest: note


class Occurrence(NamedTuple):
    ruleset: dict
    rule: dict
    status: str  # fail, waived, not_evaluated, engine_error
    pointer: str
    message: str
    values: list
    waiver: dict | None


def rules(result: dict) -> Iterator[tuple[dict, dict]]:
    """(ruleset, rule result) for every rule (manual checks left out: nothing ran)."""
    for ruleset in result["rulesets"]:
        for item in ruleset["results"]:
            if item["kind"] == "rule":
                yield ruleset, item


def occurrences(result: dict) -> Iterator[Occurrence]:
    for ruleset, item in rules(result):
        if item["status"] == "engine_error":
            yield Occurrence(ruleset, item, "engine_error", "/", f"engine error: {item['reason']}", [], None)
        for occurrence in item.get("occurrences", []):
            if occurrence["status"] in ("fail", "waived", "not_evaluated"):
                text = occurrence.get("message") or occurrence.get("reason") or item.get("reason", "")
                yield Occurrence(ruleset, item, occurrence["status"], occurrence.get("pointer") or "/", text, occurrence.get("values", []), occurrence.get("waiver"))


def clause_text(item: dict) -> str:
    """The rule's citations as a reader sees them."""
    return cite(item["clauses"])


def cite(clauses: list[dict]) -> str:
    """Citations as a reader sees them, the confidence spelt out where not verified."""
    return "; ".join(f"{c['document']} {c['clause']}" + ("" if c["confidence"] == "verified" else f" ({c['confidence']})") for c in clauses)

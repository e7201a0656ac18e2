"""The occurrences the interchange formats report, read once from the canonical result: every rule, and
every occurrence that did not pass (failing, waived or not evaluated), with its clause text; a rule that
raised inside vericarbon (engine_error) is one occurrence at the package's root carrying the reason."""

from __future__ import annotations

from typing import Iterator, NamedTuple

from vericarbon.rules.model import review_of

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


def review_text(item: dict) -> str:
    """A rule's (its spec's or its result's) review record in words, so a reader sees which verdicts are complete: when it was reviewed
    and with what outcome, whether the check decides the whole requirement, and what it cannot see."""
    review = review_of(item)
    if review["date"] is None:
        return review["outcome"]
    text = f"reviewed {review['date']}: {review['outcome']}"
    if item.get("executability"):
        text += f"; executability {item['executability']}"
    return text + (f". Limits: {review['limits']}" if review.get("limits") else "")

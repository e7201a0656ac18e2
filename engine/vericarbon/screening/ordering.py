"""Screening lines the same whatever the worker count: in input order, each ledger finding between two
submissions of this run on the line of the one later in the input.

A worker finds a package's conflicts against what the ledger already holds when it records it, so of
two submissions claiming the same serials the one recorded second carries the finding. With one worker
that is the later one in the input; with several, whichever chunk finished first decided, and lines
differed between `--jobs 1` and `--jobs 2`. Here the parent hands chunks on in input order, and a finding
on a line about a submission later in the input (recorded first, by another worker) moves to that
submission's line, turned round, as one worker would have found it. A chunk's packages are recorded in
order, so findings inside a chunk are already on the right line. Each line's findings are then sorted:
identity findings, then range conflicts by claim and the other range, as the ledger orders them with one
worker (ties broken by source rather than by when each was recorded).
"""

from __future__ import annotations

from typing import Any, Iterator

BENEFICIARIES = "claim_beneficiaries"  # kept on a line with findings by the worker, for turning a finding round; taken off here


class InputOrder:
    """The lines of chunks numbered as they are read (`add`), handed on in that order as they finish
    (`finished`): a chunk that finished early waits for those before it."""

    def __init__(self) -> None:
        self._chunk_of: dict[str, int] = {}  # a source's chunk, for the chunks not handed on yet
        self._finished: dict[int, list[dict]] = {}
        self._owed: dict[str, list[dict]] = {}  # findings moved to a source's line, which is not handed on yet
        self._read = 0
        self._next = 0

    def add(self, sources: list[str]) -> int:
        """Number the next chunk read, of packages from `sources`."""
        number = self._read
        self._read += 1
        for source in sources:
            self._chunk_of[source] = number
        return number

    def waiting(self) -> int:
        """How many finished chunks wait for one before them."""
        return len(self._finished)

    def finished(self, number: int, lines: list[dict]) -> Iterator[list[dict]]:
        """The chunks that can be handed on now that chunk `number` gave `lines` (none for a chunk that
        was dropped or lost: its packages' lines, if any, come by another way)."""
        self._finished[number] = lines
        while self._next in self._finished:
            ready = self._finished.pop(self._next)
            for line in ready:
                self._settle(line, self._next)
            for line in ready:
                self._chunk_of.pop(line["source"], None)
            if not ready:  # a dropped or lost chunk: its sources are not waited for
                self._chunk_of = {source: chunk for source, chunk in self._chunk_of.items() if chunk != self._next}
            self._next += 1
            yield ready

    def _settle(self, line: dict, number: int) -> None:
        beneficiaries = line.pop(BENEFICIARIES, {})
        findings = line.get("ledger_conflicts")
        if findings is None:
            return
        kept = []
        for finding in findings:
            later = self._chunk_of.get(finding["other"]["source"], -1)
            if later > number:
                self._owed.setdefault(finding["other"]["source"], []).append(_turned(finding, line, beneficiaries))
            else:
                kept.append(finding)
        kept += self._owed.pop(line["source"], [])
        line["ledger_conflicts"] = sorted(_merged(kept), key=_order)


def _merged(findings: list[dict]) -> list[dict]:
    """One finding per claim and kind, as one worker's ledger gives it (ledger.records.bounded_conflicts):
    a claim's own finding and those turned round onto it add up their `others`, and `other` is the earliest
    other range (by its first number, then its source in input order)."""
    merged: dict[tuple, dict] = {}
    identity = []
    for finding in findings:
        if "others" not in finding:
            identity.append(finding)
            continue
        key = (finding["kind"], finding["pointer"], finding["registry"], finding["block"])
        if key not in merged:
            merged[key] = finding
            continue
        first = merged[key]
        earlier = min(first, finding, key=lambda f: (f["other"]["range"][0], _source_order(f["other"]["source"])))
        merged[key] = {**earlier, "others": first["others"] + finding["others"]}
    return identity + list(merged.values())


def _turned(finding: dict, line: dict, beneficiaries: dict[str, Any]) -> dict:
    """`finding` on `line` as the other submission's line would carry it."""
    other = finding["other"]
    package_id = line.get("id") or line["source"]  # what the ledger records as the package id
    if "range" not in finding:  # an identity finding
        return {"kind": finding["kind"], "other": {"package_id": package_id, "source": line["source"], "sha256": line["sha256"]}}
    return {
        "kind": finding["kind"],  # issued twice, or retired twice or for two beneficiaries: the same either way round
        "registry": finding["registry"],
        "block": finding["block"],
        "pointer": other["pointer"],
        "range": other["range"],
        "shared": finding["shared"],
        "other": {"package_id": package_id, "source": line["source"], "pointer": finding["pointer"], "range": finding["range"], "beneficiary": beneficiaries.get(finding["pointer"])},
        **({"others": 1, "block_summary": finding["block_summary"]} if "block_summary" in finding else {}),  # one other range: this line's
    }


def _order(finding: dict) -> tuple:
    other = finding["other"]
    if "range" not in finding:
        return (0, finding["kind"], other["source"], other["sha256"])
    return (1, _natural(finding["pointer"]), other["range"][0], other["range"][1], other["source"], _natural(other["pointer"]))


def _source_order(source: str) -> tuple:
    """A source's place in the input: its file, then its line or member number (in.jsonl:10 after in.jsonl:9)."""
    name, _, number = source.rpartition(":")
    return (name, int(number)) if number.isdigit() else (source, 0)


def _natural(pointer: str) -> tuple:
    """A pointer's parts, list positions as numbers (/serials/10 after /serials/9)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pointer.split("/"))

"""What every ledger back end shares: a package's serial claims, the findings two submissions make, the
series records in groups, and serial numbers as text that sorts as the numbers do. No back end owns these;
both import them (vericarbon.screening.ledger says the rules they implement)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Iterator, NamedTuple

import orjson

from vericarbon.errors import InputError
from vericarbon.evidence.documents import escape_pointer_part, field_at
from vericarbon.evidence.package import Package

_DIGIT_COUNTS = [f"{n:04d}" for n in range(100)]  # a key's first part, written once (2x faster than formatting it per key)


def serial_key(number: int) -> str:
    """A non-negative integer as text that sorts as the numbers do, whatever their size."""
    digits = str(number)
    return (_DIGIT_COUNTS[len(digits)] if len(digits) < 100 else f"{len(digits):04d}") + digits


def serial_number(key: str) -> int:
    return int(key[4:])


class Claim(NamedTuple):
    """One serial range a submission issues or retires. (A named tuple: a package can hold thousands, and
    one is made ~5x faster than a frozen dataclass.)"""

    registry: str
    block: str
    action: str  # issued | retired
    first: int
    last: int
    beneficiary: str | None
    pointer: str


# Where each package kind states the ranges it issues or retires: (collection, registry, block, first, last,
# action, beneficiary) as field paths into each element; a registry in quotes is a constant.
CLAIM_FIELDS: dict[str, list[tuple[tuple[str, ...], Any, tuple[str, ...], tuple[str, ...], tuple[str, ...], str, tuple[str, ...] | None]]] = {
    "ghg-inventory": [(("offsets", "batches"), ("registry",), ("serial", "prefix"), ("serial", "start"), ("serial", "end"), "retired", ("beneficiary",))],
    "carbon-neutrality-claim": [(("credits",), ("registry", "name"), ("serial", "prefix"), ("serial", "start"), ("serial", "end"), "retired", ("retirement", "beneficiary"))],
    "icr-project-submission": [(("issuance_request", "serials"), "ICR", ("block",), ("start",), ("end",), "issued", None)],
}


def claims_of(package: Package) -> list[Claim]:
    """The serial ranges a validated package issues or retires. A range the ledger cannot record exactly (a
    number that is not an integer, such as 1.8446744073709552e19, which JSON Schema's "integer" accepts; a
    negative one; an end before the start) is an InputError naming its pointer: that package's `invalid`
    line, never a range left out, whose double retirement would then go unreported."""
    if package.kind == "credit-record":
        return [_record_claim(package)]
    found = []
    for collection, registry, block, first, last, action, beneficiary in CLAIM_FIELDS.get(package.kind, []):
        elements = field_at(package.data, collection)
        base = "".join("/" + escape_pointer_part(part) for part in collection)
        for index, element in enumerate(elements if isinstance(elements, list) else []):
            pointer = f"{base}/{index}"
            start, end = _exact_range(package.path, pointer, field_at(element, first), field_at(element, last), first, last)
            found.append(
                Claim(
                    registry if isinstance(registry, str) else str(field_at(element, registry)),
                    str(field_at(element, block) or ""),
                    action,
                    start,
                    end,
                    field_at(element, beneficiary) if beneficiary else None,
                    pointer,
                )
            )
    return found


def _exact_range(file: str, pointer: str, start: Any, end: Any, start_field: tuple[str, ...] = ("start",), end_field: tuple[str, ...] = ("end",)) -> tuple[int, int]:
    """start and end as the exact, ordered, non-negative integers the ledger records; else why not."""
    for value, field in ((start, start_field), (end, end_field)):
        if type(value) is not int or value < 0:
            where = pointer + "".join("/" + escape_pointer_part(part) for part in field)
            raise InputError(file, f"the ledger cannot record this serial range: {value!r} is not an exact non-negative integer"
                             " (a serial is written as whole digits, never as a float)", where)
    if end < start:
        raise InputError(file, f"the ledger cannot record this serial range: it ends ({end}) before it starts ({start})", pointer)
    return start, end


def _record_claim(package: Package) -> Claim:
    """A registry record's range, in the block its registry's grammar gives (filled when the package was
    read). A cancellation uses credits up as a retirement does, so both are `retired` here: a retirement
    and a cancellation of the same credits conflict (as two beneficiaries, the cancellation's being its type)."""
    data = package.data
    serial = data["serial"]
    start, end = _exact_range(package.path, "/serial", serial["start"], serial["end"])
    if data["record_type"] == "issuance":
        return Claim(data["registry"], serial["block"], "issued", start, end, None, "/serial")
    beneficiary = data.get("beneficiary") if data["record_type"] == "retirement" else f"cancelled: {data.get('cancellation_type') or 'no type given'}"
    return Claim(data["registry"], serial["block"], "retired", start, end, beneficiary, "/serial")


PROVENANCE = "source"  # a registry record's file and row: where it lay, kept beside what it says, never part of it


class Submission(NamedTuple):
    """What the ledger records of one package: its id, where it came from, its ranges, the hash of its
    content, its series records per ruleset, and for a registry record what the registry says (the record
    without its provenance: `record`), whose hash `sha256` is then, so that the same record exported again,
    from another folder or at another row, is the same submission."""

    package_id: str
    source: str
    claims: list[Claim]
    sha256: str
    series: dict[str, dict] | None = None
    record: dict | None = None


def submission_of(package: Package, package_id: str, source: str, series: dict[str, dict]) -> Submission:
    """The package as the ledger records it: a registry record keyed on what it says, any other package on
    the hash of its bytes."""
    claims = claims_of(package)
    if package.kind != "credit-record":
        return Submission(package_id, source, claims, package.sha256, series)
    said = {key: value for key, value in package.data.items() if key != PROVENANCE}
    return Submission(package_id, source, claims, hashlib.sha256(canonical(said).encode()).hexdigest(), series, said)


def canonical(record: dict) -> str:
    """A record as JSON text with sorted keys: its integers exact at any size (orjson stops at 64 bits),
    dates as their ISO text."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def identity_findings(recorded: Iterable[tuple[str, str, str, str | None]], package_id: str, sha256: str, source: str, this_run: str, record: dict | None = None) -> list[dict]:
    """From the submissions recorded under a package id (content hash, source, run, registry record as
    canonical JSON or None): another content under this id — for a registry record an `updated` finding
    with both versions, for any other package `id_reused` — or this very package from another source
    earlier in this run. From the same source it is the same package recorded again (its chunk checked
    again after its worker died), not a duplicate; nor is a registry record met again in another export."""
    found = []
    for other_sha256, other_source, run, other_record in recorded:
        other = {"package_id": package_id, "source": other_source, "sha256": other_sha256}
        if other_sha256 != sha256 and record is not None:
            found.append({"kind": "updated", "other": other, "before": json.loads(other_record) if other_record else None, "after": record})
        elif other_sha256 != sha256:
            found.append({"kind": "id_reused", "other": other})
        elif record is None and run == this_run and other_source != source:
            found.append({"kind": "duplicate_in_run", "other": other})
    return found


def grouped(rows: Iterator[tuple[str, str, str]], field: str | None, this_run: str) -> Iterator[tuple[Any, list[dict], set[str]]]:
    """Series rows (record JSON, source, run), sorted by `field`, as the groups series_groups yields."""
    key, members, recent = None, [], set()
    for text, source, run in rows:
        record = orjson.loads(text)
        record_key = "all" if field is None else record[field]
        if members and record_key != key:
            yield key, members, recent
            members, recent = [], set()
        key = record_key
        members.append({**record, "source": source})
        if run == this_run:
            recent.add(record["package_id"])
    if members:
        yield key, members, recent


def conflict(claim: Claim, first: int, last: int, beneficiary: str | None, package_id: str, pointer: str, source: str) -> dict:
    """The finding of `claim` sharing numbers with another submission's recorded range (first to last, its
    beneficiary, package id, pointer and source): which rule it breaks, and the numbers both hold."""
    shared = (max(claim.first, first), min(claim.last, last))
    return {
        "kind": _kind(claim, beneficiary),
        "registry": claim.registry,
        "block": claim.block,
        "pointer": claim.pointer,
        "range": [claim.first, claim.last],
        "shared": [shared[0], shared[1]],
        "other": {"package_id": package_id, "source": source, "pointer": pointer, "range": [first, last], "beneficiary": beneficiary},
    }


def _kind(claim: Claim, beneficiary: str | None) -> str:
    if claim.action == "issued":
        return "issued_twice"
    if (claim.beneficiary or "").casefold() != (beneficiary or "").casefold():
        return "retired_for_two_beneficiaries"
    return "retired_twice"


def block_summary_id(registry: str, block: str) -> str:
    """The id of the run-level record summarising a serial block's conflicts, which each finding names."""
    return f"ledger-block:{registry}/{block}"


def bounded_conflicts(claim: Claim, others: Iterable[tuple[int, int, str | None, str, str, str]]) -> list[dict]:
    """`claim`'s findings against the other submissions' recorded ranges it overlaps (first, last,
    beneficiary, package id, pointer, source; earliest first): one per kind, not one per range, so a
    block that thousands of packages claim costs each line a finding, not thousands (2 000 packages of
    one block wrote 4 997 000 findings, 1.65 GB). Each holds the first such range in full (`other`), how
    many ranges there are (`others`), and the id of
    the run-level record naming every submission involved (`block_summary`); `shared` is the numbers
    shared with `other`."""
    found: dict[str, dict] = {}
    for row in others:
        kind = _kind(claim, row[2])
        if kind in found:
            found[kind]["others"] += 1
        else:
            found[kind] = {**conflict(claim, *row), "others": 1, "block_summary": block_summary_id(claim.registry, claim.block)}
    return list(found.values())


class BlockSummaries:
    """The run-level records of the serial blocks with conflicts: per block, the findings by kind, the
    submissions involved with how many findings name each, and the ranges involved, merged."""

    def __init__(self) -> None:
        self._blocks: dict[tuple[str, str], tuple[dict[str, int], dict[str, int], list[tuple[int, int]]]] = {}

    def add(self, package_id: str, finding: dict) -> None:
        if "block_summary" not in finding:
            return  # an identity finding (id_reused, updated, duplicate_in_run): no range
        kinds, submissions, ranges = self._blocks.setdefault((finding["registry"], finding["block"]), ({}, {}, []))
        kinds[finding["kind"]] = kinds.get(finding["kind"], 0) + finding["others"]
        for involved in (package_id, finding["other"]["package_id"]):
            submissions[involved] = submissions.get(involved, 0) + 1
        ranges += [tuple(finding["range"]), tuple(finding["other"]["range"])]  # type: ignore[list-item]

    def records(self) -> list[dict]:
        return [{"record": "ledger_block", "id": block_summary_id(registry, block), "registry": registry, "block": block, "findings": dict(sorted(kinds.items())),
                 "submissions": dict(sorted(submissions.items())), "ranges": _merged(ranges)}
                for (registry, block), (kinds, submissions, ranges) in sorted(self._blocks.items())]


def _merged(ranges: list[tuple[int, int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return merged

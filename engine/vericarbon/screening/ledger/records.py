"""What every ledger back end shares: a package's serial claims, the findings two submissions make, the
series records in groups, and serial numbers as text that sorts as the numbers do. No back end owns these;
both import them (vericarbon.screening.ledger says the rules they implement)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple

import orjson

from vericarbon.evidence.documents import field_at

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


def claims_of(kind: str, data: dict) -> list[Claim]:
    """The serial ranges a validated package issues or retires."""
    if kind == "credit-record":
        return [_record_claim(data)]
    found = []
    for collection, registry, block, first, last, action, beneficiary in CLAIM_FIELDS.get(kind, []):
        elements = field_at(data, collection)
        base = "".join("/" + part for part in collection)
        for index, element in enumerate(elements if isinstance(elements, list) else []):
            start, end = field_at(element, first), field_at(element, last)
            if type(start) is not int or type(end) is not int or start < 0 or end < start:
                continue  # a malformed range is the rules' finding, not a ledger entry
            found.append(
                Claim(
                    registry if isinstance(registry, str) else str(field_at(element, registry)),
                    str(field_at(element, block) or ""),
                    action,
                    start,
                    end,
                    field_at(element, beneficiary) if beneficiary else None,
                    f"{base}/{index}",
                )
            )
    return found


def _record_claim(data: dict) -> Claim:
    """A registry record's range, in the block its registry's grammar gives (filled when the package was
    read). A cancellation uses credits up as a retirement does, so both are `retired` here: a retirement
    and a cancellation of the same credits conflict (as two beneficiaries, the cancellation's being its type)."""
    serial = data["serial"]
    if data["record_type"] == "issuance":
        return Claim(data["registry"], serial["block"], "issued", serial["start"], serial["end"], None, "/serial")
    beneficiary = data.get("beneficiary") if data["record_type"] == "retirement" else f"cancelled: {data.get('cancellation_type') or 'no type given'}"
    return Claim(data["registry"], serial["block"], "retired", serial["start"], serial["end"], beneficiary, "/serial")



def identity_findings(recorded: Iterable[tuple[str, str, str]], package_id: str, sha256: str, source: str, this_run: str) -> list[dict]:
    """From the submissions recorded under a package id (content hash, source, run): another content under
    this id, or this very submission from another source earlier in this run. From the same source it is
    the same package recorded again (its chunk checked again after its worker died), not a duplicate."""
    found = []
    for other_sha256, other_source, run in recorded:
        if other_sha256 != sha256:
            found.append({"kind": "id_reused", "other": {"package_id": package_id, "source": other_source, "sha256": other_sha256}})
        elif run == this_run and other_source != source:
            found.append({"kind": "duplicate_in_run", "other": {"package_id": package_id, "source": other_source, "sha256": other_sha256}})
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
    if claim.action == "issued":
        kind = "issued_twice"
    elif (claim.beneficiary or "").casefold() != (beneficiary or "").casefold():
        kind = "retired_for_two_beneficiaries"
    else:
        kind = "retired_twice"
    shared = (max(claim.first, first), min(claim.last, last))
    return {
        "kind": kind,
        "registry": claim.registry,
        "block": claim.block,
        "pointer": claim.pointer,
        "range": [claim.first, claim.last],
        "shared": [shared[0], shared[1]],
        "other": {"package_id": package_id, "source": source, "pointer": pointer, "range": [first, last], "beneficiary": beneficiary},
    }

"""The audit log's hash chain: each entry holds the hash of the one before it and its own hash over that
and its fields, so an entry edited, inserted or cut out of the middle breaks the chain where it happened
(`vericarbon audit verify --database …`). The table refuses UPDATE and DELETE (triggers), but its owner can
drop a trigger or TRUNCATE; the chain is what shows it afterwards. A cut at the end leaves a shorter chain
that is still whole: compare the head (last seq and hash, printed by verify) with one recorded elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first chained entry


def entry_hash(previous: str, at: float, registry: str | None, actor: str, action: str, subject: str | None, detail: str | None) -> str:
    """The hash of one entry: SHA-256 of its fields and the previous entry's hash, as canonical JSON."""
    return hashlib.sha256(json.dumps([previous, at, registry, actor, action, subject, detail], separators=(",", ":")).encode()).hexdigest()


def verify(rows: Any) -> dict:
    """Walk (seq, at, registry, actor, action, subject, detail, prev_hash, hash) rows in seq order: the
    problems found, how many entries were checked, those older than the chain (written before it
    existed), and the head."""
    problems, checked, unchained, previous, head = [], 0, 0, None, None
    for seq, at, registry, actor, action, subject, detail, prev_hash, stored in rows:
        if stored is None:
            if previous is not None:
                problems.append(f"entry {seq}: no hash after the chain began (written around the chain)")
            unchained += 1
            continue
        expected_previous = GENESIS if previous is None else previous
        if prev_hash != expected_previous:
            problems.append(f"entry {seq}: the previous entry's hash does not match (entries before it were cut or changed)")
        if entry_hash(prev_hash, at, registry, actor, action, subject, detail) != stored:
            problems.append(f"entry {seq}: its fields do not match its hash (edited)")
        previous, head, checked = stored, (seq, stored), checked + 1
    return {"ok": not problems, "problems": problems, "checked": checked, "before_the_chain": unchained, "head": head}

"""The ledger of credits: which serial ranges each screened submission issues or retires, kept across runs
in a SQLite file (vericarbon.screening.ledger.sqlite) or a PostgreSQL database (.postgres). Here: what a
ledger does (the Ledger protocol), the one factory that picks a back end by path or URL, and the audit of a
whole ledger; what the back ends share is in .records, which neither owns.

The rules every back end keeps. A submission's ranges are checked and recorded inside one transaction
(shared with the few others screened with it): a crash leaves the ledger as it was before that submission,
never with part of it. A submission is its id and the hash of its content: screening the same one again
replaces its earlier ranges (never a conflict with itself, even after a run was killed between the ledger
and the output); a different content under an id already recorded is an `id_reused` finding, and the same
submission twice in one run a `duplicate_in_run` one; neither replaces the other's ranges. A registry record
(credit-record) is what the registry says about the credits: its hash leaves out its provenance (the file
and row it was imported from), so the same record in another export, folder or row is the same submission,
never a duplicate; a changed record under its id is an `updated` finding with both versions.

Two ranges conflict when they are on the same registry and serial block, share a number, have the same
action (issued twice, or retired twice — for the same or for another beneficiary) and belong to different
submissions. Issuing and then retiring the same credits is the normal lifecycle, not a conflict."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any, Iterator, Protocol

from vericarbon.screening.ledger.postgres import PostgresLedger
from vericarbon.screening.ledger.records import Claim, Submission, conflict
from vericarbon.screening.ledger.sqlite import SQLiteLedger


class Ledger(Protocol):
    """A credit ledger, whichever database keeps it. Unpickled, it is the same ledger opened again in the
    same run: how each screening worker records its own packages."""

    @property
    def path(self) -> Path | str:
        """The file or URL it was opened at, as errors name it."""

    @property
    def run(self) -> str:
        """This run's id: tells a submission seen twice in this run from one seen in an earlier run."""

    def close(self) -> None: ...

    def record(self, package_id: str, source: str, claims: list[Claim], sha256: str = "", series: dict[str, dict] | None = None, record: dict | None = None) -> list[dict]:
        """One package's conflicts, recorded as record_many does."""

    def record_many(self, packages: list[Submission]) -> list[list[dict]]:
        """Check each package's ranges against every other package's, those earlier in the list included,
        and record them, all in one transaction. Returns each package's findings."""

    def series_groups(self, ruleset: str, field: str | None) -> Iterator[tuple[Any, list[dict], set[str]]]:
        """A ruleset's records in groups sharing `field` (every record in one group when None), one group at
        a time: (key, records with their source, the ids of those this run recorded)."""

    def series_of(self, entity: str) -> list[tuple[str, dict, str]]:
        """One entity's records, per ruleset, in period order: (ruleset, record, source)."""

    def ranges(self) -> Iterator[tuple[str, str, str, int, int, str | None, str, str, str, str]]:
        """Every recorded range: (registry, block, action, first, last, beneficiary, package_id, sha256, pointer, source)."""

    def integrity(self) -> str:
        """The database's own check: "ok", or what it found wrong."""


def is_database_url(location: str | Path | None) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


@contextlib.contextmanager
def open_ledger(path: Path | str | None) -> Iterator[Ledger]:
    """The ledger at `path` (a SQLite file, or a postgresql:// URL), kept across runs, or with no path a
    temporary one for this run only."""
    with contextlib.ExitStack() as stack:
        book: Ledger
        if path is None:
            book = SQLiteLedger(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vericarbon-ledger-"))) / "ledger.sqlite", durable=False)
        elif is_database_url(path):  # a file's path may come as text too: only a URL is a database
            book = PostgresLedger(str(path))
        else:
            book = SQLiteLedger(Path(path))
        stack.callback(book.close)
        yield book


def audit(ledger: Ledger) -> list[dict]:
    """Every pair of recorded ranges of different submissions that conflict: one sorted sweep finds the
    clusters of ranges that overlap anything (most ranges overlap nothing), and each cluster is walked
    with the ranges still open, so every overlapping pair is listed, not only one per range."""
    import numpy as np  # here, not at the top: every CLI start would pay for NumPy otherwise

    from vericarbon.screening.overlaps import overlapping_pairs

    rows = list(ledger.ranges())
    if not rows:
        return []
    codes: dict[tuple[str, str, str], int] = {}
    group = np.fromiter((codes.setdefault((r[0], r[1], r[2]), len(codes)) for r in rows), dtype=np.int64, count=len(rows))
    found = []
    for i, j in overlapping_pairs(group, [r[3] for r in rows], [r[4] for r in rows]):
        later, earlier = rows[i], rows[j]
        if later[6:8] == earlier[6:8]:
            continue  # one submission's own ranges: its rules judge those
        claim = Claim(*later[:6], pointer=later[8])
        found.append({**conflict(claim, earlier[3], earlier[4], earlier[5], earlier[6], earlier[8], earlier[9]), "package_id": later[6], "source": later[9]})
    return found

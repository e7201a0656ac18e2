"""The credit ledger in a SQLite file (vericarbon.screening.ledger gives the rules every ledger keeps).

SQLite in WAL mode rather than DuckDB, by measurement (benchmarks/ledger.py): recording a small package's
ranges and finding their conflicts takes ~0.04 ms against DuckDB's ~3 ms (500 ranges: ~2.3 against ~87 ms),
and a second screening process can share a SQLite ledger (one writer at a time, others wait on the lock)
where DuckDB refuses to open a file another process holds.

Serial numbers are integers of any size: they are stored as text that sorts as the numbers do (the count of
digits, then the digits: serial_key), so ranges beyond 2^63 are kept exactly and compared in SQLite's index."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from vericarbon.errors import InputError
from vericarbon.screening.ledger.records import Claim, Submission, bounded_conflicts, canonical, grouped, identity_findings, serial_key, serial_number

FORMAT = 3  # PRAGMA user_version; 1 (vericarbon 0.1) and 2 (no registry record kept per submission) are upgraded on open
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ranges (
    id INTEGER PRIMARY KEY,
    registry TEXT NOT NULL,
    block TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('issued', 'retired')),
    first TEXT NOT NULL,                   -- serial_key(first number)
    last TEXT NOT NULL CHECK (last >= first),
    beneficiary TEXT,
    package_id TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    pointer TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ranges_by_start ON ranges (registry, block, action, first);
CREATE INDEX IF NOT EXISTS ranges_by_package ON ranges (package_id, sha256);
-- The longest range per (registry, block, action) bounds how far back an overlapping range can start,
-- so an overlap query reads an index slice instead of every earlier range.
CREATE TABLE IF NOT EXISTS longest (
    registry TEXT NOT NULL, block TEXT NOT NULL, action TEXT NOT NULL, length TEXT NOT NULL,
    PRIMARY KEY (registry, block, action)
);
-- What each submission contributes to the series of its entity, per ruleset with batch rules: the latest
-- content of a package id replaces the earlier one, so a series holds one record per package.
CREATE TABLE IF NOT EXISTS series (
    ruleset TEXT NOT NULL, package_id TEXT NOT NULL, sha256 TEXT NOT NULL, entity TEXT, period REAL,
    source TEXT NOT NULL, run TEXT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (ruleset, package_id)
);
CREATE INDEX IF NOT EXISTS series_by_entity ON series (entity, period);
-- Every submission recorded: its id, content hash, where it came from and in which run, and for a registry
-- record what it says (canonical JSON), so that an update can show the version before it.
CREATE TABLE IF NOT EXISTS packages (
    package_id TEXT NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL, run TEXT NOT NULL, recorded_at TEXT NOT NULL, record TEXT,
    PRIMARY KEY (package_id, sha256)
);
"""


_CLAIMS_PER_QUERY = 100  # 7 parameters each: within the 999 an SQLite before 3.32 allows a statement


class SQLiteLedger:
    """One SQLite ledger file; safe to share between processes. Unpickled, it is the same ledger opened
    again in the same run: how each screening worker records its own packages."""

    def __init__(self, path: Path, run: str | None = None, durable: bool = True) -> None:
        self.path = path
        self.run = run or uuid.uuid4().hex  # tells a submission seen twice in this run from one seen in an earlier run
        self.durable = durable  # False for a run's temporary ledger: never synced to disk, as it is deleted at the end
        try:
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None)  # explicit BEGIN/COMMIT below
            self._set_up()
        except sqlite3.Error as error:
            raise InputError(str(path), f"cannot be used as a ledger ({error})") from None

    def _set_up(self) -> None:
        """WAL mode, the tables, and an older ledger upgraded. Two processes opening a new ledger at once
        can meet SQLITE_BUSY here without the busy handler being called (switching the journal mode takes
        an exclusive lock), so a locked ledger is tried again for up to a minute."""
        deadline = time.monotonic() + 60
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: durable at each checkpoint, never corrupt; a temporary ledger skips the syncs
                # (a checkpoint's fsync took up to 0.1 s of a run on a shared disk)
                self._db.execute("PRAGMA synchronous=" + ("NORMAL" if self.durable else "OFF"))
                self._db.execute("PRAGMA busy_timeout=60000")
                self._in_transaction(self._create)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name = 'ranges'").fetchone():
            version = 1  # written by vericarbon 0.1, which set no version
        if version > FORMAT:
            raise InputError(str(self.path), f"ledger format {version} is newer than this vericarbon reads ({FORMAT})")
        if version == 1:  # integer serials, no content hash: rename, create, copy with serials as keys
            db.execute("ALTER TABLE ranges RENAME TO ranges_v1")
            db.execute("DROP INDEX IF EXISTS ranges_by_start")
            db.execute("DROP INDEX IF EXISTS ranges_by_package")
            db.execute("DROP TABLE IF EXISTS longest")
        if version == 2:
            db.execute("ALTER TABLE packages ADD COLUMN record TEXT")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        if version == 1:
            db.create_function("serial_key", 1, serial_key, deterministic=True)
            db.execute("INSERT INTO ranges (registry, block, action, first, last, beneficiary, package_id, pointer, source, recorded_at)"
                       " SELECT registry, block, action, serial_key(first), serial_key(last), beneficiary, package_id, pointer, source, recorded_at FROM ranges_v1")
            db.execute("INSERT OR IGNORE INTO packages SELECT DISTINCT package_id, '', source, '', recorded_at, NULL FROM ranges_v1")
            db.execute("INSERT INTO longest SELECT registry, block, action, serial_key(max(last - first + 1)) FROM ranges_v1 GROUP BY registry, block, action")
            db.execute("DROP TABLE ranges_v1")
        db.execute(f"PRAGMA user_version = {FORMAT}")

    def __reduce__(self) -> tuple:
        return SQLiteLedger, (self.path, self.run, self.durable)

    def close(self) -> None:
        self._db.close()

    def record(self, package_id: str, source: str, claims: list[Claim], sha256: str = "", series: dict[str, dict] | None = None, record: dict | None = None) -> list[dict]:
        """One package's conflicts, recorded as record_many does."""
        return self.record_many([Submission(package_id, source, claims, sha256, series or {}, record)])[0]

    def record_many(self, packages: list[Submission]) -> list[list[dict]]:
        """Check each package's ranges (package id, source, claims, content hash) against every other
        package's, those earlier in the list included, and record them, all in one transaction: a crash
        leaves the ledger as it was before these packages, and one commit serves several (~half the cost of
        a small package's). Returns each package's conflicts."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        longest: dict[tuple[str, str, str], int | None] = {}  # per group, read once per transaction (the writer lock holds it still)
        try:
            return self._in_transaction(lambda: [self._record(Submission(*package), now, longest) for package in packages])
        except sqlite3.IntegrityError:
            raise  # a range the ledger's checks refuse: a bug upstream, not the file's fault
        except sqlite3.DatabaseError as error:  # a file that is not (or no longer) a ledger: the user's to fix
            raise InputError(str(self.path), f"cannot be used as a ledger ({error})") from None

    def _in_transaction(self, work: Callable[[], Any]) -> Any:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            done = work()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return done

    def _record(self, submission: Submission, now: str, longest: dict[tuple[str, str, str], int | None]) -> list[dict]:
        db = self._db
        package_id, source, claims, sha256, series, record = submission
        if series:
            db.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(ruleset, package_id, sha256, record.get("entity"), record.get("period"), source, self.run, orjson.dumps({k: v for k, v in record.items() if v is not None}, option=orjson.OPT_SORT_KEYS)) for ruleset, record in series.items()])
        recorded = db.execute("SELECT sha256, source, run, record FROM packages WHERE package_id = ? ORDER BY recorded_at, source", (package_id,)).fetchall()
        found = identity_findings(recorded, package_id, sha256, source, self.run, record)
        if any(other == sha256 for other, *_ in recorded):  # the same submission again replaces itself
            db.execute("DELETE FROM ranges WHERE package_id = ? AND sha256 = ?", (package_id, sha256))
        db.execute("INSERT OR REPLACE INTO packages VALUES (?, ?, ?, ?, ?, ?)", (package_id, sha256, source, self.run, now, None if record is None else canonical(record)))
        keys = [(serial_key(c.first), serial_key(c.last)) for c in claims]
        found += self._conflicts(claims, keys, package_id, sha256, longest)
        db.executemany(
            "INSERT INTO ranges (registry, block, action, first, last, beneficiary, package_id, sha256, pointer, source, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.registry, c.block, c.action, first, last, c.beneficiary, package_id, sha256, c.pointer, source, now) for c, (first, last) in zip(claims, keys)],
        )
        grown: dict[tuple[str, str, str], int] = {}
        for c in claims:
            group = (c.registry, c.block, c.action)
            if c.last - c.first + 1 > max(grown.get(group, 0), longest.get(group) or 0):
                grown[group] = c.last - c.first + 1
        db.executemany(
            "INSERT INTO longest VALUES (?, ?, ?, ?) ON CONFLICT (registry, block, action) DO UPDATE SET length = max(length, excluded.length)",
            [(*group, serial_key(length)) for group, length in grown.items()],
        )
        longest.update(grown)
        return found

    def _conflicts(self, claims: list[Claim], keys: list[tuple[str, str]], package_id: str, sha256: str, longest: dict[tuple[str, str, str], int | None]) -> list[dict]:
        """Every recorded range of another submission that conflicts with one of `claims` (with `keys`, the
        serial keys of their first and last numbers): joins inside SQLite, each of up to 100 claims given
        as VALUES and, per claim, the index slice that can reach it, bounded below by the longest range of
        its group; not two queries per claim from Python (500 claims: ~7 ms -> ~1 ms)."""
        db = self._db
        for group in {(c.registry, c.block, c.action) for c in claims} - longest.keys():
            row = db.execute("SELECT length FROM longest WHERE registry = ? AND block = ? AND action = ?", group).fetchone()
            longest[group] = serial_number(row[0]) if row else None  # None: nothing recorded in it yet
        rows_in = [(n, c.registry, c.block, c.action, first, last, serial_key(max(0, c.first - reach + 1)))
                   for n, (c, (first, last)) in enumerate(zip(claims, keys)) if (reach := longest[c.registry, c.block, c.action])]
        found = []
        for start in range(0, len(rows_in), _CLAIMS_PER_QUERY):
            part = rows_in[start : start + _CLAIMS_PER_QUERY]
            found += db.execute(
                f"WITH c (n, registry, block, action, first, last, low) AS (VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?)'] * len(part))})"
                " SELECT c.n, r.first, r.last, r.beneficiary, r.package_id, r.pointer, r.source"
                " FROM c CROSS JOIN ranges r"  # CROSS JOIN keeps this loop order: the index slice per claim
                " WHERE r.registry = c.registry AND r.block = c.block AND r.action = c.action"
                " AND r.first BETWEEN c.low AND c.last AND r.last >= c.first AND NOT (r.package_id = ? AND r.sha256 = ?)"
                " ORDER BY c.n, r.first, r.id",
                [value for row in part for value in row] + [package_id, sha256],
            ).fetchall()
        by_claim: dict[int, list[tuple]] = {}
        for n, first, last, *other in found:
            by_claim.setdefault(n, []).append((serial_number(first), serial_number(last), *other))
        return [finding for n, rows in by_claim.items() for finding in bounded_conflicts(claims[n], rows)]

    def series_groups(self, ruleset: str, field: str | None) -> Iterator[tuple[Any, list[dict], set[str]]]:
        """A ruleset's records in groups sharing `field` (every record in one group when None), one group at
        a time, so memory holds a group rather than the store: (key, records with their source, the ids of
        those this run recorded). SQLite sorts, on disk when it must."""
        where = "" if field is None else f" AND json_extract(record, '$.{field}') IS NOT NULL"
        order = "" if field is None else ("ORDER BY entity" if field == "entity" else f"ORDER BY json_extract(record, '$.{field}')")
        yield from grouped(self._db.execute(f"SELECT record, source, run FROM series WHERE ruleset = ?{where} {order}", (ruleset,)), field, self.run)

    def series_of(self, entity: str) -> list[tuple[str, dict, str]]:
        """One entity's records, per ruleset, in period order: (ruleset, record, source)."""
        rows = self._db.execute("SELECT ruleset, record, source FROM series WHERE entity = ? ORDER BY ruleset, period, package_id", (entity,))
        return [(ruleset, orjson.loads(record), source) for ruleset, record, source in rows]

    def ranges(self) -> Iterator[tuple[str, str, str, int, int, str | None, str, str, str, str]]:
        """Every recorded range: (registry, block, action, first, last, beneficiary, package_id, sha256, pointer, source)."""
        try:
            for row in self._db.execute("SELECT registry, block, action, first, last, beneficiary, package_id, sha256, pointer, source FROM ranges"):
                yield (*row[:3], serial_number(row[3]), serial_number(row[4]), *row[5:])
        except sqlite3.DatabaseError as error:  # a file that is not (or no longer) a ledger, as in record_many
            raise InputError(str(self.path), f"cannot be used as a ledger ({error})") from None

    def integrity(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

"""The credit ledger on PostgreSQL (vericarbon.screening.ledger gives the rules every ledger keeps): the same
records, findings and interface as the SQLite ledger, for many service processes on one database. Overlaps are found by the database: each range is a `numrange` (any number of digits, exact)
under a GiST index over (registry, block, action, range), queried with `&&`. Writers of one serial block
take a transaction-scoped advisory lock on it, so two submissions recorded at once cannot both miss each
other. Needs psycopg 3 (`pip install 'vericarbon[serve]'`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterator

import orjson

from vericarbon.errors import InputError
from vericarbon.screening.ledger.records import Claim, Submission, bounded_conflicts, canonical, grouped, identity_findings

# Version 1: the ledger's tables (btree_gist lets one GiST index hold the equality columns and the range).
_VERSION_1 = """
    CREATE EXTENSION IF NOT EXISTS btree_gist;
    CREATE TABLE ledger_ranges (
        id BIGSERIAL PRIMARY KEY,
        registry TEXT NOT NULL,
        block TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('issued', 'retired')),
        span NUMRANGE NOT NULL CHECK (NOT isempty(span)),
        beneficiary TEXT,
        package_id TEXT NOT NULL,
        sha256 TEXT NOT NULL DEFAULT '',
        pointer TEXT NOT NULL,
        source TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX ledger_ranges_overlap ON ledger_ranges USING gist (registry, block, action, span);
    CREATE INDEX ledger_ranges_by_package ON ledger_ranges (package_id, sha256);
    CREATE TABLE ledger_series (
        ruleset TEXT NOT NULL, package_id TEXT NOT NULL, sha256 TEXT NOT NULL, entity TEXT, period DOUBLE PRECISION,
        source TEXT NOT NULL, run TEXT NOT NULL, record TEXT NOT NULL,  -- JSON with sorted keys, as the SQLite ledger keeps it
        PRIMARY KEY (ruleset, package_id)
    );
    CREATE INDEX ledger_series_by_entity ON ledger_series (entity, period);
    CREATE TABLE ledger_packages (
        package_id TEXT NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL, run TEXT NOT NULL, recorded_at TEXT NOT NULL,
        PRIMARY KEY (package_id, sha256)
    );
"""
# Each version's statements, in order: a new version is appended, never an old one edited.
MIGRATIONS = [
    [statement for statement in _VERSION_1.split(";") if statement.strip()],
    ["ALTER TABLE ledger_packages ADD COLUMN record TEXT"],  # 2: a registry record's content, so an update shows the version before
]


def migrate(connection: Any, name: str, migrations: list[list[str]]) -> None:
    """Apply the versions of `name` (each a list of statements) that the database lacks, recorded in
    vericarbon_migrations, in one transaction under an advisory lock, so that processes starting together
    apply each once. The ledger and the service (vericarbon.service.store) both migrate through here."""
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('vericarbon migrations'))")
        connection.execute("CREATE TABLE IF NOT EXISTS vericarbon_migrations (name TEXT NOT NULL, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (name, version))")
        done = {row[0] for row in connection.execute("SELECT version FROM vericarbon_migrations WHERE name = %s", (name,))}
        for version, statements in enumerate(migrations, 1):
            if version in done:
                continue
            for statement in statements:
                connection.execute(statement)
            connection.execute("INSERT INTO vericarbon_migrations (name, version) VALUES (%s, %s)", (name, version))


def _text(value: str | None) -> str | None:
    """PostgreSQL text holds no NUL character; a NUL in a hostile package's field is written as U+FFFD (the
    SQLite ledger keeps it), so such a range is still recorded and compared, not refused."""
    return value.replace("\x00", "\ufffd") if value is not None else None


class PostgresLedger:
    """One ledger in a PostgreSQL database, given by URL (postgresql://…); safe to share between processes
    and machines."""

    def __init__(self, url: str, run: str | None = None) -> None:
        try:
            import psycopg
        except ImportError:
            raise InputError(url, "a PostgreSQL ledger needs psycopg: pip install 'vericarbon[serve]'") from None
        self.path = url
        self.run = run or uuid.uuid4().hex
        try:
            self._db = psycopg.connect(url, autocommit=True)
            migrate(self._db, "ledger", MIGRATIONS)
        except psycopg.Error as error:
            raise InputError(url, f"cannot be used as a ledger ({error})") from None

    def __reduce__(self) -> tuple:
        return PostgresLedger, (self.path, self.run)  # opened again in the same run, as the SQLite ledger is

    def close(self) -> None:
        self._db.close()

    def record(self, package_id: str, source: str, claims: list[Claim], sha256: str = "", series: dict[str, dict] | None = None, record: dict | None = None) -> list[dict]:
        return self.record_many([Submission(package_id, source, claims, sha256, series or {}, record)])[0]

    def record_many(self, packages: list[Submission]) -> list[list[dict]]:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._db.transaction():
            packages = [Submission(_text(package_id), _text(source), [Claim(_text(c.registry), _text(c.block), c.action, c.first, c.last, _text(c.beneficiary), _text(c.pointer)) for c in claims], sha256, series, record)  # type: ignore[arg-type]
                        for package_id, source, claims, sha256, series, record in (Submission(*package) for package in packages)]
            blocks = sorted({(c.registry, c.block) for package in packages for c in package.claims})
            for registry, block in blocks:  # in one order everywhere, so two writers cannot deadlock
                self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"vericarbon ledger {len(registry)}:{registry}/{block}",))
            return [self._record(package, now) for package in packages]

    def _record(self, submission: Submission, now: str) -> list[dict]:
        db = self._db
        package_id, source, claims, sha256, series, record = submission
        with db.cursor() as cursor:
            if series:
                cursor.executemany(
                    "INSERT INTO ledger_series VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (ruleset, package_id) DO UPDATE SET"
                    " sha256 = excluded.sha256, entity = excluded.entity, period = excluded.period, source = excluded.source, run = excluded.run, record = excluded.record",
                    [(ruleset, package_id, sha256, _text(record.get("entity")) if isinstance(record.get("entity"), str) else record.get("entity"), record.get("period"), source, self.run, _text(orjson.dumps({k: v for k, v in record.items() if v is not None}, option=orjson.OPT_SORT_KEYS).decode().replace("\\u0000", "\\ufffd")))
                     for ruleset, record in series.items()],
                )
            found = self._identity_findings(package_id, sha256, source, record)
            db.execute("DELETE FROM ledger_ranges WHERE package_id = %s AND sha256 = %s", (package_id, sha256))
            db.execute("INSERT INTO ledger_packages VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (package_id, sha256) DO UPDATE SET source = excluded.source, run = excluded.run, recorded_at = excluded.recorded_at",
                       (package_id, sha256, source, self.run, now, None if record is None else _text(canonical(record))))
            found += self._conflicts(claims, package_id, sha256)
            cursor.executemany(
                "INSERT INTO ledger_ranges (registry, block, action, span, beneficiary, package_id, sha256, pointer, source, recorded_at)"
                " VALUES (%s, %s, %s, numrange(%s, %s, '[]'), %s, %s, %s, %s, %s, %s)",
                [(c.registry, c.block, c.action, c.first, c.last, c.beneficiary, package_id, sha256, c.pointer, source, now) for c in claims],
            )
        return found

    def _identity_findings(self, package_id: str, sha256: str, source: str, record: dict | None) -> list[dict]:
        rows = self._db.execute("SELECT sha256, source, run, record FROM ledger_packages WHERE package_id = %s ORDER BY recorded_at, source", (package_id,))
        return identity_findings(rows, package_id, sha256, source, self.run, record)

    def _conflicts(self, claims: list[Claim], package_id: str, sha256: str) -> list[dict]:
        """Every recorded range of another submission that conflicts with one of `claims`: a query per
        claim, each an index probe with && (~0.1 ms). One query joining the claims unnested was planned
        as a hash join over the whole table once every range shared a registry and block: 80 ms at 32 000
        ranges, so claims are not batched here."""
        found = []
        for claim in claims:
            rows = self._db.execute(
                "SELECT lower(span), upper(span), beneficiary, package_id, pointer, source FROM ledger_ranges"
                " WHERE registry = %s AND block = %s AND action = %s AND span && numrange(%s, %s, '[]') AND NOT (package_id = %s AND sha256 = %s)"
                " ORDER BY lower(span), id",
                (claim.registry, claim.block, claim.action, claim.first, claim.last, package_id, sha256),
            )
            found += bounded_conflicts(claim, ((int(first), int(last), *other) for first, last, *other in rows))
        return found

    def series_groups(self, ruleset: str, field: str | None) -> Iterator[tuple[Any, list[dict], set[str]]]:
        """As the SQLite ledger's: a ruleset's records in groups sharing `field`, one group at a time."""
        where = "" if field is None else " AND record::jsonb ? %s"
        order = "" if field is None else ("ORDER BY entity" if field == "entity" else "ORDER BY record::jsonb -> %s")
        arguments: tuple = (ruleset,) if field is None else ((ruleset, field) if field == "entity" else (ruleset, field, field))
        with self._db.transaction(), self._db.cursor(name=f"series_{uuid.uuid4().hex}") as rows:  # server-side: memory holds one group
            rows.execute(f"SELECT record, source, run FROM ledger_series WHERE ruleset = %s{where} {order}", arguments)
            yield from grouped(rows, field, self.run)

    def series_of(self, entity: str) -> list[tuple[str, dict, str]]:
        rows = self._db.execute("SELECT ruleset, record, source FROM ledger_series WHERE entity = %s ORDER BY ruleset, period, package_id", (entity,))
        return [(ruleset, orjson.loads(record), source) for ruleset, record, source in rows]

    def ranges(self) -> Iterator[tuple[str, str, str, int, int, str | None, str, str, str, str]]:
        rows = self._db.execute("SELECT registry, block, action, lower(span), upper(span), beneficiary, package_id, sha256, pointer, source FROM ledger_ranges ORDER BY id")
        for row in rows:
            yield (*row[:3], int(row[3]), int(row[4]), *row[5:])

    def integrity(self) -> str:
        return "ok"

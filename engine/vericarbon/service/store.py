"""The service's database: tenants' API keys, submissions and their results, the job queue, webhooks and
their deliveries, and the append-only audit log. One schema in two dialects — SQLite (a file, the embedded
default) and PostgreSQL (a postgresql:// URL) — behind one class; statements are written once with `?`
placeholders.

The queue: a submission is `queued`, then `checking` under a lease (a token and a deadline) held by one
worker, then `done` or `failed`. A worker takes the oldest queued submission, or one whose lease ran out
(its worker died), in one statement (PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never wait on each
other; SQLite: inside BEGIN IMMEDIATE). Only the holder of the current lease can record a result, in the
same transaction as the audit entry and the webhook deliveries: a job whose worker crashed is checked
again, and never recorded twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from vericarbon.errors import InputError
from vericarbon.screening.ledger import is_database_url
from vericarbon.screening.ledger.postgres import migrate

MAX_ATTEMPTS = 3  # a submission whose checking crashed this many times is failed, not retried for ever
DELIVERY_ATTEMPTS = 10  # webhook deliveries: backoff 2, 4, 8 … seconds, capped at an hour
STATUSES = ("queued", "checking", "done", "failed")

_SCHEMA = """
CREATE TABLE api_keys (
    hash TEXT PRIMARY KEY,                 -- sha256 of the key: the key itself is shown once and never stored
    registry TEXT NOT NULL,
    proponent TEXT,                        -- null: the registry's own key, which sees all its submissions
    created {real} NOT NULL
);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    registry TEXT NOT NULL,
    proponent TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'checking', 'done', 'failed')),
    received {real} NOT NULL,
    name TEXT NOT NULL,                    -- a file name whose suffix says how to read the body
    body {blob} NOT NULL,
    sha256 TEXT NOT NULL,
    package_id TEXT,
    kind TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease TEXT,
    lease_until {real},
    decided {real},
    verdict TEXT,
    summary TEXT,                          -- JSON: counts, decision, ledger conflicts
    result TEXT,                           -- the canonical JSON result
    error TEXT
);
CREATE INDEX submissions_queue ON submissions (status, received);
CREATE INDEX submissions_by_owner ON submissions (registry, proponent, received);
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    registry TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created {real} NOT NULL
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    webhook TEXT NOT NULL REFERENCES webhooks (id),
    submission TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at {real} NOT NULL,
    delivered {real},
    last_error TEXT,
    UNIQUE (webhook, submission)
);
CREATE INDEX deliveries_due ON deliveries (delivered, next_at);
CREATE TABLE audit (
    seq {serial} PRIMARY KEY,
    at {real} NOT NULL,
    registry TEXT,
    actor TEXT NOT NULL,                   -- a key's owner ("ICR", "ICR/Acme Ltd"), a worker, or "anonymous"
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT
)
"""
_APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    ],
}
# Each dialect's schema versions, in order: a new version is appended, never an old one edited.
MIGRATIONS = {
    dialect: [
        [s for s in _SCHEMA.format(blob=blob, serial=serial, real=real).split(";") if s.strip()] + _APPEND_ONLY[dialect],
        # 2: leases that ran out are found by an index, so taking a job stays cheap however many are done
        ["CREATE INDEX submissions_leases ON submissions (status, lease_until)"],
    ]
    for dialect, blob, serial, real in (("sqlite", "BLOB", "INTEGER", "REAL"), ("postgresql", "BYTEA", "BIGSERIAL", "DOUBLE PRECISION"))
}


@dataclass(frozen=True)
class Identity:
    """Who a request comes from: a registry, or one proponent of it."""

    registry: str
    proponent: str | None

    @property
    def name(self) -> str:
        return self.registry if self.proponent is None else f"{self.registry}/{self.proponent}"


@dataclass(frozen=True)
class Job:
    id: str
    registry: str
    name: str
    body: bytes
    sha256: str
    lease: str
    attempts: int
    proponent: str | None = None  # None: the registry's own key submitted it


def registry_conflicts(summary: dict) -> list[dict]:
    """A decided submission's ledger findings as its registry sees them; the proponent's view
    (`ledger_conflicts`) for a summary written before the two were kept."""
    return summary.get("registry_ledger_conflicts", summary.get("ledger_conflicts", []))


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """The service database at `location`: a SQLite file or a postgresql:// URL. One connection per
    thread (the web process answers requests from a thread pool)."""

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self.dialect = "postgresql" if is_database_url(location) else "sqlite"
        self._local = threading.local()
        self._migrate()

    # -- connections

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.dialect == "postgresql":
                try:
                    import psycopg
                except ImportError:
                    raise InputError(self.location, "a PostgreSQL database needs psycopg: pip install 'vericarbon[serve]'") from None
                try:
                    connection = psycopg.connect(self.location, autocommit=True)
                except psycopg.Error as error:
                    raise InputError(self.location, f"cannot be reached ({error})") from None
            else:
                try:
                    connection = sqlite3.connect(self.location, timeout=60, isolation_level=None, check_same_thread=False)
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute("PRAGMA synchronous=NORMAL")
                except sqlite3.Error as error:
                    raise InputError(self.location, f"cannot be used as the service database ({error})") from None
            self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator["_Statements"]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        connection = self._connection()
        if self.dialect == "postgresql":
            with connection.transaction():
                yield _Statements(connection, self.dialect)
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _Statements(connection, self.dialect)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _migrate(self) -> None:
        """Apply the versions of the schema this database lacks (MIGRATIONS), recorded in
        vericarbon_migrations beside the ledger's; processes starting together apply each once."""
        if self.dialect == "postgresql":
            migrate(self._connection(), "service", MIGRATIONS["postgresql"])
            return
        with self.transaction() as db:  # BEGIN IMMEDIATE: one process at a time
            db.execute("CREATE TABLE IF NOT EXISTS vericarbon_migrations (name TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (name, version))")
            done = {row[0] for row in db.all("SELECT version FROM vericarbon_migrations WHERE name = 'service'")}
            for version, statements in enumerate(MIGRATIONS["sqlite"], 1):
                if version not in done:
                    for statement in statements:
                        db.execute(statement)
                    db.execute("INSERT INTO vericarbon_migrations (name, version) VALUES ('service', ?)", (version,))

    # -- keys

    def create_key(self, registry: str, proponent: str | None = None) -> str:
        """A new API key for a registry (proponent None) or one of its proponents; only its hash is kept."""
        key = "vc_" + secrets.token_urlsafe(32)
        with self.transaction() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?)", (key_hash(key), registry, proponent, time.time()))
            db.audit(Identity(registry, None), "key created", proponent or registry, None)
        return key

    def revoke_key(self, key: str) -> Identity | None:
        """Remove a key (given whole: only its hash is stored); who it belonged to, or None if unknown."""
        with self.transaction() as db:
            row = db.one("DELETE FROM api_keys WHERE hash = ? RETURNING registry, proponent", (key_hash(key),))
            if row is not None:
                db.audit(Identity(row[0], None), "key revoked", row[1] or row[0], None)
        return Identity(*row) if row else None

    def keys(self) -> list[dict]:
        """Every key's owner and creation time, with the start of its hash to tell keys apart."""
        rows = self.read_all("SELECT registry, proponent, created, hash FROM api_keys ORDER BY registry, proponent, created")
        return [{"registry": r, "proponent": p, "created": c, "hash": h[:12]} for r, p, c, h in rows]

    def identity(self, key: str) -> Identity | None:
        row = self.read_one("SELECT registry, proponent FROM api_keys WHERE hash = ?", (key_hash(key),))
        return Identity(*row) if row else None

    # -- submissions

    def submit(self, who: Identity, name: str, body: bytes, package_id: str | None, kind: str | None) -> str:
        submission = uuid.uuid4().hex
        with self.transaction() as db:
            db.execute("INSERT INTO submissions (id, registry, proponent, status, received, name, body, sha256, package_id, kind) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                       (submission, who.registry, who.proponent, time.time(), name, body, hashlib.sha256(body).hexdigest(), package_id, kind))
            db.audit(who, "submitted", submission, json.dumps({"package_id": package_id, "kind": kind, "bytes": len(body)}))
        return submission

    def submission(self, who: Identity, submission: str, columns: str = "id, status, received, decided, package_id, kind, verdict, summary, error, attempts") -> dict | None:
        """A submission the caller may see: its registry's, and for a proponent only its own."""
        names = [c.strip() for c in columns.split(",")]
        row = self.read_one(f"SELECT {columns} FROM submissions WHERE id = ? AND registry = ? AND (CAST(? AS TEXT) IS NULL OR proponent = ?)", (submission, who.registry, who.proponent, who.proponent))
        return dict(zip(names, row)) if row else None

    def conflicts(self, who: Identity) -> list[dict]:
        """The ledger findings of the registry's decided submissions, newest first, as the registry may see
        them (vericarbon.service.worker.tenant_view)."""
        found = []
        for submission, package_id, summary in self.read_all("SELECT id, package_id, summary FROM submissions WHERE registry = ? AND status = 'done' ORDER BY decided DESC", (who.registry,)):
            for conflict in registry_conflicts(json.loads(summary or "{}")):
                found.append({"submission": submission, "package_id": package_id, **conflict})
        return found

    def owners(self, submissions: set[str]) -> dict[str, Identity]:
        """Who submitted each of these submissions (those that exist)."""
        found = {}
        for submission in submissions:  # a finding names few: one indexed look-up each
            row = self.read_one("SELECT registry, proponent FROM submissions WHERE id = ?", (submission,))
            if row:
                found[submission] = Identity(row[0], row[1])
        return found

    # -- the queue

    def take(self, worker: str, lease_seconds: float) -> Job | None:
        """The oldest queued submission, or one whose lease ran out, now leased to `worker`."""
        now, lease = time.time(), uuid.uuid4().hex
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        with self.transaction() as db:  # each a slice of an index: a queue of millions done costs no more
            row = db.one(f"SELECT id FROM submissions WHERE status = 'queued' ORDER BY received LIMIT 1{lock}")
            if row is None:
                row = db.one(f"SELECT id FROM submissions WHERE status = 'checking' AND lease_until < ? ORDER BY lease_until LIMIT 1{lock}", (now,))
            if row is None:
                return None
            taken = db.one("UPDATE submissions SET status = 'checking', lease = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?"
                           " RETURNING id, registry, name, body, sha256, attempts, proponent", (lease, now + lease_seconds, row[0]))
            if taken[5] > MAX_ATTEMPTS:
                db.execute("UPDATE submissions SET status = 'failed', decided = ?, error = ?, lease = NULL WHERE id = ?",
                           (now, f"checking stopped {MAX_ATTEMPTS} times without a result (a worker crashed or ran out of time each time)", row[0]))
                db.audit(Identity(taken[1], None), "failed", row[0], f"worker {worker}: too many attempts", actor=f"worker {worker}")
                return None
            db.audit(Identity(taken[1], None), "checking", row[0], f"attempt {taken[5]}", actor=f"worker {worker}")
        return Job(taken[0], taken[1], taken[2], bytes(taken[3]), taken[4], lease, taken[5], taken[6])

    def finish(self, job: Job, worker: str, verdict: str | None, summary: dict, result: str | None, error: str | None) -> bool:
        """Record a job's outcome if `job` still holds its lease, with its audit entry and a delivery to each
        of the registry's webhooks, in one transaction. False: the lease was lost, nothing was recorded."""
        now = time.time()
        status = "failed" if error else "done"
        with self.transaction() as db:
            updated = db.one("UPDATE submissions SET status = ?, decided = ?, verdict = ?, summary = ?, result = ?, error = ?, lease = NULL, lease_until = NULL"
                             " WHERE id = ? AND lease = ? AND status = 'checking' RETURNING package_id, proponent",
                             (status, now, verdict, json.dumps(summary, sort_keys=True), result, error, job.id, job.lease))
            if updated is None:
                return False
            db.audit(Identity(job.registry, None), "decided" if status == "done" else "failed", job.id,
                     json.dumps({"verdict": verdict, "decision": summary.get("decision"), "error": error}), actor=f"worker {worker}")
            event = json.dumps({"event": "submission.decided", "submission": job.id, "package_id": updated[0], "proponent": updated[1], "status": status,
                                "verdict": verdict, "decision": summary.get("decision"), "counts": summary.get("counts"), "ledger_conflicts": len(summary.get("ledger_conflicts", [])),
                                "error": error, "decided": now}, sort_keys=True)
            for (hook,) in db.all("SELECT id FROM webhooks WHERE registry = ?", (job.registry,)):
                db.execute("INSERT INTO deliveries (id, webhook, submission, body, next_at) VALUES (?, ?, ?, ?, ?)", (uuid.uuid4().hex, hook, job.id, event, now))
        return True

    # -- webhooks

    def add_webhook(self, who: Identity, url: str) -> tuple[str, str]:
        hook, secret = uuid.uuid4().hex, secrets.token_hex(32)
        with self.transaction() as db:
            db.execute("INSERT INTO webhooks VALUES (?, ?, ?, ?, ?)", (hook, who.registry, url, secret, time.time()))
            db.audit(who, "webhook added", hook, url)
        return hook, secret

    def due_deliveries(self, limit: int = 20) -> list[tuple[str, str, str, str, int]]:
        """(delivery, url, secret, body, attempts) of deliveries due now."""
        return self.read_all("SELECT d.id, w.url, w.secret, d.body, d.attempts FROM deliveries d JOIN webhooks w ON w.id = d.webhook"
                             " WHERE d.delivered IS NULL AND d.attempts < ? AND d.next_at <= ? ORDER BY d.next_at LIMIT ?", (DELIVERY_ATTEMPTS, time.time(), limit))

    def claim_delivery(self, delivery: str, attempts: int, hold_seconds: float) -> bool:
        """Push a due delivery's next attempt forward before sending it, so one worker sends it at a time."""
        with self.transaction() as db:
            return db.one("UPDATE deliveries SET next_at = ? WHERE id = ? AND attempts = ? AND delivered IS NULL AND next_at <= ? RETURNING id",
                          (time.time() + hold_seconds, delivery, attempts, time.time())) is not None

    def delivered(self, delivery: str, error: str | None) -> None:
        with self.transaction() as db:
            if error is None:
                db.execute("UPDATE deliveries SET delivered = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?", (time.time(), delivery))
            else:
                row = db.one("UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE id = ? RETURNING attempts", (error[:500], delivery))
                db.execute("UPDATE deliveries SET next_at = ? WHERE id = ?", (time.time() + min(2 ** row[0], 3600), delivery))

    # -- the audit log

    def audit(self, who: Identity | None, action: str, subject: str | None, detail: str | None) -> None:
        with self.transaction() as db:
            db.audit(who, action, subject, detail)

    def audit_log(self, who: Identity, limit: int = 1000) -> list[dict]:
        rows = self.read_all("SELECT seq, at, actor, action, subject, detail FROM audit WHERE registry = ? ORDER BY seq DESC LIMIT ?", (who.registry, limit))
        return [dict(zip(("seq", "at", "actor", "action", "subject", "detail"), row)) for row in rows]

    # -- reads outside a transaction

    def read_one(self, sql: str, parameters: tuple = ()) -> Any:
        return _Statements(self._connection(), self.dialect).one(sql, parameters)

    def read_all(self, sql: str, parameters: tuple = ()) -> list:
        return _Statements(self._connection(), self.dialect).all(sql, parameters)


class _Statements:
    """Statements on one connection, written with `?` placeholders whatever the dialect."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection, self.dialect = connection, dialect

    def execute(self, sql: str, parameters: tuple = ()) -> Any:
        if self.dialect == "postgresql":
            return self.connection.execute(sql.replace("?", "%s"), parameters)
        return self.connection.execute(sql, parameters)

    def one(self, sql: str, parameters: tuple = ()) -> Any:
        return self.execute(sql, parameters).fetchone()

    def all(self, sql: str, parameters: tuple = ()) -> list:
        return self.execute(sql, parameters).fetchall()

    def audit(self, who: Identity | None, action: str, subject: str | None, detail: str | None, actor: str | None = None) -> None:
        self.execute("INSERT INTO audit (at, registry, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
                     (time.time(), who.registry if who else None, actor or (who.name if who else "anonymous"), action, subject, detail))

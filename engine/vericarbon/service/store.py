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
import re
import secrets
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from vericarbon.errors import InputError
from vericarbon.screening.ledger import is_database_url
from vericarbon.screening.ledger.postgres import migrate
from vericarbon.service.audit import GENESIS, entry_hash
from vericarbon.service.audit import verify as verify_chain

MAX_ATTEMPTS = 3  # a submission whose checking crashed this many times is failed, not retried for ever
DELIVERY_ATTEMPTS = 10  # webhook deliveries: backoff 2, 4, 8 … seconds, capped at an hour
STATUSES = ("queued", "checking", "done", "failed")
CONNECT_BACKOFF = (0.2, 0.5, 1.0, None)  # pauses between tries to connect; None: give up (Unavailable)


class Unavailable(InputError):
    """The database cannot be used now (down, restarting, its disk full), with what it said: the API
    answers 503 with it, a worker waits and tries again, a command prints it."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__("the service database", cause)

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
        # 3: the audit log is hash-chained (audit.py): each entry holds the previous entry's hash and its own
        ["ALTER TABLE audit ADD COLUMN prev_hash TEXT", "ALTER TABLE audit ADD COLUMN hash TEXT"],
    ]
    for dialect, blob, serial, real in (("sqlite", "BLOB", "INTEGER", "REAL"), ("postgresql", "BYTEA", "BIGSERIAL", "DOUBLE PRECISION"))
}


class Backoff:
    """Pauses that double from 0.1 s to at most 10 s, back to the start once things work again."""

    def __init__(self) -> None:
        self.pause = 0.1

    def wait(self) -> None:
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, 10.0)

    def reset(self) -> None:
        self.pause = 0.1


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


def shown_location(location: str) -> str:
    """A database's location to show in logs and messages: a URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", location)


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
            for pause in CONNECT_BACKOFF:  # a server restarting takes a moment to accept connections again
                try:
                    connection = self._connect()
                    break
                except Unavailable:
                    if pause is None:
                        raise
                    time.sleep(pause)
            self._local.connection = connection
        return connection

    def _connect(self) -> Any:
        if self.dialect == "postgresql":
            try:
                import psycopg
            except ImportError:
                raise InputError(self.location, "a PostgreSQL database needs psycopg: pip install 'vericarbon[serve]'") from None
            try:
                return psycopg.connect(self.location, autocommit=True, connect_timeout=5)
            except psycopg.Error as error:
                raise Unavailable(f"the database cannot be reached ({error})".strip()) from None
        try:
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)  # the default lives in the user's data folder, made on first use
            connection = sqlite3.connect(self.location, timeout=60, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as error:
            raise InputError(self.location, f"cannot be used as the service database ({error})") from None
        return connection

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """A database fault (a server gone or restarted, a full disk) as Unavailable with its cause; the
        connection is dropped, so the next use connects afresh."""
        try:
            yield
        except self.faults as error:
            self.close()
            raise Unavailable(" ".join(str(error).split()) or type(error).__name__) from error

    @property
    def faults(self) -> tuple[type[Exception], ...]:
        if self.dialect == "postgresql":
            import psycopg

            return (psycopg.OperationalError, psycopg.InterfaceError)
        return (sqlite3.OperationalError,)

    @contextlib.contextmanager
    def transaction(self) -> Iterator["_Statements"]:
        """One transaction: committed when the block ends, rolled back if it raises. Not retried on a fault
        (a commit whose answer was lost may have happened): the caller decides (503, or the worker's backoff)."""
        with self._failures():
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
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):  # a connection the server dropped may fail to close
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

    def due_deliveries(self, per_registry: int) -> list[tuple[str, str, str, str, str, int]]:
        """(delivery, registry, url, secret, body, attempts) of deliveries due now, the `per_registry` oldest
        of each registry: a registry with a backlog does not fill the list and hide the others'."""
        return self.read_all("SELECT id, registry, url, secret, body, attempts FROM (SELECT d.id, w.registry, w.url, w.secret, d.body, d.attempts, d.next_at,"
                             " ROW_NUMBER() OVER (PARTITION BY w.registry ORDER BY d.next_at) AS turn FROM deliveries d JOIN webhooks w ON w.id = d.webhook"
                             " WHERE d.delivered IS NULL AND d.attempts < ? AND d.next_at <= ?) due WHERE turn <= ? ORDER BY next_at",
                             (DELIVERY_ATTEMPTS, time.time(), per_registry))

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

    def verify_audit(self) -> dict:
        """The audit log's hash chain checked from its first entry (audit.verify)."""
        return verify_chain(self.read_all("SELECT seq, at, registry, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"))

    def owns_tables(self) -> bool:
        """PostgreSQL: whether this connection's role owns the service's tables, and so could TRUNCATE, DROP or
        ALTER them (the audit log's triggers included). SQLite: a file's writer can do anything; False."""
        if self.dialect != "postgresql":
            return False
        return bool(self.read_one("SELECT count(*) FROM pg_tables WHERE tablename IN ('audit', 'submissions') AND tableowner = current_user")[0])

    def audit_log(self, who: Identity, limit: int = 1000) -> list[dict]:
        rows = self.read_all("SELECT seq, at, actor, action, subject, detail FROM audit WHERE registry = ? ORDER BY seq DESC LIMIT ?", (who.registry, limit))
        return [dict(zip(("seq", "at", "actor", "action", "subject", "detail"), row)) for row in rows]

    # -- reads outside a transaction: retried once on a fresh connection (a read is safe to repeat, and
    # the first statement after a server restart finds the old connection broken)

    def read_one(self, sql: str, parameters: tuple = ()) -> Any:
        return self._read(lambda statements: statements.one(sql, parameters))

    def read_all(self, sql: str, parameters: tuple = ()) -> list:
        return self._read(lambda statements: statements.all(sql, parameters))

    def _read(self, query: Callable[["_Statements"], Any]) -> Any:
        try:
            with self._failures():
                return query(_Statements(self._connection(), self.dialect))
        except Unavailable:
            with self._failures():
                return query(_Statements(self._connection(), self.dialect))


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
        """Append an entry to the hash chain. Writers take turns (SQLite: BEGIN IMMEDIATE already; PostgreSQL:
        a lock held to the commit), so each entry chains to the one committed before it."""
        if self.dialect == "postgresql":
            self.execute("SELECT pg_advisory_xact_lock(hashtext('vericarbon audit'))")
        last = self.one("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
        fields = (time.time(), who.registry if who else None, actor or (who.name if who else "anonymous"), action, subject, detail)
        previous = last[0] if last and last[0] else GENESIS
        self.execute("INSERT INTO audit (at, registry, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (*fields, previous, entry_hash(previous, *fields)))

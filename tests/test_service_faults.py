"""The service through database faults: a full disk is a 503 that says so and is over once space returns;
a PostgreSQL server that drops every connection (as a restart does) is reconnected to by the API and the
workers; queued work is decided after the outage, none lost and none decided twice."""

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("starlette")
from test_screen import inventory  # noqa: E402
from test_service import _submit, work  # noqa: E402

from vericarbon.service import worker  # noqa: E402
from vericarbon.service.store import Store, Unavailable  # noqa: E402


def _decided(store, count, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if store.read_one("SELECT count(*) FROM submissions WHERE status = 'done'")[0] >= count:
            return True
        time.sleep(0.1)
    return False


def test_a_full_disk_is_a_503_with_its_cause_and_is_over_when_space_returns(tmp_path, monkeypatch):
    """The disk is full as SQLite sees it: PRAGMA max_page_count on every connection (a small tmpfs gives
    the same 'database or disk is full'; this needs no mount)."""
    from starlette.testclient import TestClient

    from vericarbon.service.app import create_app

    location = str(tmp_path / "service.sqlite")
    room, opened = {"pages": None}, []
    connect = Store._connect

    def limited(self):
        connection = connect(self)
        if room["pages"] is not None:
            connection.execute(f"PRAGMA max_page_count = {room['pages']}")
        opened.append(connection)
        return connection

    monkeypatch.setattr(Store, "_connect", limited)
    app = create_app(location)
    store = app.state.store
    key = store.create_key("ICR", "Acme Ltd")
    with TestClient(app) as client:
        room["pages"] = store.read_one("PRAGMA page_count")[0]
        store.close()  # the next connection has no room
        refused = _submit(client, key)
        assert refused.status_code == 503 and "database or disk is full" in refused.json()["error"], refused.json()
        assert refused.headers["Retry-After"] and client.get("/healthz").status_code == 200
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503 and "database or disk is full" in not_ready.json()["database_error"]
        room["pages"] = None
        for connection in opened:  # space returns (the simulated limit lives in each connection still open)
            with contextlib.suppress(sqlite3.ProgrammingError):
                connection.execute("PRAGMA max_page_count = 1073741823")
        accepted = _submit(client, key)
        assert accepted.status_code == 202
    assert work(location).id == accepted.json()["id"]
    assert store.read_one("SELECT count(*), min(status) FROM submissions") == (1, "done")


def test_a_worker_waits_out_an_outage_and_decides_the_queue_after(tmp_path, monkeypatch):
    location = str(tmp_path / "service.sqlite")
    store = Store(location)
    who = store.identity(store.create_key("ICR", "Acme Ltd"))
    ids = [store.submit(who, "p.json", json.dumps(inventory(f"P-{n}", [(n * 1000 + 1, n * 1000 + 9)])).encode(), f"P-{n}", "ghg-inventory") for n in range(3)]
    take, outage = Store.take, {"left": 4}

    def failing(self, *args):
        if outage["left"]:
            outage["left"] -= 1
            raise Unavailable("database or disk is full")
        return take(self, *args)

    monkeypatch.setattr(Store, "take", failing)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run(location, stop_after=6)  # the worker exited at the first fault before
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert outage["left"] == 0
    assert store.read_one("SELECT count(*) FROM submissions WHERE status = 'done'")[0] == len(ids)
    assert store.read_one("SELECT count(*) FROM audit WHERE action = 'decided'")[0] == len(ids)


def test_the_api_and_a_worker_reconnect_after_postgresql_drops_every_connection(postgres_url):
    """As `pg_ctl restart -m fast` does to its clients: every other backend terminated."""
    import psycopg
    from starlette.testclient import TestClient

    from vericarbon.service.app import create_app

    app = create_app(postgres_url)
    store = app.state.store
    key = store.create_key("ICR", "Acme Ltd")
    process = subprocess.Popen([sys.executable, "-m", "vericarbon", "worker", "--database", postgres_url], stderr=subprocess.PIPE, text=True)
    try:
        with TestClient(app) as client:
            first = _submit(client, key, json.dumps(inventory("P-1", [(1, 9)])).encode())
            assert first.status_code == 202 and _decided(store, 1)
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            second = _submit(client, key, json.dumps(inventory("P-2", [(11, 19)])).encode())
            assert second.status_code == 202, second.json()
            assert client.get("/readyz").json()["database_reachable"] is True
            assert _decided(store, 2), "the worker did not come back"
        assert process.poll() is None
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert store.read_one("SELECT count(*) FROM audit WHERE action = 'decided'")[0] == 2

"""`vericarbon serve` as a process tree: it supervises its workers and delivery process (a killed child is
reaped and replaced), SIGTERM stops the whole tree, children exit when serve is killed, a job over its time
limit is failed with the reason (once), and /readyz tells the truth about its children."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("starlette")
from test_service import CHECKER, _submit, service, location  # noqa: E402,F401 (fixtures)

from vericarbon.service import worker  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _gone(pid: int) -> bool:
    return _state(pid) in (None, "Z")


def _wait(condition, seconds=60.0, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def _ready(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:  # not up yet, or 503: not ready
        return None


@pytest.fixture
def served(tmp_path):
    database, port = str(tmp_path / "service.sqlite"), _free_port()
    process = subprocess.Popen([sys.executable, "-m", "vericarbon", "serve", "--database", database, "--port", str(port), "--workers", "2", "--lease", "10"],
                               stderr=open(tmp_path / "serve.log", "w"))
    try:
        ready = _wait(lambda: _ready(port))
        assert ready["processes"] == {"worker": {"running": 2, "expected": 2}, "delivery": {"running": 1, "expected": 1}}, ready
        yield process, port, database, tmp_path / "serve.log"
    finally:
        for child in _children(process.pid):
            os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait()


def test_sigterm_stops_serve_and_all_its_children(served):
    process, port, database, log = served
    children = _children(process.pid)
    assert len(children) == 3
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    _wait(lambda: all(_gone(child) for child in children), 20)
    text = log.read_text()
    assert "vericarbon serve on http://127.0.0.1:" in text and f"database {database}" in text and "stopped" in text
    assert '"GET /readyz HTTP/1.1" 200' in text  # requests are logged


def test_children_exit_when_serve_is_killed(served):
    process, port, database, log = served
    children = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    _wait(lambda: all(_gone(child) for child in children), 20)  # none left draining the queue with no API


def test_a_killed_worker_is_reaped_and_replaced(served):
    process, port, database, log = served
    before = _children(process.pid)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: _state(victim) is None, 10)  # reaped: no zombie left
    after = _wait(lambda: (lambda now: now if len(now) == 3 and victim not in now else None)(_children(process.pid)), 20)
    assert victim not in after
    ready = _wait(lambda: (lambda r: r if r and r["ok"] else None)(_ready(port)), 20)
    assert ready["processes"]["worker"] == {"running": 2, "expected": 2}
    assert "exited (-9); starting another" in log.read_text()


def test_a_job_over_its_time_limit_is_failed_with_the_reason_once(service, monkeypatch):
    client, store, keys, location = service
    submission = _submit(client, keys["acme"]).json()["id"]
    monkeypatch.setattr(worker, "check", lambda *a: time.sleep(30))
    job = store.take("w", 60)
    started = time.monotonic()
    outcome = worker.timed_check(job, CHECKER, None, store, 0.3)
    assert time.monotonic() - started < 5 and outcome == (None, {}, None, "checking ran over its time limit of 0.3 s")
    assert store.finish(job, "w", *outcome) is True
    assert store.finish(job, "w", *outcome) is False  # once
    status = client.get(f"/v1/submissions/{submission}", headers={"Authorization": f"Bearer {keys['acme']}"}).json()
    assert status["status"] == "failed" and "time limit" in status["error"]
    assert store.read_one("SELECT count(*) FROM audit WHERE action IN ('decided', 'failed') AND subject = ?", (submission,))[0] == 1
    assert store.take("w", 60) is None  # not queued again


def test_a_job_time_limit_as_long_as_the_lease_is_refused(tmp_path):
    with pytest.raises(Exception, match="shorter than the lease"):
        worker.run(str(tmp_path / "s.sqlite"), lease_seconds=10, job_seconds=10)


def test_liveness_does_not_need_the_database_and_readiness_says_what_waits(service):
    client, store, keys, location = service
    assert client.get("/healthz").json()["ok"] is True
    assert client.get("/readyz").json()["oldest_queued_seconds"] is None
    _submit(client, keys["acme"])
    time.sleep(0.05)
    ready = client.get("/readyz").json()
    assert ready["ok"] is True and ready["database_reachable"] is True and ready["oldest_queued_seconds"] > 0

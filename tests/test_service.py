"""The intake service on both databases (SQLite, and PostgreSQL when the test cluster is up): tenant
isolation, bad input, a submission's way through a worker, signed webhooks, a crashed worker's job, the
ledger across submissions, the append-only audit log and the OpenAPI document."""

import copy
import datetime as dt
import hashlib
import hmac
import http.server
import importlib.util
import json
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")  # starlette 1.x would have httpx2; httpx still works
from starlette.testclient import TestClient  # noqa: E402
from test_screen import inventory  # noqa: E402

from vericarbon.evidence.package import SchemaStore  # noqa: E402
from vericarbon.screening.ledger import open_ledger  # noqa: E402
from vericarbon.service import delivery, worker  # noqa: E402
from vericarbon.service.app import create_app  # noqa: E402
from vericarbon.service.openapi import document  # noqa: E402
from vericarbon.service.store import Store  # noqa: E402
from vericarbon.service.webhooks import Policy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "evidence_samples" / "inventory-defects.json").read_bytes()
CHECKER = worker.IntakeChecker(SchemaStore())
LOCAL = Policy(frozenset({"127.0.0.1"}))  # as `serve --webhook-allow-http 127.0.0.1`: the tests' receiver is on this machine


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "service.sqlite")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def service(location):
    app = create_app(location, max_body=200_000, webhook_policy=LOCAL)
    store: Store = app.state.store
    keys = {
        "registry": store.create_key("ICR"),
        "acme": store.create_key("ICR", "Acme Ltd"),
        "other": store.create_key("ICR", "Other plc"),
        "elsewhere": store.create_key("GS"),
    }
    with TestClient(app) as client:
        yield client, store, keys, location


def _as(key):
    return {"Authorization": f"Bearer {key}"}


def _submit(client, key, body=SAMPLE, kind="application/json", name="package"):
    return client.post(f"/v1/submissions?name={name}", content=body, headers={**_as(key), "Content-Type": kind})


def work(location, lease=60.0):
    """One worker step, in process: take a job, check it, record it. The job, or None."""
    store = Store(location)
    with open_ledger(location) as ledger:
        job = store.take("test", lease)
        if job is not None:
            store.finish(job, "test", *worker.check(job, CHECKER, ledger, store))
    return job


def test_a_submission_goes_through_a_worker_to_a_decision_and_a_report(service):
    client, store, keys, location = service
    response = _submit(client, keys["acme"])
    assert response.status_code == 202 and response.json()["status"] == "queued"
    submission = response.json()["id"]
    assert client.get(f"/v1/submissions/{submission}", headers=_as(keys["acme"])).json()["status"] == "queued"
    assert client.get(f"/v1/submissions/{submission}/result", headers=_as(keys["acme"])).status_code == 409
    assert work(location).id == submission
    status = client.get(f"/v1/submissions/{submission}", headers=_as(keys["acme"])).json()
    assert (status["status"], status["verdict"], status["decision"], status["package_id"]) == ("done", "nonconformities", "return_to_proponent", "NORTHWIND-2024-DEFECTS")
    assert status["counts"]["fail"] == 5
    assert [item["number"] for item in status["to_fix"]] == list(range(1, len(status["to_fix"]) + 1)) and len(status["to_fix"]) >= 5
    assert "INV-LINE-ARITH" in {item["rule"] for item in status["to_fix"]} and all(item["fix"] for item in status["to_fix"])
    received, decided = dt.datetime.fromisoformat(status["received"]), dt.datetime.fromisoformat(status["decided"])
    assert received.utcoffset() == dt.timedelta(0) and received <= decided  # ISO 8601, UTC
    result = client.get(f"/v1/submissions/{submission}/result", headers=_as(keys["acme"])).json()
    assert result["verdict"] == "nonconformities" and result["evidence"]["sha256"] == hashlib.sha256(SAMPLE).hexdigest()
    report = client.get(f"/v1/submissions/{submission}/report", headers=_as(keys["registry"]))
    assert report.status_code == 200 and "Return to proponent" in report.text and "INV-LINE-ARITH" in report.text
    pdf = client.get(f"/v1/submissions/{submission}/report?format=pdf", headers=_as(keys["acme"]))
    if importlib.util.find_spec("weasyprint"):
        assert (pdf.status_code, pdf.headers["content-type"], pdf.content[:5]) == (200, "application/pdf", b"%PDF-")
    else:
        assert pdf.status_code == 406 and "pdf extra" in pdf.json()["error"]
    assert client.get(f"/v1/submissions/{submission}/report?format=docx", headers=_as(keys["acme"])).status_code == 400


def test_each_key_sees_only_what_its_owner_may(service):
    client, store, keys, location = service
    submission = _submit(client, keys["acme"]).json()["id"]
    seen = {who: client.get(f"/v1/submissions/{submission}", headers=_as(key)).status_code for who, key in keys.items()}
    assert seen == {"registry": 200, "acme": 200, "other": 404, "elsewhere": 404}
    assert client.get(f"/v1/submissions/{submission}").status_code == 401
    assert client.get(f"/v1/submissions/{submission}", headers=_as("vc_not-a-key")).status_code == 401
    assert client.get("/v1/ledger/conflicts", headers=_as(keys["acme"])).status_code == 403
    assert client.get("/v1/ledger/conflicts", headers=_as(keys["registry"])).status_code == 200
    assert client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=_as(keys["acme"])).status_code == 403


ALIAS_BOMB = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n".encode() for i in range(8))


@pytest.mark.parametrize(
    ("body", "kind", "status", "words"),
    [
        (b'{"kind": "ghg-inventory"', "application/json", 422, "malformed JSON"),
        (b'{"kind": "ghg-inventory", "schema_version": "1.0"}', "application/json", 422, "required property"),
        (b"[" * 5000, "application/json", 422, "malformed JSON"),
        (ALIAS_BOMB, "application/yaml", 422, "alias"),
        (b"PK\x03\x04 not a workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 422, "workbook"),
        (b"x" * 300_000, "application/json", 413, "at most 200000"),
        (b"<xml/>", "application/xml", 415, "JSON, YAML or a filled workbook"),
    ],
)
def test_bad_input_gets_a_4xx_with_the_clis_words_and_queues_nothing(service, body, kind, status, words):
    client, store, keys, location = service
    response = _submit(client, keys["acme"], body, kind)
    assert response.status_code == status and words in response.json()["error"], response.json()
    assert store.read_one("SELECT count(*) FROM submissions")[0] == 0


def test_overlapping_credits_across_submissions_are_found_and_returned(service):
    client, store, keys, location = service
    first = _submit(client, keys["acme"], json.dumps(inventory("P-A", [(1, 100)])).encode()).json()["id"]
    second = _submit(client, keys["other"], json.dumps(inventory("P-B", [(50, 60)], beneficiary="Other plc")).encode()).json()["id"]
    work(location), work(location)
    assert client.get(f"/v1/submissions/{first}", headers=_as(keys["acme"])).json()["ledger_conflicts"] == []
    later = client.get(f"/v1/submissions/{second}", headers=_as(keys["other"])).json()
    assert [c["kind"] for c in later["ledger_conflicts"]] == ["retired_for_two_beneficiaries"] and later["decision"] == "return_to_proponent"
    conflicts = client.get("/v1/ledger/conflicts", headers=_as(keys["registry"])).json()["conflicts"]
    assert [(c["submission"], c["other"]["package_id"]) for c in conflicts] == [(second, "P-A")]


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200
    location = ""  # where a 3xx points

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        if type(self).location:
            self.send_header("Location", type(self).location)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.status, _Receiver.location = [], 200, ""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_decisions_reach_webhooks_signed_and_a_failed_delivery_is_retried_with_backoff(service, receiver):
    client, store, keys, location = service
    server, url = receiver
    hook = client.post("/v1/webhooks", json={"url": url}, headers=_as(keys["registry"])).json()
    _Receiver.status = 500  # the subscriber is down at first
    submission = _submit(client, keys["acme"]).json()["id"]
    work(location)
    assert delivery.deliver_due(store, LOCAL) == 1 and len(_Receiver.received) == 1
    attempts, next_at = store.read_one("SELECT attempts, next_at FROM deliveries")
    assert attempts == 1 and next_at > time.time() + 1  # backed off
    assert delivery.deliver_due(store, LOCAL) == 0  # not due yet
    _Receiver.status = 200
    store_db = store.transaction()
    with store_db as db:
        db.execute("UPDATE deliveries SET next_at = 0")  # time passes
    assert delivery.deliver_due(store, LOCAL) == 1
    headers, body = _Receiver.received[-1]
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Vericarbon-Signature"] == expected
    event = json.loads(body)
    assert (event["event"], event["submission"], event["decision"], event["proponent"]) == ("submission.decided", submission, "return_to_proponent", "Acme Ltd")
    assert store.read_one("SELECT count(*) FROM deliveries WHERE delivered IS NOT NULL")[0] == 1
    assert delivery.deliver_due(store, LOCAL) == 0  # delivered once


def test_a_crashed_workers_job_is_checked_again_and_recorded_once(service):
    client, store, keys, location = service
    submission = _submit(client, keys["acme"], json.dumps(inventory("P-A", [(1, 100)])).encode()).json()["id"]
    client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=_as(keys["registry"]))
    crashed = store.take("crashed worker", lease_seconds=0.2)  # taken, then the worker dies: no finish
    assert crashed.id == submission and store.take("another", 60) is None  # leased: no one else takes it
    time.sleep(0.3)
    retried = work(location)
    assert retried.id == submission and retried.attempts == 2
    assert store.finish(crashed, "crashed worker", "no_nonconformity", {}, "{}", None) is False  # a late result of the lost lease is refused
    row = store.read_one("SELECT status, attempts FROM submissions WHERE id = ?", (submission,))
    assert tuple(row) == ("done", 2)
    assert store.read_one("SELECT count(*) FROM deliveries")[0] == 1  # one decision, one delivery
    with open_ledger(location) as ledger:
        assert [r[6] for r in ledger.ranges()] == ["P-A"]  # checked twice, recorded once


def test_a_job_that_keeps_crashing_fails_instead_of_looping(service):
    client, store, keys, location = service
    submission = _submit(client, keys["acme"]).json()["id"]
    for _ in range(3):
        assert store.take("crashing", lease_seconds=0.0) is not None
        time.sleep(0.01)
    assert store.take("crashing", 0.0) is None
    status = client.get(f"/v1/submissions/{submission}", headers=_as(keys["acme"])).json()
    assert status["status"] == "failed" and "3 times" in status["error"]


def test_the_audit_log_records_requests_and_decisions_and_cannot_be_changed(service):
    client, store, keys, location = service
    submission = _submit(client, keys["acme"]).json()["id"]
    work(location)
    client.get(f"/v1/submissions/{submission}", headers=_as(keys["other"]))  # refused: still audited
    entries = client.get("/v1/audit", headers=_as(keys["registry"])).json()["entries"]
    actions = [(e["actor"], e["action"], e["subject"]) for e in entries]
    assert ("ICR/Acme Ltd", "submitted", submission) in actions and ("worker test", "decided", submission) in actions
    assert ("ICR/Other plc", "request", f"GET /v1/submissions/{submission}") in actions
    with pytest.raises(Exception, match="append-only"):
        with store.transaction() as db:
            db.execute("UPDATE audit SET action = 'nothing happened'")
    with pytest.raises(Exception, match="append-only"):
        with store.transaction() as db:
            db.execute("DELETE FROM audit")


def test_health_rulesets_and_the_openapi_document_in_docs_is_current(service):
    client, store, keys, location = service
    assert client.get("/healthz").json()["ok"] is True
    listed = {r["id"] for r in client.get("/v1/rulesets", headers=_as(keys["acme"])).json()["rulesets"]}
    assert {"icr", "iso-14064-3", "iso-14068-1", "inventory-basics"} <= listed
    served = client.get("/openapi.json").json()
    assert served == document()
    on_disk = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert on_disk == json.loads(json.dumps(document())), "docs/openapi.json is stale: vericarbon serve --openapi docs/openapi.json"
    routes = {route.path for route in client.app.routes}
    assert routes == set(served["paths"])


def test_a_real_worker_process_takes_over_when_one_is_killed(location, tmp_path):
    """Two `vericarbon worker` processes; one is killed mid-run; every submission is decided once."""
    import signal
    import subprocess
    import sys

    store = Store(location)
    key = store.create_key("ICR", "Acme Ltd")
    app = create_app(location)
    with TestClient(app) as client:
        ids = [_submit(client, key, json.dumps(inventory(f"P-{n}", [(n * 1000 + 1, n * 1000 + 100)])).encode()).json()["id"] for n in range(30)]
    workers = [subprocess.Popen([sys.executable, "-m", "vericarbon", "worker", "--database", location, "--lease", "2", "--job-timeout", "0"]) for _ in range(2)]
    try:
        deadline = time.time() + 60
        while time.time() < deadline and store.read_one("SELECT count(*) FROM submissions WHERE status = 'done'")[0] < 3:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        while time.time() < deadline and store.read_one("SELECT count(*) FROM submissions WHERE status = 'done'")[0] < len(ids):
            time.sleep(0.1)
    finally:
        for process in workers:
            process.kill()
            process.wait()
    rows = store.read_all("SELECT status, verdict FROM submissions")
    assert [tuple(r) for r in rows] == [("done", "no_nonconformity")] * len(ids) or sorted(r[0] for r in rows) == ["done"] * len(ids)
    with open_ledger(location) as ledger:
        recorded = sorted(r[6] for r in ledger.ranges())
    assert recorded == sorted(f"P-{n}" for n in range(30))  # each once
    assert copy.deepcopy(recorded) == recorded


def test_a_revoked_key_is_refused_and_the_command_line_manages_keys(service, capsys):
    from vericarbon.cli import main

    client, store, keys, location = service
    assert client.get("/v1/rulesets", headers=_as(keys["other"])).status_code == 200
    assert main(["keys", "revoke", "--database", location, "--key", keys["other"]]) == 0
    assert "revoked the key of ICR/Other plc" in capsys.readouterr().out
    assert client.get("/v1/rulesets", headers=_as(keys["other"])).status_code == 401
    assert main(["keys", "revoke", "--database", location, "--key", keys["other"]]) == 2  # already gone
    assert main(["keys", "create", "--database", location, "--registry", "ICR", "--proponent", "New Co"]) == 0
    created = capsys.readouterr().out.strip()
    assert client.get("/v1/rulesets", headers=_as(created)).status_code == 200
    assert main(["keys", "list", "--database", location]) == 0
    listed = capsys.readouterr().out
    assert "ICR\tNew Co" in listed and "Other plc" not in listed and created not in listed


def test_the_schema_is_migrated_version_by_version(location):
    store = Store(location)
    assert sorted(r[0] for r in store.read_all("SELECT version FROM vericarbon_migrations WHERE name = 'service'")) == [1, 2, 3]
    with store.transaction() as db:  # a database left at version 1 by an earlier vericarbon
        db.execute("DROP INDEX submissions_leases")
        db.execute("DELETE FROM vericarbon_migrations WHERE name = 'service' AND version = 2")
    store.close()
    again = Store(location)  # opening it applies version 2, once
    assert sorted(r[0] for r in again.read_all("SELECT version FROM vericarbon_migrations WHERE name = 'service'")) == [1, 2, 3]
    submission = again.submit(again.identity(again.create_key("ICR")), "a.json", b"{}", None, None)
    assert again.take("w", 60).id == submission


def test_an_unknown_key_is_told_apart_from_no_key_and_the_default_database_is_the_users(tmp_path, monkeypatch):
    """A key made in one folder was refused by a server started in another with "an API key is needed",
    although a key was sent: the default database was a file in the working folder."""
    from starlette.testclient import TestClient

    from vericarbon.resources import service_database
    from vericarbon.service.app import create_app

    monkeypatch.delenv("VERICARBON_DATABASE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert service_database() == str(tmp_path / "data" / "vericarbon" / "service.sqlite")
    monkeypatch.setenv("VERICARBON_DATABASE", str(tmp_path / "chosen.sqlite"))
    assert service_database() == str(tmp_path / "chosen.sqlite")
    client = TestClient(create_app(str(tmp_path / "new" / "service.sqlite")))
    assert client.get("/v1/submissions/x").json()["error"].startswith("an API key is needed")
    unknown = client.get("/v1/submissions/x", headers={"Authorization": "Bearer not-a-key"}).json()["error"]
    assert unknown == f"this API key is not known to the service's database ({tmp_path / 'new' / 'service.sqlite'})"


@pytest.mark.parametrize("sample", ["icr-removal-issuance-defects.json", "inventory-defects.json"])
def test_the_service_decides_as_verify_profile_intake_does_on_the_same_file(service, sample, tmp_path, capsys):
    """The service decided on the full rulesets (icr-removal-issuance-defects: 7 failing, 38 awaiting
    judgement, 7 not evaluated) while `verify --profile intake` of the same file reported 7 failing and
    nothing open: one file, two answers."""
    from vericarbon.cli import main

    client, store, keys, location = service
    body = (ROOT / "evidence_samples" / sample).read_bytes()
    submission = _submit(client, keys["registry"], body=body).json()["id"]
    work(location)
    status = client.get(f"/v1/submissions/{submission}", headers=_as(keys["registry"])).json()
    profile = ["--profile", status["profile"]] if status["profile"] else []  # an inventory has no intake rule: every rule decides it
    assert status["profile"] == ("intake" if sample.startswith("icr") else None)
    assert main(["verify", str(ROOT / "evidence_samples" / sample), *profile, "--format", "json", "-o", str(tmp_path / "r.json")]) == 1
    capsys.readouterr()
    cli = json.loads((tmp_path / "r.json").read_text())
    assert (status["verdict"], status["counts"]) == (cli["verdict"], cli["summary"]["by_status"])
    if profile:  # plain verify gives no intake decision to compare
        assert status["decision"] == cli["decision"]["outcome"] and status["counts"]["manual"] == 0
        assert [item["rule"] for item in status["to_fix"]] == [item["rule"] for item in cli["decision"]["to_fix"]]


# ---------------------------------------------------------------- tenancy in the ledger (issue 29, item 3)


def _status(client, key, submission):
    return client.get(f"/v1/submissions/{submission}", headers=_as(key)).json()


def test_a_tenant_of_another_registry_cannot_squat_an_icr_block_nor_see_icrs_record(service):
    client, store, keys, location = service
    squatter = store.create_key("GS", "Squat Co")
    issuance = (ROOT / "evidence_samples" / "icr-removal-issuance.json").read_bytes()
    squatted = _submit(client, squatter, issuance).json()["id"]  # first, a range of ICR's block from a GS proponent
    work(location)
    legitimate = _submit(client, keys["acme"], issuance).json()["id"]
    work(location)
    assert [c["kind"] for c in _status(client, squatter, squatted)["ledger_conflicts"]] == ["issued_outside_registry"]
    assert _status(client, squatter, squatted)["decision"] == "return_to_proponent"
    assert _status(client, keys["acme"], legitimate)["ledger_conflicts"] == []  # ICR's own issuance is not blocked
    # a GS proponent retiring credits Acme (ICR) already retired learns that a record exists, nothing of it
    acme = _submit(client, keys["acme"], json.dumps(inventory("P-ACME", [(1, 100)])).encode()).json()["id"]
    work(location)
    retired = _submit(client, squatter, json.dumps(inventory("P-SQUAT", [(50, 60)])).encode()).json()["id"]
    work(location)
    for key in (squatter, keys["elsewhere"]):  # the proponent, and its registry GS
        (finding,) = _status(client, key, retired)["ledger_conflicts"]
        assert finding["kind"] == "retired_twice" and finding["other"] == "a record outside your tenancy" and finding["range"] == [50, 60]
        assert "P-ACME" not in json.dumps(_status(client, key, retired)) and acme not in json.dumps(_status(client, key, retired))
    assert "P-ACME" not in client.get(f"/v1/submissions/{retired}/result", headers=_as(squatter)).text
    assert all("P-ACME" not in json.dumps(c) for c in client.get("/v1/ledger/conflicts", headers=_as(keys["elsewhere"])).json()["conflicts"])


def test_a_proponent_learns_no_other_proponents_package_id_or_hash_but_the_registry_sees_both(service):
    client, store, keys, location = service
    first = _submit(client, keys["acme"], json.dumps(inventory("P-1", [(1, 100)])).encode()).json()["id"]
    work(location)
    second = _submit(client, keys["other"], json.dumps(inventory("P-1", [(500, 600)], beneficiary="Other plc")).encode()).json()["id"]
    work(location)
    (finding,) = _status(client, keys["other"], second)["ledger_conflicts"]
    assert finding == {"kind": "id_reused", "other": "a record outside your tenancy"}
    (full,) = _status(client, keys["registry"], second)["ledger_conflicts"]
    assert full["kind"] == "id_reused" and full["other"]["source"] == f"submission {first}" and len(full["other"]["sha256"]) == 64
    assert [c["other"]["source"] for c in client.get("/v1/ledger/conflicts", headers=_as(keys["registry"])).json()["conflicts"]] == [f"submission {first}"]

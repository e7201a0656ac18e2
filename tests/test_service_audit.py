"""The audit log shows tampering: a hash chain that `vericarbon audit verify` checks finds an edited entry
and one cut out; unauthenticated requests are audited with bounded fields and at a bounded rate; on
PostgreSQL the service runs as a role that does not own its tables."""

import re
import uuid

import pytest

pytest.importorskip("starlette")
from test_service import _as, _submit, location, service, work  # noqa: E402,F401 (fixtures)

from vericarbon.cli import main  # noqa: E402
from vericarbon.service.store import Store  # noqa: E402


def _tamper(store, statement):
    """What the tables' owner can do: switch the append-only triggers off, change the log, switch them on."""
    with store.transaction() as db:
        if store.dialect == "postgresql":
            db.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
            db.execute(statement)
            db.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")
        else:
            db.execute("DROP TRIGGER audit_no_update")
            db.execute("DROP TRIGGER audit_no_delete")
            db.execute(statement)


def _activity(client, keys, location):
    for _ in range(3):
        _submit(client, keys["acme"])
    work(location)
    client.get("/v1/audit", headers=_as(keys["registry"]))


def test_an_untouched_log_verifies(service, capsys):
    client, store, keys, location = service
    _activity(client, keys, location)
    assert main(["audit", "verify", "--database", location]) == 0
    assert "chain is whole" in capsys.readouterr().out


@pytest.mark.parametrize(("tampering", "words"), [
    ("UPDATE audit SET detail = 'nothing happened' WHERE action = 'decided'", "do not match its hash (edited)"),
    ("DELETE FROM audit WHERE seq = (SELECT seq FROM audit WHERE action = 'submitted' ORDER BY seq LIMIT 1)", "were cut or changed"),
], ids=["edited", "cut"])
def test_an_entry_edited_or_cut_out_is_found(service, capsys, tampering, words):
    client, store, keys, location = service
    _activity(client, keys, location)
    _tamper(store, tampering)
    assert main(["audit", "verify", "--database", location]) == 1
    assert words in capsys.readouterr().out


def test_unauthenticated_requests_are_audited_bounded_in_size_and_rate(service):
    client, store, keys, location = service
    long_path = "/v1/submissions/" + "x" * 5000
    for _ in range(60):
        assert client.get(long_path, headers={"User-Agent": "y" * 5000}).status_code == 401
    rows = store.read_all("SELECT subject, detail FROM audit WHERE actor = 'anonymous' AND action = 'request'")
    assert 15 <= len(rows) <= 25  # the burst, not all 60
    assert all(len(subject) <= 210 and len(detail) <= 400 for subject, detail in rows)
    assert "401 from" in rows[0][1]


def test_the_service_runs_as_a_role_that_cannot_truncate_its_tables(postgres_url):
    """The README's setup: the owner creates and migrates the tables, the service's role gets their rows only."""
    import psycopg

    owner = Store(postgres_url)
    assert owner.owns_tables() is True
    role = f"service_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"')  # CREATE ... IF NOT EXISTS of the migrations needs it; it gives no right over others' tables
        admin.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        admin.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    try:
        limited = Store(re.sub(r"user=[^&]+", f"user={role}", postgres_url))
        assert limited.owns_tables() is False
        who = limited.identity(owner.create_key("ICR", "Acme Ltd"))
        limited.submit(who, "a.json", b"{}", None, None)
        assert limited.verify_audit()["ok"]
        for statement in ("TRUNCATE audit", "DROP TABLE audit", "ALTER TABLE audit DISABLE TRIGGER audit_append_only"):
            with pytest.raises(Exception, match="must be owner|permission denied"):
                with limited.transaction() as db:
                    db.execute(statement)
        limited.close()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')

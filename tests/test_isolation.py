"""Per-rule isolation (issue 30, item 2): a rule that raises is that rule's `engine_error`, with the reason and
its time; every other rule's result is kept, the verdict says the result is incomplete, and every renderer,
screening line and the service say so too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vericarbon
from vericarbon.cli import main
from vericarbon.render import FORMATS
from vericarbon.run import evaluate

SAMPLES = Path(__file__).parent.parent / "evidence_samples"
CONFORMING = SAMPLES / "inventory-conforming.json"
BROKEN = "INV-LINE-ARITH"  # any rule of the inventory rulesets; the fault is injected into its compiled run


@pytest.fixture
def broken_rule(monkeypatch: pytest.MonkeyPatch) -> str:
    """One compiled rule whose run raises, as a bug in a rule would (the others run as written)."""
    real = evaluate._run

    def run(rule, *args):  # type: ignore[no-untyped-def]
        if rule.id == BROKEN:
            raise ZeroDivisionError("float division by zero\nsecond line never shown")
        return real(rule, *args)

    monkeypatch.setattr(evaluate, "_run", run)
    return BROKEN


def _results(data: dict) -> dict[str, dict]:
    return {item["id"]: item for ruleset in data["rulesets"] for item in ruleset["results"]}


def test_a_rule_that_raises_is_an_engine_error_and_every_other_result_is_kept(broken_rule: str) -> None:
    clean = _results(vericarbon.verify(CONFORMING).data)
    assert broken_rule in clean
    result = vericarbon.verify(CONFORMING)
    got = _results(result.data)
    assert got[broken_rule]["status"] == "engine_error"
    assert got[broken_rule]["reason"] == "ZeroDivisionError: float division by zero"
    assert isinstance(got[broken_rule]["elapsed_s"], float)
    assert {k: v for k, v in got.items() if k != broken_rule} == {k: v for k, v in clean.items() if k != broken_rule}
    assert result.verdict == "incomplete"
    assert result.summary["by_status"]["engine_error"] == 1
    assert [(e["rule"], e["reason"]) for e in result.summary["engine_errors"]] == [(broken_rule, "ZeroDivisionError: float division by zero")]
    assert f"incomplete: 1 check could not run (engine error: {broken_rule})" in result.summary["statement"]


def test_the_result_with_an_engine_error_is_valid_against_the_result_schema(broken_rule: str) -> None:
    import jsonschema

    schema = json.loads((Path(vericarbon.__file__).parent / "schemas" / "result.schema.json").read_text())
    jsonschema.validate(vericarbon.verify(CONFORMING).data, schema)


@pytest.mark.parametrize("format", sorted(set(FORMATS) - {"text", "pdf"}))
def test_every_format_of_verify_shows_the_engine_error_and_exits_as_an_incomplete_result(broken_rule: str, format: str, capsys: pytest.CaptureFixture) -> None:
    code = main(["verify", str(CONFORMING), "--format", format])
    out, err = capsys.readouterr()
    assert code == 0, err  # README, exit codes: an incomplete result without nonconformities is 0; 3 is only for a bug that stops the run
    assert broken_rule in out and "engine" in out.lower(), format


def test_the_summary_and_the_pdf_show_the_engine_error(broken_rule: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["verify", str(CONFORMING), "-o", str(tmp_path / "report.html")]) == 0
    out = capsys.readouterr().out
    assert "engine error" in out and broken_rule in out
    html = (tmp_path / "report.html").read_text()
    assert "engine error" in html.lower() and broken_rule in html
    pdf = vericarbon.verify(CONFORMING).render("pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")


def test_screen_lines_carry_the_engine_error_as_a_checked_package(broken_rule: str, capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_bytes(CONFORMING.read_bytes())
    for jobs in ("1", "2"):
        out = tmp_path / f"lines-{jobs}.jsonl"
        code = main(["screen", str(folder), "--jobs", jobs, "-o", str(out)])
        capsys.readouterr()
        line = json.loads(out.read_text().splitlines()[0])
        assert line["status"] == "checked", line
        assert line["verdict"] == "incomplete"
        assert line["engine_errors"] == [{"rule": broken_rule, "reason": "ZeroDivisionError: float division by zero"}]
        assert code == 1  # README: screen exits 1 for an errored package


def test_the_services_status_lists_the_engine_error(broken_rule: str, tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from vericarbon.evidence.package import SchemaStore
    from vericarbon.screening.ledger import open_ledger
    from vericarbon.service import worker
    from vericarbon.service.app import create_app
    from vericarbon.service.store import Store

    location = str(tmp_path / "service.sqlite")
    app = create_app(location, max_body=200_000)
    key = app.state.store.create_key("ICR")
    with TestClient(app) as client:
        submitted = client.post("/v1/submissions?name=package", content=CONFORMING.read_bytes(), headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}).json()
        store = Store(location)
        with open_ledger(location) as ledger:
            job = store.take("test", 60.0)
            store.finish(job, "test", *worker.check(job, worker.IntakeChecker(SchemaStore()), ledger, store))
        status = client.get(f"/v1/submissions/{submitted['id']}", headers={"Authorization": f"Bearer {key}"}).json()
    assert (status["status"], status["verdict"], status["decision"]) == ("done", "incomplete", "return_to_proponent")  # never accepted with a check unrun
    assert [e["rule"] for e in status["engine_errors"]] == [broken_rule] and status["counts"]["engine_error"] == 1


def test_relational_answers_that_raise_are_engine_errors_of_the_rules_they_stand_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from vericarbon.relational.relations import RelationEngine

    def broken(self, package):  # type: ignore[no-untyped-def]
        raise RuntimeError("durable session lost")

    monkeypatch.setattr(RelationEngine, "run", broken)
    sample = SAMPLES / "icr-removal-issuance.json"
    result = vericarbon.verify(sample).data
    failed = [item for item in _results(result).values() if item["status"] == "engine_error"]
    assert failed and all(item["reason"] == "relational answers: RuntimeError: durable session lost" for item in failed)
    assert all("durable" in item["engine"] or "sweep" in item["engine"] for item in failed)  # only the relational ones; the others ran
    assert result["verdict"] != "no_nonconformity"


def test_a_report_fact_that_raises_is_not_stated_with_its_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from vericarbon.rules import reports

    def broken(parts, env):  # type: ignore[no-untyped-def]
        raise ValueError("bad fact")

    monkeypatch.setattr(reports, "render_fact", broken)
    result = vericarbon.verify(CONFORMING).data
    facts = reports.report_facts(next(rs["report"] for rs in result["rulesets"] if "report" in rs))
    assert facts and all(fact["value"] is None and fact["engine_error"] == "ValueError: bad fact" for fact in facts)
    assert result["verdict"] == "incomplete" and {e["reason"] for e in result["summary"]["engine_errors"]} == {"ValueError: bad fact"}
    assert "report fact" in vericarbon.verify(CONFORMING).render("html")

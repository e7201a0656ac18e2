"""SARIF, OSCAL Assessment Results, JUnit and CSV outputs: every bundled sample's output validates against
the official schema (tests/data/interchange-schemas/, copied unmodified with their origin)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import jsonschema_rs
import pytest
from lxml import etree

from vericarbon.api import verify
from vericarbon.render import oscal

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "data" / "interchange-schemas"
SAMPLES = sorted((ROOT / "evidence_samples").glob("*.json"))


def _validator(name: str) -> jsonschema_rs.Draft7Validator:
    # jsonschema-rs: OSCAL's patterns use Unicode classes (\p{L}) that Python's re cannot compile
    return jsonschema_rs.Draft7Validator(json.loads((SCHEMAS / name).read_text()), validate_formats=True)


SARIF = _validator("sarif-schema-2.1.0.json")
OSCAL = _validator("oscal_assessment-results_schema.json")


def _errors(validator: jsonschema_rs.Draft7Validator, document: dict) -> list[str]:
    return [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(document)][:5]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_sarif_of_every_sample_validates_and_holds_every_failing_occurrence(sample):
    result = verify(sample)
    log = json.loads(result.render("sarif"))
    assert _errors(SARIF, log) == []
    failing = [f for f in result.findings]
    reported = [r for r in log["runs"][0]["results"] if "suppressions" not in r]
    assert sorted((r["ruleId"], r["properties"]["pointer"]) for r in reported) == sorted((f.rule_id, f.pointer) for f in failing)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_oscal_assessment_results_of_every_sample_validate(sample):
    document = json.loads(verify(sample).render("oscal-ar"))
    assert _errors(OSCAL, document) == []


def test_oscal_is_the_same_for_the_same_input_but_for_its_time():
    result = verify(ROOT / "evidence_samples" / "verification-organisation-defects.json").data
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert oscal.render(result, at) == oscal.render(result, at)
    findings = json.loads(oscal.render(result, at))["assessment-results"]["results"][0]["findings"]
    states = {f["props"][0]["value"]: f["target"]["status"]["state"] for f in findings}
    assert states["VER-MATERIALITY-SET-BEFORE-PLAN"] == "not-satisfied" and "satisfied" in states.values()


def test_junit_counts_and_failures():
    xml = verify(ROOT / "evidence_samples" / "inventory-defects.json").render("junit")
    suite = etree.fromstring(xml.encode()).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("12", "5", "1")
    failure = suite.find("testcase/failure")
    assert failure.get("type") == "major_nonconformity" and "/lines/3:" in failure.text


def test_csv_lists_findings_and_keeps_formulas_inert(tmp_path):
    package = json.loads((ROOT / "evidence_samples" / "inventory-defects.json").read_text())
    package["lines"][3]["source"] = "=HYPERLINK(\"http://evil\",\"click\")"
    rows = list(csv.DictReader(io.StringIO(verify(package).render("csv"))))
    assert {row["rule"] for row in rows if row["status"] == "fail"} == {"INV-LINE-ARITH", "INV-TOTAL", "CR-NO-OVERLAP", "CR-RETIREMENT-WINDOW", "CR-RETIREMENT-EVIDENCE"}
    assert all(not cell.startswith("=") for row in rows for cell in row.values())


def test_the_schemas_do_refuse_a_broken_document():
    document = json.loads(verify(ROOT / "evidence_samples" / "inventory-defects.json").render("oscal-ar"))
    del document["assessment-results"]["metadata"]
    document["assessment-results"]["uuid"] = "not-a-uuid"
    assert len(_errors(OSCAL, document)) >= 2
    log = json.loads(verify(ROOT / "evidence_samples" / "inventory-defects.json").render("sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert _errors(SARIF, log)

"""The ICR ruleset on its bundled samples: full verification, unset programme figures, the intake profile."""

import json

import pytest
from helpers import verify_conforming, verify_json

from vericarbon.cli import main

PLANTED = {
    "ICR-METHODOLOGY-APPROVED": ["/project/methodology/version"],  # 1 unapproved methodology version
    "ICR-VVB-ACCREDITATION-VALID": ["/vvb/accreditation/valid_until"],  # 2 accreditation expired before the verification
    "ICR-FINDINGS-CLOSED": ["/verification_report/findings"],  # 3 an open CAR
    "ICR-MR-ARITHMETIC": ["/monitoring_report/net_tco2e"],  # 4 the net forgets leakage …
    "ICR-MR-VINTAGE-ARITHMETIC": ["/monitoring_report/vintages/0"],  # … so the vintages no longer add up to it
    "ICR-BUFFER-FROM-RISK": ["/issuance_request/buffer/percent"],  # 5 buffer 5 % where the risk assessment gives 10 %
    "ICR-SERIALS-NO-OVERLAP": ["/issuance_request/serials/0", "/issuance_request/serials/1"],  # 6 serials 790–800 twice
}
UNSET = {"ICR-VVB-ROTATION", "ICR-VERIFICATION-MATERIALITY", "ICR-LEVEL-OF-ASSURANCE", "ICR-BUFFER-MINIMUM", "ICR-BUFFER-BY-RISK-CLASS", "ICR-CREDITING-PERIOD-LENGTH", "ICR-MONITORING-REPORT-DEADLINE"}



def by_status(result, status):
    return {r["id"]: [o["pointer"] for o in r["occurrences"] if o["status"] == status] for rs in result["rulesets"] for r in rs["results"] if r["status"] == status}


def test_conforming_submission_awaits_only_the_unverified_icr_figures(samples, capsys):
    code, result, _ = verify_json(samples / "icr-removal-issuance.json", capsys)
    assert code == 0 and result["verdict"] == "incomplete"
    assert by_status(result, "fail") == {}
    assert set(by_status(result, "not_evaluated")) == UNSET
    reasons = {r["id"]: r["reason"] for rs in result["rulesets"] for r in rs["results"] if r["status"] == "not_evaluated"}
    assert reasons["ICR-BUFFER-MINIMUM"] == "cannot evaluate: parameter buffer_percent_minimum is unset"
    assert {rs["id"] for rs in result["rulesets"]} == {"icr", "iso-14064-3"}  # the ISO 14064-3 rules run on the verification inside


def test_conforming_submission_with_the_figures_set(samples, capsys):
    figures = ["vvb_max_consecutive_verifications=3", "materiality_percent=5", "required_level_of_assurance=reasonable", "buffer_percent_minimum=5", "crediting_period_max_years_removal=10", "mr_submission_max_days=90",
               "buffer_percent_low_risk=10", "buffer_percent_medium_risk=15", "buffer_percent_high_risk=25"]  # illustrative figures: ICR's are not published
    verify_conforming(samples / "icr-removal-issuance.json", capsys, *[arg for f in figures for arg in ("--param", f)])


def test_defects_are_each_caught_with_section_pointer_and_values(samples, capsys):
    code, result, _ = verify_json(samples / "icr-removal-issuance-defects.json", capsys)
    assert code == 1
    assert by_status(result, "fail") == PLANTED
    items = {r["id"]: r for rs in result["rulesets"] for r in rs["results"]}
    buffer = items["ICR-BUFFER-FROM-RISK"]
    assert buffer["clauses"][0]["document"] == "ICR Requirement Document v6.0" and buffer["clauses"][0]["clause"] == "~permanence"
    assert buffer["occurrences"][0]["message"] == "Buffer 75 credits (5 %) of 1482.401029 tCO2e; the risk assessment gives 10 %, i.e. 148.2401029 credits"
    assert {"expr": "permanence.buffer_percent_assessed", "pointer": "/permanence/buffer_percent_assessed", "value": 10} in buffer["occurrences"][0]["values"]


def test_intake_profile_returns_the_defects_sample_with_what_to_fix(samples, capsys):
    code, result, _ = verify_json(samples / "icr-removal-issuance-defects.json", capsys, "--profile", "intake")
    assert code == 1 and result["profile"] == "intake"
    decision = result["decision"]
    assert decision["outcome"] == "return_to_proponent"
    assert {item["rule"] for item in decision["to_fix"]} == set(PLANTED)
    assert all(item["fix"] for item in decision["to_fix"])
    assert all(r["kind"] == "rule" for rs in result["rulesets"] for r in rs["results"])  # no manual checks at intake
    assert {rs["id"] for rs in result["rulesets"]} == {"icr"}


def test_intake_profile_accepts_the_conforming_submission(samples, capsys, tmp_path):
    code, result, _ = verify_json(samples / "icr-removal-issuance.json", capsys, "--profile", "intake")
    assert code == 0 and result["decision"] == {"outcome": "accept", "to_fix": [], "notes": []}
    code = main(["verify", str(samples / "icr-removal-issuance-defects.json"), "--profile", "intake", "-o", str(tmp_path / "r.html")])
    out = capsys.readouterr().out
    assert "Intake decision: RETURN TO PROPONENT — 7 item(s) to fix:" in out
    assert "fix: Deposit the buffer contribution the risk assessment gives." in out


def test_intake_with_missing_documents(samples, tmp_path, capsys):
    package = json.loads((samples / "icr-removal-issuance.json").read_text())
    package["documents"] = [d for d in package["documents"] if d["type"] != "MR"]
    package["documents"][0]["signed"] = False
    path = tmp_path / "incomplete.json"
    path.write_text(json.dumps(package))
    code, result, _ = verify_json(path, capsys, "--profile", "intake")
    fix = {item["rule"]: item for item in result["decision"]["to_fix"]}
    assert code == 1 and fix["ICR-REQUIRED-DOCUMENTS"]["where"][0]["what"] == "Missing or unsigned: MR"


def test_unknown_profile_is_an_input_error(samples, capsys):
    code, result, err = verify_json(samples / "icr-removal-issuance.json", capsys, "--profile", "audit")
    assert code == 2 and "no rule of the selected rulesets belongs to profile 'audit'" in err


@pytest.mark.parametrize("text", ["country: NO\nanswer: no\nflag: true\n"])
def test_yaml_reads_only_true_and_false_as_booleans(tmp_path, text):
    from vericarbon.evidence.documents import parse_document

    assert parse_document(tmp_path / "x.yaml", text.encode()) == {"country": "NO", "answer": "no", "flag": True}

"""What a field left out of the package means (`absent:`, docs/semantics.md): the lint that makes every
rule say it, and the statuses it gives, on rules of our own and on the built-in ones the review named."""

import copy
import json

import pytest
import yaml
from helpers import verify_json

from vericarbon.cli import main
from vericarbon.resources import builtin_rulesets

RULE = {
    "id": "T-OPINION-AFTER-PERIOD",
    "title": "The opinion follows the period",
    "clauses": [{"document": "Test", "clause": "1", "confidence": "verified"}],
    "requirement": "The opinion is dated after the period ends.",
    "verb": "shall",
    "finding_type": "major_nonconformity",
    "check": "verification.opinion_date > period.end and verification.materiality_percent <= params.ceiling",
    "message": "Opinion of {verification.opinion_date} for a period ending {period.end}",
    "remediation": "Date the opinion after the period.",
    "tests": [
        {"name": "after", "expect": "pass"},
        {"name": "before", "set": {"/verification/opinion_date": "2024-01-01"}, "expect": "fail"},
    ],
}


def _ruleset(tmp_path, rule_changes: dict, ceiling=10):
    base = yaml.safe_load(next(p for p in builtin_rulesets() if p.stem == "inventory-basics").read_text())
    data = {key: base[key] for key in ("title", "version", "document", "applies_to", "test_base")}
    data["ruleset"] = "absence-test"
    data["parameters"] = {"ceiling": {"type": "number", "value": ceiling, "description": "A ceiling.", "source": "test"}}
    data["rules"] = [{**copy.deepcopy(RULE), **rule_changes}]
    path = tmp_path / "absence.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, copy.deepcopy(base["test_base"])


def _verify(tmp_path, ruleset, package, capsys):
    path = tmp_path / "package.json"
    path.write_text(json.dumps(package))
    code, result, err = verify_json(path, capsys, "--ruleset", ruleset)
    assert result is not None, err
    return code, result, result["rulesets"][0]["results"][0]


def test_lint_refuses_a_rule_that_leaves_absence_implicit(tmp_path, capsys):
    ruleset, _ = _ruleset(tmp_path, {})
    assert main(["rules", "test", str(ruleset)]) == 2
    err = capsys.readouterr().err
    assert "rule T-OPINION-AFTER-PERIOD reads /verification, which a package may leave out" in err
    assert "absent: fail, not_evaluated or not_applicable" in err and "/rules/0" in err


def test_lint_asks_for_a_case_that_leaves_a_field_out(tmp_path, capsys):
    ruleset, _ = _ruleset(tmp_path, {"absent": "fail"})
    assert main(["rules", "test", str(ruleset)]) == 2
    assert "add a test case that leaves one out" in capsys.readouterr().err


def test_a_rule_that_tests_the_field_itself_needs_no_declaration(tmp_path, capsys):
    guarded = "missing(verification) or (missing(verification.opinion_date) or verification.opinion_date > period.end)"
    ruleset, _ = _ruleset(tmp_path, {"check": guarded, "message": "Opinion too early"})
    assert main(["rules", "test", str(ruleset)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(("absent", "status"), [("fail", "fail"), ("not_evaluated", "not_evaluated"), ("not_applicable", "not_applicable")])
def test_declared_absence_decides_the_status(tmp_path, capsys, absent, status):
    case = {"name": "no opinion date", "set": {"/verification/opinion_date": None}, "expect": status}
    ruleset, package = _ruleset(tmp_path, {"absent": absent, "tests": RULE["tests"] + [case]})
    assert main(["rules", "test", "--strict", str(ruleset)]) == 0, capsys.readouterr().out
    capsys.readouterr()
    del package["verification"]["opinion_date"]
    _, result, outcome = _verify(tmp_path, ruleset, package, capsys)
    assert outcome["status"] == status
    if status == "fail":
        occurrence = outcome["occurrences"][0]
        assert occurrence["missing"] == ["/verification/opinion_date"]
        assert occurrence["message"].endswith("(not recorded: /verification/opinion_date)")
        assert result["verdict"] == "nonconformities"
    if status in ("fail", "not_evaluated"):  # what to fill in lists it either way
        assert [entry["pointer"] for entry in result["summary"]["missing_inputs"]] == ["/verification/opinion_date"]


def test_an_unset_parameter_still_leaves_the_rule_not_evaluated(tmp_path, capsys):
    case = {"name": "no opinion date", "set": {"/verification/opinion_date": None}, "expect": "fail"}
    ruleset, package = _ruleset(tmp_path, {"absent": "fail", "tests": RULE["tests"] + [case]}, ceiling=None)
    _, result, outcome = _verify(tmp_path, ruleset, package, capsys)
    assert outcome["status"] == "not_evaluated" and "parameter ceiling is unset" in outcome["reason"]
    del package["verification"]["opinion_date"]  # the field decides when both are missing
    _, _, outcome = _verify(tmp_path, ruleset, package, capsys)
    assert outcome["status"] == "fail"


def _builtin_result(samples, tmp_path, capsys, sample, change):
    package = json.loads((samples / sample).read_text())
    change(package)
    path = tmp_path / sample
    path.write_text(json.dumps(package))
    code, result, err = verify_json(path, capsys)
    assert result is not None, err
    return {item["id"]: item for ruleset in result["rulesets"] for item in ruleset["results"]}


def test_a_lot_not_yet_retired_is_a_shortfall_not_a_gap(samples, tmp_path, capsys):
    """The review's miss: a claim whose credits fall short stayed not evaluated because one lot was not retired."""
    by_id = _builtin_result(samples, tmp_path, capsys, "neutrality-company-2024.json", lambda p: p["credits"][0].pop("retirement"))
    assert by_id["CN-CREDITS-COVER-RESIDUAL"]["status"] == "fail"
    assert by_id["CN-RETIRED-WITHIN-WINDOW"]["status"] == "fail"
    assert "/credits/0/retirement" in json.dumps(by_id["CN-RETIRED-WITHIN-WINDOW"]["occurrences"])


def test_a_verification_left_without_its_opinion_date_fails_the_clauses_that_need_it(samples, tmp_path, capsys):
    by_id = _builtin_result(samples, tmp_path, capsys, "verification-organisation.json", lambda p: p["opinion"].pop("date"))
    failing = {rule for rule, item in by_id.items() if item["status"] == "fail"}
    assert {"VER-OPINION-DATE", "VER-REVIEW-BEFORE-OPINION", "VER-FINDINGS-COMMUNICATED"} <= failing
    assert not [rule for rule, item in by_id.items() if item["status"] == "not_evaluated"]


def test_a_registration_does_not_fail_the_issuance_rules(samples, tmp_path, capsys):
    """Issuance rules apply to issuance submissions: a registration leaves the request out legitimately."""

    def registration(package):
        package["submission"]["type"] = "registration"
        del package["issuance_request"]

    by_id = _builtin_result(samples, tmp_path, capsys, "icr-removal-issuance.json", registration)
    for rule in ("ICR-ISSUANCE-WITHIN-VERIFIED", "ICR-BUFFER-FROM-RISK", "ICR-EX-POST-COVERS-EX-ANTE", "ICR-ISSUANCE-LINKS-REPORTS"):
        assert by_id[rule]["status"] == "not_applicable", (rule, by_id[rule].get("occurrences"))


def test_an_issuance_without_its_request_fails_them(samples, tmp_path, capsys):
    by_id = _builtin_result(samples, tmp_path, capsys, "icr-removal-issuance.json", lambda p: p.pop("issuance_request"))
    assert by_id["ICR-ISSUANCE-WITHIN-VERIFIED"]["status"] == "fail"

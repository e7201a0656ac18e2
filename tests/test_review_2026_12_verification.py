"""The December 2026 rule review (issue 28) for iso-14064-3, ghg-statements and inventory-basics: each
confirmed error, reproduced as the review did it (a bundled sample changed at a few pointers), gives the
right status of the right rule; every engagement type these rulesets serve has a conforming sample that
stays conforming after a workbook round trip; rules that read the same facts can all pass together."""

import copy
import json
from pathlib import Path

import pytest
import yaml
from helpers import verify_conforming

import vericarbon
from vericarbon.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "evidence_samples"
REMOVE = object()  # a change that leaves the field out

FINDINGS_REPORT = {"date": "2025-03-10", "procedures": ["Recalculate line L01"], "findings": ["Agrees"],
                   "text": "We performed the procedures agreed with you. No assurance is expressed."}
AUP = {"/engagement/type": "agreed_upon_procedures", "/engagement/level_of_assurance": REMOVE, "/opinion": REMOVE,
       "/verification_statement": REMOVE, "/engagement/materiality": REMOVE, "/factual_findings_report": FINDINGS_REPORT}
VALIDATION = {"/engagement/type": "validation", "/engagement/level_of_assurance": REMOVE, "/opinion/form": REMOVE, "/statement/projected": True}
NEW_RISK = {"/execution/findings/1/new_risk_area": "fuel card reconciliation",
            "/planning/risk_assessment/risks/7": {"id": "RK9", "area": "fuel card reconciliation", "inherent": "medium", "control": "high", "response_activity_ids": ["A1"]}}
PLAN_REVISED = {**NEW_RISK, "/planning/evidence_gathering_plan/revisions": [{"date": "2025-02-14", "version": "2", "reason": "Fuel-card reconciliation risk"}]}
MODIFIED = {"/execution/misstatements/1/amount_tco2e": 300, "/opinion/type": "modified",
            "/opinion/basis_for_modification": "Uncorrected 300 t understatement of grey-fleet mileage"}
LIMITED_L29_ANALYTICAL = {"/engagement/level_of_assurance": "limited", "/opinion/form": "negative",
                          "/execution/evidence/5/technique": "analytical_procedures"}


def changed(sample: str, changes: dict) -> dict:
    """The sample with each pointer set to its value (REMOVE leaves it out; one past a list's end appends)."""
    package = json.loads((SAMPLES / sample).read_text())
    for pointer, value in changes.items():
        *path, last = pointer.strip("/").split("/")
        parent = package
        for key in path:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        if value is REMOVE:
            del parent[int(last) if isinstance(parent, list) else last]
        elif isinstance(parent, list) and int(last) == len(parent):
            parent.append(copy.deepcopy(value))
        else:
            parent[int(last) if isinstance(parent, list) else last] = copy.deepcopy(value)
    return package


def statuses(package: dict) -> dict[str, str]:
    result = vericarbon.verify(package)
    return {rule["id"]: rule["status"] for ruleset in result.data["rulesets"] for rule in ruleset["results"]}


# The review's reproductions: (sample, changes, rule, status it must have).
REPRODUCTIONS = [
    ("verification-organisation.json", AUP, "VER-TERMS-AGREED", "pass"),
    ("verification-organisation.json", AUP, "VER-MATERIALITY-SET-BEFORE-PLAN", "not_applicable"),
    ("verification-organisation.json", AUP, "VER-MODIFIED-OPINION-BASIS", "not_applicable"),
    ("verification-organisation.json", AUP, "VER-INSUFFICIENT-EVIDENCE-OPINION", "not_applicable"),
    ("verification-organisation.json", AUP, "VER-FINDINGS-COMMUNICATED", "pass"),
    ("verification-organisation.json", AUP, "VER-REVIEW-BEFORE-OPINION", "pass"),
    ("verification-organisation.json", AUP, "VER-UNMODIFIED-OPINION-JUSTIFIED", "not_applicable"),
    ("verification-project.json", VALIDATION, "VER-DETAILED-TESTS-FOR-REASONABLE", "not_applicable"),
    ("verification-project.json", VALIDATION, "VER-CONTROL-TESTING-FOR-REASONABLE", "not_applicable"),
    ("verification-organisation.json", LIMITED_L29_ANALYTICAL, "VER-SIGNIFICANT-LINES-EVIDENCED", "pass"),
    ("verification-organisation.json", {"/engagement/criteria": [{"document": "GHG Protocol Corporate Standard (revised edition)", "version": "2004", "kind": "standard"}]},
     "VER-CRITERIA-FIT-STATEMENT", "pass"),
    ("verification-organisation.json", {"/engagement/criteria": [{"document": "Commission Implementing Regulation (EU) 2018/2066", "version": "2018", "kind": "programme"}]},
     "VER-CRITERIA-FIT-STATEMENT", "pass"),
    ("verification-organisation.json", {**PLAN_REVISED}, "VER-EVIDENCE-PLAN-ORDER", "pass"),
    ("verification-organisation.json", {**PLAN_REVISED}, "VER-PLAN-REVISED-FOR-NEW-RISK", "pass"),
    ("verification-organisation.json", MODIFIED, "VER-MATERIALITY-AGGREGATE", "not_applicable"),
    ("verification-organisation.json", MODIFIED, "VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL", "not_applicable"),
    ("verification-organisation.json", {"/statement/lines/30/gwp": 1300, "/statement/lines/30/reported_tco2e": 18.85}, "VER-DI-GWP-VALUES", "fail"),
    ("verification-project.json", {"/execution/misstatements": REMOVE}, "VER-UNMODIFIED-OPINION-JUSTIFIED", "pass"),
    ("statement-eutl-100016-2006.json", {"/notes": "Verified emissions were 198.9 kt CO2 in 2006."}, "STMT-FIGURE-MATCHES-NOTES", "pass"),
]


@pytest.mark.parametrize(("sample", "changes", "rule", "status"), REPRODUCTIONS, ids=[f"{r[2]}-{i}" for i, r in enumerate(REPRODUCTIONS)])
def test_the_reviews_reproduction_gives_the_right_status(sample, changes, rule, status):
    assert statuses(changed(sample, changes))[rule] == status


def test_the_hfc_line_of_the_organisation_sample_is_checked():
    assert changed("verification-organisation.json", {})["statement"]["lines"][30]["gas"] == "HFC-134a"
    assert statuses(changed("verification-organisation.json", {}))["VER-DI-GWP-VALUES"] == "pass"


@pytest.mark.parametrize(("sample", "changes"), [("verification-organisation.json", AUP), ("verification-project.json", {**VALIDATION, "/statement/project/applicability": "All conditions met"})],
                         ids=["agreed-upon procedures", "validation"])
def test_an_engagement_of_another_type_fails_no_rule(sample, changes):
    failing = [rule for rule, status in statuses(changed(sample, changes)).items() if status == "fail"]
    assert failing == []


def test_a_figure_a_thousand_times_its_notes_is_an_observation_only():
    result = vericarbon.verify(changed("statement-eutl-100016-2006.json", {"/notes": "Verified emissions were 198.899 tonnes."}))
    finding = next(f for f in result.findings if f.rule_id == "STMT-FIGURE-MATCHES-NOTES")
    assert finding.finding_type == "observation"


def test_dual_scope2_reporting_cites_the_ghg_protocol():
    ruleset = yaml.safe_load((SAMPLES.parent / "rulesets" / "ghg-statements.yaml").read_text())
    rule = next(r for r in ruleset["rules"] if r["id"] == "STMT-SCOPE2-METHODS-REPORTED")
    assert [c["document"] for c in rule["clauses"]] == ["GHG Protocol Scope 2 Guidance (2015)"]


def test_an_inventory_filled_in_from_init_before_any_verification(tmp_path, capsys):
    assert main(["init", "ghg-inventory", "-o", str(tmp_path / "inventory.yaml")]) == 0
    capsys.readouterr()
    package = yaml.safe_load((tmp_path / "inventory.yaml").read_text())
    package["totals"]["total_tco2e"] = 200  # the proponent's own figures: one line of 200 t
    found = statuses(package)
    assert found["INV-PERIOD-ORDER"] == "pass"
    assert found["INV-MATERIALITY-RECORDED"] == "not_applicable"
    assert vericarbon.verify(package).verdict == "no_nonconformity"


# ---------------------------------------------------------------- rules that read the same facts pass together
PAIRS = [
    ("verification-organisation.json", PLAN_REVISED, ["VER-EVIDENCE-PLAN-ORDER", "VER-PLAN-REVISED-FOR-NEW-RISK"]),
    ("verification-organisation.json", MODIFIED, ["VER-MATERIALITY-AGGREGATE", "VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL", "VER-UNMODIFIED-OPINION-JUSTIFIED", "VER-MODIFIED-OPINION-BASIS"]),
    ("verification-project.json", VALIDATION, ["VER-VALIDATION-NO-LEVEL", "VER-LEVEL-OF-ASSURANCE", "VER-DETAILED-TESTS-FOR-REASONABLE", "VER-CONTROL-TESTING-FOR-REASONABLE", "VER-OPINION-FORM"]),
    ("verification-organisation.json", AUP, ["VER-AUP-NO-OPINION", "VER-TERMS-AGREED", "VER-COMPLETION-STAGES", "VER-MODIFIED-OPINION-BASIS", "VER-UNMODIFIED-OPINION-JUSTIFIED", "VER-INSUFFICIENT-EVIDENCE-OPINION"]),
    ("verification-organisation.json", LIMITED_L29_ANALYTICAL, ["VER-OPINION-FORM", "VER-SIGNIFICANT-LINES-EVIDENCED", "VER-DETAILED-TESTS-FOR-REASONABLE"]),
]


@pytest.mark.parametrize(("sample", "changes", "rules"), PAIRS, ids=["plan revised", "modified opinion", "validation", "agreed-upon procedures", "limited assurance"])
def test_rules_reading_the_same_facts_can_all_pass(sample, changes, rules):
    found = statuses(changed(sample, changes))
    assert {rule: found[rule] for rule in rules if found[rule] not in ("pass", "not_applicable")} == {}
    assert "pass" in {found[rule] for rule in rules}


# ---------------------------------------------------------------- a conforming sample for every engagement type
CONFORMING = ["verification-organisation.json", "verification-limited.json", "verification-validation.json", "verification-aup.json", "inventory-before-verification.json"]


@pytest.mark.parametrize("name", CONFORMING)
def test_each_engagement_types_sample_conforms(capsys, name):
    verify_conforming(SAMPLES / name, capsys)


@pytest.mark.parametrize("name", CONFORMING + ["verification-project.json"])
def test_each_engagement_types_sample_conforms_after_a_workbook_round_trip(tmp_path, capsys, name):
    book, back = tmp_path / "book.xlsx", tmp_path / "back.json"
    assert main(["export", "workbook", str(SAMPLES / name), "-o", str(book)]) == 0
    assert main(["import", "workbook", str(book), "-o", str(back)]) == 0
    capsys.readouterr()
    verify_conforming(back, capsys)


def test_the_samples_are_the_engagement_types_they_say():
    types = {name: json.loads((SAMPLES / name).read_text()).get("engagement", {}) for name in CONFORMING}
    assert types["verification-limited.json"]["level_of_assurance"] == "limited"
    assert types["verification-validation.json"]["type"] == "validation" and "level_of_assurance" not in types["verification-validation.json"]
    assert types["verification-aup.json"]["type"] == "agreed_upon_procedures" and "materiality" not in types["verification-aup.json"]
    assert "verification" not in json.loads((SAMPLES / "inventory-before-verification.json").read_text())


def test_a_serial_range_holding_its_quantity_cites_the_records_clause():
    ruleset = yaml.safe_load((SAMPLES.parent / "rulesets" / "inventory-basics.yaml").read_text())
    rule = next(r for r in ruleset["rules"] if r["id"] == "CR-SERIAL-QUANTITY")
    assert [(c["document"], c["clause"]) for c in rule["clauses"]] == [("ISO 14068-1:2023", "11.4")]

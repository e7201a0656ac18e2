"""Engagement types as data (issue 28 item 1): a ruleset declares its types once, a rule names those it belongs
to, and outside them the rule is not applicable (decided before its `when`), with the package's types in the
result and the report; a rule naming an undeclared type is a located error."""

from __future__ import annotations

import json

from helpers import verify_json
from test_authoring import run
from test_review_2026_12_verification import REMOVE, changed

from vericarbon.evidence.package import SchemaStore
from vericarbon.render import html, text
from vericarbon.rules.rulesets import resolve_rulesets


def _ruleset(result: dict, ruleset_id: str) -> dict:
    return next(ruleset for ruleset in result["rulesets"] if ruleset["id"] == ruleset_id)


def _rule(result: dict, rule_id: str) -> dict:
    return next(item for ruleset in result["rulesets"] for item in ruleset["results"] if item["id"] == rule_id)


def test_the_package_types_are_in_the_result_and_the_report(samples, capsys):
    expected = {"verification-aup.json": ("iso-14064-3", ["agreed-upon-procedures"]),
                "verification-limited.json": ("iso-14064-3", ["verification-limited"]),
                "icr-registration.json": ("icr", ["icr-registration"]),
                "neutrality-event-2025.json": ("iso-14068-1", ["claim-event"]),
                "neutrality-product-2025.json": ("iso-14068-1", ["claim-product"])}
    for sample, (ruleset_id, types) in expected.items():
        _, result, _ = verify_json(samples / sample, capsys)
        assert _ruleset(result, ruleset_id)["types"] == types, sample
    assert f"{ruleset_id}: package is claim-product;" in text.render(result)
    assert "Engagement type for" in html.render(result) and "<strong>claim-product</strong>" in html.render(result)
    _, statement, _ = verify_json(samples / "statement-desnz-2023-lines.json", capsys)
    assert "types" not in statement["rulesets"][0]  # a ruleset that declares no types


def test_a_rule_outside_the_package_types_is_not_applicable_whatever_its_when(samples, capsys):
    _, result, _ = verify_json(samples / "verification-aup.json", capsys)
    basis = _rule(result, "VER-MATERIALITY-BASIS")
    assert basis["status"] == "not_applicable"
    assert basis["reason"] == ("applies to verification-reasonable, verification-limited, validation, icr-registration, icr-issuance; "
                               "this package is agreed-upon-procedures")
    assert _rule(result, "VER-AUP-NO-OPINION")["status"] != "not_applicable"  # untyped: every type


def test_a_type_whose_fields_are_missing_is_not_the_package_type(tmp_path, capsys):
    path = tmp_path / "no-level.json"
    path.write_text(json.dumps(changed("verification-organisation.json", {"/engagement/level_of_assurance": REMOVE})))
    _, result, _ = verify_json(path, capsys)
    assert _ruleset(result, "iso-14064-3")["types"] == []
    control = _rule(result, "VER-CONTROL-TESTING-FOR-REASONABLE")
    assert control["status"] == "not_applicable" and control["reason"].endswith("this package is of none of the ruleset types")
    assert _rule(result, "VER-LEVEL-OF-ASSURANCE")["status"] == "fail"  # the rule that asks for the level still reports it


def test_a_rule_naming_an_undeclared_type_is_a_located_error(tmp_path, capsys):
    data = json.loads(json.dumps(next(r for r in resolve_rulesets([], SchemaStore()) if r.id == "credit-records").data))
    data["rules"][1]["types"] = ["claim-organization"]
    path = tmp_path / "typed.yaml"
    path.write_text(json.dumps(data))
    code, _, err = run(["rules", "test", path], capsys)
    assert code == 2 and "/rules/1/types/0" in err and "type 'claim-organization' is not declared" in err and "Traceback" not in err


def test_a_type_condition_must_be_a_condition(tmp_path, capsys):
    data = json.loads(json.dumps(next(r for r in resolve_rulesets([], SchemaStore()) if r.id == "credit-records").data))
    data["types"] = {"retired": {"title": "Retired credits", "when": "quantity"}}
    path = tmp_path / "typed.yaml"
    path.write_text(json.dumps(data))
    code, _, err = run(["rules", "test", path], capsys)
    assert code == 2 and "/types/retired/when" in err and "must be a condition" in err

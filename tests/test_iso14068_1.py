"""The ISO 14068-1 ruleset on its bundled samples, and policy parameters set from the command line."""

import json

import pytest
from helpers import verify_conforming, verify_json


def failing(result):
    return {r["id"]: [o["pointer"] for o in r["occurrences"] if o["status"] == "fail"] for rs in result["rulesets"] for r in rs["results"] if r["status"] == "fail"}


@pytest.mark.parametrize("name", ["neutrality-company-2024.json", "neutrality-event-2025.json", "neutrality-product-2025.json"])  # the Tokyo 2015 event cites an edition not yet published
def test_conforming_claims(samples, capsys, name):
    verify_conforming(samples / name, capsys)


def test_event_sample_is_marked_illustrative(samples):
    event = json.loads((samples / "neutrality-event-tokyo-2015.json").read_text())
    assert "ILLUSTRATIVE" in event["title"] and event["subject"]["subtype"] == "event"
    assert {c["programme"]["id"] for c in event["credits"]} == {"J-CREDIT"}


def test_offsets_only_claim_fails_on_each_planted_defect(samples, capsys):
    code, result, _ = verify_json(samples / "neutrality-offsets-only-defects.json", capsys)
    assert code == 1
    assert failing(result) == {
        "CN-REDUCTIONS-BEFORE-OFFSETS": ["/reductions/achieved_tco2e"],  # neutral through offsets alone
        "CN-CREDIT-VINTAGE-EX-POST": ["/credits/0"],  # vintage 2026 on a credit issued in 2025: forward mitigation
        "CN-RETIRED-WITHIN-WINDOW": ["/credits/0"],  # retired 16 Feb 2026 for a period that ended 31 Dec 2024
    }
    by_id = {r["id"]: r for rs in result["rulesets"] for r in rs["results"]}
    late = by_id["CN-RETIRED-WITHIN-WINDOW"]["occurrences"][0]
    assert late["message"] == "Lot L-GEO-01 retired on 2026-02-16, after the deadline 2025-12-31"
    assert {"expr": "item.retirement.date", "pointer": "/credits/0/retirement/date", "value": "2026-02-16"} in late["values"]
    assert by_id["CN-VINTAGE-WINDOW"]["status"] == "not_applicable"  # no vintage window unless a policy sets one


def test_vintage_window_is_a_parameter(samples, capsys):
    code, result, _ = verify_json(samples / "neutrality-offsets-only-defects.json", capsys, "--param", "max_vintage_age_years=0")
    assert code == 1
    assert failing(result)["CN-VINTAGE-WINDOW"] == ["/credits/0"]
    assert result["rulesets"][0]["parameters"]["max_vintage_age_years"] == 0
    code, result, _ = verify_json(samples / "neutrality-company-2024.json", capsys, "--param", "max_vintage_age_years=1")
    assert code == 0


def test_policy_switches_from_the_command_line(samples, capsys):
    code, result, _ = verify_json(samples / "neutrality-company-2024.json", capsys, "--param", "require_corresponding_adjustment=true")
    assert code == 1 and failing(result) == {"CN-CORRESPONDING-ADJUSTMENT-REQUIRED": ["/credits/0", "/credits/1"]}


@pytest.mark.parametrize(
    "param, message",
    [
        ("nope=1", "--param: no selected ruleset has a parameter 'nope'"),
        ("max_vintage_age_years=abc", "--param: max_vintage_age_years is a number, not 'abc'"),
        ("max_vintage_age_years=nan", "--param: max_vintage_age_years must be a finite number"),
        ("require_corresponding_adjustment=yes", "write true or false, not 'yes'"),
        ("max_vintage_age_years", "is not NAME=VALUE"),
    ],
)
def test_bad_param_is_an_input_error(samples, capsys, param, message):
    code, result, err = verify_json(samples / "neutrality-company-2024.json", capsys, "--param", param)
    assert code == 2 and result is None
    assert message in err and "Traceback" not in err

"""The ISO 14064-3 ruleset on its bundled samples: the conforming ones conform, the defects sample
yields exactly its planted defects, each at its pointer with the deciding values."""

import json

import pytest
from helpers import verify_conforming, verify_json

from vericarbon.cli import main

PLANTED = {
    "VER-DI-LINE-ARITHMETIC": "/statement/lines/8",  # 1 transcription error on Sheffield electricity
    "VER-DI-UNITS": "/statement/lines/2",  # 2 a per-litre factor on kWh
    "VER-REVIEWER-INDEPENDENT": "/independent_review/reviewer_id",  # 3 reviewer on the team
    "VER-REVIEW-BEFORE-OPINION": "/independent_review/completed_date",  # 4 evidence after the review
    "VER-MATERIALITY-AGGREGATE": "/engagement/materiality/threshold_percent",  # 5 material uncorrected misstatement …
    "VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL": "/execution/misstatements/1",  # … material on its own too …
    "VER-UNMODIFIED-OPINION-JUSTIFIED": "/engagement/materiality/threshold_percent",  # … behind an unmodified opinion
    "VER-MATERIALITY-SET-BEFORE-PLAN": "/engagement/materiality/set_date",  # 6 threshold set after the plan
    "VER-DI-SCOPE-TOTALS": "/statement/totals/scope2_tco2e",  # 7 scope 2 total mistyped …
    "VER-DI-SCOPES-ADD-TO-TOTAL": "/statement/totals/total_tco2e",  # … so the scopes no longer add up
    "VER-DI-GWP-VALUES": "/statement/lines/29",  # 8 AR5 methane GWP under AR6
    "VER-STATEMENT-REFERS-TO-SUBJECT": "/verification_statement/subject_ref/version",  # 9 superseded version
}



def results(result):
    return {r["id"]: r for ruleset in result["rulesets"] for r in ruleset["results"]}


@pytest.mark.parametrize("name", ["verification-organisation.json", "verification-project.json"])
def test_conforming_samples_conform(samples, capsys, name):
    result = verify_conforming(samples / name, capsys)
    assert result["summary"]["by_status"]["manual"] == 27


def test_organisation_sample_is_realistic(samples):
    package = json.loads((samples / "verification-organisation.json").read_text())
    lines = package["statement"]["lines"]
    assert len(lines) >= 24 and {line["scope"] for line in lines} == {1, 2, 3}
    assert all("DESNZ" in line["emission_factor"].get("source", "") for line in lines if line["gas"] == "CO2e")


def test_defects_sample_reports_exactly_the_planted_defects(samples, capsys):
    code, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys)
    assert code == 1
    failing = {rule_id: r for rule_id, r in results(result).items() if r["status"] == "fail"}
    assert {rule_id: [o["pointer"] for o in r["occurrences"] if o["status"] == "fail"] for rule_id, r in failing.items()} == {k: [v] for k, v in PLANTED.items()}
    assert result["summary"]["by_status"]["not_evaluated"] == 0
    for rule in failing.values():
        assert rule["clauses"][0]["document"] == "ISO 14064-3:2019"


def test_defect_findings_carry_deciding_values(samples, capsys):
    _, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys)
    by_id = results(result)
    line = next(o for o in by_id["VER-DI-LINE-ARITHMETIC"]["occurrences"] if o["status"] == "fail")
    assert "845000 kWh × 0.2070742886 kg/kWh × GWP 1 = 174.9777739 tCO2e, but 1749.77774 tCO2e is reported" in line["message"]
    assert {"expr": "item.reported_tco2e", "pointer": "/statement/lines/8/reported_tco2e", "value": 1749.77774} in line["values"]
    units = next(o for o in by_id["VER-DI-UNITS"]["occurrences"] if o["status"] == "fail")
    assert "kg/L does not give a mass" in units["message"]
    # the unconvertible line cannot be recomputed: the arithmetic rule says so instead of crashing
    arithmetic = {o["pointer"]: o for o in by_id["VER-DI-LINE-ARITHMETIC"]["occurrences"]}
    assert arithmetic["/statement/lines/2"]["status"] == "not_evaluated"
    assert "'kWh' × 'kg/L' cannot be converted to t" in arithmetic["/statement/lines/2"]["reason"]
    materiality = by_id["VER-MATERIALITY-AGGREGATE"]["occurrences"][0]["message"]
    assert materiality.startswith("Uncorrected misstatements (absolute): 262.4 tCO2e of 4769.11098 tCO2e (total_emissions)")


def test_summary_names_clause_pointer_and_values(samples, capsys, tmp_path):
    code = main(["verify", str(samples / "verification-organisation-defects.json"), "-o", str(tmp_path / "r.html")])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "FAIL VER-REVIEWER-INDEPENDENT [ISO 14064-3:2019 5.2] major nonconformity" in out
    assert "/independent_review/reviewer_id: Reviewer T2 (Tomasz Nowak)" in out
    assert (tmp_path / "r.html").exists()


def test_programme_overlay_parameters_switch_rules_on(samples, capsys, tmp_path):
    """Unset programme figures leave their rules not applicable; a ruleset file that sets them applies them."""
    import yaml

    from vericarbon.resources import builtin_rulesets
    from vericarbon.rules.sources import read_source

    data = read_source(next(p for p in builtin_rulesets() if p.stem == "iso-14064-3")).data
    data["parameters"]["materiality_percent_max"]["value"] = 2
    tailored = tmp_path / "eu-ets.yaml"
    tailored.write_text(yaml.safe_dump(data, allow_unicode=True))
    code, result, _ = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", str(tailored))
    assert code == 1
    assert results(result)["VER-MATERIALITY-PROGRAMME-CEILING"]["status"] == "fail"

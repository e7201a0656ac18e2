"""Traceability and authoring: the clause matrix, the index lint, rule tests as a gate."""

import csv
import io
from pathlib import Path

import pytest
import yaml
from helpers import verify_json

from vericarbon.cli import main
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.sources import read_source

RULESETS = {p.stem: p for p in builtin_rulesets()}
EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_matrix_covers_every_requirement_of_both_iso_rulesets(capsys):
    code, out, _ = run(["rules", "matrix", "--format", "csv", "--strict", "iso-14064-3", "iso-14068-1"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["ruleset"] for r in rows} == {"iso-14064-3", "iso-14068-1"}
    assert len([r for r in rows if r["ruleset"] == "iso-14064-3"]) == 93
    assert len([r for r in rows if r["ruleset"] == "iso-14068-1"]) == 118
    assert all(r["covered"] == "yes" for r in rows)
    materiality = next(r for r in rows if r["requirement"] == "14064-3/5.1.7-a")
    assert materiality["clause"] == "5.1.7" and "VER-MATERIALITY-SET-BEFORE-PLAN" in materiality["rules"].split()


def _tailored(tmp_path, change):
    data = read_source(RULESETS["iso-14064-3"]).data
    change(data)
    path = tmp_path / "tailored.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_matrix_shows_what_nothing_covers(capsys, tmp_path):
    def drop(data):
        data["rules"] = [r for r in data["rules"] if r["id"] != "VER-PROGRAMME-IN-CRITERIA"]

    path = _tailored(tmp_path, drop)
    code, out, _ = run(["rules", "matrix", path, "--strict"], capsys)
    assert code == 1
    assert "92/93 requirements covered" in out
    assert "not covered: 14064-3/5.1.1-c" in out
    code, out, _ = run(["rules", "matrix", path, "--format", "md"], capsys)
    assert code == 0 and "Not covered: 14064-3/5.1.1-c" in out and "| 14064-3/5.1.1-c | 5.1.1 | machine | — | — |" in out


def test_matrix_writes_a_file(capsys, tmp_path):
    code, _, _ = run(["rules", "matrix", "iso-14068-1", "--format", "md", "-o", tmp_path / "m.md"], capsys)
    assert code == 0 and (tmp_path / "m.md").read_text().startswith("## iso-14068-1 1.0.0")


def test_covers_must_name_an_index_id(capsys, tmp_path):
    path = _tailored(tmp_path, lambda d: d["rules"][0]["clauses"][0].update(covers=["14064-3/4.2-z"]))
    code, _, err = run(["rules", "test", path], capsys)
    assert code == 2
    assert "/rules/0/clauses/0/covers: VER-IMPARTIALITY-DECLARED-BEFORE-WORK covers '14064-3/4.2-z', which is not in the ruleset's index" in err


@pytest.mark.parametrize("stem", sorted(RULESETS))
def test_every_builtin_rule_has_a_passing_and_a_failing_case(stem, capsys):
    code, out, _ = run(["rules", "test", "--strict", stem], capsys)
    assert code == 0
    first = out.splitlines()[0]
    done, total = first.split("; ")[1].split(" rules")[0].split("/")
    assert done == total


# ---------------------------------------------------------------- tailoring overlays



def _overlay(tmp_path, **fields):
    data = {"overlay": "test-overlay", "title": "Test tailoring", "version": "1.0.0", "extends": "iso-14064-3", **fields}
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_overlay_changes_parameters_and_finding_types_and_disables_with_reasons(samples, tmp_path, capsys):
    path = _overlay(
        tmp_path,
        parameters={"materiality_percent_max": 2},
        finding_types={"VER-MATERIALITY-PROGRAMME-CEILING": "minor_nonconformity"},
        disable=[{"id": "VER-OPINION-BY-VERIFIER", "justification": "The programme signs opinions centrally.", "approved_by": "Registry board"}],
    )
    code, result, _ = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", path)
    assert code == 1
    ruleset = result["rulesets"][0]
    by_id = {r["id"]: r for r in ruleset["results"]}
    assert by_id["VER-MATERIALITY-PROGRAMME-CEILING"]["status"] == "fail"
    assert by_id["VER-MATERIALITY-PROGRAMME-CEILING"]["finding_type"] == "minor_nonconformity"
    assert "VER-OPINION-BY-VERIFIER" not in by_id
    overlay = ruleset["overlays"][0]
    assert overlay["id"] == "test-overlay" and overlay["extends"]["id"] == "iso-14064-3"
    assert overlay["disabled"] == [{"id": "VER-OPINION-BY-VERIFIER", "title": "The opinion is issued by the verification body", "justification": "The programme signs opinions centrally.", "approved_by": "Registry board"}]
    assert ruleset["parameters"]["materiality_percent_max"] == 2
    code, out, _ = run(["verify", samples / "verification-organisation.json", "--ruleset", path, "-o", tmp_path / "r.html"], capsys)
    assert "evaluated with overlay test-overlay 1.0.0" in out and "1 rule(s) disabled" in out
    assert "disabled VER-OPINION-BY-VERIFIER: The programme signs opinions centrally. (approved by Registry board)" in out
    assert "The programme signs opinions centrally." in (tmp_path / "r.html").read_text()


def test_example_overlay_adds_a_tested_rule(capsys):
    path = EXAMPLES / "eu-ets-avr.overlay.yaml"
    code, out, _ = run(["rules", "test", "--strict", path], capsys)
    assert code == 0 and "FAILED" not in out
    code, out, _ = run(["rules", "show", "EUETS-MATERIALITY-BASIS"], capsys)
    assert code == 2  # an overlay's rule is not a built-in one


def test_example_answers_file(samples, capsys):
    code, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys, "--answers", EXAMPLES / "answers-northbridge-defects.yaml", "--as-of", "2025-06-01")
    assert code == 1
    assert [w["status"] for w in result["answers"]["waivers"]] == ["applied", "expired"]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"parameters": {"no_such": 1}}, "/parameters/no_such: iso-14064-3 has no parameter 'no_such'"),
        ({"parameters": {"materiality_percent_max": "five"}}, "/parameters/materiality_percent_max/value: 'five' is not a number"),
        ({"parameters": {"materiality_percent_max": True}}, "/parameters/materiality_percent_max/value: True is not a number"),
        ({"finding_types": {"NOPE": "observation"}}, "/finding_types/NOPE: iso-14064-3 has no rule 'NOPE'"),
        ({"disable": [{"id": "NOPE", "justification": "Not relevant to us at all.", "approved_by": "x"}]}, "/disable/0/id: iso-14064-3 has no rule or manual check 'NOPE'"),
        ({"disable": [{"id": "VER-OPINION-BY-VERIFIER", "approved_by": "x"}]}, "/disable/0: 'justification' is a required property"),
        ({"extends": "no-such-ruleset"}, "/extends: extends 'no-such-ruleset', which is neither a built-in ruleset"),
        ({"extends": "overlay.yaml"}, "/extends: extends 'overlay.yaml', which extends this overlay again"),
    ],
)
def test_bad_overlay_is_an_input_error(samples, tmp_path, capsys, fields, message):
    path = _overlay(tmp_path, **fields)
    code, result, err = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", path)
    assert code == 2 and result is None
    assert message in err and "Traceback" not in err


# ---------------------------------------------------------------- auditor answers and waivers


def _answers(tmp_path, **data):
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


WAIVE_GWP = {"id": "VER-DI-GWP-VALUES", "pointer": "/statement/lines/29", "justification": "Restated in the next version; immaterial.", "approved_by": "A. Bello", "approved_on": "2025-03-09", "expires": "2025-12-31"}
JUDGE_SCOPE = {"id": "VER-M-SCOPE-ADEQUATE", "judgement": "conforms", "justification": "Facility register matches.", "by": "H. Okafor", "date": "2025-03-09"}


def test_answers_judge_manual_checks_and_waive_findings(samples, tmp_path, capsys):
    path = _answers(tmp_path, answers_for="NBC-2024-VER-DEFECTS", judgements=[JUDGE_SCOPE], waivers=[WAIVE_GWP])
    code, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys, "--answers", path, "--as-of", "2025-06-01")
    by_id = {r["id"]: r for r in result["rulesets"][0]["results"]}
    assert by_id["VER-M-SCOPE-ADEQUATE"]["status"] == "pass"
    assert by_id["VER-M-SCOPE-ADEQUATE"]["judgement"]["engine_status"] == "manual"
    gwp = by_id["VER-DI-GWP-VALUES"]
    assert gwp["status"] == "waived" and gwp["occurrences"][0]["waiver"]["approved_by"] == "A. Bello"
    assert result["summary"]["by_status"]["waived"] == 1 and result["summary"]["by_status"]["fail"] == 11
    assert result["answers"]["waivers"][0]["status"] == "applied"
    assert code == 1  # the other findings still stand


def test_waivers_can_only_clear_the_verdict_while_valid(samples, tmp_path, capsys):
    package = samples / "verification-organisation-defects.json"
    code, before, _ = verify_json(package, capsys)
    failing = [r["id"] for r in before["rulesets"][0]["results"] if r["status"] == "fail"]
    waivers = [{**WAIVE_GWP, "id": rule_id, "pointer": None} for rule_id in failing]
    for waiver in waivers:
        del waiver["pointer"]
    path = _answers(tmp_path, waivers=waivers)
    code, result, _ = verify_json(package, capsys, "--answers", path, "--as-of", "2025-06-01")
    assert code == 0 and result["verdict"] == "no_nonconformity" and result["summary"]["by_status"]["waived"] == len(failing)
    code, result, _ = verify_json(package, capsys, "--answers", path, "--as-of", "2026-01-01")
    assert code == 1 and {w["status"] for w in result["answers"]["waivers"]} == {"expired"}
    code, result, _ = verify_json(package, capsys, "--answers", path, "--as-of", "2025-06-01", "--no-waivers")
    assert code == 1 and {w["status"] for w in result["answers"]["waivers"]} == {"ignored"}
    assert result["summary"]["by_status"]["fail"] == len(failing)


def test_waiver_for_another_pointer_is_unused(samples, tmp_path, capsys):
    path = _answers(tmp_path, waivers=[{**WAIVE_GWP, "pointer": "/statement/lines/0"}])
    code, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys, "--answers", path, "--as-of", "2025-06-01")
    assert result["answers"]["waivers"][0]["status"] == "unused"
    assert {r["id"]: r["status"] for r in result["rulesets"][0]["results"]}["VER-DI-GWP-VALUES"] == "fail"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"judgements": [{**JUDGE_SCOPE, "id": "NOPE"}]}, "/judgements/0/id: no rule or manual check 'NOPE'"),
        ({"waivers": [{**WAIVE_GWP, "id": "NOPE"}]}, "/waivers/0/id: no rule or manual check 'NOPE'"),
        ({"waivers": [{**WAIVE_GWP, "id": "VER-M-SCOPE-ADEQUATE"}]}, "VER-M-SCOPE-ADEQUATE is a manual check: judge it"),
        ({"answers_for": "SOMEONE-ELSE"}, "/answers_for: these answers are for 'SOMEONE-ELSE'"),
        ({"waivers": [{k: v for k, v in WAIVE_GWP.items() if k != "expires"}]}, "/waivers/0: 'expires' is a required property"),
        ({"judgements": [{**JUDGE_SCOPE, "judgement": "fine"}]}, "/judgements/0/judgement"),
    ],
)
def test_bad_answers_are_an_input_error(samples, tmp_path, capsys, data, message):
    path = _answers(tmp_path, **data)
    code, result, err = verify_json(samples / "verification-organisation-defects.json", capsys, "--answers", path)
    assert code == 2 and result is None
    assert message in err and "Traceback" not in err


def test_bad_as_of_date_is_a_usage_error(samples, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["verify", str(samples / "verification-organisation.json"), "--as-of", "31/12/2025"])
    assert raised.value.code == 2
    assert "'31/12/2025' is not a date YYYY-MM-DD" in capsys.readouterr().err


# ---------------------------------------------------------------- rule catalogue and ruleset versions


def test_catalogue_in_docs_is_current(capsys):
    code, _, err = run(["rules", "docs", "--check", "--out", EXAMPLES.parent], capsys)
    assert code == 0, err


def test_catalogue_check_reports_stale_pages_and_writes_them(capsys, tmp_path):
    code, _, err = run(["rules", "docs", "--check", "--out", tmp_path], capsys)
    assert code == 1 and "rules/iso-14068-1-1.0.0.md: out of date" in err and "references/icr.md: out of date" in err
    code, out, _ = run(["rules", "docs", "--out", tmp_path], capsys)
    assert code == 0 and "wrote 10 page(s)" in out and "10 changed" in out
    reference = (tmp_path / "references" / "iso-14064-3.md").read_text()
    assert '<a id="14064-3-5-1-7-a"></a>`14064-3/5.1.7-a` | 5.1.7 |' in reference
    page = (tmp_path / "rules" / "iso-14064-3-1.0.0.md").read_text()
    assert "[14064-3/5.1.7-a](../references/iso-14064-3.md#14064-3-5-1-7-a)" in page
    assert "### VER-DI-LINE-ARITHMETIC — Each line recomputes from activity, factor and GWP" in page
    assert "- Examples: lines recompute → pass; electricity overstated → fail" in page
    assert "| `materiality_percent_max` | number | unset |" in page
    assert run(["rules", "docs", "--check", "--out", tmp_path], capsys)[0] == 0


def _older_version(tmp_path):
    data = read_source(RULESETS["iso-14068-1"]).data
    data["version"] = "0.9.0"
    data["effective"] = {"from": "2014-01-01", "selects_by": "period.end"}
    data["parameters"]["retirement_window_months"]["value"] = 6
    path = tmp_path / "iso-14068-1-0.9.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture
def two_versions(tmp_path, monkeypatch):
    import vericarbon.rules.rulesets

    older = _older_version(tmp_path)
    installed = sorted(RULESETS.values()) + [older]
    monkeypatch.setattr(vericarbon.rules.rulesets, "builtin_rulesets", lambda: installed)


def test_verify_picks_the_version_in_effect_on_the_package_date(samples, tmp_path, capsys, two_versions):
    code, result, _ = verify_json(samples / "neutrality-company-2024.json", capsys)
    entry = result["rulesets"][0]
    assert entry["version"] == "1.0.0"
    assert entry["selected"] == "iso-14068-1 1.0.0: period.end is 2024-12-31, in effect from 2023-11-29 (installed: 1.0.0 from 2023-11-29, 0.9.0 from 2014-01-01)"
    code, result, _ = verify_json(samples / "neutrality-event-tokyo-2015.json", capsys)
    assert result["rulesets"][0]["version"] == "0.9.0" and result["rulesets"][0]["parameters"]["retirement_window_months"] == 6
    code, out, _ = run(["verify", samples / "neutrality-event-tokyo-2015.json", "-o", tmp_path / "r.html"], capsys)
    assert "version chosen: iso-14068-1 0.9.0: period.end is 2015-02-20, in effect from 2014-01-01" in out


def test_a_version_can_be_forced(samples, capsys, two_versions):
    code, result, _ = verify_json(samples / "neutrality-company-2024.json", capsys, "--ruleset", "iso-14068-1@0.9.0")
    assert result["rulesets"][0]["version"] == "0.9.0" and "selected" not in result["rulesets"][0]
    code, _, err = run(["verify", samples / "neutrality-company-2024.json", "--ruleset", "iso-14068-1@7.0.0"], capsys)
    assert code == 2 and "iso-14068-1@7.0.0: no such ruleset file or built-in ruleset" in err


def test_no_version_in_effect_is_an_input_error(samples, tmp_path, capsys, two_versions):
    import json

    package = json.loads((samples / "neutrality-company-2024.json").read_text())
    package["period"].update(start="2012-01-01", end="2012-12-31")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(package))
    code, _, err = run(["verify", path], capsys)
    assert code == 2 and "no installed version is in effect on the package's date 2012-12-31" in err and "--ruleset iso-14068-1@VERSION" in err

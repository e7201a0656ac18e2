"""Review records on the rules (issue 28 item 5): every built-in rule, batch rule and manual check carries the
December 2026 review's record (or says it was not reviewed, never an invented record), and a reader meets it
wherever the rule is shown: the result, `rules show`, the catalogue and the report's every-rule appendix."""

from __future__ import annotations

import json

from helpers import verify_json
from test_authoring import run

from vericarbon.evidence.package import SchemaStore
from vericarbon.render import html
from vericarbon.render.catalogue import catalogue
from vericarbon.render.findings import review_text
from vericarbon.rules.rulesets import resolve_rulesets

REVIEW_DATE = "2026-12-04"


def _items(ruleset) -> list[dict]:
    return ruleset.rules + ruleset.manual_checks + ruleset.data.get("batch_rules", [])


def test_every_builtin_rule_carries_a_review_record_and_the_catalogue_shows_it():
    for ruleset in resolve_rulesets([], SchemaStore()):
        page = catalogue(ruleset)
        for item in _items(ruleset):
            review = item["review"]
            if review["date"] is None:  # a rule the review did not reach says so, with nothing else claimed
                assert review == {"date": None, "outcome": "not reviewed"} and "executability" not in item, item["id"]
            else:
                assert review["date"] == REVIEW_DATE and review["outcome"] and item["executability"] in ("full", "partial"), item["id"]
            section = page.split(f"### {item['id']} — ", 1)[1].split("\n### ", 1)[0]
            assert f"- Review: {review_text(item)}\n" in section, item["id"]


def test_reviewed_and_unreviewed_rules_read_differently():
    assert review_text({"review": {"date": None, "outcome": "not reviewed"}}) == "not reviewed"
    assert review_text({}) == "not reviewed"  # a user's ruleset without records
    reviewed = {"review": {"date": REVIEW_DATE, "outcome": "fixed", "limits": "Sees only the date."}, "executability": "partial"}
    assert review_text(reviewed) == "reviewed 2026-12-04: fixed; executability partial. Limits: Sees only the date."


def test_results_rules_show_and_the_report_appendix_carry_the_review(samples, capsys):
    code, result, _ = verify_json(samples / "verification-organisation.json", capsys)
    assert code == 0
    items = [item for ruleset in result["rulesets"] for item in ruleset["results"]]
    assert items and all(item["review"]["date"] in (REVIEW_DATE, None) for item in items)
    terms = next(item for item in items if item["id"] == "VER-TERMS-AGREED")
    assert terms["review"]["outcome"] == "fixed" and terms["executability"] == "full"
    page = html.render(result)
    appendix = page.split('id="rules"', 1)[1].split('id="evidence-register"', 1)[0]
    assert review_text(terms).split(". Limits:")[0] in appendix
    code, out, _ = run(["rules", "show", "VER-TERMS-AGREED"], capsys)
    assert code == 0 and f"review: {review_text(terms)}" in out
    code, out, _ = run(["rules", "show", "PLAUS-SERIES-GAP"], capsys)
    assert code == 0 and "review: not reviewed" in out


def test_a_review_record_must_be_well_formed(tmp_path, capsys):
    ruleset = json.loads(json.dumps(next(r for r in resolve_rulesets([], SchemaStore()) if r.id == "credit-records").data))
    ruleset["rules"][0]["review"] = {"date": "4 December", "outcome": "ok"}
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(ruleset))
    code, _, err = run(["rules", "test", path], capsys)
    assert code == 2 and "/rules/0/review/date" in err

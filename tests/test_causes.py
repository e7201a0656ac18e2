"""One finding per cause (issue 28 item 3): findings on the same evidence for the same cause are grouped in
the result (causes, summary.causes) and shown once in the report's register with every requirement they
break, while each rule keeps its own status (run/causes.py defines "same cause")."""

from __future__ import annotations

from helpers import verify_json

from vericarbon.render import issued
from vericarbon.run.causes import causes


def test_one_misstatement_and_one_bad_unit_are_one_cause_each(samples, capsys):
    _, result, _ = verify_json(samples / "verification-organisation-defects.json", capsys)
    grouped = {tuple(cause["rules"]) for cause in result["causes"] if len(cause["rules"]) > 1}
    assert grouped == {("VER-MATERIALITY-AGGREGATE", "VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL", "VER-UNMODIFIED-OPINION-JUSTIFIED"),
                       ("VER-DI-LINE-ARITHMETIC", "VER-DI-UNITS")}
    statuses = {item["id"]: item["status"] for ruleset in result["rulesets"] for item in ruleset["results"]}
    assert statuses["VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL"] == statuses["VER-UNMODIFIED-OPINION-JUSTIFIED"] == "fail"  # each keeps its status
    findings = sum(len(cause["findings"]) for cause in result["causes"])
    assert result["summary"]["causes"] == len(result["causes"]) == findings - 3
    register = issued.model(result)["register"]
    assert len(register) == len(result["causes"])
    misstatement = next(e for e in register if e["rule"]["id"] == "VER-MATERIALITY-AGGREGATE")
    assert [other["rule"]["id"] for other in misstatement["also"]] == ["VER-MISSTATEMENT-INDIVIDUALLY-MATERIAL", "VER-UNMODIFIED-OPINION-JUSTIFIED"]
    unit = next(e for e in register if e["pointer"] == "/statement/lines/2")
    assert [unit["rule"]["id"]] + [other["rule"]["id"] for other in unit["also"]] == ["VER-DI-LINE-ARITHMETIC", "VER-DI-UNITS"]


def _result(*findings: tuple[str, str, list, str | None]) -> dict:
    results = [{"id": rule, "occurrences": [{"status": "fail", "pointer": pointer, "values": values}], **({"same_cause_as": cause} if cause else {})}
               for rule, pointer, values, cause in findings]
    return {"rulesets": [{"id": "r", "results": results}]}


def test_same_cause_is_conservative():
    unit = {"pointer": "/lines/2/unit", "value": "kWh"}
    other = {"pointer": "/lines/2/unit", "value": "L"}
    factor = {"pointer": "/lines/2/factor", "value": 2}
    assert len(causes(_result(("A", "/lines/2", [unit], None), ("B", "/lines/2", [unit, factor], None)))) == 1  # same evidence
    assert len(causes(_result(("A", "/lines/2", [unit], None), ("B", "/lines/2", [other, factor], None)))) == 2  # another value
    assert len(causes(_result(("A", "/lines/2", [unit], None), ("B", "/lines/3", [unit], None)))) == 2  # another place
    assert len(causes(_result(("A", "/", [unit], None), ("B", "/", [unit], None)))) == 2  # the whole package is no place
    assert len(causes(_result(("A", "/x", [unit], None), ("B", "/y", [factor], "A")))) == 1  # declared consequence


def test_same_cause_as_must_name_another_rule(tmp_path, capsys):
    import json

    from test_authoring import run

    from vericarbon.evidence.package import SchemaStore
    from vericarbon.rules.rulesets import resolve_rulesets

    data = json.loads(json.dumps(next(r for r in resolve_rulesets([], SchemaStore()) if r.id == "credit-records").data))
    data["rules"][1]["same_cause_as"] = "NO-SUCH-RULE"
    path = tmp_path / "caused.yaml"
    path.write_text(json.dumps(data))
    code, _, err = run(["rules", "test", path], capsys)
    assert code == 2 and "/rules/1/same_cause_as" in err and "'NO-SUCH-RULE' is not another rule" in err

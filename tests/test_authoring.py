"""Traceability and authoring: the clause matrix, the index lint, rule tests as a gate."""

import csv
import io

import pytest
import yaml

from engine.cli import main
from engine.resources import builtin_rulesets

RULESETS = {p.stem: p for p in builtin_rulesets()}


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
    data = yaml.safe_load(RULESETS["iso-14064-3"].read_text())
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

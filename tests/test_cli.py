"""Every command and exit code, and each bad input: a short error naming file and location, exit 2, nothing written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vericarbon.cli import _COMMANDS, build_parser, main
from vericarbon.resources import builtin_rulesets

BASICS = next(p for p in builtin_rulesets() if p.stem == "inventory-basics")


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_conforming_sample_writes_summary_and_html(samples, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["verify", samples / "inventory-conforming.json"], capsys)
    assert code == 0
    assert "0 failing" in out
    report = (tmp_path / "inventory-conforming.report.html").read_text()
    assert "<h1>GHG inventory check report</h1>" in report and "INV-BOUNDARY-JUDGEMENT" in report


def test_verify_defects_sample_reports_each_planted_defect(samples, capsys):
    code, out, _ = run(["verify", samples / "inventory-defects.json", "--format", "json"], capsys)
    assert code == 1
    result = json.loads(out)
    failing = {r["id"]: r for r in result["rulesets"][0]["results"] if r["status"] == "fail"}
    assert set(failing) == {"INV-LINE-ARITH", "INV-TOTAL", "CR-NO-OVERLAP", "CR-RETIREMENT-WINDOW", "CR-RETIREMENT-EVIDENCE"}
    line = failing["INV-LINE-ARITH"]["occurrences"][0]
    assert line["pointer"] == "/lines/3"
    assert {"pointer": "/lines/3/reported_tco2e", "expr": "item.reported_tco2e", "value": 541.855} in line["values"]
    assert failing["INV-LINE-ARITH"]["clauses"][0]["clause"] == "5.3"
    assert [o["pointer"] for o in failing["CR-NO-OVERLAP"]["occurrences"]] == ["/offsets/batches/0", "/offsets/batches/1"]
    assert result["evidence"]["sha256"] and result["rulesets"][0]["sha256"]


def test_result_is_deterministic(samples, capsys):
    first = run(["verify", samples / "inventory-defects.json", "--format", "json"], capsys)[1]
    second = run(["verify", samples / "inventory-defects.json", "--format", "json"], capsys)[1]
    assert first == second


def test_result_matches_its_schema(samples, capsys):
    import jsonschema

    schema = json.loads((Path(builtin_rulesets()[0]).parent.parent / "schemas" / "result.schema.json").read_text())
    result = json.loads(run(["verify", samples / "inventory-defects.json", "--format", "json", "--explain", "INV-TOTAL"], capsys)[1])
    jsonschema.Draft202012Validator(schema).validate(result)


@pytest.mark.parametrize("fmt, marker", [("md", "# Verification findings"), ("html", "<!DOCTYPE html>"), ("xml", "<verification-result"), ("json", '"verdict"')])
def test_every_format_renders_to_file(samples, tmp_path, capsys, fmt, marker):
    target = tmp_path / f"out.{fmt}"
    code, _, _ = run(["verify", samples / "inventory-defects.json", "--format", fmt, "-o", target], capsys)
    assert code == 1 and marker in target.read_text()


def test_html_is_autoescaped(base_package, tmp_path, capsys):
    base_package["offsets"]["batches"][0]["beneficiary"] = "<script>alert(1)</script>"
    package = tmp_path / "p.json"
    package.write_text(json.dumps(base_package))
    run(["verify", package, "--format", "html", "-o", tmp_path / "r.html"], capsys)
    html = (tmp_path / "r.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_explain_prints_failing_leaves(samples, capsys):
    code, out, _ = run(["verify", samples / "inventory-defects.json", "-o", "/dev/null", "--explain", "INV-TOTAL"], capsys)
    assert "explain INV-TOTAL: fail" in out
    assert "totals.total_tco2e = 2128.077  @ /totals/total_tco2e" in out


def test_validate(samples, capsys):
    assert run(["validate", samples / "inventory-conforming.json"], capsys)[0] == 0


def test_rules_list_show_test(capsys):
    code, out, _ = run(["rules", "list"], capsys)
    assert code == 0 and "CR-NO-OVERLAP" in out and "manual check" in out
    code, out, _ = run(["rules", "show", "CR-NO-OVERLAP"], capsys)
    assert code == 0 and "engine: python sort-and-sweep (an overlap join, quadratic on durable-rules)" in out
    code, out, _ = run(["rules", "show", "CR-RETIREMENT-EVIDENCE"], capsys)
    assert code == 0 and "engine: durable-rules (absence of a related fact)" in out
    code, out, _ = run(["rules", "test", "--strict"], capsys)
    assert code == 0 and "0 failed" in out


def test_rules_test_reports_a_failing_case_with_its_trace(tmp_path, capsys):
    data = yaml.safe_load(BASICS.read_text())
    data["rules"][0]["tests"][1]["pointer"] = "/lines/0"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, _ = run(["rules", "test", path], capsys)
    assert code == 1
    assert "FAILED INV-LINE-ARITH / second line overstated: expected fail, got fail; expected a finding at /lines/0" in out
    assert "item.reported_tco2e = 250  @ /lines/1/reported_tco2e" in out


# ---------------------------------------------------------------- bad input


def _bad(capsys, argv, *fragments):
    code, out, err = run(argv, capsys)
    assert code == 2, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_missing_file(capsys, tmp_path):
    _bad(capsys, ["verify", tmp_path / "nope.json"], "nope.json", "no such file")


def test_malformed_json(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"kind": "ghg-inventory",\n  "id": }')
    _bad(capsys, ["verify", path], "bad.json: line 2, column 9: malformed JSON")


@pytest.mark.parametrize(
    "name, text, fragments",
    [
        ("nan.json", '{"kind": "ghg-inventory",\n  "lines": [NaN]}', ["nan.json: line 2, column 13: malformed JSON"]),
        ("huge.json", '{"kind": "ghg-inventory",\n  "total": 1e400}', ["huge.json: line 2, column 12: malformed JSON", "infinity"]),
        ("deep.json", "[" * 5000 + "]" * 5000, ["deep.json", "malformed JSON: depth limit exceeded"]),
        ("inf.yaml", "kind: ghg-inventory\nlines:\n  - reported_tco2e: .inf\n", ["inf.yaml: /lines/0/reported_tco2e", "must be finite"]),
    ],
)
def test_non_finite_numbers_and_runaway_nesting_are_refused(capsys, tmp_path, name, text, fragments):
    path = tmp_path / name
    path.write_text(text)
    _bad(capsys, ["verify", path], *fragments)


def test_malformed_yaml(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: ghg-inventory\nlines: [1, 2\n")
    _bad(capsys, ["verify", path], "bad.yaml: line 3", "malformed YAML")


def test_schema_failure_lists_every_error(capsys, tmp_path, base_package):
    base_package["lines"][0]["scope"] = 7
    base_package["period"]["end"] = "2024-13-40"
    del base_package["totals"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(base_package))
    err = _bad(capsys, ["verify", path], "p.json: /lines/0/scope: must be one of 1, 2, 3; found 7", "/period/end: '2024-13-40' is not a valid date", "'totals' is a required property")
    assert len(err.strip().splitlines()) == 3
    assert not list(Path.cwd().glob("p.report.html"))


def test_unknown_kind_and_version(capsys, tmp_path, base_package):
    base_package["schema_version"] = "9.9"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(base_package))
    _bad(capsys, ["verify", path], "p.json: /kind: unknown package kind or schema version 'ghg-inventory' '9.9'")


def _ruleset_with(tmp_path, change):
    data = yaml.safe_load(BASICS.read_text())
    change(data)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_ruleset_failing_its_schema(capsys, tmp_path, samples):
    path = _ruleset_with(tmp_path, lambda d: d["rules"][0].pop("clauses"))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "custom.yaml: /rules/0: 'clauses' is a required property")


def test_rule_without_message_or_tests_is_refused(capsys, tmp_path, samples):
    path = _ruleset_with(tmp_path, lambda d: (d["rules"][0].pop("message"), d["rules"][1].update(tests=d["rules"][1]["tests"][:1])))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "'message' is a required property", "/rules/1/tests")


def test_expression_syntax_error_names_rule_and_column(capsys, tmp_path, samples):
    path = _ruleset_with(tmp_path, lambda d: d["rules"][1].update(check="sum(lines, .reported_tco2e) >"))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "custom.yaml: /rules/1/check: rule INV-TOTAL, check, column 30: expected a value")


def test_expression_unknown_field(capsys, tmp_path, samples):
    path = _ruleset_with(tmp_path, lambda d: d["rules"][1].update(check="totals.grand_total > 0"))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "rule INV-TOTAL, check, column 1: unknown field 'grand_total' in totals")


def test_definitions_are_shared_and_checked(capsys, tmp_path, samples):
    def define(d):
        d["definitions"] = {"line_sum": "sum(lines, .reported_tco2e)"}
        d["rules"][1].update(check="approx(defs.line_sum, totals.total_tco2e, params.line_tolerance)")

    code, out, _ = run(["verify", samples / "inventory-defects.json", "--format", "json", "--ruleset", _ruleset_with(tmp_path, define)], capsys)
    total = next(r for r in json.loads(out)["rulesets"][0]["results"] if r["id"] == "INV-TOTAL")
    assert code == 1 and total["status"] == "fail"
    path = _ruleset_with(tmp_path, lambda d: (d.update(definitions={"bad": "totals.grand_total"})))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "custom.yaml: /definitions/bad: definition bad, column 1: unknown field 'grand_total'")
    path = _ruleset_with(tmp_path, lambda d: (d.update(definitions={"a": "defs.b + 1", "b": "defs.a"})))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "/definitions/a: definition a, column 1: definition 'a' refers to itself")
    path = _ruleset_with(tmp_path, lambda d: d["rules"][1].update(check="defs.nothing > 0"))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "unknown definition 'nothing' (this ruleset defines: none)")


def test_duplicate_rule_id(capsys, tmp_path, samples):
    path = _ruleset_with(tmp_path, lambda d: d["rules"][1].update(id=d["rules"][0]["id"]))
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", path], "/rules/1/id: duplicate rule id 'INV-LINE-ARITH'")


def test_unknown_ruleset_and_rule(capsys, samples):
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--ruleset", "no-such"], "no such ruleset")
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--explain", "NOPE"], "no rule NOPE")
    _bad(capsys, ["rules", "show", "NOPE"], "NOPE: no rule")


def test_output_into_missing_folder_writes_nothing(capsys, tmp_path, samples):
    _bad(capsys, ["verify", samples / "inventory-conforming.json", "--format", "md", "-o", tmp_path / "no" / "r.md"], "does not exist")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["verify"])
    assert raised.value.code == 2


def test_console_and_module_entry_points_give_no_traceback(tmp_path):
    for command in ([str(Path(sys.executable).parent / "vericarbon")], [sys.executable, "-m", "vericarbon"]):
        done = subprocess.run([*command, "verify", str(tmp_path / "missing.json")], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "no such file" in done.stderr


def test_closed_pipe_gives_no_traceback(samples, tmp_path):
    done = subprocess.run(f"{Path(sys.executable).parent / 'vericarbon'} verify {samples / 'inventory-defects.json'} -o {tmp_path / 'r.html'} | head -1", shell=True, capture_output=True, text=True)
    assert "Traceback" not in done.stderr and done.stdout.startswith("vericarbon")


def test_invalid_test_base_is_one_clear_error(capsys, tmp_path):
    path = _ruleset_with(tmp_path, lambda d: d["test_base"]["totals"].update(total_tco2e="400"))
    _bad(capsys, ["rules", "test", path], "custom.yaml: /test_base/totals/total_tco2e: '400' is not of type 'number'")
    path = _ruleset_with(tmp_path, lambda d: d["test_base"].pop("kind"))
    _bad(capsys, ["rules", "test", path], "custom.yaml: /test_base: test_base must be a package of a known kind")


def test_the_verdict_says_what_awaits_the_auditor_and_require_judgements_makes_it_count(samples, capsys):
    code = main(["verify", str(samples / "verification-organisation.json"), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["verdict"] == "no_nonconformity"
    assert result["summary"]["statement"] == "no nonconformity found by the rules; 27 checks await auditor judgement"
    assert main(["verify", str(samples / "verification-organisation.json"), "--format", "json", "--require-judgements"]) == 1


def test_the_readme_answers_example_applies_one_waiver_on_its_date(samples, capsys):
    answers = Path(__file__).resolve().parent.parent / "docs" / "examples" / "answers-northbridge-defects.yaml"
    main(["verify", str(samples / "verification-organisation-defects.json"), "--answers", str(answers), "--as-of", "2025-06-30", "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert sorted(w["status"] for w in result["answers"]["waivers"]) == ["applied", "expired"]
    assert result["summary"]["statement"] == "11 nonconformities found by the rules; 25 checks await auditor judgement"


def test_verify_does_not_import_what_only_other_commands_use(tmp_path):
    """Start-up: `verify` pays for neither the registry and statement importers, nor screening, nor the
    progress bar (an option's choices are read only when argparse checks a value or writes help), nor the
    factor sets or an auditor's answers when its rules and options use none; nor any other command's
    module of vericarbon.cli."""
    sample = Path(__file__).resolve().parent.parent / "evidence_samples" / "inventory-conforming.json"
    script = (
        "import sys\n"
        "from vericarbon.cli import main\n"
        f"main(['verify', {str(sample)!r}, '--format', 'json', '-o', {str(tmp_path / 'r.json')!r}])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('vericarbon.importers', "
        "'vericarbon.rules.matrix', 'vericarbon.screening.batch', 'vericarbon.screening.ledger', 'vericarbon.factors', 'vericarbon.run.answers', 'tqdm'))))\n"
        "print(sorted(m for m in sys.modules if m.startswith('vericarbon.cli.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "['vericarbon.cli.output', 'vericarbon.cli.verify']"]


ONE_PER_COMMAND = [  # a command line of each command, with options
    ["verify", "p.json", "--ruleset", "icr", "--param", "a=1", "--format", "json", "-o", "out.json", "--explain", "R1"],
    ["screen", "a", "b.jsonl", "--jobs", "3", "--timeout", "5", "--ledger", "l.sqlite"],
    ["ledger", "series", "EUTL:1", "--ledger", "l.sqlite"],
    ["import", "registry", "--from", "verra", "f.csv"],
    ["import", "statements", "--from", "rosehill", "f.csv", "-o", "o.jsonl"],
    ["export", "workbook", "p.json", "-o", "p.xlsx"],
    ["template", "ghg-statement", "-o", "t.xlsx"],
    ["init", "ghg-statement"],
    ["schemas", "docs", "--check"],
    ["factors", "search", "natural", "gas", "--set", "desnz-2024"],
    ["validate", "p.json"],
    ["serve", "--port", "9000", "--workers", "0"],
    ["worker", "--lease", "5"],
    ["keys", "create", "--registry", "ICR"],
    ["audit", "verify", "--database", "s.sqlite"],
    ["rules", "matrix", "icr", "--format", "table", "--strict"],
]


@pytest.mark.parametrize("argv", ONE_PER_COMMAND)
def test_the_parser_built_for_one_command_reads_it_as_the_whole_parser_does(argv):
    assert vars(build_parser(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_every_command_has_a_command_line_above():
    assert {argv[0] for argv in ONE_PER_COMMAND} == set(_COMMANDS)


def test_a_parameter_of_a_ruleset_that_does_not_apply_to_the_package_is_refused(samples, tmp_path, capsys):
    """--param buffer_percent_minimum (ICR's) on an inventory would change nothing; it was silently ignored."""
    code, _, err = run(["verify", samples / "inventory-conforming.json", "--param", "buffer_percent_minimum=5", "--format", "json", "-o", tmp_path / "r.json"], capsys)
    assert code == 2 and "buffer_percent_minimum belongs to ruleset icr" in err and not (tmp_path / "r.json").exists()
    code, _, _ = run(["verify", samples / "icr-removal-issuance.json", "--param", "buffer_percent_minimum=5", "--format", "json", "-o", tmp_path / "r.json"], capsys)
    assert code in (0, 1) and json.loads((tmp_path / "r.json").read_text())["rulesets"]

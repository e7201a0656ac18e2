"""Budgets (issue 30, item 2): the generated loops tick and read the clock against a deadline, so a rule over
its budget is that rule's engine error, "budget exceeded after X s", and every other rule goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_screen import inventory

from vericarbon.cli import main


def test_a_rule_over_its_budget_is_an_engine_error_and_the_others_go_on(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "overlapping.json"
    path.write_text(json.dumps(inventory("SLOW", [(1, 1000)] * 600)))  # CR-NO-OVERLAP: 600 × 600 ticks
    assert main(["verify", str(path), "--format", "json", "--rule-budget", "0.05"]) in (0, 1)
    result = json.loads(capsys.readouterr().out)
    statuses = {item["id"]: item for rs in result["rulesets"] for item in rs["results"]}
    over = [item for item in statuses.values() if item["status"] == "engine_error"]
    assert over, "no rule ran past 50 ms on 600 overlapping batches"
    assert all(item["reason"].startswith("budget exceeded after ") and item["reason"].endswith(" s") for item in over)
    assert any(item["status"] in ("pass", "fail") for item in statuses.values())
    assert "could not run" in result["summary"]["statement"]


def test_without_a_budget_the_same_rule_runs_to_the_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "overlapping.json"
    path.write_text(json.dumps(inventory("SLOW", [(1, 1000)] * 600)))
    assert main(["verify", str(path), "--format", "json", "--rule-budget", "0", "--package-budget", "0"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert "engine_errors" not in result["summary"]


@pytest.mark.parametrize("text", ["-1", "soon", "inf", "nan"])
def test_a_budget_is_a_number_of_seconds(tmp_path: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["verify", str(tmp_path / "any.json"), "--rule-budget", text])
    assert stopped.value.code == 2 and "is not a number of seconds" in capsys.readouterr().err


def test_the_generated_loops_tick_against_the_deadline() -> None:
    """An aggregate's loop over its elements reads the clock every TICKS elements: past env.deadline the
    rule stops with BudgetExceeded; with no deadline it runs through."""
    import time

    from test_codegen import SHAPE

    from vericarbon.errors import BudgetExceeded
    from vericarbon.lang import Env, Scope, parse
    from vericarbon.lang.codegen import TICKS
    from vericarbon.rules.compiling import compile_rule

    run = compile_rule(None, parse("count(lines, .scope == 1) > 0"), lambda: Scope(SHAPE, {}), "T", per_item=False)
    package = {"lines": [{"scope": 2}] * (2 * TICKS)}
    env = Env(package, {})
    assert run(env, [None], "", None, frozenset(), "not_evaluated") == ["fail"]
    env.deadline, env.started = time.monotonic() - 1, time.monotonic() - 2
    with pytest.raises(BudgetExceeded, match=r"budget exceeded after 2\.\d s"):
        run(env, [None], "", None, frozenset(), "not_evaluated")


def test_profile_rules_prints_the_slowest_rules_to_stderr_and_leaves_the_result_alone(capsys: pytest.CaptureFixture) -> None:
    sample = Path(__file__).parent.parent / "evidence_samples" / "inventory-defects.json"
    assert main(["verify", str(sample), "--format", "json", "--profile-rules", "3"]) == 1
    out, err = capsys.readouterr()
    json.loads(out)
    lines = err.splitlines()
    assert lines[0].startswith("rule times (the 3 slowest of ") and len(lines) == 4
    times = [float(line.split()[0]) for line in lines[1:]]
    assert times == sorted(times, reverse=True) and all("/" in line for line in lines[1:])

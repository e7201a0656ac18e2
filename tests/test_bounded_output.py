"""Bounded output (issue 30, item 4): occurrences per rule are capped in results and reports, with the true
count kept, and an occurrence names at most RELATED_SHOWN related elements, so a result grows with its input,
not with the square of it (an inventory whose batches all overlap)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_screen import inventory

from vericarbon.cli import main
from vericarbon.run.evaluate import RELATED_SHOWN


def _overlapping(tmp_path: Path, batches: int) -> Path:
    path = tmp_path / f"overlapping-{batches}.json"
    path.write_text(json.dumps(inventory(f"OVERLAP-{batches}", [(1, 1000)] * batches)))
    return path


def _verify(path: Path, capsys: pytest.CaptureFixture, *options: str) -> str:
    assert main(["verify", str(path), *options]) == 1
    return capsys.readouterr().out


def test_occurrences_beyond_the_cap_are_counted_not_listed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _overlapping(tmp_path, 60)
    result = json.loads(_verify(path, capsys, "--format", "json", "--max-occurrences", "10"))
    rule = next(item for rs in result["rulesets"] for item in rs["results"] if item["id"] == "CR-NO-OVERLAP")
    assert (len(rule["occurrences"]), rule["occurrence_count"], rule["items"]) == (10, 60, {"fail": 60})
    assert all(len(o["related"]) == RELATED_SHOWN and o["related_count"] == 59 for o in rule["occurrences"])
    assert "… 50 more" in _verify(path, capsys, "--max-occurrences", "10", "-o", str(tmp_path / "r.html"))
    assert "50 more occurrence(s) of rule CR-NO-OVERLAP" in (tmp_path / "r.html").read_text()
    assert "… 50 more" in _verify(path, capsys, "--format", "md", "--max-occurrences", "10")


def test_a_result_grows_with_its_input_not_its_square(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sizes = {}
    for batches in (80, 160):
        sizes[batches] = len(_verify(_overlapping(tmp_path, batches), capsys, "--format", "json"))
    assert sizes[160] / sizes[80] < 2.3, sizes  # twice the batches: about twice the result (four times before the cap)


def test_max_occurrences_must_be_a_positive_count(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["verify", str(_overlapping(tmp_path, 2)), "--max-occurrences", "0"])
    assert stopped.value.code == 2 and "--max-occurrences: '0' is not a whole number of at least 1" in capsys.readouterr().err

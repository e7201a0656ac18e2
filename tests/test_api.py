"""The public API: docs/python.md runs as written, and the package forms and errors it promises."""

from __future__ import annotations

import doctest
import json
import os
from pathlib import Path

import pytest

import vericarbon

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "evidence_samples" / "inventory-defects.json"


def test_python_page_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(str(ROOT / "docs" / "python.md"), module_relative=False, report=True)
    assert tried > 20 and failures == 0


def test_public_names_are_exactly_the_documented_ones() -> None:
    assert sorted(vericarbon.__all__) == ["Finding", "InputError", "Result", "ValidationError", "__version__", "load_ruleset", "screen", "validate", "verify"]
    for name in vericarbon.__all__:
        assert getattr(vericarbon, name) is not None
    with pytest.raises(AttributeError):
        vericarbon.Checker  # noqa: B018 - internal names stay internal


@pytest.mark.parametrize("form", ["path", "str path", "json text", "yaml text", "bytes", "dict"])
def test_every_package_form_gives_the_same_verdict_and_findings(form: str) -> None:
    data = json.loads(SAMPLE.read_text())
    package = {
        "path": SAMPLE,
        "str path": str(SAMPLE),
        "json text": SAMPLE.read_text(),
        "yaml text": "# a YAML document\n" + json.dumps(data, indent=1),
        "bytes": SAMPLE.read_bytes(),
        "dict": data,
    }[form]
    result = vericarbon.verify(package)
    assert result.verdict == "nonconformities"
    assert [(f.rule_id, f.pointer) for f in result.findings] == [(f.rule_id, f.pointer) for f in vericarbon.verify(SAMPLE).findings]


def test_a_parameter_of_the_wrong_type_is_an_input_error() -> None:
    with pytest.raises(vericarbon.InputError, match="line_tolerance"):
        vericarbon.verify(SAMPLE, params={"line_tolerance": "loose"})


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        vericarbon.verify(SAMPLE).render("docx")


def test_validate_reports_unreadable_and_unknown_packages() -> None:
    assert [e.message for e in vericarbon.validate("no/such/file.json")] == ["no such file"]
    (error,) = vericarbon.validate({"kind": "ghg-inventory", "schema_version": "9.9"})
    assert error.pointer == "/kind" and "unknown package kind" in error.message


def _two_claims_on_the_same_credits(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for copy in ("a", "b"):  # the same credits claimed by two submissions
        data = json.loads((ROOT / "evidence_samples" / "inventory-conforming.json").read_text())
        data["id"] = f"SUBMISSION-{copy}"
        (folder / f"{copy}.json").write_text(json.dumps(data))
    return folder


def test_screen_keeps_its_ledger_where_asked(tmp_path: Path) -> None:
    lines = list(vericarbon.screen([_two_claims_on_the_same_credits(tmp_path)], jobs=1, ledger=tmp_path / "ledger.sqlite"))
    assert (tmp_path / "ledger.sqlite").is_file()
    assert [len(line["ledger_conflicts"]) > 0 for line in lines] == [False, True]
    assert all("claims" not in line for line in lines)


def test_screen_keeps_its_ledger_in_postgresql_given_a_url(tmp_path: Path, postgres_url: str) -> None:
    lines = list(vericarbon.screen([_two_claims_on_the_same_credits(tmp_path)], jobs=1, ledger=postgres_url))
    assert [len(line["ledger_conflicts"]) > 0 for line in lines] == [False, True]


def test_the_console_script_and_the_module_are_the_package(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import importlib.util, vericarbon; print(importlib.util.find_spec('engine') is None, vericarbon.__version__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    assert done.stdout.split() == ["True", vericarbon.__version__], done.stderr


def test_engine_is_not_importable_even_from_the_repository_root():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import engine"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "import vericarbon" in done.stderr

"""A ruleset may be a folder: ruleset.yaml holds the header, the other *.yaml files hold rules, read in
file-name order as one ruleset with one content hash (engine/vericarbon/rules/sources.py)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import STORE, verify_json

from vericarbon.errors import InputError
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.rules.sources import read_source

BUILTIN = {p.name: p for p in builtin_rulesets()}
BASICS = BUILTIN["inventory-basics.yaml"]


def _folder(tmp_path: Path, parts: dict[str, dict]) -> Path:
    """inventory-basics as a folder: its header in ruleset.yaml and its rules (and manual checks) in the
    files named in `parts`, by slices of the rules list."""
    data = yaml.safe_load(BASICS.read_text())
    folder = tmp_path / "basics"
    folder.mkdir()
    header = {key: value for key, value in data.items() if key not in ("rules", "manual_checks")}
    (folder / "ruleset.yaml").write_text(yaml.safe_dump(header, sort_keys=False, allow_unicode=True))
    for name, content in parts.items():
        (folder / name).write_text(yaml.safe_dump(content(data) if callable(content) else content, sort_keys=False, allow_unicode=True))
    return folder


def _halves(tmp_path: Path) -> Path:
    return _folder(tmp_path, {"1-first.yaml": lambda d: {"rules": d["rules"][:5]}, "2-second.yaml": lambda d: {"rules": d["rules"][5:], "manual_checks": d["manual_checks"]}})


def test_a_folder_is_one_ruleset_in_file_name_order(tmp_path):
    single = load_ruleset(BASICS, STORE)
    folder = load_ruleset(_halves(tmp_path), STORE)
    assert folder.id == single.id and folder.data == {**single.data}
    assert [r["id"] for r in folder.rules] == [r["id"] for r in single.rules]
    assert [c["id"] for c in folder.manual_checks] == [c["id"] for c in single.manual_checks]


def test_a_folder_has_one_hash_over_every_file(tmp_path):
    folder = _halves(tmp_path)
    expected = hashlib.sha256()
    for file in sorted(folder.glob("*.yaml"), key=lambda p: p.name):
        expected.update(f"{file.name}\0{file.stat().st_size}\0".encode() + file.read_bytes())
    first = read_source(folder).sha256
    assert first == expected.hexdigest()
    (folder / "2-second.yaml").write_text((folder / "2-second.yaml").read_text() + "\n")
    changed = read_source(folder).sha256
    (folder / "2-second.yaml").rename(folder / "3-second.yaml")
    renamed = read_source(folder).sha256
    assert len({first, changed, renamed}) == 3


def test_a_folder_and_the_same_rules_in_one_file_give_the_same_results(samples, tmp_path, capsys):
    """The built-in iso-14064-3 folder, and its merged document written as one file."""
    folder = BUILTIN["iso-14064-3"]
    single = tmp_path / "iso-14064-3.yaml"
    single.write_text(yaml.safe_dump(read_source(folder).data, sort_keys=False, allow_unicode=True))
    _, from_folder, _ = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", folder)
    _, from_file, _ = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", single)
    for result in (from_folder, from_file):
        for entry in result["rulesets"]:
            del entry["file"], entry["sha256"]
        del result["evidence"]["file"]
    assert from_folder == from_file


def test_the_valid_marker_covers_every_file_of_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VERICARBON_CACHE_DIR", str(tmp_path / "cache"))
    folder = _halves(tmp_path)
    load_ruleset(folder, STORE)  # valid: leaves a marker named by the folder's hash
    second = yaml.safe_load((folder / "2-second.yaml").read_text())
    second["rules"][0]["verb"] = "ought"
    (folder / "2-second.yaml").write_text(yaml.safe_dump(second, sort_keys=False))
    with pytest.raises(InputError) as raised:
        load_ruleset(folder, STORE)
    assert raised.value.file == str(folder / "2-second.yaml") and "/rules/0/verb" in raised.value.render()


def test_an_error_in_a_rule_file_names_the_file_and_the_line(tmp_path):
    folder = _halves(tmp_path)
    second = yaml.safe_load((folder / "2-second.yaml").read_text())
    second["rules"][2]["check"] = "lines + 1"
    (folder / "2-second.yaml").write_text(yaml.safe_dump(second, sort_keys=False))
    line = next(n for n, text in enumerate((folder / "2-second.yaml").read_text().split("\n"), 1) if text == f"- id: {second['rules'][2]['id']}")
    with pytest.raises(InputError) as raised:
        load_ruleset(folder, STORE)
    assert raised.value.file == str(folder / "2-second.yaml")
    assert raised.value.problems[0][0] == f"line {line}, /rules/2/check"


def test_a_malformed_rule_file_names_its_line(tmp_path):
    folder = _halves(tmp_path)
    (folder / "2-second.yaml").write_text("rules:\n  - id: X\n    title: [unclosed\n")
    with pytest.raises(InputError) as raised:
        load_ruleset(folder, STORE)
    assert raised.value.file == str(folder / "2-second.yaml") and "line" in raised.value.render()


def test_a_rule_id_twice_across_files_names_both_files(tmp_path):
    folder = _folder(tmp_path, {"1-first.yaml": lambda d: {"rules": d["rules"]}, "2-again.yaml": lambda d: {"rules": d["rules"][:1]}})
    with pytest.raises(InputError) as raised:
        load_ruleset(folder, STORE)
    message = raised.value.render()
    assert raised.value.file == str(folder / "2-again.yaml")
    assert "2-again.yaml: line 2, /rules/0/id: duplicate rule id" in message and "(first at 1-first.yaml line 2, /rules/0/id)" in message


def test_a_folder_without_a_header_is_refused(tmp_path):
    folder = _halves(tmp_path)
    (folder / "ruleset.yaml").unlink()
    with pytest.raises(InputError, match="a ruleset folder needs a ruleset.yaml"):
        load_ruleset(folder, STORE)


def test_header_keys_belong_in_the_header(tmp_path):
    folder = _folder(tmp_path, {"1-rules.yaml": lambda d: {"rules": d["rules"], "parameters": d["parameters"]}})
    with pytest.raises(InputError) as raised:
        load_ruleset(folder, STORE)
    assert raised.value.file == str(folder / "1-rules.yaml") and "'parameters' is a header key: it belongs in ruleset.yaml" in raised.value.render()
    header = yaml.safe_load((folder / "ruleset.yaml").read_text())
    (folder / "ruleset.yaml").write_text(yaml.safe_dump({**header, "rules": []}, sort_keys=False))
    (folder / "1-rules.yaml").write_text(yaml.safe_dump({"rules": yaml.safe_load(BASICS.read_text())["rules"]}, sort_keys=False))
    with pytest.raises(InputError, match="rules belong in the folder's rule files"):
        load_ruleset(folder, STORE)


def test_an_overlay_extends_a_folder_by_path(samples, tmp_path, capsys):
    shutil.copytree(BUILTIN["iso-14064-3"], tmp_path / "iso-14064-3")
    overlay = tmp_path / "programme.overlay.yaml"
    overlay.write_text("overlay: programme\ntitle: A programme\nversion: 1.0.0\nextends: iso-14064-3\nparameters: {materiality_percent_max: 2}\n")
    code, result, _ = verify_json(samples / "verification-organisation.json", capsys, "--ruleset", overlay)
    assert result["rulesets"][0]["overlays"][0]["extends"]["file"] == str(tmp_path / "iso-14064-3")
    assert next(r for r in result["rulesets"][0]["results"] if r["id"] == "VER-MATERIALITY-PROGRAMME-CEILING")["status"] == "fail"

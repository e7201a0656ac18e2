"""Reproducers of issue 30: inputs that crashed (exit 3, or a TypeError or RecursionError through the API)
where a user's mistake or a hostile file must get a clear error. Each test failed before its fix."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from test_hostile import cli

import vericarbon
from vericarbon.cli import main
from vericarbon.errors import InputError
from vericarbon.evidence.documents import parse_document
from vericarbon.render import FORMATS, csv_format, pdf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "evidence_samples"
EXPORTS = Path(__file__).parent / "data" / "registry-exports"


def imported_record(tmp_path: Path, registry: str, export: str) -> dict:
    """The first credit-record `vericarbon import registry` makes of a registry export."""
    out = tmp_path / f"{registry}.jsonl"
    assert main(["import", "registry", "--from", registry, str(EXPORTS / export), "-o", str(out)]) == 0
    return json.loads(out.read_text().splitlines()[0])


# ---------------------------------------------------------------- 1. every kind renders every format


def test_every_sample_and_every_kind_renders_every_format(tmp_path):
    packages = {sample.name: json.loads(sample.read_text()) for sample in sorted(SAMPLES.glob("*.json"))}
    packages["credit-record (imported)"] = imported_record(tmp_path, "verra", "verra-transactions.csv")  # no sample of this kind
    assert {package["kind"] for package in packages.values()} == {path.name.split("-1.0")[0] for path in (ROOT / "schemas").glob("*-1.0.schema.json")}
    for name, package in packages.items():
        result = vericarbon.verify(package)
        for format in FORMATS:
            assert result.render(format), (name, format)


# ---------------------------------------------------------------- 2. the Python API's arguments


def test_an_integer_beyond_64_bits_in_a_dict_is_read_exactly():
    package = json.loads((SAMPLES / "neutrality-company-2024.json").read_text())
    package["credits"][0]["serial"].update({"from": 10**22, "to": 10**22 + package["credits"][0]["quantity_tco2e"] - 1})
    assert vericarbon.verify(package).verdict == vericarbon.verify(json.dumps(package)).verdict


def test_a_dict_nested_deeper_than_a_file_may_is_an_input_error():
    package = json.loads((SAMPLES / "inventory-defects.json").read_text())
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    package["notes"] = deep
    with pytest.raises(vericarbon.InputError, match="nested more than 1000 levels deep"):
        vericarbon.verify(package)


@pytest.mark.parametrize("data, problem", [({"a": {1: 2}}, "/a: a key must be text"), ({"a": [{1, 2}]}, "/a/0: {1, 2} is not JSON data")])
def test_a_dict_holding_what_is_not_json_data_is_an_input_error(data, problem):
    package = {**json.loads((SAMPLES / "inventory-defects.json").read_text()), **data, "big": 2**64}  # the big integer makes orjson give up
    with pytest.raises(vericarbon.InputError, match=problem):
        vericarbon.verify(package)


@pytest.mark.parametrize("given", [[SAMPLES / "inventory-defects.json"], 42, None, 1.5])
def test_a_wrong_argument_type_is_an_input_error_naming_it(given):
    with pytest.raises(vericarbon.InputError, match=f"not {type(given).__name__}"):
        vericarbon.verify(given)
    assert vericarbon.validate(given)[0].message.endswith(f"not {type(given).__name__}")


# ---------------------------------------------------------------- 3. integers beyond 64 bits from JSON and YAML


@pytest.mark.parametrize("quantity, status", [(6, "pass"), (5, "fail")])
def test_serials_beyond_64_bits_are_exact_in_json_and_yaml(tmp_path, quantity, status):
    record = imported_record(tmp_path, "cercarbono", "cercarbono-retirements.csv")
    record["serial"].update({"from": 10**22, "to": 10**22 + 5})
    record["quantity"] = quantity
    (tmp_path / "r.json").write_text(json.dumps(record))
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(record))
    results = []
    for path in (tmp_path / "r.json", tmp_path / "r.yaml"):
        assert parse_document(path, path.read_bytes())["serial"]["to"] == 10**22 + 5
        result = vericarbon.verify(path).data
        (rule,) = [r for rs in result["rulesets"] for r in rs["results"] if r["id"] == "CR-SERIAL-HOLDS-QUANTITY"]
        assert rule["status"] == status
        results.append((result["verdict"], [occurrence.get("message") for occurrence in rule.get("occurrences", [])]))
    assert results[0] == results[1]
    if status == "fail":
        assert "numbers 6 credits (10000000000000000000000 to 10000000000000000000005)" in results[0][1][0]


def test_an_integer_beyond_64_bits_in_a_relational_fact_goes_to_python_not_durable():
    package = json.loads((SAMPLES / "icr-removal-issuance-defects.json").read_text())
    package["statement"]["lines"][0]["activity"]["value"] = 10**22  # a field a durable-rules join reads
    vericarbon.verify(yaml.safe_dump(package, default_flow_style=None))  # raised DurableError: Integer exceeds 64-bit range


# ---------------------------------------------------------------- 4. YAML keys, timestamps and merge keys


@pytest.mark.parametrize("text, problem", [
    ("true: 1\n", "line 1, column 1: malformed YAML: a mapping key must be text; write 'true' in quotes"),
    ("a:\n  1: x\n", "line 2, column 3: malformed YAML: a mapping key must be text; write '1' in quotes"),
    ("null: 3\n", "write 'null' in quotes"),
    ("? [1]\n: 2\n", "a mapping key must be text"),
    ("date: !!timestamp 2024-13-45\n", "line 1, column 7: malformed YAML: a value tagged !!timestamp is not JSON data"),
    ("date: !!timestamp 2024-01-01T25:00:00\n", "!!timestamp is not JSON data"),
    ("a: !!binary aGVsbG8=\n", "!!binary is not JSON data"),
    ("a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n", "line 3, column 3: malformed YAML: a merge key (<<) is not read here"),
    ("a: &a {x: 1}\nc: &c {z: 1}\nb:\n  <<: *a\n  <<: *c\n", "line 4, column 3: malformed YAML: a merge key (<<) is not read here"),
])
def test_yaml_that_json_cannot_hold_is_refused_with_its_line(tmp_path, text, problem):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    done = cli("validate", path)
    assert done.returncode == 2 and problem in done.stderr and "Traceback" not in done.stderr


def test_yaml_keys_and_dates_that_are_text_stay_text():
    assert parse_document(Path("p.yaml"), b"yes: 1\n'true': 2\n'<<': 3\nd: 2024-13-45\nt: 2024-01-01T25:00:00\n") == {
        "yes": 1, "true": 2, "<<": 3, "d": "2024-13-45", "t": "2024-01-01T25:00:00"}


# ---------------------------------------------------------------- 5. special and endless files


@pytest.mark.parametrize("role", ["verify", "validate", "answers", "ruleset"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/urandom"])
def test_a_special_file_is_refused_unopened(tmp_path, role, special):
    path = tmp_path / "pipe.json" if special == "fifo" else Path(special)
    if special == "fifo":
        os.mkfifo(path)
    argv = {"verify": ["verify", path], "validate": ["validate", path],
            "answers": ["verify", SAMPLES / "verification-organisation-defects.json", "--answers", path, "-o", "/dev/null"],
            "ruleset": ["verify", SAMPLES / "inventory-defects.json", "--ruleset", path, "-o", "/dev/null"]}[role]
    done = cli(*argv, timeout=20)
    assert done.returncode == 2 and f"{path}: is not a regular file" in done.stderr


def test_a_file_over_the_package_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as stream:
        stream.truncate(65 * 1024 * 1024)  # sparse: no disk spent
    started = time.monotonic()
    done = cli("validate", path)
    assert done.returncode == 2 and "a file may be at most 64 MiB; not read" in done.stderr and time.monotonic() - started < 20


# ---------------------------------------------------------------- 7. CSV cells holding line breaks


def test_csv_quotes_line_breaks_and_keeps_every_line_of_a_cell_inert(tmp_path):
    package = json.loads((SAMPLES / "inventory-defects.json").read_text())
    package["lines"][3]["source"] = "ok\r=HYPERLINK(\"http://x\")\n+1\r\n-2"
    text = csv_format.render(vericarbon.verify(package).data)
    for piece in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):  # what a reader that ends rows at CR or LF sees
        assert not piece.startswith(("=", "+", "-", "@")), piece
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert {len(row) for row in rows} == {len(csv_format.COLUMNS)}
    assert any("ok\r'=HYPERLINK" in cell for row in rows for cell in row)


# ---------------------------------------------------------------- 8. reproducible PDF


def test_a_pdf_is_the_same_a_second_later():
    result = vericarbon.verify(SAMPLES / "inventory-defects.json").data
    moment = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    first = pdf.render(result, moment)
    time.sleep(1.1)  # fontTools stamped the wall clock, by the second, into each embedded font
    assert pdf.render(result, moment) == first and "SOURCE_DATE_EPOCH" not in os.environ


# ---------------------------------------------------------------- 6. hostile rulesets

RULESET_HEAD = """ruleset: hostile
title: Hostile
version: 0.1.0
document: {id: X, title: X, edition: "1"}
applies_to: [ghg-inventory]
test_base: {kind: ghg-inventory, schema_version: "1.0", id: T, organisation: {name: A, country: GB}, period: {start: "2024-01-01", end: "2024-12-31"}, lines: [], totals: {total_tco2e: 1}}
"""


def hostile_ruleset(check: str = "totals.total_tco2e > 0", message: str = "m", definitions: str = "") -> str:
    return RULESET_HEAD + definitions + f"""rules:
  - id: H-1
    title: A rule
    requirement: Something holds.
    verb: shall
    finding_type: minor_nonconformity
    clauses: [{{document: X, clause: "1", confidence: verified}}]
    check: {json.dumps(check)}
    message: {json.dumps(message)}
    remediation: Fix it.
    tests:
      - {{name: holds, expect: pass}}
      - {{name: fails, set: {{/totals/total_tco2e: 0}}, expect: fail, pointer: /totals/total_tco2e}}
"""


HOSTILE_RULESETS = {
    "parentheses 10 000 deep": (hostile_ruleset("(" * 10_000 + "1" + ")" * 10_000 + " == 1"), "/rules/0/check: rule H-1, check, column 65: nested more than 64 levels deep"),
    "not 10 000 times": (hostile_ruleset("not " * 10_000 + "true"), "nested more than 64 levels deep"),
    "minus 10 000 times": (hostile_ruleset("-" * 10_000 + "1 == 1"), "nested more than 64 levels deep"),
    "a chain of 10 000 sums": (hostile_ruleset(" + ".join(["1"] * 10_000) + " == 1"), "nested more than 64 levels deep"),
    "calls 5 000 deep": (hostile_ruleset("abs(" * 5000 + "1" + ")" * 5000 + " == 1"), "nested more than 64 levels deep"),
    "lists 5 000 deep": (hostile_ruleset("[" * 5000 + "1" + "]" * 5000 + " == 1"), "nested more than 64 levels deep"),
    "a 100 000-digit number": (hostile_ruleset("9" * 100_000 + " > 0"), "/rules/0/check: rule H-1, check, column 1: a number of more than 100 characters"),
    "definitions doubling 60 times": (hostile_ruleset("defs.d59 > 0", definitions="definitions: {" + ", ".join(["d0: '1'"] + [f"d{i}: defs.d{i - 1} + defs.d{i - 1}" for i in range(1, 60)]) + "}\n"),
                                      "definitions expand into more than 10000 uses"),
    "a chain of 500 definitions": (hostile_ruleset("defs.d499 > 0", definitions="definitions: {" + ", ".join(["d0: '1'"] + [f"d{i}: defs.d{i - 1} + 1" for i in range(1, 500)]) + "}\n"),
                                   "definitions expand into more than 10000 uses or 160 levels"),
    "a template of 10**6 placeholders": (hostile_ruleset(message="{1}" * 10**6), "at most 2 MiB; not read"),
    "a template of 2 000 placeholders": (hostile_ruleset(message="{1}" * 2000), "/rules/0/message: rule H-1: more than 1000 {expression} parts"),
    "a 20 MB message": (hostile_ruleset(message="x" * (20 << 20)), "20.0 MiB: a ruleset (all its files) or overlay may be at most 2 MiB"),
    "YAML nested 900 deep": (RULESET_HEAD + "rules:\n  - " + "[" * 900 + "]" * 900 + "\n", "/rules/0: "),
    "YAML nested 1 200 deep": (RULESET_HEAD + "rules:\n  - " + "[" * 1200 + "]" * 1200 + "\n", "line 8, column 1003: malformed YAML: exceeded maximum nesting depth"),
    "an alias bomb": (RULESET_HEAD + "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg")) + "rules: *g\n", "alias bomb"),
    "a check that is a mapping": (hostile_ruleset().replace('check: "totals.total_tco2e > 0"', "check: {a: 1}"), "/rules/0/check: {'a': 1} is not of type 'string'"),
    "a check that is a number": (hostile_ruleset().replace('check: "totals.total_tco2e > 0"', "check: 42"), "/rules/0/check: 42 is not of type 'string'"),
    "an unknown function": (hostile_ruleset("nosuch(1) > 0"), "/rules/0/check: rule H-1, check, column 1: unknown function 'nosuch'"),
    "a definition that uses itself": (hostile_ruleset("defs.a > 0", definitions="definitions: {a: defs.b, b: defs.a}\n"), "refers to itself"),
    "rules as text": (RULESET_HEAD + "rules: nope\n", "/rules: 'nope' is not of type 'array'"),
    "a rule that is a number": (RULESET_HEAD + "rules: [42]\n", "/rules/0: 42 is not of type 'object'"),
    "an id that is a number": (hostile_ruleset().replace("id: H-1", "id: 17"), "/rules/0/id: 17 is not of type 'string'"),
    "a version that is a list": (hostile_ruleset().replace("version: 0.1.0", "version: [1]"), "/version: [1] is not of type 'string'"),
    "a parameter of no type": (hostile_ruleset().replace("rules:\n", "parameters: {p: {type: [1], value: {}}}\nrules:\n"), "/parameters/p"),
    "a key that is a number": (hostile_ruleset().replace("rules:\n", "definitions: {1: x}\nrules:\n"), "a mapping key must be text; write '1' in quotes"),
    "a document that is a list": ("- 1\n- 2\n", "/: [1, 2] is not of type 'object'"),
}


@pytest.mark.parametrize("name", HOSTILE_RULESETS)
def test_a_hostile_ruleset_is_a_located_input_error_in_bounded_time(tmp_path, capsys, name):
    text, problem = HOSTILE_RULESETS[name]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    started = time.monotonic()
    code = main(["verify", str(SAMPLES / "inventory-defects.json"), "--ruleset", str(path), "--format", "json"])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}: " in err and problem in err, err[:2000]
    assert time.monotonic() - started < 2


def test_a_credit_lot_with_a_raw_serial_and_no_registry_is_an_input_error(samples):
    """The fuzzer's `schemas` family: KeyError 'registry' in validated_package (exit 3)."""
    data = json.loads((samples / "neutrality-company-2024.json").read_text())
    data["credits"][0]["serial"] = {"raw": "VCS-VCU-1-2-3", "start": 1, "end": 2}
    with pytest.raises(InputError) as raised:
        vericarbon.verify(data)
    assert "/credits/0/serial/registry" in str(raised.value)

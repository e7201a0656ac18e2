"""Hostile and broken input: each defect an independent test campaign found, kept fixed.

Every test names the defect it guards (issue 12's numbering). A defect that used to hang is run in a
subprocess with a timeout, so a regression fails instead of stalling the suite."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
from helpers import STORE, screen_or_hang
from test_screen import VERICARBON, inventory, run, write_batch

from vericarbon.cli import main
from vericarbon.lang import units
from vericarbon.run.checker import Checker
from vericarbon.screening import batch
from vericarbon.screening.sources import Item

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "evidence_samples"
BOMB = """\
kind: ghg-inventory
schema_version: "1.0"
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
j: &j [*i, *i, *i, *i, *i, *i, *i, *i, *i]
"""


def cli(*argv: object, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*VERICARBON, *map(str, argv)], capture_output=True, text=True, timeout=timeout, cwd=cwd)


# ---------------------------------------------------------------- 1. output files


def test_o_to_a_device_writes_through_and_leaves_the_device(tmp_path):
    device = tmp_path / "null"  # a null device of the test's own: a regression must not replace the machine's /dev/null
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    done = cli("verify", SAMPLES / "inventory-defects.json", "--format", "json", "-o", device)
    assert done.returncode == 1 and stat.S_ISCHR(os.stat(device).st_mode)


def test_o_through_a_symlink_keeps_the_link_and_writes_its_target(tmp_path):
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    target.write_text("old")
    link.symlink_to(target)
    assert main(["verify", str(SAMPLES / "inventory-defects.json"), "--format", "json", "-o", str(link)]) == 1
    assert link.is_symlink() and json.loads(target.read_text())["verdict"] == "nonconformities"


def test_o_to_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["verify", str(SAMPLES / "inventory-defects.json"), "--format", "json", "-o", str(fifo)]) == 1
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and json.loads(received[0])["verdict"] == "nonconformities"


def test_reports_honour_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        assert main(["verify", str(SAMPLES / "inventory-defects.json"), "--format", "json", "-o", str(tmp_path / "r.json")]) == 1
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == 0o644


# ---------------------------------------------------------------- 2. YAML alias bombs


@pytest.mark.parametrize("role", ["evidence", "ruleset", "overlay", "answers"])
def test_an_alias_bomb_is_refused_at_once_whatever_file_it_is(tmp_path, role):
    bomb = tmp_path / "bomb.yaml"
    head = {"overlay": "overlay: bomb\nversion: 1.0.0\nextends: inventory-basics\n", "answers": "answers_for: NORTHBRIDGE\n"}.get(role, "")
    bomb.write_text(head + BOMB)
    argv = {
        "evidence": ["verify", bomb],
        "ruleset": ["verify", SAMPLES / "inventory-defects.json", "--ruleset", bomb],
        "overlay": ["verify", SAMPLES / "inventory-defects.json", "--ruleset", bomb],
        "answers": ["verify", SAMPLES / "verification-organisation-defects.json", "--answers", bomb],
    }[role]
    started = time.monotonic()
    done = cli(*argv, timeout=30)
    assert done.returncode == 2 and "alias bomb" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


def test_an_alias_bomb_in_a_batch_costs_only_its_own_line(tmp_path):
    write_batch(tmp_path / "in", [inventory(f"P{i}", [(i * 10 + 1, i * 10 + 5)]) for i in range(5)])
    (tmp_path / "in" / "bomb.yaml").write_text(BOMB)
    done = cli("screen", tmp_path / "in", "--jobs", "2", timeout=60)
    lines = {Path(line["source"]).name: line for line in map(json.loads, done.stdout.splitlines())}
    assert len(lines) == 6 and lines["bomb.yaml"]["status"] == "invalid" and "alias bomb" in lines["bomb.yaml"]["error"]
    assert all(line["status"] == "checked" for name, line in lines.items() if name != "bomb.yaml")


def test_self_containing_aliases_duplicate_yaml_keys_and_deep_nesting_are_refused(tmp_path):
    for text, message in [("a: &a [*a]\n", "contains it"), ("kind: x\nkind: y\n", "appears twice"), ("a: " + "[" * 1200 + "]" * 1200 + "\n", "nest")]:
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        done = cli("validate", path)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------- 3. serial numbers beyond 64 bits


def test_a_serial_beyond_2_63_in_a_batch_is_recorded_and_the_batch_goes_on(tmp_path, capsys):
    huge = 2**63 + 5
    packages = [inventory("BIG-1", [(huge, huge + 9)]), inventory("BIG-2", [(huge + 5, huge + 20)]), inventory("SMALL", [(1, 10)])]
    write_batch(tmp_path / "in", packages)
    code, lines, err = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    assert code == 1 and "Traceback" not in err and len(lines) == 3
    conflicts = [c for line in lines for c in line.get("ledger_conflicts", [])]
    assert [c["shared"] for c in conflicts] == [[huge + 5, huge + 9]]


# ---------------------------------------------------------------- 4. unit strings


@pytest.mark.parametrize("unit", ["kWh*10**10**10", "kg*" * 2000 + "kg", "kWh" + "/kWh" * 600, "m**99999", "x" * 10_000])
def test_a_hostile_unit_is_a_reason_not_a_hang_or_a_crash(unit):
    started = time.monotonic()
    with pytest.raises(units.UnitProblem):
        units.convert(1.0, unit, "kWh")
    assert not units.convertible(unit, "kWh")
    assert time.monotonic() - started < 2


def test_a_hostile_unit_in_evidence_gives_a_finding_with_its_reason(tmp_path, capsys):
    package = json.loads((SAMPLES / "verification-organisation.json").read_text())
    package["statement"]["lines"][0]["activity"]["unit"] = "kWh*10**10**10"
    (tmp_path / "p.json").write_text(json.dumps(package))
    code = main(["verify", str(tmp_path / "p.json"), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    reasons = json.dumps(result)
    assert "exponent that is not a small number" in reasons


# ---------------------------------------------------------------- 5. time limit per package


def test_a_package_over_the_time_limit_gets_an_error_line_and_the_batch_goes_on(monkeypatch):
    real = Checker.screening_line

    def slow(self, package):
        if package.data.get("id") == "SLOW":
            time.sleep(30)
        return real(self, package)

    monkeypatch.setattr(Checker, "screening_line", slow)
    items = [Item(f"b.jsonl:{n}", f"line{n}.json", json.dumps(inventory(package_id, [(n * 10 + 1, n * 10 + 5)])).encode()) for n, package_id in enumerate(["A", "SLOW", "B"])]
    started = time.monotonic()
    lines = [line for chunk in batch.run(iter(items), 1, Checker(STORE, [], [], None), None, timeout=0.5) for line in chunk]
    assert time.monotonic() - started < 10
    assert [line["status"] for line in lines] == ["checked", "error", "checked"]
    assert "0.5 s limit per package" in lines[1]["error"]


def test_a_worker_stuck_in_native_code_is_replaced_and_only_its_package_fails():
    packages = [inventory(package_id, [(n * 10 + 1, n * 10 + 5)]) for n, package_id in enumerate(["A", "B", "HANG", "C", "D"])]
    items = [Item(f"b.jsonl:{n}", f"line{n}.json", json.dumps(p).encode()) for n, p in enumerate(packages)]
    started = time.monotonic()
    lines = [line for chunk in batch.run(iter(items), 2, Checker(STORE, [], [], None), None, timeout=1, work=screen_or_hang) for line in chunk]
    by_id = {line["source"]: line for line in lines}
    assert len(lines) == 5 and by_id["b.jsonl:2"]["status"] == "error" and "died" in by_id["b.jsonl:2"]["error"]
    assert all(line["status"] == "checked" for source, line in by_id.items() if source != "b.jsonl:2")
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------- 6. zip bombs and huge members


def test_a_zip_bomb_is_refused_unpacked(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.json", b" " * (50 * 1024 * 1024))
        archive.writestr("ok.json", json.dumps(inventory("OK", [(1, 5)])))
    done = cli("screen", tmp_path / "bomb.zip", "--jobs", "1")
    lines = {line["source"].split("!")[1]: line for line in map(json.loads, done.stdout.splitlines())}
    assert lines["bomb.json"]["status"] == "invalid" and "zip bomb" in lines["bomb.json"]["error"]
    assert lines["ok.json"]["status"] == "checked"


def test_members_files_and_lines_over_the_size_limit_are_refused_unread(tmp_path, capsys):
    big = json.dumps({**inventory("BIG", [(1, 5)]), "padding": "x" * (2 * 1024 * 1024)})
    write_batch(tmp_path / "in", [inventory("OK", [(1, 5)])])
    (tmp_path / "in" / "big.json").write_text(big)
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("big.json", big)
    (tmp_path / "b.jsonl").write_text(big + "\n" + json.dumps(inventory("OK2", [(7, 9)])) + "\n")
    code, lines, _ = run(["screen", tmp_path / "in", tmp_path / "b.zip", tmp_path / "b.jsonl", "--jobs", "1", "--max-package-mb", "1"], capsys)
    statuses = sorted((line["status"], "at most 1 MiB" in line.get("error", "")) for line in lines)
    assert statuses == [("checked", False), ("checked", False), ("invalid", True), ("invalid", True), ("invalid", True)]


# ---------------------------------------------------------------- 8. exit codes


def test_an_unwritable_output_is_an_input_error_not_findings(tmp_path):
    (tmp_path / "file").write_text("")
    done = cli("verify", SAMPLES / "inventory-defects.json", "--format", "json", "-o", tmp_path / "file" / "out.json")
    assert done.returncode == 2 and "cannot be written" in done.stderr and "Traceback" not in done.stderr
    done = cli("verify", SAMPLES / "inventory-defects.json", cwd=Path("/proc"))  # the default HTML report into a folder nobody can write
    assert done.returncode == 2 and "inventory-defects.report.html" in done.stderr and "Traceback" not in done.stderr


def test_an_internal_error_has_its_own_exit_code_and_no_traceback(monkeypatch, capsys):
    monkeypatch.delenv("VERICARBON_DEBUG", raising=False)
    monkeypatch.setattr(Checker, "check", lambda *a, **k: 1 / 0)
    assert main(["verify", str(SAMPLES / "inventory-defects.json")]) == 3
    err = capsys.readouterr().err
    assert "internal error (ZeroDivisionError" in err and "Traceback" not in err


# ---------------------------------------------------------------- 9 and 10. identity in the ledger, orphans


def test_rescreening_after_a_killed_run_finds_no_conflict_with_itself(tmp_path):
    write_batch(tmp_path / "in", [inventory(f"P{i:04d}", [(i * 10 + 1, i * 10 + 5)]) for i in range(400)])
    ledger = tmp_path / "ledger.sqlite"
    process = subprocess.Popen([*VERICARBON, "screen", str(tmp_path / "in"), "--jobs", "1", "--ledger", str(ledger), "-o", str(tmp_path / "first.jsonl")])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not (tmp_path / "first.jsonl").exists() or (tmp_path / "first.jsonl").stat().st_size < 2_000):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    done = cli("screen", tmp_path / "in", "--jobs", "1", "--ledger", ledger)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 400 and not any(line.get("ledger_conflicts") for line in lines), done.stderr


def test_workers_die_with_their_parent(tmp_path):
    write_batch(tmp_path / "in", [inventory(f"P{i:04d}", [(i * 10 + 1, i * 10 + 5)]) for i in range(3000)])
    process = subprocess.Popen([*VERICARBON, "screen", str(tmp_path / "in"), "--jobs", "2", "-o", str(tmp_path / "out.jsonl")])
    deadline = time.monotonic() + 60
    children: set[int] = set()
    while time.monotonic() < deadline and len(children) < 2:
        children = {int(pid) for task in Path(f"/proc/{process.pid}/task").iterdir() for pid in (task / "children").read_text().split()}
        time.sleep(0.05)
    assert children
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() and "Z" not in (Path(f"/proc/{pid}/stat").read_text().split()[2:3] or ["Z"]) for pid in children):
        time.sleep(0.1)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
    assert alive == []


def test_a_reused_id_and_a_duplicate_in_one_batch_are_flagged(tmp_path, capsys):
    first = inventory("SAME", [(1, 10)])
    second = inventory("SAME", [(500, 510)])  # another package under the same id
    write_batch(tmp_path / "in", [first])
    (tmp_path / "in" / "again.json").write_text(json.dumps(first))  # the very same package twice
    (tmp_path / "in" / "other.json").write_text(json.dumps(second))
    code, lines, err = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    kinds = sorted(c["kind"] for line in lines for c in line.get("ledger_conflicts", []))
    assert code == 1 and "duplicate_in_run" in kinds and "id_reused" in kinds
    assert "ledger id_reused" in err


# ---------------------------------------------------------------- 11. dates and infinities


def test_a_date_at_the_end_of_the_calendar_is_a_reason_not_a_traceback(tmp_path, capsys):
    package = json.loads((SAMPLES / "inventory-defects.json").read_text())
    package["period"]["end"] = "9999-12-31"
    (tmp_path / "p.json").write_text(json.dumps(package))
    code = main(["verify", str(tmp_path / "p.json"), "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "outside the calendar" in out and "Traceback" not in err


def test_an_overflowing_line_does_not_pass_and_explain_stays_json(tmp_path, capsys):
    package = json.loads((SAMPLES / "inventory-conforming.json").read_text())
    package["lines"][0]["activity"]["value"] = 1e308
    package["lines"][0]["emission_factor"]["value"] = 10
    package["lines"][0]["reported_tco2e"] = 1e308
    (tmp_path / "p.json").write_text(json.dumps(package))
    main(["verify", str(tmp_path / "p.json"), "--format", "json", "--explain", "INV-LINE-ARITH", "--explain-all"])
    out = capsys.readouterr().out
    result = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    (rule,) = [r for rs in result["rulesets"] for r in rs["results"] if r["id"] == "INV-LINE-ARITH"]
    assert rule["occurrences"][0]["status"] == "not_evaluated" and "too large a number" in json.dumps(rule)


# ---------------------------------------------------------------- 12. control characters and Markdown


def test_control_characters_keep_xml_well_formed_and_markdown_is_escaped(tmp_path, capsys):
    from lxml import etree

    package = json.loads((SAMPLES / "inventory-defects.json").read_text())
    package["lines"][3]["source"] = "bell\x07 <script>alert(1)</script> | cell\n# forged heading `tick`"
    (tmp_path / "p.json").write_text(json.dumps(package))
    main(["verify", str(tmp_path / "p.json"), "--format", "xml"])
    xml = capsys.readouterr().out
    assert b"\\u0007" in etree.tostring(etree.fromstring(xml.encode()))
    main(["verify", str(tmp_path / "p.json"), "--format", "md"])
    markdown = capsys.readouterr().out
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "\n# forged" not in markdown and "\\| cell" in markdown
    row = next(line for line in markdown.splitlines() if "INV-LINE-ARITH" in line)
    assert row.count("|") - row.count("\\|") == 5  # the row keeps its four cells


# ---------------------------------------------------------------- 13. report names


def test_rules_docs_creates_its_folder(tmp_path, capsys):
    assert main(["rules", "docs", "inventory-basics", "--out", str(tmp_path / "new" / "docs")]) == 0
    assert (tmp_path / "new" / "docs" / "rules" / "inventory-basics-0.1.0.md").is_file()


def test_report_dir_is_created_and_names_are_unique_per_source(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pkg.json").write_text(json.dumps(inventory("J", [(1, 5)])))
    (tmp_path / "in" / "pkg.yaml").write_text(json.dumps(inventory("Y", [(6, 9)])))
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(inventory(f"L{i}", [(100 + i, 100 + i)])) for i in range(3)) + "\n")
    run(["screen", tmp_path / "in", tmp_path / "b.jsonl", "--jobs", "1", "--report-dir", tmp_path / "new" / "reports"], capsys)
    results = sorted((tmp_path / "new" / "reports").glob("*.result.json"))
    assert len(results) == 5 and len({json.loads(p.read_text())["evidence"]["id"] for p in results}) == 5


# ---------------------------------------------------------------- 14. links and FIFOs in a folder


def test_links_out_of_the_folder_and_fifos_are_skipped_and_counted(tmp_path, capsys):
    write_batch(tmp_path / "in", [inventory("OK", [(1, 5)])])
    (tmp_path / "in" / "passwd.json").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "in" / "pipe.json")
    code, lines, err = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    statuses = {Path(line["source"]).name: line["status"] for line in lines}
    assert statuses == {"OK.json": "checked", "passwd.json": "skipped", "pipe.json": "skipped"}
    assert "skipped" in err and "root:" not in json.dumps(lines)


# ---------------------------------------------------------------- 15. keys, BOM, ledger, parameters


def test_duplicate_json_keys_are_refused_with_their_pointer(tmp_path):
    text = (SAMPLES / "inventory-defects.json").read_text().replace('"organisation": {', '"organisation": {"name": "Shadow Ltd", ', 1)
    (tmp_path / "p.json").write_text(text)
    done = cli("validate", tmp_path / "p.json")
    assert done.returncode == 2 and "/organisation/name: a key appears twice" in done.stderr


@pytest.mark.parametrize("text, duplicated", [
    ('{"a": {"b": 1, "b": 2}}', "/a/b"),
    ('{"a": {"b" : 1, "c": "x: y : z", "b"\n:2}}', "/a/b"),  # colons inside strings, spaces before a colon
    ('{"a": {"b": "1\\u003a2", "b": 2}}', "/a/b"),  # an escaped colon inside a string
    ('{"a": {"b": "1:2", "c": "\\u003a"}}', None),
    ('{"t": "\\"b\\": 1, \\"b\\": 2"}', None),  # keys inside a string are not keys
])
def test_the_duplicate_key_check_counts_only_real_keys(text, duplicated):
    from vericarbon.errors import InputError
    from vericarbon.evidence.documents import parse_document

    if duplicated is None:
        parse_document(Path("p.json"), text.encode())
        return
    with pytest.raises(InputError) as refused:
        parse_document(Path("p.json"), text.encode())
    assert refused.value.problems == [(duplicated, "a key appears twice in one object (which value is meant?)")]


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "p.json").write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "inventory-defects.json").read_bytes())
    assert cli("validate", tmp_path / "p.json").returncode == 0


def test_a_corrupted_ledger_is_named_with_exit_2(tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    ledger.write_bytes(b"SQLite format 3\x00" + b"\x13" * 5000)
    for argv in (["screen", SAMPLES, "--jobs", "1", "--ledger", ledger], ["ledger", "audit", ledger]):
        done = cli(*argv)
        assert done.returncode == 2 and "ledger.sqlite: cannot be used as a ledger" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("value, problem", [("-5", "below the smallest allowed value, 0"), ("1.5", "not a whole number")])
def test_parameters_are_checked_for_range_and_whole_numbers(value, problem, capsys):
    code = main(["verify", str(SAMPLES / "neutrality-company-2024.json"), "--param", f"max_vintage_age_years={value}"])
    assert code == 2 and problem in capsys.readouterr().err


def test_import_to_a_device_writes_through_and_leaves_the_device(tmp_path):
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    exports = Path(__file__).parent / "data" / "registry-exports"
    done = cli("import", "registry", "--from", "acr", exports / "acr-retirements.csv", "-o", device)
    assert done.returncode == 0 and stat.S_ISCHR(os.stat(device).st_mode)

"""Screening at scale: sources, bad members, the ledger's overlap logic, crash safety and concurrent runs."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import STORE, screen_or_crash

from vericarbon.cli import main
from vericarbon.errors import InputError
from vericarbon.run.checker import Checker
from vericarbon.screening import batch as screen
from vericarbon.screening.ledger import audit
from vericarbon.screening.ledger.records import Claim, serial_key, serial_number
from vericarbon.screening.ledger.sqlite import SQLiteLedger
from vericarbon.screening.overlaps import overlapping_pairs
from vericarbon.screening.sources import Item, count

VERICARBON = [sys.executable, "-m", "vericarbon"]


def inventory(package_id: str, serials: list[tuple[int, int]], registry: str = "ICR", beneficiary: str = "Acme Ltd") -> dict:
    """A small valid ghg-inventory package retiring the given serial ranges."""
    batches = [{"id": f"B{i}", "registry": registry, "project_id": "P1", "vintage": 2024, "serial": {"start": a, "end": b}, "quantity": b - a + 1, "retired_on": "2025-03-01", "beneficiary": beneficiary} for i, (a, b) in enumerate(serials)]
    return {
        "kind": "ghg-inventory", "schema_version": "1.0", "id": package_id, "organisation": {"name": "Acme Ltd"}, "period": {"start": "2024-01-01", "end": "2024-12-31"},
        "lines": [{"id": "L1", "source": "Boilers", "scope": 1, "activity": {"value": 1000, "unit": "MWh"}, "emission_factor": {"value": 0.2, "unit": "tCO2e/MWh"}, "reported_tco2e": 200}],
        "totals": {"total_tco2e": 200}, "offsets": {"batches": batches},
        "documents": [{"id": f"D{i}", "kind": "retirement_certificate", "refers_to": f"B{i}"} for i in range(len(batches))],
    }


def claim(first, last, registry="ICR", block="", action="retired", beneficiary="Acme Ltd"):
    return Claim(registry, block, action, first, last, beneficiary, "/offsets/batches/0")


# ---------------------------------------------------------------- the ledger's overlap logic (SQLite and PostgreSQL)


def _book(location):
    """A ledger on `location` as a new run opens it: a SQLite file, or a postgresql:// URL."""
    if isinstance(location, str):
        from vericarbon.screening.ledger.postgres import PostgresLedger

        return PostgresLedger(location)
    return SQLiteLedger(location)


@pytest.mark.parametrize(
    "earlier, later, conflicts",
    [
        (claim(1, 100), claim(101, 200), []),  # adjacent
        (claim(1, 100), claim(200, 300), []),  # disjoint
        (claim(1, 100), claim(1, 100), ["retired_twice"]),  # identical
        (claim(1, 100), claim(40, 60), ["retired_twice"]),  # nested inside
        (claim(40, 60), claim(1, 100), ["retired_twice"]),  # nesting around
        (claim(1, 100), claim(100, 150), ["retired_twice"]),  # touching at one credit
        (claim(1, 100), claim(1, 100, registry="Verra"), []),  # other registry
        (claim(1, 100, block="A"), claim(1, 100, block="B"), []),  # other serial block
        (claim(1, 100), claim(50, 60, beneficiary="Other plc"), ["retired_for_two_beneficiaries"]),
        (claim(1, 100, action="issued", beneficiary=None), claim(1, 100, action="issued", beneficiary=None), ["issued_twice"]),
        (claim(1, 100, action="issued", beneficiary=None), claim(1, 100), []),  # issued, then retired: the lifecycle
    ],
)
def test_ledger_overlap_logic(ledger_location, earlier, later, conflicts):
    book = _book(ledger_location)
    assert book.record("P-1", "a.json", [earlier]) == []
    found = book.record("P-2", "b.json", [later])
    assert [c["kind"] for c in found] == conflicts
    if found:
        assert found[0]["other"]["package_id"] == "P-1"
        assert found[0]["shared"] == [max(earlier.first, later.first), min(earlier.last, later.last)]
    assert [c["kind"] for c in audit(book)] == conflicts


def test_overlap_query_sees_long_ranges_far_back(ledger_location):
    book = _book(ledger_location)
    book.record("P-1", "a", [claim(1, 1_000_000)])
    book.record("P-2", "b", [claim(2_000_000, 2_000_010)])
    assert [c["other"]["package_id"] for c in book.record("P-3", "c", [claim(999_990, 999_999)])] == ["P-1"]


def test_every_claim_of_a_package_is_checked_against_every_earlier_range(ledger_location):
    book = _book(ledger_location)
    book.record("P-1", "a", [claim(1, 100), claim(1, 50, registry="Verra")])
    book.record("P-2", "b", [claim(200, 300), claim(301, 400, action="issued", beneficiary=None)])
    found = book.record("P-3", "c", [claim(90, 210), claim(40, 45, registry="Verra"), claim(350, 360, action="issued", beneficiary=None), claim(500, 600)])
    assert [(c["range"], c["other"]["package_id"], c["kind"], c["shared"], c["others"]) for c in found] == [
        ([90, 210], "P-1", "retired_twice", [90, 100], 2),  # one finding per claim and kind: the first range in full, and how many
        ([40, 45], "P-1", "retired_twice", [40, 45], 1),
        ([350, 360], "P-2", "issued_twice", [350, 360], 1),
    ]


def test_rescreening_a_package_replaces_its_ranges(ledger_location):
    _book(ledger_location).record("P-1", "a", [claim(1, 100)], "hash-1")
    book = _book(ledger_location)  # a later run (or one after a run killed between ledger and output)
    assert book.record("P-1", "a", [claim(1, 100)], "hash-1") == []  # the same submission again: no conflict with itself
    assert len(list(book.ranges())) == 1
    (twice,) = book.record("P-1", "b", [claim(1, 100)], "hash-1")  # ... but twice in one run is flagged
    assert twice["kind"] == "duplicate_in_run" and twice["other"]["source"] == "a" and len(list(book.ranges())) == 1


def test_the_same_package_recorded_again_from_its_source_in_one_run_replaces_itself(ledger_location):
    """A chunk checked again after its worker died may have been recorded already: not a duplicate."""
    book = _book(ledger_location)
    book.record("P-1", "many.jsonl:3", [claim(1, 100)], "hash-1")
    assert book.record("P-1", "many.jsonl:3", [claim(1, 100)], "hash-1") == []
    assert len(list(book.ranges())) == 1


def test_a_different_package_under_a_used_id_is_a_finding_not_an_overwrite(ledger_location):
    _book(ledger_location).record("P-1", "a.json", [claim(1, 100)], "hash-1")
    book = _book(ledger_location)
    found = book.record("P-1", "b.json", [claim(1, 100)], "hash-2")
    assert [f["kind"] for f in found] == ["id_reused", "retired_twice"]
    assert found[0]["other"] == {"package_id": "P-1", "source": "a.json", "sha256": "hash-1"}
    assert found[1]["other"]["source"] == "a.json"
    assert len(list(book.ranges())) == 2  # both kept: neither replaced the other


def test_serials_beyond_64_bits_are_kept_exactly_and_still_conflict(ledger_location):
    book = _book(ledger_location)
    huge = 2**63
    assert book.record("P-1", "a", [claim(huge, huge + 10**20)]) == []
    (conflict,) = book.record("P-2", "b", [claim(huge + 10**20, huge + 10**20 + 5), claim(huge - 10, huge - 1)])
    assert conflict["shared"] == [huge + 10**20, huge + 10**20] and conflict["other"]["range"] == [huge, huge + 10**20]
    assert sorted(r[3:5] for r in book.ranges())[-1] == (huge + 10**20, huge + 10**20 + 5)
    assert [c["shared"] for c in audit(book)] == [[huge + 10**20, huge + 10**20]]


def test_only_a_temporary_ledger_skips_syncing_to_disk_in_every_process(tmp_path):
    import pickle

    from vericarbon.screening.ledger import open_ledger

    def synchronous(book):
        return book._db.execute("PRAGMA synchronous").fetchone()[0]  # 0 OFF, 1 NORMAL

    with open_ledger(None) as temporary, open_ledger(tmp_path / "kept.sqlite") as kept:
        in_worker = [pickle.loads(pickle.dumps(book)) for book in (temporary, kept)]  # as a worker opens them
        assert [synchronous(book) for book in (temporary, kept, *in_worker)] == [0, 1, 0, 1]
        for book in in_worker:
            book.close()


def test_serial_keys_sort_as_the_numbers_do_at_every_length():
    numbers = [0, 9, 10, 2**63, 10**98, 10**99 - 1, 10**99, 10**100, 10**150 + 7, 10**400]
    keys = [serial_key(n) for n in numbers]
    assert sorted(keys) == keys and [serial_number(key) for key in keys] == numbers


def test_audit_lists_every_pair_with_both_sources(ledger_location):
    book = _book(ledger_location)
    book.record("P-1", "a.json", [claim(1, 100)])
    book.record("P-2", "b.json", [claim(10, 20), claim(30, 40)])  # two ranges of one package inside P-1's
    pairs = audit(book)
    assert sorted((p["package_id"], p["range"][0], p["other"]["package_id"], p["other"]["source"]) for p in pairs) == [("P-2", 10, "P-1", "a.json"), ("P-2", 30, "P-1", "a.json")]


def test_a_ledger_of_vericarbon_0_1_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE ranges (id INTEGER PRIMARY KEY, registry TEXT NOT NULL, block TEXT NOT NULL, action TEXT NOT NULL, first INTEGER NOT NULL,
            last INTEGER NOT NULL, beneficiary TEXT, package_id TEXT NOT NULL, pointer TEXT NOT NULL, source TEXT NOT NULL, recorded_at TEXT NOT NULL);
        CREATE TABLE longest (registry TEXT NOT NULL, block TEXT NOT NULL, action TEXT NOT NULL, length INTEGER NOT NULL, PRIMARY KEY (registry, block, action));
        INSERT INTO ranges VALUES (1, 'ICR', '', 'retired', 1, 100, 'X', 'P-1', '/offsets/batches/0', 'a.json', '2026-01-01T00:00:00+00:00');
        INSERT INTO longest VALUES ('ICR', '', 'retired', 100);
    """)
    old.commit()
    old.close()
    book = SQLiteLedger(path)
    assert [r[3:5] for r in book.ranges()] == [(1, 100)]
    assert [c["other"]["source"] for c in book.record("P-2", "b.json", [claim(50, 60)])] == ["a.json"]


def test_a_corrupted_ledger_is_an_input_error(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(InputError, match="cannot be used as a ledger"):
        SQLiteLedger(path).record("P-1", "a", [claim(1, 2)])


def test_a_failure_inside_the_transaction_leaves_the_ledger_as_it_was(tmp_path):
    book = SQLiteLedger(tmp_path / "l.sqlite")
    book.record("P-1", "a", [claim(1, 100)])
    with pytest.raises(sqlite3.IntegrityError):
        book.record("P-1", "a", [claim(500, 600), Claim("ICR", "", "retired", 10, 5, None, "/x")])  # last < first violates a CHECK
    assert [r[3:5] for r in book.ranges()] == [(1, 100)]
    assert book.integrity() == "ok"


def test_sweep_lists_every_overlapping_pair_as_brute_force_does():
    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(0, 40))
        group, first = rng.integers(0, 3, n), rng.integers(0, 60, n)
        last = first + rng.integers(0, 12, n)
        if trial % 3 == 0:  # serials beyond 64 bits: the sweep ranks them, the pairs stay the same
            first, last = [int(x) + 2**70 for x in first], [int(x) + 2**70 for x in last]
        pairs = overlapping_pairs(group, first, last)
        expected = {frozenset((i, j)) for i in range(n) for j in range(i) if group[i] == group[j] and first[i] <= last[j] and first[j] <= last[i]}
        assert len(pairs) == len(expected) and {frozenset(pair) for pair in pairs} == expected


# ---------------------------------------------------------------- the screen command


def write_batch(folder: Path, packages: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for package in packages:
        (folder / f"{package['id']}.json").write_text(json.dumps(package))


def run(argv, capsys, records: bool = False):
    """The exit code, the packages' lines (with records=True, also the run-level records after them, which
    have no source) and the standard error of a command."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    return code, [line for line in lines if records or "source" in line], err


def test_screen_a_folder_finds_the_planted_overlaps_and_survives_bad_members(tmp_path, capsys):
    packages = [inventory(f"P{i:03d}", [(i * 1000 + 1, i * 1000 + 500)]) for i in range(40)]
    packages[10]["offsets"]["batches"][0]["serial"] = {"start": 3201, "end": 3700}  # overlaps P003's 3001–3500
    packages[20]["offsets"]["batches"][0].update(serial={"start": 7001, "end": 7500}, beneficiary="Other plc")  # P007's credits, another beneficiary
    write_batch(tmp_path / "in", packages)
    (tmp_path / "in" / "broken.json").write_text("{not json")
    (tmp_path / "in" / "wrong.json").write_text(json.dumps({"kind": "ghg-inventory", "schema_version": "1.0"}))
    code, lines, err = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    assert code == 1 and len(lines) == 42
    by_source = {Path(line["source"]).name: line for line in lines}
    assert by_source["broken.json"]["status"] == "invalid" and "malformed JSON" in by_source["broken.json"]["error"]
    assert by_source["wrong.json"]["status"] == "invalid" and "'id' is a required property" in by_source["wrong.json"]["error"]
    assert all(problem.startswith(str(tmp_path / "in" / "wrong.json") + ": /") for problem in by_source["wrong.json"]["error"].splitlines())
    conflicts = {(line["id"], c["kind"], c["other"]["package_id"]) for line in lines for c in line.get("ledger_conflicts", [])}
    assert conflicts == {("P010", "retired_twice", "P003"), ("P020", "retired_for_two_beneficiaries", "P007")}
    assert "ledger retired_twice" in err and "checked" in err


def test_screen_zip_and_jsonl_sources_with_two_jobs(tmp_path, capsys):
    packages = [inventory(f"Z{i}", [(i * 100 + 1, i * 100 + 50)]) for i in range(6)]
    with zipfile.ZipFile(tmp_path / "batch.zip", "w") as archive:
        for package in packages[:3]:
            archive.writestr(f"sub/{package['id']}.json", json.dumps(package))
    (tmp_path / "batch.jsonl").write_text("\n".join(json.dumps(p) for p in packages[3:]) + "\n[1, 2]\n")
    code, lines, _ = run(["screen", tmp_path / "batch.zip", tmp_path / "batch.jsonl", "--jobs", "2"], capsys)
    sources = sorted(line["source"] for line in lines)
    assert len(lines) == 7 and sources[0].endswith("batch.jsonl:1") and sources[-1].endswith("batch.zip!sub/Z2.json")
    assert [line["status"] for line in lines].count("checked") == 6
    bad = next(line for line in lines if line["source"].endswith(":4"))
    assert bad["status"] == "invalid" and "must be an object" in bad["error"]


_THREADS_AT_FORK: list[list[str]] = []
os.register_at_fork(before=lambda: _THREADS_AT_FORK.append([thread.name for thread in threading.enumerate()]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_the_workers_are_forked_from_a_single_threaded_parent(tmp_path, capsys, monkeypatch):
    """fork() copies only the calling thread: a lock another thread held at that moment stays held in the
    child for ever. The progress bar's monitor thread is the one a screening parent could have had."""
    (tmp_path / "batch.jsonl").write_text("\n".join(json.dumps(inventory(f"F{i}", [(i * 100 + 1, i * 100 + 50)])) for i in range(4)) + "\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as on a terminal: with the progress bar
    _THREADS_AT_FORK.clear()
    _, lines, err = run(["screen", tmp_path / "batch.jsonl", "--jobs", "2"], capsys)
    assert [line["status"] for line in lines] == ["checked"] * 4 and "4/4" in err
    assert _THREADS_AT_FORK == [["MainThread"], ["MainThread"]]


def test_a_crash_inside_a_rule_is_that_packages_result(tmp_path, capsys, monkeypatch):
    import vericarbon.run.checker

    real = vericarbon.run.checker.Checker.screening_line

    def flaky(self, package):
        if package.data["id"] == "C1":
            raise ZeroDivisionError("in a rule")
        return real(self, package)

    monkeypatch.setattr(vericarbon.run.checker.Checker, "screening_line", flaky)
    write_batch(tmp_path / "in", [inventory("C0", [(1, 10)]), inventory("C1", [(11, 20)]), inventory("C2", [(21, 30)])])
    code, lines, _ = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    status = {line["source"].rsplit("/", 1)[1]: line["status"] for line in lines}
    assert status == {"C0.json": "checked", "C1.json": "error", "C2.json": "checked"}
    assert next(line for line in lines if line["status"] == "error")["error"] == "ZeroDivisionError: in a rule"


def test_a_worker_that_dies_costs_only_its_package(tmp_path):
    """A crash in native code kills the worker process: that package is an error line, every other is checked."""
    packages = [inventory("CRASH" if i == 37 else f"W{i:03d}", [(i * 10 + 1, i * 10 + 5)]) for i in range(80)]
    items = [Item(f"many.jsonl:{i + 1}", f"line{i + 1}.json", json.dumps(p).encode()) for i, p in enumerate(packages)]
    lines: list[dict] = []
    for chunk in screen.run(iter(items), 2, Checker(STORE, [], [], None), None, work=screen_or_crash):
        lines.extend(chunk)
    by_source = {line["source"]: line for line in lines}
    assert len(lines) == len(by_source) == 80
    assert by_source["many.jsonl:38"]["status"] == "error" and "died" in by_source["many.jsonl:38"]["error"]
    assert all(line["status"] == "checked" for source, line in by_source.items() if source != "many.jsonl:38")


def test_count_for_the_progress_bar(tmp_path):
    write_batch(tmp_path / "folder", [inventory(f"F{i}", [(i * 10 + 1, i * 10 + 5)]) for i in range(3)])
    (tmp_path / "folder" / "notes.txt").write_text("not a package")
    with zipfile.ZipFile(tmp_path / "batch.zip", "w") as archive:
        archive.writestr("a/one.json", "{}")
        archive.writestr("a/two.yaml", "{}")
    (tmp_path / "batch.jsonl").write_text('{"a": 1}\n\n  \n{"b": 2}')  # blank lines are not packages
    assert count([tmp_path / "folder", tmp_path / "batch.zip", tmp_path / "batch.jsonl"]) == 3 + 2 + 2


def test_packages_outside_the_chosen_profile_are_not_applicable(capsys):
    """An intake screen of a mixed backlog: other kinds are listed as not applicable, not as invalid."""
    code, lines, err = run(["screen", "evidence_samples", "--profile", "intake", "--jobs", "1"], capsys)
    by_kind: dict[str, set[str]] = {}
    for line in lines:
        by_kind.setdefault(line["kind"], set()).add(line["status"])
    assert by_kind.pop("icr-project-submission") == {"checked"}
    assert by_kind and set().union(*by_kind.values()) == {"not_applicable"}
    assert all("no rule of profile 'intake' applies to a" in line["reason"] for line in lines if line["status"] == "not_applicable")
    assert "not_applicable" in err and code == 1  # 1: the ICR defects sample goes back to its proponent


def test_screen_writes_reports_and_keeps_a_ledger_across_runs(tmp_path, capsys):
    write_batch(tmp_path / "day1", [inventory("D1", [(1, 100)])])
    write_batch(tmp_path / "day2", [inventory("D2", [(50, 60)])])
    (tmp_path / "reports").mkdir()
    ledger = tmp_path / "ledger.sqlite"
    run(["screen", tmp_path / "day1", "--jobs", "1", "--ledger", ledger, "--report-dir", tmp_path / "reports"], capsys)
    code, lines, _ = run(["screen", tmp_path / "day2", "--jobs", "1", "--ledger", ledger], capsys)
    assert lines[0]["ledger_conflicts"][0]["other"]["package_id"] == "D1"
    assert len(list((tmp_path / "reports").glob("*.report.html"))) == 1 and len(list((tmp_path / "reports").glob("*.result.json"))) == 1
    code, out, _ = run(["ledger", "audit", ledger], capsys)
    assert code == 1 and out[0]["package_id"] == "D2" and out[0]["other"]["package_id"] == "D1"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["screen", "/no/such/folder"], "/no/such/folder: no such file or folder"),
        (["screen", "README.md"], "a source is a folder, a zip archive or a JSON-Lines file"),
        (["screen", "evidence_samples", "--jobs", "0"], "--jobs: needs at least 1 worker"),
        (["screen", "evidence_samples", "./evidence_samples/"], "evidence_samples: given twice"),
        (["screen", "evidence_samples", "--profile", "nope"], "no rule of the selected rulesets belongs to profile 'nope'"),
        (["screen", "evidence_samples", "--param", "nope=1"], "no selected ruleset has a parameter 'nope'"),
        (["ledger", "audit", "/no/such.sqlite"], "no such ledger file"),
        (["screen", "evidence_samples", "-o", "/no/such/folder/out.jsonl"], "/no/such/folder/out.jsonl: cannot be written (No such file or directory)"),
        (["ledger", "audit", "README.md"], "README.md: cannot be used as a ledger (file is not a database)"),
        (["screen", "evidence_samples", "--ledger", "/no/such/folder/l.sqlite"], "/no/such/folder/l.sqlite: cannot be used as a ledger"),
    ],
)
def test_screen_bad_input(argv, message, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err


# ---------------------------------------------------------------- separate processes


def test_two_runs_on_one_ledger_at_once(tmp_path):
    """Two screening processes share a ledger: no corruption, and each cross-run overlap is caught once."""
    left = [inventory(f"L{i:03d}", [(i * 100 + 1, i * 100 + 50)]) for i in range(60)]
    right = [inventory(f"R{i:03d}", [(i * 100 + 51, i * 100 + 100)]) for i in range(60)]  # adjacent to left: no conflict
    for i in range(0, 60, 6):
        right[i]["offsets"]["batches"][0]["serial"] = {"start": i * 100 + 40, "end": i * 100 + 89}  # overlaps L's range i
    write_batch(tmp_path / "left", left)
    write_batch(tmp_path / "right", right)
    ledger = tmp_path / "shared.sqlite"
    runs = [subprocess.Popen([*VERICARBON, "screen", str(tmp_path / side), "--jobs", "1", "--ledger", str(ledger)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for side in ("left", "right")]
    outputs = [json.loads(line) for process in runs for line in process.communicate(timeout=300)[0].splitlines()]
    conflicts = sorted(tuple(sorted((line["id"], c["other"]["package_id"]))) for line in outputs for c in line.get("ledger_conflicts", []))
    assert conflicts == [(f"L{i:03d}", f"R{i:03d}") for i in range(0, 60, 6)]
    book = SQLiteLedger(ledger)
    assert book.integrity() == "ok" and len(list(book.ranges())) == 120


def test_ctrl_c_stops_cleanly_keeping_what_finished(tmp_path):
    packages = [inventory(f"K{i:04d}", [(i * 10 + 1, i * 10 + 5)]) for i in range(3000)]
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps(p) for p in packages))
    ledger = tmp_path / "l.sqlite"
    process = subprocess.Popen([*VERICARBON, "screen", str(tmp_path / "many.jsonl"), "--jobs", "2", "--ledger", str(ledger), "-o", str(tmp_path / "out.jsonl")], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not (tmp_path / "out.jsonl").exists() or len((tmp_path / "out.jsonl").read_text().splitlines()) < 50):
        time.sleep(0.05)  # soon after the first lines: the run must still be going
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "screening interrupted" in err and "Traceback" not in err
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert 50 <= len(lines) < 3000
    recorded = {row[6] for row in SQLiteLedger(ledger).ranges()}
    assert recorded == {line["id"] for line in lines}  # each package in the ledger has its line, and no other is there
    assert all(line["status"] == "checked" for line in lines)  # every line written is whole
    assert SQLiteLedger(ledger).integrity() == "ok" and len(list(SQLiteLedger(ledger).ranges())) == len(lines)


def test_a_killed_run_leaves_each_package_whole_in_the_ledger(tmp_path):
    """kill -9 in the middle: every package is in the ledger with all its ranges or not at all."""
    packages = [inventory(f"X{i:04d}", [(i * 100 + 1, i * 100 + 10), (i * 100 + 21, i * 100 + 30), (i * 100 + 41, i * 100 + 50)]) for i in range(3000)]
    (tmp_path / "many.jsonl").write_text("\n".join(json.dumps(p) for p in packages))
    ledger = tmp_path / "l.sqlite"
    process = subprocess.Popen([*VERICARBON, "screen", str(tmp_path / "many.jsonl"), "--jobs", "1", "--ledger", str(ledger), "-o", str(tmp_path / "out.jsonl")], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not (tmp_path / "out.jsonl").exists() or (tmp_path / "out.jsonl").stat().st_size < 20_000):
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=60)
    book = SQLiteLedger(ledger)
    assert book.integrity() == "ok"
    per_package: dict[str, int] = {}
    for row in book.ranges():
        per_package[row[6]] = per_package.get(row[6], 0) + 1
    assert per_package and set(per_package.values()) == {3}
    assert len(per_package) < 3000


def test_an_unreadable_member_is_that_members_result(tmp_path, capsys):
    write_batch(tmp_path / "in", [inventory("U1", [(1, 10)])])
    (tmp_path / "in" / "locked.json").symlink_to(tmp_path / "in" / "gone.json")  # listed, but nothing behind it
    code, lines, _ = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    by_name = {Path(line["source"]).name: line for line in lines}
    assert by_name["U1.json"]["status"] == "checked"
    assert by_name["locked.json"]["status"] == "invalid" and "cannot be read" in by_name["locked.json"]["error"]


@pytest.mark.parametrize("jobs", ["1", "2"])  # with 2, a worker process opens the ledger again and records
def test_screen_keeps_its_ledger_in_postgresql(tmp_path, capsys, postgres_url, jobs):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(inventory("P-A", [(1, 100)])))
    (folder / "b.json").write_text(json.dumps(inventory("P-B", [(50, 60)], beneficiary="Other plc")))
    assert main(["screen", str(folder), "--jobs", jobs, "--ledger", postgres_url, "-o", str(tmp_path / "out.jsonl")]) == 1
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    conflicts = [c for line in lines for c in line.get("ledger_conflicts", [])]
    assert [c["kind"] for c in conflicts] == ["retired_for_two_beneficiaries"]
    capsys.readouterr()
    assert main(["ledger", "audit", postgres_url]) == 1
    assert "1 overlapping pair" in capsys.readouterr().err


def test_lines_are_the_same_whatever_the_worker_count(tmp_path):
    """Two submissions claiming the same serials: the later one in the input carries the finding, turned
    round when the later one was recorded first (its chunk done before the earlier chunk, held back here),
    and the lines come in input order, for 1, 2 or 3 workers."""
    from helpers import screen_first_chunk_last

    from vericarbon.screening import Limits
    from vericarbon.screening.sources import items

    first = [inventory("FIRST" if i == 0 else f"P{i:03d}", [(i * 1000 + 1, i * 1000 + 500)]) for i in range(screen.CHUNK)]
    again = [inventory(f"Q{i:03d}", [(i * 1000 + 1, i * 1000 + 500)], beneficiary="Acme Ltd" if i % 2 else "Other plc") for i in range(screen.CHUNK)]
    again[5]["id"] = "P007"  # another content under a used id
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(package) + "\n" for package in first + again + first[:3]))  # and three submissions again
    screened = {}
    for jobs in (1, 2, 3):
        book = SQLiteLedger(tmp_path / f"ledger-{jobs}.sqlite")
        screened[jobs] = [line for chunk in screen.run(items([source], Limits()), jobs, Checker(STORE, [], [], None), None, book=book, work=screen_first_chunk_last) for line in chunk]
        book.close()
    assert [line["source"] for line in screened[1]] == [f"{source}:{n}" for n in range(1, 2 * screen.CHUNK + 4)]  # input order
    assert screened[2] == screened[1] and screened[3] == screened[1]
    by_id = {line["id"]: line for line in screened[1][: 2 * screen.CHUNK]}
    assert not by_id["P010"]["ledger_conflicts"]  # the earlier submission carries nothing
    assert [(c["kind"], c["other"]["package_id"]) for c in by_id["Q010"]["ledger_conflicts"]] == [("retired_for_two_beneficiaries", "P010")]
    assert [(c["kind"], c["other"]["package_id"]) for c in by_id["Q011"]["ledger_conflicts"]] == [("retired_twice", "P011")]
    assert by_id["Q010"]["ledger_conflicts"][0]["other"]["beneficiary"] == "Acme Ltd"


# ---------------------------------------------------------------- serials the ledger cannot lose (issue 30, item 1)

BEYOND_64_BITS = 2**64 + 1


def test_a_double_retirement_beyond_64_bits_in_yaml_is_found(tmp_path, capsys):
    import yaml

    (tmp_path / "in").mkdir()
    for name in ("P-1", "P-2"):
        (tmp_path / "in" / f"{name}.yaml").write_text(yaml.safe_dump(inventory(name, [(BEYOND_64_BITS, BEYOND_64_BITS + 99)])))
    code, lines, _ = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    assert [c["shared"] for line in lines for c in line.get("ledger_conflicts", [])] == [[BEYOND_64_BITS, BEYOND_64_BITS + 99]]


def test_a_range_the_ledger_cannot_read_is_that_packages_invalid_line_not_a_silent_skip(tmp_path, capsys):
    """A serial written as a float (1.8446744073709552e19) passes the schema's "integer" but names no exact
    credit: the package's line says so, with the pointer, where the ledger used to leave the range out."""
    package = json.dumps(inventory("P-1", [(1, 2)])).replace('"start": 1,', '"start": 1.8446744073709552e19,').replace('"end": 2,', '"end": 1.8446744073709552e19,')
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "inexact.json").write_text(package)
    write_batch(tmp_path / "in", [inventory("P-2", [(1, 100)])])
    code, lines, _ = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    (line,) = [line for line in lines if line["source"].endswith("inexact.json")]
    assert line["status"] == "invalid" and line["error"].startswith(str(tmp_path / "in" / "inexact.json") + ": /offsets/batches/0/serial/start: the ledger cannot record")
    assert len(lines) == 2 and [line["status"] for line in lines if line["source"].endswith("P-2.json")] == ["checked"]


def test_a_credit_record_of_serial_to_ten_to_the_22_is_its_own_line_not_the_batchs_end(tmp_path, capsys):
    import yaml

    record = {"kind": "credit-record", "schema_version": "1.0", "id": "R-1", "registry": "cercarbono", "record_type": "retirement", "quantity": 5,
              "serial": {"raw": "CDC_1_1_1_321_14_1_2009", "from": 10**22 - 4, "to": 10**22}, "beneficiary": "X"}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "big.json").write_text(json.dumps(record))
    (tmp_path / "in" / "again.yaml").write_text(yaml.safe_dump({**record, "id": "R-2"}))  # YAML: read exactly, the same credits
    write_batch(tmp_path / "in", [inventory("P-2", [(1, 100)])])
    code, lines, err = run(["screen", tmp_path / "in", "--jobs", "1"], capsys)
    assert code != 3 and len(lines) == 3, err
    (line,) = [line for line in lines if line["source"].endswith("big.json")]
    # exact (a JSON reader keeping big integers) or, read as a float, that package's invalid line naming /serial
    assert line["status"] == "checked" or (line["status"] == "invalid" and ": /serial/start: the ledger cannot record" in line["error"])


def test_a_ledger_of_format_2_is_upgraded_to_keep_registry_records(tmp_path):
    path = tmp_path / "l.sqlite"
    SQLiteLedger(path).record("R-1", "a.jsonl:1", [claim(1, 100)], "hash-1").__len__()
    with sqlite3.connect(path) as db:  # as a ledger of format 2 was: no record column
        db.execute("ALTER TABLE packages DROP COLUMN record")
        db.execute("PRAGMA user_version = 2")
    (updated,) = SQLiteLedger(path).record("R-1", "b.jsonl:2", [claim(1, 100)], "hash-2", record={"id": "R-1", "beneficiary": "B"})[:1]
    assert updated["kind"] == "updated" and updated["before"] is None and updated["after"] == {"id": "R-1", "beneficiary": "B"}


def test_the_conflicts_of_one_block_are_summarised_once_and_each_line_names_the_summary(tmp_path, capsys):
    packages = [inventory(f"P-{i}", [(1, 1000)]) for i in range(30)]  # every package the same credits
    write_batch(tmp_path / "in", packages)
    code, lines, _ = run(["screen", tmp_path / "in", "--jobs", "1"], capsys, records=True)
    *package_lines, summary = lines
    assert len(package_lines) == 30 and summary["record"] == "ledger_block" and summary["ranges"] == [[1, 1000]]
    assert summary["findings"] == {"retired_twice": 29 * 30 // 2} and set(summary["submissions"]) == {p["id"] for p in packages}
    findings = [c for line in package_lines for c in line.get("ledger_conflicts", [])]
    assert len(findings) == 29 and sorted(c["others"] for c in findings) == list(range(1, 30))  # one per line, not 435
    assert {c["block_summary"] for c in findings} == {summary["id"]}

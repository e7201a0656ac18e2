"""Registry exports in: `vericarbon import registry` on rows from the registries' public exports, then
`screen` over the imports into one ledger."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from test_screen import run

from vericarbon.cli import main

EXPORTS = Path(__file__).parent / "data" / "registry-exports"


def import_registry(registry: str, *files: Path, out: Path, capsys) -> tuple[int, list[dict], str]:
    code = main(["import", "registry", "--from", registry, *map(str, files), "-o", str(out)])
    err = capsys.readouterr().err
    return code, [json.loads(line) for line in out.read_text().splitlines()], err


def test_a_verra_transaction_row_is_an_issuance_and_once_retired_a_retirement_too(tmp_path, capsys):
    code, records, err = import_registry("verra", EXPORTS / "verra-transactions.csv", out=tmp_path / "v.jsonl", capsys=capsys)
    assert code == 0 and "4 row(s) read, 6 record(s) imported, 0 row(s) refused" in err
    assert [r["record_type"] for r in records] == ["issuance", "issuance", "issuance", "retirement", "issuance", "retirement"]
    first = records[0]
    assert first["serial"] == {"raw": "19410-942201922-942211921-VCS-VCU-7890-VER-AR-1-1996-01012024-31122024-0"}
    assert first["quantity"] == 10000 and first["vintage"] == {"start": "2024-01-01", "end": "2024-12-31"} and first["source"]["row"] == 1


def test_registries_without_serials_import_by_their_record_ids(tmp_path, capsys):
    code, records, _ = import_registry("isometric", EXPORTS / "isometric-retirements.csv", out=tmp_path / "i.jsonl", capsys=capsys)
    assert code == 0 and records[0]["serial"] == {"id": "ret_1KNSQMD6Z1S0TB50"} and records[0]["beneficiary"] == "Workday"
    assert records[0]["retirement_purpose"] == "public_environmental_claims" and records[0]["quantity"] == 531


def test_two_issuances_in_one_second_stay_two_records(tmp_path, capsys):
    code, records, _ = import_registry("acr", EXPORTS / "acr-issuances.csv", out=tmp_path / "a.jsonl", capsys=capsys)
    assert code == 0 and len({r["id"] for r in records}) == 2
    code, lines, err = run(["screen", tmp_path / "a.jsonl", "--jobs", "1"], capsys)
    assert "ledger conflicts         0" in err or not any(line.get("ledger_conflicts") for line in lines)


def test_a_refused_row_names_its_row_and_the_format_expected(tmp_path, capsys):
    broken = tmp_path / "acr.csv"
    rows = list(csv.reader((EXPORTS / "acr-retirements.csv").open(newline="", encoding="utf-8")))
    serial = rows[0].index("Credit Serial Numbers")
    rows[2][serial] = "ACR-FR-1129-2025-2917 30932-35143"
    with broken.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    code, records, err = import_registry("acr", broken, out=tmp_path / "a.jsonl", capsys=capsys)
    assert code == 1 and len(records) == 1
    assert "row 2: /serial/raw: 'ACR-FR-1129-2025-2917 30932-35143' is not a ACR serial ('ACR-COUNTRY-PROJECT-VINTAGE-BATCH-FIRST to LAST'" in err


def test_an_export_of_another_registry_is_refused_with_what_was_expected(tmp_path, capsys):
    code = main(["import", "registry", "--from", "verra", str(EXPORTS / "acr-retirements.csv"), "-o", str(tmp_path / "x.jsonl")])
    err = capsys.readouterr().err
    assert code == 2 and "match no verra export this importer knows: transactions (Serial Number" in err
    assert not (tmp_path / "x.jsonl").exists()  # nothing partial


def test_a_retirement_copied_with_another_beneficiary_conflicts_naming_both_files(tmp_path, capsys):
    original = EXPORTS / "gold-standard-retirements.csv"
    rows = list(csv.reader(original.open(newline="", encoding="utf-8")))
    entity = rows[0].index("Using Entity")
    rows[1][entity] = "Somebody Else Ltd"
    copied = tmp_path / "second-export.csv"
    with copied.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows[:2])
    import_registry("gold-standard", original, out=tmp_path / "first.jsonl", capsys=capsys)
    import_registry("gold-standard", copied, out=tmp_path / "second.jsonl", capsys=capsys)
    code, lines, _ = run(["screen", tmp_path / "first.jsonl", tmp_path / "second.jsonl", "--jobs", "1"], capsys)
    found = [(line["source"], c) for line in lines for c in line.get("ledger_conflicts", [])]
    kinds = sorted(c["kind"] for _, c in found)
    assert code == 1 and kinds == ["retired_for_two_beneficiaries", "updated"]  # the same record, changed: an update, and still a double retirement
    (update,) = [c for _, c in found if c["kind"] == "updated"]
    assert update["before"]["beneficiary"] != "Somebody Else Ltd" and update["after"]["beneficiary"] == "Somebody Else Ltd" and "source" not in update["after"]
    (source, conflict), = [(s, c) for s, c in found if c["kind"] == "retired_for_two_beneficiaries"]
    assert source.startswith(str(tmp_path / "second.jsonl")) and conflict["other"]["source"].startswith(str(tmp_path / "first.jsonl"))


def test_a_serial_range_issued_again_in_another_file_is_issued_twice(tmp_path, capsys):
    rows = list(csv.reader((EXPORTS / "verra-transactions.csv").open(newline="", encoding="utf-8")))
    serial = rows[0].index("Serial Number")
    again = rows[1][:]
    batch, first, last, rest = again[serial].split("-", 3)
    again[serial] = f"99999-{first}-{last}-{rest}"  # another batch number, the same credits
    reissued = tmp_path / "reissued.csv"
    with reissued.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([rows[0], again])
    import_registry("verra", EXPORTS / "verra-transactions.csv", out=tmp_path / "a.jsonl", capsys=capsys)
    import_registry("verra", reissued, out=tmp_path / "b.jsonl", capsys=capsys)
    code, lines, _ = run(["screen", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--jobs", "1"], capsys)
    conflicts = [c for line in lines for c in line.get("ledger_conflicts", [])]
    assert code == 1 and [c["kind"] for c in conflicts] == ["issued_twice"]
    assert conflicts[0]["shared"] == [int(first), int(last)] and conflicts[0]["other"]["source"].startswith(str(tmp_path / "a.jsonl"))


def test_every_imported_fixture_screens_without_a_ledger_conflict(tmp_path, capsys):
    for registry, name in [("verra", "verra-transactions.csv"), ("gold-standard", "gold-standard-retirements.csv"), ("acr", "acr-retirements.csv"),
                           ("acr", "acr-issuances.csv"), ("isometric", "isometric-retirements.csv"), ("cercarbono", "cercarbono-retirements.csv")]:
        code, _, err = import_registry(registry, EXPORTS / name, out=tmp_path / f"{name}.jsonl", capsys=capsys)
        assert code == 0, err
    code, lines, err = run(["screen", *sorted(tmp_path.glob("*.jsonl")), "--jobs", "1"], capsys)
    assert all(line["status"] == "checked" for line in lines) and not any(line.get("ledger_conflicts") for line in lines)


def test_an_export_published_as_a_workbook_imports_as_its_csv_does(tmp_path, capsys):
    import datetime as dt

    import openpyxl

    rows = list(csv.reader((EXPORTS / "gold-standard-retirements.csv").open(newline="", encoding="utf-8")))
    book = openpyxl.Workbook()
    sheet = book.active
    date_column = rows[0].index("Retirement Date")
    for number, row in enumerate(rows):
        cells: list = list(row)
        if number:  # a spreadsheet holds real dates and numbers, not text
            cells[date_column] = dt.datetime.fromisoformat(row[date_column])
            cells[rows[0].index("Quantity")] = int(row[rows[0].index("Quantity")])
        sheet.append(cells)
    book.save(tmp_path / "retirements.xlsx")
    _, from_csv, _ = import_registry("gold-standard", EXPORTS / "gold-standard-retirements.csv", out=tmp_path / "c.jsonl", capsys=capsys)
    code, from_xlsx, err = import_registry("gold-standard", tmp_path / "retirements.xlsx", out=tmp_path / "x.jsonl", capsys=capsys)
    assert code == 0, err
    strip = lambda records: [{k: v for k, v in r.items() if k != "source"} for r in records]  # noqa: E731
    assert strip(from_xlsx) == strip(from_csv)


def test_a_workbook_that_unpacks_too_far_is_refused_unread(tmp_path, capsys):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (300 * 1024 * 1024))
    code = main(["import", "registry", "--from", "acr", str(tmp_path / "bomb.xlsx"), "-o", str(tmp_path / "x.jsonl")])
    assert code == 2 and "unpacks to 300 MiB" in capsys.readouterr().err


SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "offsetsdb-registry-samples"  # shared/ lies beside the checkout
REAL_EXPORTS = [("acr", "american-carbon-registry/retirements.csv"), ("gold-standard", "gold-standard/retirements.csv"), ("isometric", "isometric/retirements.csv")]


def _pair(line: dict, conflict: dict) -> tuple:
    return line["id"], conflict["kind"], conflict["other"]["package_id"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the registries' sample exports are not on this machine")
@pytest.mark.parametrize("registry, name", REAL_EXPORTS)
def test_a_real_export_imported_again_shifted_and_elsewhere_adds_no_conflict(registry, name, tmp_path, capsys, ledger_location):
    """Last month's download (the export without its newest row), then this month's in another folder: one
    new row on top, every other row one further down. Only the new row may bring a conflict."""
    rows = list(csv.reader((SAMPLES / name).open(newline="", encoding="utf-8-sig")))
    for folder, kept in (("last-month", [rows[0], *rows[2:]]), ("this-month", rows)):
        (tmp_path / folder).mkdir()
        with (tmp_path / folder / Path(name).name).open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(kept)
        import_registry(registry, tmp_path / folder / Path(name).name, out=tmp_path / f"{folder}.jsonl", capsys=capsys)
    ledger = ["--ledger", ledger_location]
    _, first, _ = run(["screen", tmp_path / "last-month.jsonl", "--jobs", "1", *ledger], capsys)
    _, again, _ = run(["screen", tmp_path / "this-month.jsonl", "--jobs", "1", *ledger], capsys)
    assert len(again) == len(first) + 1 >= 100 and all(line["status"] == "checked" for line in again)
    new_row = again[0]["id"]
    earlier = {_pair(line, c) for line in first for c in line.get("ledger_conflicts", [])}
    added = {_pair(line, c) for line in again for c in line.get("ledger_conflicts", [])} - earlier
    assert {pair for pair in added if new_row not in (pair[0], pair[2])} == set()
    # both downloads in one run: a record met in both is one submission, never a duplicate nor an update
    _, both, _ = run(["screen", tmp_path / "last-month.jsonl", tmp_path / "this-month.jsonl", "--jobs", "1"], capsys)
    added = {_pair(line, c) for line in both for c in line.get("ledger_conflicts", [])} - earlier
    assert {pair for pair in added if new_row not in (pair[0], pair[2])} == set()


def test_serials_beyond_64_bits_keep_every_digit_from_csv_and_workbook(tmp_path, capsys):
    import openpyxl

    rows = list(csv.reader((EXPORTS / "cercarbono-retirements.csv").open(newline="", encoding="utf-8")))
    first, last = rows[0].index("from"), rows[0].index("to")
    rows[1][first], rows[1][last] = str(10**22 - 545), str(10**22)
    with (tmp_path / "big.csv").open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    code, records, err = import_registry("cercarbono", tmp_path / "big.csv", out=tmp_path / "c.jsonl", capsys=capsys)
    assert code == 0, err
    assert records[0]["serial"]["from"] == 10**22 - 545 and records[0]["serial"]["to"] == 10**22
    book = openpyxl.Workbook()
    for number, row in enumerate(rows):
        book.active.append([int(cell) if number and index in (first, last) else cell for index, cell in enumerate(row)])
    book.active.cell(2, first + 1).value = str(10**22 - 545)  # the long serial as text: exact
    book.active.cell(2, last + 1).value = str(10**22)
    book.save(tmp_path / "text.xlsx")
    code, from_xlsx, err = import_registry("cercarbono", tmp_path / "text.xlsx", out=tmp_path / "t.jsonl", capsys=capsys)
    assert code == 0 and from_xlsx[0]["serial"] == records[0]["serial"], err
    book.active.cell(2, last + 1).value = float(10**22)  # a number cell: a double, whose digits are not the registry's
    book.save(tmp_path / "number.xlsx")
    code, from_xlsx, err = import_registry("cercarbono", tmp_path / "number.xlsx", out=tmp_path / "n.jsonl", capsys=capsys)
    assert code == 1 and len(from_xlsx) == 1 and "row 1: to '1e+22': is not a whole number written in digits" in err

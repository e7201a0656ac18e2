"""Hostile files through the importers (issue 29 item 1, issue 30 item 1): workbooks that abort or exhaust
python-calamine, damaged sheets, registry and statement tables with cells that are not what their column
says. Each is refused as input (exit 2, the file, place and reason named), never a crash; and a workbook
exported with formula-looking text comes back as that text."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from fuzz_files import rewritten, sample_workbook
from test_authoring import run

EXPORTS = Path(__file__).parent / "data" / "registry-exports"
LINES = "xl/worksheets/sheet3.xml"  # the 'lines' sheet of the inventory sample's workbook


def extra_cell(reference: str, row: int) -> bytes:
    return rewritten(sample_workbook(), LINES, lambda xml: xml.replace(b"</sheetData>", f'<row r="{row}"><c r="{reference}"><v>1</v></c></row></sheetData>'.encode()))


def import_book(book: bytes, tmp_path, capsys) -> tuple[int, str]:
    path = tmp_path / "book.xlsx"
    path.write_bytes(book)
    code, _, err = run(["import", "workbook", path, "-o", tmp_path / "out.json"], capsys)
    assert not (tmp_path / "out.json").exists()
    return code, err


@pytest.mark.parametrize("reference, row", [("XFD1048576", 1048576), ("ALL100000", 100000)])
def test_a_cell_far_out_is_refused_before_calamine_allocates_its_grid(reference, row, tmp_path, capsys):
    """XFD1048576 made calamine ask for 512 GiB and abort the process; ALL100000 took 11.7 s and 3.8 GB."""
    book = extra_cell(reference, row)
    assert len(book) < 20_000
    started = time.perf_counter()
    code, err = import_book(book, tmp_path, capsys)
    assert code == 2 and f"'lines'!{reference}: a cell makes the sheet" in err and "at most 8000000 are read" in err
    assert time.perf_counter() - started < 5


def test_a_rewritten_dimension_is_refused(tmp_path, capsys):
    book = rewritten(sample_workbook(), LINES, lambda xml: xml.replace(b'<dimension ref="A1:I9"/>', b'<dimension ref="A1:XFD1048576"/>'))
    code, err = import_book(book, tmp_path, capsys)
    assert code == 2 and "its dimension makes the sheet 1048576 rows by 16384 columns" in err


def test_a_cell_reference_outside_the_grid_is_refused(tmp_path, capsys):
    code, err = import_book(extra_cell("XFE1", 1), tmp_path, capsys)
    assert code == 2 and "'XFE1' is not a cell of a sheet" in err


@pytest.mark.parametrize("change, words", [
    (lambda xml: xml.replace(b"<worksheet", b'<?xml version="1.0" encoding="ISO-8859-1"?><worksheet', 1).replace(b"</sheetData>", b'<row r="20"><c r="A20" t="inlineStr"><is><t>\xe9</t></is></c></row></sheetData>'), "XmlError"),
    (lambda xml: xml.replace(b"</sheetData>", b'<row r="20"><c r="A20" t="b"><v>maybe</v></c></row></sheetData>'), "boolean"),
    (lambda xml: xml.replace(b"</sheetData>", b'<row r="20"><c r="A20" t="n"><v>1.2.3</v></c></row></sheetData>'), "cannot be read as a workbook"),
    (lambda xml: xml[: len(xml) // 2], "is not well-formed XML"),
], ids=["not-utf-8", "boolean", "float", "truncated"])
def test_a_damaged_sheet_is_refused_naming_it(change, words, tmp_path, capsys):
    code, err = import_book(rewritten(sample_workbook(), LINES, change), tmp_path, capsys)
    assert code == 2 and "'lines'" in err and words in err


def test_a_sheet_the_index_names_but_the_file_lacks_is_refused(tmp_path, capsys):
    code, err = import_book(rewritten(sample_workbook(), LINES, None), tmp_path, capsys)
    assert code == 2 and "'lines': cannot be read as a workbook (WorksheetNotFound" in err


def test_infinity_in_a_number_column_is_not_a_number(tmp_path, capsys):
    """An integer column read int(inf): OverflowError."""
    book = rewritten(sample_workbook(), LINES, lambda xml: xml.replace(b'<c r="C2" t="n"><v>1</v>', b'<c r="C2" t="n"><v>1e999</v>'))
    code, err = import_book(book, tmp_path, capsys)
    assert code == 2 and "is not a finite number" in err


def test_a_member_compressed_with_a_method_workbooks_do_not_use_is_refused(tmp_path, capsys):
    path = tmp_path / "lzma.xlsx"
    path.write_bytes(sample_workbook())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_LZMA) as archive:
        archive.writestr("xl/media/extra.bin", b"x" * 100)
    code, _, err = run(["import", "workbook", path], capsys)
    assert code == 2 and "xl/media/extra.bin: is compressed with zip method 14" in err


def test_shared_strings_declaring_billions_are_refused(tmp_path, capsys):
    book = rewritten(sample_workbook(), "xl/sharedStrings.xml", lambda _: b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="99999999999"></sst>')
    code, err = import_book(book, tmp_path, capsys)
    assert code == 2 and "declares uniqueCount='99999999999'" in err


def test_evidence_that_looks_like_a_formula_is_written_as_text_and_comes_back(tmp_path, capsys):
    package = json.loads((Path(__file__).resolve().parent.parent / "evidence_samples" / "inventory-defects.json").read_text())
    package["lines"][0]["source"] = '=HYPERLINK("http://evil.example","click")'
    source, book, back = tmp_path / "p.json", tmp_path / "p.xlsx", tmp_path / "back.json"
    source.write_text(json.dumps(package))
    assert run(["export", "workbook", source, "-o", book], capsys)[0] == 0
    with zipfile.ZipFile(book) as archive:
        assert b"<f>" not in archive.read(LINES)
    code, _, err = run(["import", "workbook", book, "-o", back], capsys)
    assert code == 0, err
    assert json.loads(back.read_text())["lines"][0]["source"] == package["lines"][0]["source"]


def _import_registry(registry: str, csv_text: str, tmp_path, capsys) -> tuple[int, str]:
    (tmp_path / "export.csv").write_text(csv_text)
    code, _, err = run(["import", "registry", "--from", registry, tmp_path / "export.csv", "-o", tmp_path / "out.jsonl"], capsys)
    return code, err


def test_a_buffer_column_that_is_not_a_number_refuses_the_row(tmp_path, capsys):
    """buffer_if_positive read the column with _number, whose ValueError escaped the row."""
    header, row = (EXPORTS / "acr-issuances.csv").read_text().splitlines()[:2]
    columns = header.split(",")
    cells = next(csv.reader([row]))
    cells[columns.index("Credits Issued to Buffer Pool")] = "lots"
    bad = ",".join(f'"{cell}"' for cell in cells)
    code, err = _import_registry("acr", f"{header}\n{bad}\n", tmp_path, capsys)
    assert code in (0, 1) and "row 1: Credits Issued to Buffer Pool 'lots': is not a number" in err


@pytest.mark.parametrize("values, words", [
    ({"to": ""}, "a first serial number without a last"),  # KeyError 'to' in named()
    ({"quantity": "inf"}, "quantity 'inf': is not a finite number"),
    ({"quantity": "NaN"}, "quantity 'NaN': is not a finite number"),
])
def test_a_cercarbono_row_with_a_broken_cell_is_refused(values, words, tmp_path, capsys):
    lines = (EXPORTS / "cercarbono-retirements.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[1]]))
    for column, value in values.items():
        cells[header.index(column)] = value
    code, err = _import_registry("cercarbono", lines[0] + "\n" + ",".join(f'"{c}"' for c in cells) + "\n", tmp_path, capsys)
    assert code in (0, 1) and words in err


def test_a_cercarbono_issuance_with_a_bad_vintage_period_is_refused(tmp_path, capsys):
    code, err = _import_registry("cercarbono", "serial,issued_quantity,vintage_of_credits\nCDC_1_1,10,2010-01-01 / 2018-02-30\n", tmp_path, capsys)
    assert code in (0, 1) and "row 1: vintage_of_credits '2010-01-01 / 2018-02-30': is not a date" in err


def test_a_cadt_issuance_that_is_not_an_object_is_left_out(tmp_path, capsys):
    (tmp_path / "units.json").write_text(json.dumps([{"serialNumberBlock": "AXJJFSLGHSHEJ1000-AXJJFSLGHSHEJ1010", "issuance": ["not", "an", "object"]}]))
    code, _, err = run(["import", "registry", "--from", "cadt", tmp_path / "units.json", "-o", tmp_path / "out.jsonl"], capsys)
    assert code == 0 and "1 record(s) imported" in err, err


def test_a_cadt_file_nested_too_deep_is_refused(tmp_path, capsys):
    (tmp_path / "units.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(["import", "registry", "--from", "cadt", tmp_path / "units.json"], capsys)
    assert code == 2 and "is not a CAD Trust unit record" in err


@pytest.mark.parametrize("layout, text, words", [
    ("rosehill", "company_name,llm_derived,human_verified,scope_1_emissions,scope_2_emissions,scope_3_emissions,emissions_reporting_unit,notes\nAcme,1\n", "1 row(s) read, 1 record(s) imported"),  # a short row: None.strip()
    ("rosehill", "company_name,llm_derived,human_verified,scope_1_emissions,scope_2_emissions,scope_3_emissions,emissions_reporting_unit,notes\nAcme,1,0,inf,,,t,\n", "scope_1_emissions: 'inf' is not a finite number"),
    ("eutl", "account_id,year,tonnes_co2\n100005,²,5\n", "not an installation-year"),  # '²'.isdigit(), int('²') fails
    ("eutl", "account_id,year,tonnes_co2\n100005,2006,-inf\n", "neither a finite number nor a status"),
], ids=["rosehill-short-row", "rosehill-inf", "eutl-superscript-year", "eutl-inf"])
def test_a_statement_row_with_a_broken_cell_is_refused(layout, text, words, tmp_path, capsys):
    (tmp_path / "table.csv").write_text(text)
    code, _, err = run(["import", "statements", "--from", layout, tmp_path / "table.csv", "-o", tmp_path / "out.jsonl"], capsys)
    assert code in (0, 1) and words in err and "internal error" not in err


def test_the_service_refuses_the_bomb_workbook_and_still_answers(tmp_path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from vericarbon.service.app import create_app

    app = create_app(str(tmp_path / "service.sqlite"))
    key = app.state.store.create_key("ICR")
    with TestClient(app) as client:
        started = time.perf_counter()
        answer = client.post("/v1/submissions?name=bomb", content=extra_cell("XFD1048576", 1048576),
                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
        assert answer.status_code == 422 and "XFD1048576" in answer.json()["error"] and "bomb.xlsx" in answer.json()["error"]
        assert time.perf_counter() - started < 10
        assert client.get("/healthz").status_code == 200


def test_a_sheet_kept_outside_the_worksheets_folder_is_bounded_too(tmp_path, capsys):
    """calamine follows the workbook's relationships to the sheet, wherever the part is."""
    book = extra_cell("XFD1048576", 1048576)
    book = rewritten(rewritten(book, "xl/hidden/s.xml", lambda _: zipfile.ZipFile(io.BytesIO(book)).read(LINES)), LINES, None)
    book = rewritten(book, "xl/_rels/workbook.xml.rels", lambda xml: xml.replace(b"/xl/worksheets/sheet3.xml", b"/xl/hidden/s.xml").replace(b"worksheets/sheet3.xml", b"hidden/s.xml"))
    code, err = import_book(book, tmp_path, capsys)
    assert code == 2 and "'lines'!XFD1048576: a cell makes the sheet" in err


def test_evidence_with_a_control_character_is_refused_on_export_naming_the_field(tmp_path, capsys):
    """openpyxl raised IllegalCharacterError (exit 3)."""
    package = json.loads((Path(__file__).resolve().parent.parent / "evidence_samples" / "inventory-defects.json").read_text())
    package["lines"][0]["source"] = "\x1b[31m red"
    (tmp_path / "p.json").write_text(json.dumps(package))
    code, _, err = run(["export", "workbook", tmp_path / "p.json", "-o", tmp_path / "p.xlsx"], capsys)
    assert code == 2 and "source: '\\x1b[31m red' holds the control character U+001B" in err and not (tmp_path / "p.xlsx").exists()

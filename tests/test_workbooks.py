"""From a spreadsheet to a package and back: `template`, `export workbook`, `import workbook`, and `init`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml
from test_authoring import run

from vericarbon.evidence.package import SchemaStore
from vericarbon.importers.skeletons import samples_of
from vericarbon.importers.workbooks import PACKAGE_SHEET, layout

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "evidence_samples").glob("*.json"))
STORE = SchemaStore()


def normalised(value):
    """What a spreadsheet keeps: numbers to Excel's 15 significant digits (whole ones as integers), and
    an empty list or object the same as none."""
    if isinstance(value, dict):
        kept = {key: normalised(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in ([], {})}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, float):
        return int(value) if value.is_integer() else float(f"{value:.15g}")
    return value


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.stem)
def test_export_then_import_gives_every_sample_back(sample, tmp_path, capsys):
    book, back = tmp_path / "p.xlsx", tmp_path / "p.json"
    assert run(["export", "workbook", sample, "-o", book], capsys)[0] == 0
    code, _, err = run(["import", "workbook", book, "-o", back], capsys)
    assert code == 0, err
    assert normalised(json.loads(back.read_text())) == normalised(json.loads(sample.read_text()))


@pytest.mark.parametrize("kind", sorted(k for k, _ in STORE.kinds))
def test_a_template_filled_cell_by_cell_with_a_sample_imports_as_the_sample(kind, tmp_path, capsys):
    """Every kind: a bundled sample, or (credit records have none) the built-in ruleset's test package."""
    bundled = [json.loads(p.read_text()) for p in SAMPLES if json.loads(p.read_text())["kind"] == kind]
    sample = (bundled or samples_of(kind, max(v for k, v in STORE.kinds if k == kind), STORE))[0]
    template = tmp_path / "t.xlsx"
    assert run(["template", kind, "-o", template], capsys)[0] == 0
    book = openpyxl.load_workbook(template)
    sheets = layout(STORE.shape(kind, sample["schema_version"]))
    fill(book, sheets, sample)
    book.save(template)
    code, out, err = run(["import", "workbook", template], capsys)
    assert code == 0, err
    assert normalised(json.loads(out)) == normalised(sample)


def fill(book, sheets, sample) -> None:
    """Type the sample into the template as a person would: values into the package sheet's value column,
    one row per record, lists as 'a; b', objects without a fixed shape as JSON text."""
    def at(value, path):
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def cell(value, column):
        if value is None:
            return None
        if column.kind == "list":
            return "; ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in value)
        if column.kind == "json":
            return json.dumps(value)
        return value

    main = book[PACKAGE_SHEET]
    rows = {main.cell(row=r, column=1).value: r for r in range(2, main.max_row + 1)}
    for column in sheets[0].columns:
        if (value := at(sample, column.path)) is not None:
            main.cell(row=rows[column.header], column=2).value = cell(value, column)
    records = {PACKAGE_SHEET: [sample]}
    for sheet in sheets[1:]:
        page = book[sheet.name]
        parents = records[sheet.parent.name] if sheet.parent else [sample]
        relative = sheet.collection[len(sheet.parent.collection) + 1:] if sheet.parent else sheet.collection
        records[sheet.name] = []
        for number, parent in enumerate(parents, start=1):
            for record in at(parent, relative) or []:
                records[sheet.name].append(record)
                page.append(([number] if sheet.parent else []) + [cell(at(record, c.path), c) for c in sheet.columns])


def test_three_mistakes_are_three_errors_naming_their_cells_and_nothing_is_written(tmp_path, capsys):
    book_path, out = tmp_path / "p.xlsx", tmp_path / "p.json"
    run(["export", "workbook", ROOT / "evidence_samples" / "statement-desnz-2023-lines.json", "-o", book_path], capsys)
    book = openpyxl.load_workbook(book_path)
    package = book[PACKAGE_SHEET]
    for row in package.iter_rows(min_row=2):
        if row[0].value == "period.start":
            row[1].value = "31/12/2023"
        if row[0].value == "gwp_set":
            row[1].value = "AR9"
    lines = book["lines"]
    column = [c.value for c in lines[1]].index("reported_tco2e") + 1
    lines.cell(row=4, column=column).value = "about 12"
    book.save(book_path)
    code, _, err = run(["import", "workbook", book_path, "-o", out], capsys)
    assert code == 2 and not out.exists()
    assert "'package'!B12: period.start: '31/12/2023' is not a date" in err
    assert "'package'!B15: gwp_set: 'AR9' is not one of AR4, AR5, AR6" in err
    assert f"'lines'!{openpyxl.utils.get_column_letter(column)}4: reported_tco2e: 'about 12' is not a number" in err


def test_a_schema_problem_names_the_cell_it_came_from(tmp_path, capsys):
    book_path = tmp_path / "p.xlsx"
    run(["export", "workbook", ROOT / "evidence_samples" / "statement-desnz-2023-lines.json", "-o", book_path], capsys)
    book = openpyxl.load_workbook(book_path)
    lines = book["lines"]
    column = [c.value for c in lines[1]].index("emission_factor.value") + 1
    lines.cell(row=3, column=column).value = -1
    book.save(book_path)
    code, _, err = run(["import", "workbook", book_path], capsys)
    assert code == 2 and f"'lines'!{openpyxl.utils.get_column_letter(column)}3 (/lines/1/emission_factor/value): -1 is less than the minimum of 0" in err


def test_a_workbook_bomb_is_refused_before_it_is_read(tmp_path, capsys):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x>" + b" " * (300 << 20) + b"</x>")
    code, _, err = run(["import", "workbook", bomb], capsys)
    assert code == 2 and "refused" in err


def test_a_workbook_from_elsewhere_says_what_it_lacks(tmp_path, capsys):
    other = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(other)
    code, _, err = run(["import", "workbook", other], capsys)
    assert code == 2 and "has no 'package' sheet" in err


@pytest.mark.parametrize("kind", sorted(k for k, _ in STORE.kinds))
def test_init_writes_a_skeleton_that_validates(kind, tmp_path, capsys):
    skeleton = tmp_path / "s.yaml"
    assert run(["init", kind, "-o", skeleton], capsys)[0] == 0
    text = skeleton.read_text()
    assert "# required" in text and "# optional" in text.replace("# # ", "# ")
    assert yaml.safe_load(text)["kind"] == kind
    code, out, err = run(["validate", skeleton], capsys)
    assert code == 0, err


def test_an_unknown_kind_is_named(capsys):
    code, _, err = run(["template", "ghg-statment", "-o", "/dev/null"], capsys)
    assert code == 2 and "not a package kind" in err


def test_verify_lists_every_missing_field_at_once_and_messages_name_them(tmp_path, capsys):
    skeleton = tmp_path / "claim.yaml"
    run(["init", "carbon-neutrality-claim", "-o", skeleton], capsys)
    code, out, _ = run(["verify", skeleton, "-o", tmp_path / "r.html"], capsys)
    missing = out.split("Missing from the package (")[1].split("\n\n")[0]
    for pointer in ("/credits — The credits used to offset the residual emissions, one lot per entry (CN-CREDITS-COVER-RESIDUAL", "/plan/targets — The plan's targets (", "/residual_tco2e — What the claim says remained to be offset"):
        assert pointer in missing
    assert "(missing)" not in out and "(missing: /boundary/organization/consolidation_approach)" in out
    page = (tmp_path / "r.html").read_text()
    assert "Missing from the package" in page and "CN-PLAN-REVIEWED" in page.split("Missing from the package")[1].split("</table>")[0]


def test_schema_pages_in_docs_are_current(capsys):
    code, _, err = run(["schemas", "docs", "--check", "--out", ROOT / "docs"], capsys)
    assert code == 0, err
    page = (ROOT / "docs" / "schemas" / "ghg-statement-1.0.md").read_text()
    assert "| `boundary.scope2_methods` | list of string |  | The Scope 2 methods reported | `location` | STMT-SCOPE2-METHODS-REPORTED |" in page


@pytest.mark.parametrize("kind, version", sorted(STORE.kinds))
def test_every_field_has_a_description_and_an_example(kind, version):
    bare = [column.header for sheet in layout(STORE.shape(kind, version)) for column in sheet.columns
            if not column.description or (column.example is None and column.path[-1] not in ("kind", "schema_version"))]
    assert not bare, f"fields without a description or an example (scripts/schema_examples.py fills examples): {bare[:10]}"

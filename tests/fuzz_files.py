"""Generated input files other than packages, for the fuzzer (fuzz_families.py): workbooks (their sheet XML,
shared strings, dimensions and zip structure rewritten), registry exports in every layout the importers
know (CSV, XLSX, CAD Trust JSON), statement tables (Rosehill, EU ETS), auditors' answers files, tailoring
overlays, and zip or JSON-Lines sources for `screen`. Each generator takes a random.Random and gives bytes;
the same seed gives the same bytes."""

from __future__ import annotations

import copy
import csv
import functools
import importlib
import io
import json
import random
import re
import zipfile
from pathlib import Path
from typing import Callable

import yaml
from fuzzing import DATES, EXTREME_FLOATS, HUGE_INTEGERS, STRINGS, mutate_once, mutated, original

from vericarbon.evidence.package import SchemaStore
from vericarbon.importers import REGISTRIES, STATEMENT_LAYOUTS
from vericarbon.importers.workbooks import write_workbook

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = ROOT / "tests" / "data" / "registry-exports"
TABLES = ROOT / "tests" / "data" / "statements"
EXAMPLES = ROOT / "docs" / "examples"
CELL_TEXTS = ["", " ", "inf", "-inf", "NaN", "1e999", "-1", "0", "1,000,000", "9" * 400, "2024-02-30", "13/45/2024", "0000-00-00",
              "=HYPERLINK(\"http://x\",\"y\")", "yes", "maybe", "\x00", "\ufeff", "a\nb", "a\rb", "²", "١٢٣", *STRINGS[:6]]
NAMESPACE = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


# --- workbooks ------------------------------------------------------------------------------------------

@functools.cache
def sample_workbook(sample: str = "inventory-defects.json") -> bytes:
    """The workbook `export workbook` writes for a bundled sample."""
    store = SchemaStore()
    package = original(ROOT / "evidence_samples" / sample)
    return write_workbook(store.shape(package["kind"], package["schema_version"]), package["kind"], package["schema_version"], package)


def rewritten(book: bytes, part: str, change: Callable[[bytes], bytes] | None, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The workbook with one part changed (given b"" when it has none, so the part is added), or left out
    when `change` is None."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w", compression) as target:
        names = source.namelist()
        for name in names + ([part] if part not in names else []):
            data = source.read(name) if name in names else b""
            if name == part:
                if change is None:
                    continue
                data = change(data)
            target.writestr(name, data)
    return out.getvalue()


def _cell_reference(rng: random.Random) -> tuple[str, int]:
    row = rng.choice([1, 2, 9, 1000, 100_000, 1_048_576, 1_048_577, 0])
    letters = rng.choice(["A", "Z", "AA", "ALL", "XFD", "XFE", "ZZZZ", "", "a"])
    return f"{letters}{row}", max(row, 1)


def _sheet_change(rng: random.Random) -> Callable[[bytes], bytes]:
    """One rewrite of a sheet's XML."""
    reference, row = _cell_reference(rng)
    value = rng.choice(CELL_TEXTS).replace("<", "&lt;").replace("&", "&amp;")
    kind = rng.choice(["n", "b", "e", "s", "d", "str", "inlineStr", "zz"])
    cell = f'<c r="{reference}" t="{kind}"><v>{value}</v></c>' if kind != "inlineStr" else f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>'
    changes: list[Callable[[bytes], bytes]] = [
        lambda xml: xml.replace(b"</sheetData>", f'<row r="{row}">{cell}</row></sheetData>'.encode()),
        lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{reference}"/>'.encode(), xml),
        lambda xml: re.sub(rb"<v>[^<]*</v>", f"<v>{value}</v>".encode(), xml, count=rng.randint(1, 5)),
        lambda xml: re.sub(rb'<c r="[A-Z]+[0-9]+"', lambda m: m.group(0) + f' t="{kind}"'.encode() if rng.random() < 0.2 else m.group(0), xml),
        lambda xml: xml.replace(b"<worksheet", b'<?xml version="1.0" encoding="ISO-8859-1"?><worksheet', 1) + b"\xe9",
        lambda xml: xml[: rng.randrange(max(len(xml), 1))],
        lambda xml: b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "' + b"x" * 1000 + b'"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + xml.replace(b"<v>1</v>", b"<v>&b;</v>"),
        lambda xml: xml.replace(b"<row ", b"<row ", 1).replace(b' r="', b' r="x', rng.randint(1, 3)),
        lambda xml: re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml, count=rng.randint(1, 50)),  # cells placed by order alone
        lambda xml: bytes(byte ^ 0xFF if rng.random() < 0.001 else byte for byte in xml),
    ]
    return rng.choice(changes)


def workbook(rng: random.Random) -> bytes:
    """A sample's workbook with its sheets, shared strings or zip structure rewritten."""
    book = sample_workbook(rng.choice(["inventory-defects.json", "verification-organisation.json", "icr-removal-issuance.json", "statement-eutl-100016-2006.json"]))
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
    for _ in range(rng.choice([1, 1, 2, 3])):
        choice = rng.randrange(9)
        if choice < 5:
            book = rewritten(book, rng.choice(sheets), _sheet_change(rng))
        elif choice == 5:
            count = rng.choice(["1", "99999999999", "-1", "x", "2000001"])
            strings = b"".join(b"<si><t>" + rng.choice(CELL_TEXTS).encode("utf-8", "replace") + b"</t></si>" for _ in range(rng.randint(0, 20)))
            book = rewritten(book, "xl/sharedStrings.xml", lambda _: b"<sst " + NAMESPACE + f' count="{count}" uniqueCount="{count}">'.encode() + strings + b"</sst>")
            book = rewritten(book, rng.choice(sheets), lambda xml: xml.replace(b'<c r="A2" t="inlineStr"><is><t>', b'<c r="A2" t="s"><v>' + rng.choice([b"0", b"5", b"999999", b"-1"]) + b'</v><is><t>'))
        elif choice == 6:
            book = rewritten(book, rng.choice(sheets + ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"]), None)
        elif choice == 7:
            book = rewritten(book, "xl/workbook.xml", lambda xml: re.sub(rb'name="[^"]*"', f'name="{rng.choice(["package", "lines", "", "x" * 40, "pack&amp;age"])}"'.encode(), xml, count=rng.randint(1, 3)))
        elif choice == 8:
            book = rewritten(book, "xl/media/x.bin", lambda _: b"\0" * rng.choice([10, 2 << 20]), rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    if rng.random() < 0.1:  # last: a damaged zip cannot be rewritten further
        position = rng.randrange(len(book))
        book = book[:position] + bytes([rng.randrange(256)]) * rng.randint(1, 8) + book[position + 8:]
    return book


# --- registry exports -----------------------------------------------------------------------------------

@functools.cache
def _fixture_rows() -> dict[str, list[dict[str, str]]]:
    """The real export rows the tests hold, by file stem (verra-transactions …)."""
    found = {}
    for path in sorted(EXPORTS.glob("*.csv")) + sorted(TABLES.glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as stream:
            found[path.stem] = list(csv.DictReader(stream))
    return found


def _cell(rng: random.Random, real: str) -> str:
    roll = rng.random()
    if roll < 0.55:
        return real
    if roll < 0.85:
        return rng.choice(CELL_TEXTS)
    if roll < 0.95:
        return rng.choice([str(rng.choice(HUGE_INTEGERS + EXTREME_FLOATS)), rng.choice(DATES), "1/1/2024", "2024-01-01T10:00:00"])
    return real * rng.randint(2, 50)


def _table(rng: random.Random, header: list[str], rows: list[dict[str, str]]) -> list[list[str]]:
    header = list(header)
    if rng.random() < 0.2 and header:
        header.pop(rng.randrange(len(header)))  # a column missing
    if rng.random() < 0.2:
        header.insert(rng.randrange(len(header) + 1), rng.choice(CELL_TEXTS + header[:3]))  # unknown or repeated
    body = []
    for _ in range(rng.randint(0, 6)):
        row = rng.choice(rows) if rows else {}
        cells = [_cell(rng, row.get(column) or "") for column in header]
        if rng.random() < 0.1:
            cells = cells[: rng.randrange(len(cells) + 1)] if rng.random() < 0.5 else cells + ["extra"] * 3
        body.append(cells)
    return [header] + body


def _csv_bytes(rng: random.Random, table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), lineterminator=rng.choice(["\n", "\r\n", "\r"])).writerows(table)
    raw = out.getvalue().encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.05:
        return b"\xef\xbb\xbf" + raw
    if roll < 0.1:
        return raw.replace(b"e", b"\xe9", 3)  # not UTF-8
    if roll < 0.13:
        return raw[: rng.randrange(len(raw) + 1)] + b'"unterminated'
    if roll < 0.15:
        return raw.replace(b",", b"\x00", 1)
    return raw


def _xlsx_bytes(table: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    for row in table:  # a registry's workbook cannot hold control characters either
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    for row in book.active.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def registry_export(rng: random.Random) -> tuple[str, str, bytes]:
    """(registry, file name, bytes): an export in one of the registry's layouts, from real rows where the
    tests have some, cells changed, columns dropped or added; CSV mostly, XLSX sometimes, CAD Trust JSON."""
    registry = rng.choice(sorted(REGISTRIES))
    if registry == "cadt":
        return registry, "units.json", _cadt_units(rng)
    layout = rng.choice(importlib.import_module(f"vericarbon.importers.{REGISTRIES[registry]}").LAYOUTS)
    rows = [row for stem, found in _fixture_rows().items() if stem.startswith(registry) for row in found]
    header = sorted(set(layout.marks) | set(layout.fields.values()) | set(layout.identity), key=lambda _: rng.random())
    if layout.extra is not None:
        header += ["vintage_of_credits", "buffer_pool_credit_batch_size_total.credits", "Credits Issued to Buffer Pool", "Offset Credits Intended for Compliance Buffer Pool", "Credits Deposited in Buffer"]
    table = _table(rng, header, rows)
    if rng.random() < 0.1:
        return registry, "export.xlsx", _xlsx_bytes(table)
    return registry, "export.csv", _csv_bytes(rng, table)


def _cadt_units(rng: random.Random) -> bytes:
    def unit() -> object:
        item = {"serialNumberBlock": rng.choice(["AXJJ1000-AXJJ1010", "AXJJ1010-AXJJ1000", "A1-B2", "1-2", "", "A" + "9" * 400 + "-A1", 7]),
                "unitStatus": rng.choice(["Retired", "cancelled", "Held", None, 3]), "vintageYear": rng.choice([2020, "2020", True, 10**30, None]),
                "issuance": rng.choice([{"warehouseProjectId": "p", "startDate": rng.choice(DATES), "endDate": rng.choice(CELL_TEXTS)}, [], "x", None, {"startDate": 5, "endDate": 6}]),
                "correspondingAdjustmentStatus": rng.choice(["Pending", None, {"x": 1}])}
        return mutate_once(item, rng) if rng.random() < 0.3 else item
    value: object = [unit() for _ in range(rng.randint(0, 4))] if rng.random() < 0.8 else unit()
    if rng.random() < 0.05:
        return b"[" * 50_000 + b"]" * 50_000
    return json.dumps(value).encode()


def statement_table(rng: random.Random) -> tuple[str, bytes]:
    """(layout, bytes): a Rosehill or EU ETS table from the real rows, cells changed."""
    layout = rng.choice(sorted(STATEMENT_LAYOUTS))
    stem = {"rosehill": "rosehill-company_data", "eutl": "eutl-sample"}[layout]
    rows = _fixture_rows()[stem]
    return layout, _csv_bytes(rng, _table(rng, list(rows[0]), rows))


# --- answers files, overlays, screen sources ------------------------------------------------------------

def answers_file(rng: random.Random) -> bytes:
    """The example answers file, mutated, as YAML or JSON (and now and then YAML text itself broken)."""
    return _document(rng, EXAMPLES / "answers-northbridge-defects.yaml")


def overlay_file(rng: random.Random) -> bytes:
    """The example tailoring overlay, mutated."""
    return _document(rng, EXAMPLES / "eu-ets-avr.overlay.yaml")


def _document(rng: random.Random, path: Path) -> bytes:
    text = path.read_text()
    if rng.random() < 0.1:
        return rng.choice([text[: rng.randrange(len(text))], text.replace(":", "", 1), "a: &a [*a]\n", "x: " + "[" * 2000, "- &a [" + ",".join(["*a"] * 50) + "]\n"]).encode()
    document = copy.deepcopy(yaml.safe_load(text))
    for _ in range(rng.choice([1, 2, 3])):
        document = mutate_once(document, rng)
    try:
        return yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogatepass") if rng.random() < 0.7 else json.dumps(document).encode()
    except (RecursionError, ValueError):
        return json.dumps(document).encode()


SAMPLE_FOR_ANSWERS = ROOT / "evidence_samples" / "verification-organisation-defects.json"


def screen_source(rng: random.Random) -> tuple[str, bytes]:
    """(name, bytes): a zip archive or a JSON-Lines file of a few mutated packages; zip members stored,
    deflated, bzip2 or LZMA compressed, now and then a member claiming a method zipfile cannot unpack."""
    packages = [mutated(rng)[1] for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        return "batch.jsonl", b"\n".join(raw.replace(b"\n", b" ") for raw in packages) + rng.choice([b"\n", b"", b"\n{broken"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number, raw in enumerate(packages):
            archive.writestr(f"p{number}.json", raw, compress_type=rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    raw = out.getvalue()
    if rng.random() < 0.3:  # a compression method no reader has (99: AES, 98: PPMd) in a local and central header
        method = rng.choice([98, 99, 95]).to_bytes(2, "little")
        raw = raw.replace(b"PK\x03\x04", b"PK\x03\x04", 1)
        raw = re.sub(rb"(PK\x01\x02.{6})..", lambda m: m.group(1) + method, raw, count=1, flags=re.S)
        raw = re.sub(rb"(PK\x03\x04.{4})..", lambda m: m.group(1) + method, raw, count=1, flags=re.S)
    return "batch.zip", raw


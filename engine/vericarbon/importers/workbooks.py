"""Packages as spreadsheets, both ways, laid out from the kind's JSON Schema: a `package` sheet for the
single-valued fields (one row per field: its dotted path, the value, what it is), one sheet per list of
records (statement lines, credits, team members …: one row per record, one column per field; a list inside
a record gets its own sheet whose first column names the parent's row), and an `instructions` sheet.

`write_workbook` fills the layout with a package (or leaves it empty: a template), with each column's
description as a header comment, dropdowns for enumerations and date and number formats (openpyxl, which
writes those; reading uses python-calamine, about ten times faster). `read_workbook` turns a filled workbook
back into the package; every problem names its cell (`'lines'!D12`), the column and what is wrong.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vericarbon.errors import InputError
from vericarbon.evidence.documents import field_at
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.evidence.shapes import Shape
from vericarbon.importers.xlsx_limits import check_workbook, column_letters

PACKAGE_SHEET = "package"
LIST_SEPARATOR = "; "
MAX_DEPTH = 12


@dataclass
class Column:
    path: tuple[str, ...]  # within the record (or the package, on the package sheet)
    kind: str  # number, integer, string, date, boolean, list, json
    description: str = ""
    enum: list[Any] = field(default_factory=list)
    required: bool = False
    items: str = "string"  # for a list: the kind of its values
    example: Any = None  # the schema's first example

    @property
    def header(self) -> str:
        return ".".join(self.path)


@dataclass
class Sheet:
    name: str
    collection: tuple[str, ...]  # path of the list, "*" for each element of an enclosing list
    columns: list[Column]
    parent: "Sheet | None" = None  # the sheet of the enclosing list, whose row a record belongs to
    required: bool = False


def open_workbook(path: Path) -> Any:
    """A workbook opened with python-calamine once its zip directory and sheets are within the limits
    (xlsx_limits: no reader bounds those itself, and calamine aborts the process on a failed allocation).
    Formulas are not evaluated; their cached values are read."""
    check_workbook(path)
    from python_calamine import CalamineWorkbook  # only reading a workbook pays for it

    try:
        return CalamineWorkbook.from_path(str(path))
    except BaseException as error:
        raise unreadable(str(path), error) from None


def sheet_rows(book: Any, name: str, where: str) -> list[list[Any]]:
    """The cells of the sheet `name`, read whole; a sheet that the file lacks or that calamine cannot
    parse (XML that is not UTF-8, a boolean or number cell that is not one) is an InputError."""
    try:
        return book.get_sheet_by_name(name).to_python()
    except BaseException as error:
        raise unreadable(f"{where}!'{name}'", error) from None


def unreadable(where: str, error: BaseException) -> BaseException:
    """calamine's failures as an input error. It raises its own types (WorksheetNotFound, XmlError,
    CalamineError …) and, from a Rust panic, PanicException, which derives from BaseException: so
    everything but an interrupt or exit is the workbook's fault."""
    if isinstance(error, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return error
    return InputError(where, f"cannot be read as a workbook ({type(error).__name__}: {str(error)[:300]})")


# --- the layout ------------------------------------------------------------------------------------------

def layout(shape: Shape) -> list[Sheet]:
    """The sheets of a kind: the package sheet first, then each list of records in schema order."""
    package = Sheet(PACKAGE_SHEET, (), [])
    sheets = [package]
    _walk(shape, (), package, sheets, set(shape.required()), 0)
    names: set[str] = set()
    for sheet in sheets[1:]:
        sheet.name = _sheet_name(".".join(part for part in sheet.collection if part != "*"), names)
    return sheets


def _walk(shape: Shape, path: tuple[str, ...], sheet: Sheet, sheets: list[Sheet], required: set[str], depth: int) -> None:
    for name in shape.field_names():
        child = shape.field(name)
        if child is None or depth > MAX_DEPTH:
            continue
        here = path + (name,)
        kind = child.kind
        items = child.items() if kind == "array" else None
        if kind == "object" and child.field_names():
            _walk(child, here, sheet, sheets, set(child.required()) if name in required else set(), depth + 1)
        elif items is not None and items.kind == "object" and items.field_names():
            collection = sheet.collection + (("*",) if sheet.collection else ()) + here
            inner = Sheet("", collection, [], sheet if sheet.collection else None, name in required)
            sheets.append(inner)
            _walk(items, (), inner, sheets, set(items.required()), depth + 1)
        else:
            leaf = _leaf_kind(child, items)
            item_kind = _leaf_kind(items, None) if leaf == "list" and items is not None else "string"
            sheet.columns.append(Column(here, leaf, child.description(), child.enum(), name in required, item_kind, next(iter(child.node.get("examples", [])), None)))


def _leaf_kind(shape: Shape, items: Shape | None) -> str:
    if items is not None:
        return "list" if items.kind in ("number", "string", "date", "boolean") else "json"
    if shape.kind in ("object", "any", "array"):
        return "json"
    if shape.kind == "number" and shape.node.get("type") == "integer":
        return "integer"
    return shape.kind


def _sheet_name(path: str, taken: set[str]) -> str:
    """Excel allows 31 characters and none of []:*?/\\ in a sheet name."""
    name = re.sub(r"[\[\]:*?/\\]", "-", path)[:31]
    if name in taken or name == PACKAGE_SHEET:
        stem = name[:27]
        name = next(f"{stem}~{n}" for n in range(2, 1000) if f"{stem}~{n}" not in taken)
    taken.add(name)
    return name


# --- writing ---------------------------------------------------------------------------------------------

def write_workbook(shape: Shape, kind: str, version: str, package: dict | None = None) -> bytes:
    """The workbook of a kind, filled with `package` when given (else a template to fill)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    sheets = layout(shape)
    book = Workbook()
    intro = book.active
    intro.title = "instructions"
    for line in _instructions(kind, version, sheets):
        intro.append([line])
    intro.column_dimensions["A"].width = 120
    bold, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F0")
    rows_of = _rows(sheets, package) if package is not None else {sheet.name: [] for sheet in sheets}

    main = book.create_sheet(PACKAGE_SHEET)
    main.append(["field", "value", "required", "what it is"])
    for cell in main[1]:
        cell.font, cell.fill = bold, header_fill
    values = rows_of[PACKAGE_SHEET][0] if rows_of[PACKAGE_SHEET] else {}
    for row, column in enumerate(sheets[0].columns, start=2):
        value = values.get(column.header)
        if value is None and column.path in (("kind",), ("schema_version",)):
            value = kind if column.path == ("kind",) else version
        main.append([column.header, _cell(value, column), "yes" if column.required else "", column.description])
        _format(main.cell(row=row, column=2), column)
        if column.enum:
            _dropdown(main, DataValidation, column, f"B{row}")
    for letter, width in (("A", 42), ("B", 40), ("C", 9), ("D", 90)):
        main.column_dimensions[letter].width = width
    main.freeze_panes = "B2"

    for sheet in sheets[1:]:
        page = book.create_sheet(sheet.name)
        headers = (["parent row"] if sheet.parent else []) + [column.header for column in sheet.columns]
        page.append(headers)
        offset = 1 if sheet.parent else 0
        for position, cell in enumerate(page[1]):
            cell.font, cell.fill = bold, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if position >= offset:
                column = sheet.columns[position - offset]
                note = column.description + (" (required)" if column.required else "") + (f" One of: {', '.join(map(str, column.enum))}." if column.enum else "")
                if note.strip():
                    cell.comment = Comment(note.strip(), "vericarbon")
            else:
                cell.comment = Comment(f"The row of the record in '{sheet.parent.name}' this one belongs to (1 = its first record).", "vericarbon")  # type: ignore[union-attr]
        for record in rows_of[sheet.name]:
            page.append([record.get("parent row")] + [_cell(record.get(c.header), c) for c in sheet.columns] if sheet.parent else [_cell(record.get(c.header), c) for c in sheet.columns])
        for position, column in enumerate(sheet.columns, start=offset + 1):
            letter = page.cell(row=1, column=position).column_letter
            page.column_dimensions[letter].width = max(12, min(40, len(column.header) + 4))
            for row in range(2, max(page.max_row, 2) + 1):
                _format(page.cell(row=row, column=position), column)
            if column.enum:
                _dropdown(page, DataValidation, column, f"{letter}2:{letter}1000")
        page.freeze_panes = "A2"
    for page in book.worksheets:  # printed, each sheet fits the page's width, in landscape
        page.page_setup.orientation = "landscape"
        page.sheet_properties.pageSetUpPr.fitToPage = True
        page.page_setup.fitToHeight = 0
        _as_text(page)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def _as_text(page: Any) -> None:
    """openpyxl takes any string starting with '=' for a formula: evidence such as '=HYPERLINK(…)' would be
    live in the spreadsheet and its text lost on the way back. Nothing here writes a formula, so every such
    cell is a string (written inline), quote-prefixed so that Excel keeps it text when it is edited."""
    for row in page.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                cell.quotePrefix = True


def _instructions(kind: str, version: str, sheets: list[Sheet]) -> list[str]:
    lines = [f"vericarbon workbook for a {kind} {version} package", "",
             f"Sheet '{PACKAGE_SHEET}': one row per single-valued field — fill the value column; 'required' marks what the schema requires.",
             "Every other sheet is a list of records: one row per record, one column per field; the header's comment says what the field is.",
             "A sheet whose first column is 'parent row' holds lists inside records: that column gives the row (1 = first record) of the record it belongs to.",
             f"Dates as dates (or YYYY-MM-DD text); several values in one cell separated by '{LIST_SEPARATOR.strip()} '; dropdowns list the allowed values.",
             "Read it back with: vericarbon import workbook FILE.xlsx -o PACKAGE.json (each problem names its cell)", "", "Sheets:"]
    return lines + [f"  {sheet.name}: {'.'.join(sheet.collection) or 'the single-valued fields'}" + (" (required)" if sheet.required else "") for sheet in sheets]


def _dropdown(page: Any, validation_type: Any, column: Column, cells: str) -> None:
    choices = ",".join(str(value) for value in column.enum)
    if len(choices) <= 250 and not any("," in str(value) or '"' in str(value) for value in column.enum):
        validation = validation_type(type="list", formula1=f'"{choices}"', allow_blank=True)
        page.add_data_validation(validation)
        validation.add(cells)


def _format(cell: Any, column: Column) -> None:
    if column.kind == "date":
        cell.number_format = "yyyy-mm-dd"
    elif column.kind == "integer":
        cell.number_format = "0"
    elif column.kind in ("string", "list", "json"):
        cell.number_format = "@"  # text: Excel must not turn an id such as 1_100_1004_6_1 or 01234 into a number


def _cell(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    if column.kind == "list":
        texts = [_plain(v) for v in value]
        text = LIST_SEPARATOR.join(texts) if not any(";" in text for text in texts) else json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True) if column.kind == "json" else value
    if isinstance(text, str) and (control := _NOT_IN_A_CELL.search(text)):
        raise InputError("<package>", f"{column.header}: {text[:60]!r} holds the control character U+{ord(control.group()):04X}, which a spreadsheet cell cannot hold")
    return text


_NOT_IN_A_CELL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what openpyxl refuses (IllegalCharacterError): XML 1.0 has no such characters


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(sheets: list[Sheet], package: dict) -> dict[str, list[dict]]:
    """Each sheet's rows for a package: dicts of header -> value (and "parent row")."""
    rows: dict[str, list[dict]] = {sheet.name: [] for sheet in sheets}
    rows[PACKAGE_SHEET].append({column.header: field_at(package, column.path) for column in sheets[0].columns})
    # the record each row came from, per sheet, to number nested records' parents
    records: dict[str, list[Any]] = {PACKAGE_SHEET: [package]}
    for sheet in sheets[1:]:
        parents = records[sheet.parent.name] if sheet.parent else [package]
        relative = sheet.collection[len(sheet.parent.collection) + 1:] if sheet.parent else sheet.collection
        records[sheet.name] = []
        for number, parent in enumerate(parents, start=1):
            for record in field_at(parent, relative) or []:
                if isinstance(record, dict):
                    records[sheet.name].append(record)
                    rows[sheet.name].append({"parent row": number, **{column.header: field_at(record, column.path) for column in sheet.columns}})
    return rows



# --- reading ---------------------------------------------------------------------------------------------

def read_workbook(path: Path, store: SchemaStore) -> dict:
    """The package a filled workbook holds, validated against its schema; every problem (a cell of the
    wrong type, a value outside its enumeration, a schema rule broken) at once, each naming its cell."""
    book = open_workbook(path)
    names = book.sheet_names
    if PACKAGE_SHEET not in names:
        raise InputError(str(path), f"has no '{PACKAGE_SHEET}' sheet: not a vericarbon workbook (make one with vericarbon template KIND)")
    fields = {str(row[0]).strip(): (number, row[1] if len(row) > 1 else "") for number, row in enumerate(sheet_rows(book, PACKAGE_SHEET, str(path)), start=1) if row and row[0] != ""}
    kind, version = str(fields.get("kind", (0, ""))[1]).strip(), _plain(fields.get("schema_version", (0, ""))[1]).strip()
    if (kind, version) not in store.kinds:
        raise InputError(str(path), f"'{PACKAGE_SHEET}' names kind {kind!r} version {version!r}, which is not a known package kind (known: {store.known_kinds()})")
    sheets = layout(store.shape(kind, version))
    problems: list[tuple[str, str]] = []
    cells: dict[str, str] = {}  # JSON pointer -> cell, to place the schema's complaints
    package: dict[str, Any] = {}
    for column in sheets[0].columns:
        number, raw = fields.get(column.header, (None, ""))
        if number is None:
            continue
        value = _value(raw, column, f"'{PACKAGE_SHEET}'!B{number}", problems)
        if value is not None:
            _put(package, column.path, value)
            cells["/" + "/".join(column.path)] = f"'{PACKAGE_SHEET}'!B{number}"
    placed: dict[str, list[tuple[dict, str]]] = {PACKAGE_SHEET: [(package, "")]}
    for sheet in sheets[1:]:
        placed[sheet.name] = []
        if sheet.name not in names:
            continue
        grid = sheet_rows(book, sheet.name, str(path))
        header = [str(cell).strip() for cell in (grid[0] if grid else [])]
        by_header = {column.header: column for column in sheet.columns}
        for unknown in [h for h in header if h and h != "parent row" and h not in by_header]:
            problems.append((f"'{sheet.name}'!{column_letters(header.index(unknown))}1", f"no field {unknown!r} in a {'.'.join(sheet.collection)} record"))
        for row_number, row in enumerate(grid[1:], start=2):
            if not any(cell not in ("", None) for cell in row):
                continue
            record: dict[str, Any] = {}
            parent_row = None
            for position, title in enumerate(header):
                raw = row[position] if position < len(row) else ""
                where = f"'{sheet.name}'!{column_letters(position)}{row_number}"
                if title == "parent row":
                    parent_row = _value(raw, Column(("parent row",), "integer", required=True), where, problems)
                elif title in by_header and (value := _value(raw, by_header[title], where, problems)) is not None:
                    _put(record, by_header[title].path, value)
                    cells.setdefault(f"@{sheet.name}:{row_number}:" + "/".join(by_header[title].path), where)
            parents = placed[sheet.parent.name] if sheet.parent else placed[PACKAGE_SHEET]
            if sheet.parent and not (isinstance(parent_row, int) and 1 <= parent_row <= len(parents)):
                problems.append((f"'{sheet.name}'!A{row_number}", f"parent row {parent_row!r} is not a record of '{sheet.parent.name}' (1 to {len(parents)})"))
                continue
            owner, owner_pointer = parents[(parent_row or 1) - 1]
            relative = sheet.collection[len(sheet.parent.collection) + 1:] if sheet.parent else sheet.collection
            target = _list_at(owner, relative)
            pointer = f"{owner_pointer}/{'/'.join(relative)}/{len(target)}"
            target.append(record)
            placed[sheet.name].append((record, pointer))
            for key in [k for k in cells if k.startswith(f"@{sheet.name}:{row_number}:")]:
                cells[pointer + "/" + key.split(":", 2)[2]] = cells.pop(key)
            cells[pointer] = f"'{sheet.name}'!A{row_number}"
    for sheet in sheets[1:]:  # a required list with no rows is an empty list, not a missing field
        if sheet.required and not sheet.parent:
            _list_at(package, sheet.collection)
    if problems:
        raise InputError(str(path), problems)
    try:
        validated_package(str(path), copy.deepcopy(package), "", store)  # reading derives fields (serial ranges): on a copy
        return package
    except InputError as error:
        raise InputError(str(path), [(_cell_of(pointer, cells), message) for pointer, message in error.problems]) from None


def _cell_of(pointer: str, cells: dict[str, str]) -> str:
    """The cell a JSON pointer came from, or the nearest enclosing record's row."""
    while pointer:
        if pointer in cells:
            return f"{cells[pointer]} ({pointer})"
        pointer = pointer.rsplit("/", 1)[0]
    return "/"


def _value(raw: Any, column: Column, where: str, problems: list[tuple[str, str]]) -> Any:
    if raw in ("", None):
        return None
    header = column.header
    try:
        value = _typed(raw, column)
    except ValueError as error:
        problems.append((where, f"{header}: {error}"))
        return None
    if column.enum and value not in column.enum:
        problems.append((where, f"{header}: {value!r} is not one of {', '.join(map(str, column.enum))}"))
        return None
    return value


def _typed(raw: Any, column: Column) -> Any:
    kind = column.kind
    if kind in ("number", "integer"):
        if isinstance(raw, bool):
            raise ValueError(f"{raw} is not a number")
        if isinstance(raw, (int, float)):
            number = raw
        else:
            try:
                number = float(str(raw).strip())
            except ValueError:
                raise ValueError(f"{str(raw)!r} is not a number") from None
        if not math.isfinite(number):  # 'inf', 'nan' or 1e999 as text: JSON has no such number
            raise ValueError(f"{str(raw)!r} is not a finite number")
        if kind == "integer" or (isinstance(number, float) and number.is_integer() and abs(number) < 2**53):
            if number != int(number):
                raise ValueError(f"{raw} is not a whole number")
            return int(number)
        return number
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        text = str(raw).strip()
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a date (a date cell, or YYYY-MM-DD)") from None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().casefold()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"{raw!r} is not true or false")
    if kind == "list":
        text = _plain(raw)
        if text.startswith("["):
            return _json(text)
        return [_typed(part, Column(column.path, column.items)) for part in (p.strip() for p in text.split(";")) if part]
    if kind == "json":
        return _json(_plain(raw))
    return _plain(raw)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"is not JSON ({error.msg} at character {error.pos + 1})") from None


def _put(record: dict, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        record = record.setdefault(part, {})
    record[path[-1]] = value


def _list_at(owner: dict, path: tuple[str, ...]) -> list:
    for part in path[:-1]:
        owner = owner.setdefault(part, {})
    return owner.setdefault(path[-1], [])

"""Bounds on an untrusted .xlsx, checked before python-calamine sees it.

calamine sizes its grid from the sheet's `<dimension ref=…>` and from the furthest cell, and a Rust
allocation that fails aborts the whole process (SIGABRT): one rewritten cell reference in a 16 KB file
(`XFD1048576`) makes it ask for 512 GiB, and the service with it. So the zip directory and every sheet's
XML are read here first, streamed (lxml iterparse, elements cleared as they pass), and a workbook is
refused with the part, sheet and cell that break a limit and the limit itself:

- each member's compression method (stored or deflated, the two a workbook uses), its unpacked size
  against the whole (`MAX_WORKBOOK_BYTES`) and its compression ratio (`MAX_WORKBOOK_RATIO`);
- each sheet's cell references (inside Excel's grid) and the area from its first to its last cell,
  declared or used (`MAX_CELLS`), which is what calamine allocates;
- the shared strings: how many there are, declared or present (`MAX_SHARED_STRINGS`).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from typing import IO

from lxml import etree

from vericarbon.errors import InputError

MAX_WORKBOOK_BYTES = 256 * 1024 * 1024  # unpacked; a 1 MB xlsx can unpack to 300 MB
MAX_WORKBOOK_RATIO = 100  # for members over 1 MiB
MAX_CELLS = 8_000_000  # first to last cell of a sheet: calamine holds ~32 bytes a cell, Python more
MAX_SHARED_STRINGS = 2_000_000
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REFERENCE = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")


def check_workbook(path: Path) -> None:
    """Raise an InputError naming what is over a limit, or what is damaged, in the workbook at `path`."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_directory(where, members)
            names, shared = _parts(where, archive)
            for member in members:  # by member, not by name: a name twice in the directory is checked twice
                part = member.filename
                if part in names or part.startswith("xl/worksheets/") and part.endswith(".xml"):
                    _check_sheet(where, names.get(part, part), _open(where, archive, member))
                elif part in shared:
                    _check_shared_strings(where, part, _open(where, archive, member))
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:  # also from inside a part, as it streams
        raise InputError(where, f"is not an .xlsx workbook ({error})") from None


def _check_directory(where: str, members: list[zipfile.ZipInfo]) -> None:
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > MAX_WORKBOOK_BYTES:
        raise InputError(where, f"unpacks to {unpacked / 1048576:.0f} MiB from {packed / 1048576:.1f} MiB; refused (at most {MAX_WORKBOOK_BYTES >> 20} MiB)")
    for member in members:
        if member.compress_type not in _METHODS:
            raise InputError(f"{where}!{member.filename}", f"is compressed with zip method {member.compress_type}; a workbook uses only {' or '.join(_METHODS.values())}")
        if member.file_size > 1 << 20 and member.file_size > MAX_WORKBOOK_RATIO * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise InputError(f"{where}!{member.filename}", f"unpacks {ratio}:1 to {member.file_size / 1048576:.0f} MiB; refused (at most {MAX_WORKBOOK_RATIO}:1, a zip bomb?)")


def _open(where: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> IO[bytes]:
    try:  # reads stop at the size the directory declares (zipfile checks it), which is bounded above
        return archive.open(member)
    except (NotImplementedError, RuntimeError) as error:  # an encrypted member
        raise InputError(f"{where}!{member.filename}", f"cannot be unpacked ({error})") from None


def _events(stream: IO[bytes], tags: tuple[str, ...]) -> etree.iterparse:
    """Start and end of the elements named `tags`, in any namespace (transitional or strict OOXML, or none)."""
    return etree.iterparse(stream, events=("start", "end"), tag=["{*}" + tag for tag in tags], resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _xml_failure(where: str, part: str, error: etree.Error) -> InputError:
    return InputError(f"{where}!{part}", f"is not well-formed XML ({getattr(error, 'msg', None) or error})")


def _parts(where: str, archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """(sheet part -> the sheet's name, the shared-strings parts): where the workbook's relationships
    point, which need not be under xl/worksheets/, and the usual places besides."""
    shared = {name for name in archive.namelist() if name.lower().endswith("sharedstrings.xml")}
    try:
        ids = {sheet.get(_RELATIONSHIP): sheet.get("name") for sheet in _small_xml(where, archive, "xl/workbook.xml").iter("{*}sheet")}
        relations = list(_small_xml(where, archive, "xl/_rels/workbook.xml.rels").iter("{*}Relationship"))
    except KeyError:  # no workbook part: calamine says so when it opens the file
        return {}, shared
    targets = {rel.get("Id"): _part_of(rel.get("Target") or "") for rel in relations}
    shared |= {targets[rel.get("Id")] for rel in relations if (rel.get("Type") or "").endswith("/sharedStrings")}
    return {targets[key]: name for key, name in ids.items() if key in targets}, shared


def _part_of(target: str) -> str:
    """The zip member a relationship's target names (relative to xl/, or absolute)."""
    return posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join("xl", target))


def _small_xml(where: str, archive: zipfile.ZipFile, part: str) -> etree._Element:
    member = archive.getinfo(part)  # KeyError when missing
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.parse(_open(where, archive, member), parser).getroot()
    except etree.Error as error:
        raise _xml_failure(where, part, error) from None


def _check_sheet(where: str, sheet: str, stream: IO[bytes]) -> None:
    """Every cell reference inside Excel's grid, and the area calamine will allocate within MAX_CELLS."""
    first_row = first_column = EXCEL_ROWS + 1
    last_row = last_column = 0
    row = column = 0

    def cover(reference: str, what: str) -> tuple[int, int]:
        nonlocal first_row, first_column, last_row, last_column
        at_row, at_column = _cell(where, sheet, reference, what)
        first_row, last_row = min(first_row, at_row), max(last_row, at_row)
        first_column, last_column = min(first_column, at_column), max(last_column, at_column)
        area = (last_row - first_row + 1) * (last_column - first_column + 1)
        if area > MAX_CELLS:
            raise InputError(f"{where}!'{sheet}'!{reference}", f"{what} makes the sheet {last_row - first_row + 1} rows by {last_column - first_column + 1} columns, {area} cells; at most {MAX_CELLS} are read")
        return at_row, at_column

    try:
        for event, element in _events(stream, ("dimension", "row", "c")):
            tag = _local(element)
            if event == "end":
                if tag == "row":  # done with: memory stays flat however many rows pass
                    element.clear(keep_tail=False)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                continue
            if tag == "dimension":
                for corner in (element.get("ref") or "").split(":"):
                    if corner:
                        cover(corner, "its dimension")
            elif tag == "row":
                row, column = (int(element.get("r")) if (element.get("r") or "").isdigit() else row + 1), 0
            elif tag == "c":
                reference = element.get("r") or f"{column_letters(column)}{row}"  # no reference: the next cell
                row, column = cover(reference, "a cell")
    except etree.Error as error:
        raise _xml_failure(where, f"'{sheet}'", error) from None


def _cell(where: str, sheet: str, reference: str, what: str) -> tuple[int, int]:
    """(row, column), both from 1, of a cell reference such as B12; refused outside Excel's grid."""
    match = _REFERENCE.fullmatch(reference)
    row = int(match.group(2)) if match else 0
    column = 0
    for letter in match.group(1) if match else "":
        column = column * 26 + ord(letter) - 64
    if not (1 <= row <= EXCEL_ROWS and 1 <= column <= EXCEL_COLUMNS):
        raise InputError(f"{where}!'{sheet}'", f"{what} {reference[:40]!r} is not a cell of a sheet (A1 to XFD{EXCEL_ROWS})")
    return row, column


def column_letters(index: int) -> str:
    """The letters of the column at `index` (0 is A)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _check_shared_strings(where: str, part: str, stream: IO[bytes]) -> None:
    count = 0
    try:
        for event, element in _events(stream, ("sst", "si")):
            if _local(element) == "sst" and event == "start":
                for claim in ("count", "uniqueCount"):  # a reader may reserve room for what the part claims
                    declared = element.get(claim) or "0"
                    if not declared.isdigit() or int(declared) > MAX_SHARED_STRINGS:
                        raise InputError(f"{where}!{part}", f"declares {claim}={declared[:40]!r}; at most {MAX_SHARED_STRINGS} shared strings are read")
            elif _local(element) == "si" and event == "end":
                count += 1
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del element.getparent()[0]
                if count > MAX_SHARED_STRINGS:
                    raise InputError(f"{where}!{part}", f"holds over {MAX_SHARED_STRINGS} shared strings; refused")
    except etree.Error as error:
        raise _xml_failure(where, part, error) from None

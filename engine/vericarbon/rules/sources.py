"""A ruleset's text: one YAML file, or a folder of YAML files read as one document.

A ruleset folder holds `ruleset.yaml`, the header (everything but the rules: ruleset, title, version,
document, effective, applies_to, parameters, definitions, test_base, report, index, series), and rule files:
every other `*.yaml` file directly inside it, each a mapping of one or more of rules, manual_checks and
batch_rules. Rule files are read in sorted file-name order, and each section is the concatenation of their
lists in that order, so a folder gives the same document as one file holding its rules in that order (the
bundled folders name their files NN-group.yaml to keep the source document's order).

The content hash of a folder is sha256 over every file (header included) in sorted file-name order, each
written as `name NUL length NUL bytes`: a changed byte, or a file added, removed or renamed, gives another hash.
Errors inside a folder name the file and the line of the rule they concern."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vericarbon.errors import InputError
from vericarbon.limits import MAX_RULESET_BYTES
from vericarbon.evidence.documents import cached_by_key, parse_document_cached, read_text
from vericarbon.resources import RULESET_HEADER

RULE_SECTIONS = ("rules", "manual_checks", "batch_rules")
_FORMAT = 1  # of the cached merged document: a change to _merged's output takes another number
_ITEM_POINTER = re.compile(r"^/(rules|manual_checks|batch_rules)/(\d+)(.*)$")


@dataclass(frozen=True)
class Part:
    """One rule file's share of one section: the items at [start, start + count) of the merged list."""

    file: str
    section: str
    start: int
    count: int


@dataclass(frozen=True)
class Source:
    """A ruleset's document, its content hash and, for a folder, where each rule came from."""

    data: Any
    sha256: str
    parts: tuple[Part, ...] = ()
    header: str = ""  # a folder's ruleset.yaml

    def locate(self, pointer: str) -> tuple[str, str]:
        """The file and the location (line and pointer within that file) of a pointer into the document."""
        found = _ITEM_POINTER.match(pointer)
        if found:
            section, index, rest = found.group(1), int(found.group(2)), found.group(3)
            for part in self.parts:
                if part.section == section and part.start <= index < part.start + part.count:
                    lines = _item_lines(Path(part.file).read_text(encoding="utf-8", errors="replace"), section, part.count)  # only for an error
                    return part.file, f"line {lines[index - part.start]}, /{section}/{index - part.start}{rest}"
        return self.header, pointer

    def relocated(self, error: InputError) -> InputError:
        """`error` (about the merged document) with each problem placed in the folder's file it concerns."""
        placed = [(*self.locate(location), message) for location, message in error.problems]
        files = {file for file, _, _ in placed}
        if len(files) == 1:
            return InputError(files.pop(), [(location, message) for _, location, message in placed])
        return InputError(error.file, [(f"{Path(file).name} {location}", message) for file, location, message in placed])


def _read_bounded(path: Path, read_so_far: int = 0) -> bytes:
    raw = read_text(path)
    if read_so_far + len(raw) > MAX_RULESET_BYTES:
        raise InputError(str(path), f"{(read_so_far + len(raw)) / 1048576:.1f} MiB: a ruleset (all its files) or overlay may be at most {MAX_RULESET_BYTES >> 20} MiB; not read")
    return raw


def read_source(path: Path) -> Source:
    """The document of a ruleset (or overlay) file, or of a ruleset folder."""
    if not path.is_dir():
        raw = _read_bounded(path)
        return Source(parse_document_cached(path, raw), hashlib.sha256(raw).hexdigest())
    header_path = path / RULESET_HEADER
    if not header_path.is_file():
        raise InputError(str(path), f"a ruleset folder needs a {RULESET_HEADER} holding its header (ruleset, title, version, document, applies_to, ...)")
    rule_files = sorted(p for p in path.glob("*.yaml") if p.name != RULESET_HEADER)
    digest = hashlib.sha256()
    texts = {}
    for file in sorted([header_path, *rule_files], key=lambda p: p.name):
        texts[file] = _read_bounded(file, sum(map(len, texts.values())))
        digest.update(f"{file.name}\0{len(texts[file])}\0".encode())
        digest.update(texts[file])
    # the merged document is cached as a whole: one cached read instead of one per file (~15 ms a folder)
    merged = cached_by_key(f"ruleset-folder-{_FORMAT}-{digest.hexdigest()}", lambda: _merged(header_path, rule_files, texts))
    parts = tuple(Part(str(path / name), section, start, count) for name, section, start, count in merged["parts"])
    return Source(merged["data"], digest.hexdigest(), parts, str(header_path))


def _merged(header_path: Path, rule_files: list[Path], texts: dict[Path, bytes]) -> dict[str, Any]:
    """A folder's files as one document, and each rule file's share of each section (by file name)."""
    header = parse_document_cached(header_path, texts[header_path])
    if not isinstance(header, dict):
        raise InputError(str(header_path), "must be a mapping: the ruleset's header (ruleset, title, version, ...)")
    misplaced = [(f"/{key}", f"{key} belong in the folder's rule files, not in its header") for key in RULE_SECTIONS if key in header]
    if misplaced:
        raise InputError(str(header_path), misplaced)
    data: dict[str, Any] = {**header, "rules": []}
    parts = []
    for file in rule_files:
        content = parse_document_cached(file, texts[file])
        if not isinstance(content, dict) or not content:
            raise InputError(str(file), f"a rule file is a mapping of {', '.join(RULE_SECTIONS)}")
        wrong = [(f"/{key}", f"{key!r} is a header key: it belongs in {RULESET_HEADER}; a rule file holds only {', '.join(RULE_SECTIONS)}") for key in content if key not in RULE_SECTIONS]
        wrong += [(f"/{key}", f"{key} must be a list") for key in RULE_SECTIONS if key in content and not isinstance(content[key], list)]
        if wrong:
            raise InputError(str(file), wrong)
        for section in RULE_SECTIONS:
            if section in content:
                items = data.setdefault(section, [])
                parts.append([file.name, section, len(items), len(content[section])])
                items += content[section]
    return {"data": data, "parts": parts}


def _item_lines(text: str, section: str, count: int) -> tuple[int, ...]:
    """The line each top-level list item of `section` starts on; the section's own line for every item
    where the text is not a plain block list (flow style, for one)."""
    section_line, indent, found, inside = 1, None, [], False
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):  # a top-level key starts or ends the section
            inside = line.startswith(f"{section}:")
            section_line = number if inside else section_line
            continue
        depth = len(line) - len(stripped)
        if inside and (stripped.startswith("- ") or stripped == "-") and depth == (depth if indent is None else indent):
            indent = depth
            found.append(number)
    return tuple(found) if len(found) == count else (section_line,) * count

"""Where a batch's packages come from: folders, zip archives and JSON-Lines files, read one package at a
time so memory stays flat, within limits an untrusted upload cannot get round.

- A package larger than `Limits.max_bytes` is refused unread (a zip member also by the size its header
  claims, and read only up to the limit in case the header lies); so is a zip member that compresses
  better than `Limits.max_ratio` to one (a zip bomb).
- In a folder only regular files are read: a FIFO, a device or socket, a link leaving the folder (say to
  /etc/passwd) and a linked subfolder are skipped and listed, never opened.
- A JSON-Lines line is read in bounded pieces: an endless line costs no more memory than the limit.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from vericarbon.errors import InputError
from vericarbon.screening import Limits

SUFFIXES = (".json", ".yaml", ".yml")
_PIECE = 1 << 20


@dataclass(frozen=True)
class Item:
    """One package to screen: where it came from, a name whose suffix gives its format, and its bytes; or,
    with `problem`, why it was not read: that package's line (`status`: invalid or skipped), not the
    batch's end."""

    source: str
    name: str
    raw: bytes
    problem: str = ""
    status: str = "invalid"


def check_sources(sources: list[Path]) -> None:
    seen = set()
    for source in sources:
        if not source.exists():
            raise InputError(str(source), "no such file or folder")
        resolved = source.resolve()
        if resolved in seen:  # its packages would be the same submissions twice, from the same places
            raise InputError(str(source), "given twice")
        seen.add(resolved)
        if not source.is_dir() and not zipfile.is_zipfile(source) and source.suffix not in (".jsonl", ".ndjson"):
            raise InputError(str(source), "a source is a folder, a zip archive or a JSON-Lines file (.jsonl)")


def items(sources: list[Path], limits: Limits = Limits()) -> Iterator[Item]:
    """Every package in the sources, read one at a time."""
    for source in sources:
        if source.is_dir():
            yield from _folder(source, limits)
        elif zipfile.is_zipfile(source):
            yield from _archive(source, limits)
        else:
            with source.open("rb", buffering=_PIECE) as stream:  # the default 8 KB buffer: ~4x the time per 9 KB line
                yield from _lines(str(source), stream, limits)


def count(sources: list[Path]) -> int:
    """How many packages the sources hold: a first pass over names (and over the lines of JSON-Lines files,
    ~1 s per GB), so the progress bar can show an ETA."""
    total = 0
    for source in sources:
        if source.is_dir():
            total += sum(name.endswith(SUFFIXES) for _, _, files in os.walk(source) for name in files)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                total += sum(not m.is_dir() and m.filename.endswith(SUFFIXES) for m in archive.infolist())
        else:
            with source.open("rb") as stream:
                total += _count_lines(stream)
    return total


def _count_lines(stream: BinaryIO) -> int:
    """Lines that are not blank, read in bounded pieces."""
    total, blank = 0, True
    for piece in iter(lambda: stream.readline(_PIECE), b""):
        blank = blank and not piece.strip()
        if piece.endswith(b"\n"):
            total, blank = total + (not blank), True
    return total + (not blank)


def _folder(source: Path, limits: Limits) -> Iterator[Item]:
    root = os.path.realpath(source)
    for folder, subfolders, files in os.walk(source):
        subfolders.sort()
        for name in sorted(subfolders):
            if os.path.islink(os.path.join(folder, name)):
                yield Item(os.path.join(folder, name), name, b"", "a link to a folder: not followed", "skipped")
        for name in sorted(files):
            if not name.endswith(SUFFIXES):
                continue
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if os.path.commonpath([root, real]) != root:
                yield Item(path, name, b"", f"a link leading out of {source}: not followed", "skipped")
                continue
            try:
                status = os.stat(real)
            except OSError as error:
                yield Item(path, name, b"", f"cannot be read ({error.strerror})")
                continue
            if not stat.S_ISREG(status.st_mode):
                yield Item(path, name, b"", "not a regular file (a FIFO, device or socket): not opened", "skipped")
            elif status.st_size > limits.max_bytes:
                yield Item(path, name, b"", _too_large(status.st_size, limits))
            else:
                yield _read_file(path, name, real, limits)


def _read_file(path: str, name: str, real: str, limits: Limits) -> Item:
    try:
        with open(real, "rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
    except OSError as error:
        return Item(path, name, b"", f"cannot be read ({error.strerror})")
    if len(raw) > limits.max_bytes:  # grew since it was measured
        return Item(path, name, b"", _too_large(len(raw), limits))
    return Item(path, name, raw)


def _archive(source: Path, limits: Limits) -> Iterator[Item]:
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.endswith(SUFFIXES):
                continue
            where = f"{source}!{member.filename}"
            if member.file_size > limits.max_bytes:
                yield Item(where, member.filename, b"", _too_large(member.file_size, limits))
                continue
            if member.file_size > limits.max_ratio * max(member.compress_size, 1) and member.file_size > 1 << 20:
                ratio = member.file_size // max(member.compress_size, 1)
                yield Item(where, member.filename, b"", f"compressed {ratio}:1, beyond the {limits.max_ratio}:1 a package is allowed (a zip bomb?); not unpacked")
                continue
            try:
                with archive.open(member) as stream:
                    raw = stream.read(limits.max_bytes + 1)
            except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as error:
                yield Item(where, member.filename, b"", f"cannot be read ({getattr(error, 'strerror', None) or error})")
                continue
            if len(raw) > limits.max_bytes:  # the header understated the size
                yield Item(where, member.filename, b"", _too_large(len(raw), limits))
            else:
                yield Item(where, member.filename, raw)


def _lines(source: str, stream: BinaryIO, limits: Limits) -> Iterator[Item]:
    number = 0
    while True:
        line = stream.readline(limits.max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > limits.max_bytes and not line.endswith(b"\n"):
            size = len(line)
            while (rest := stream.readline(_PIECE)) and not rest.endswith(b"\n"):  # skip the rest unstored
                size += len(rest)
            yield Item(f"{source}:{number}", f"line{number}.json", b"", _too_large(size + len(rest), limits))
        elif line.strip():
            yield Item(f"{source}:{number}", f"line{number}.json", line)


def _too_large(size: int, limits: Limits) -> str:
    return f"{size / 1048576:.1f} MiB: a package may be at most {limits.max_bytes / 1048576:g} MiB; not read"

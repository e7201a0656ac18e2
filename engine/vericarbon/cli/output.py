"""Where a command's output goes: a file named with -o, written atomically (vericarbon.files), else
stdout; and generated documentation pages, written or checked."""

from __future__ import annotations

import sys
from pathlib import Path

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK
from vericarbon.errors import InputError
from vericarbon.files import make_folder, write_atomically


def write_out(path: Path | None, content: str | bytes, what: str) -> int:
    """Text or a binary document to `path`, else to stdout; binary output is refused on a terminal."""
    if path is not None:
        write_atomically(path, content)
    elif isinstance(content, str):
        sys.stdout.write(content)
    elif sys.stdout.isatty():
        raise InputError(what, "is a binary format: write it to a file with -o FILE")
    else:
        sys.stdout.buffer.write(content)
    return EXIT_OK


def write_pages(written: dict[Path, str], out: Path, check: bool, command: str) -> int:
    """Write generated pages under `out`; with `check`, only say which are out of date (exit 1)."""
    stale = [out / name for name, text in written.items() if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    if check:
        for page in stale:
            print(f"{page}: out of date; run {command}", file=sys.stderr)
        return EXIT_FINDINGS if stale else EXIT_OK
    for name, text in written.items():
        make_folder((out / name).parent)
        write_atomically(out / name, text)
    print(f"wrote {len(written)} page(s) to {out} ({len(stale)} changed)")
    return EXIT_OK

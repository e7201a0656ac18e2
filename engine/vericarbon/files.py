"""Writing output files so that a failure never leaves a partial one and nothing the user did not name is
replaced: a regular file (or a new path) is replaced atomically, a symlink keeps pointing where it did
(its target is replaced), and a device or FIFO such as /dev/null is written through. Here too the two
plain operations around them, a folder made and a file opened to stream into, with the same errors."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, TextIO

from vericarbon.errors import InputError


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` as described above; InputError names the path when it cannot be written."""
    with open_atomically(path) as stream:
        stream.write(content.encode("utf-8") if isinstance(content, str) else content)


@contextlib.contextmanager
def open_atomically(path: Path) -> Iterator[BinaryIO]:
    """A stream for `path` as described above: what is written replaces a regular file (or a new path) only
    when the block ends without an error, so a long streamed output is never seen half written, nor left
    behind if it fails; a device or FIFO is written through."""
    target = Path(os.path.realpath(path))  # a symlink's target, so the link itself stays
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise InputError(str(path), f"cannot be written ({error.strerror})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(str(path), "is a folder, not a file")
    try:
        if mode is not None and not stat.S_ISREG(mode):  # a character device or a FIFO: nothing to replace
            with open(target, "wb") as stream:
                yield stream
        else:
            with _temporary_beside(target, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask()) as stream:
                yield stream
    except OSError as error:
        raise InputError(str(path), f"cannot be written ({error.strerror or error})") from None


@contextlib.contextmanager
def _temporary_beside(target: Path, mode: int) -> Iterator[BinaryIO]:
    folder = target.parent
    if not folder.is_dir():
        raise InputError(str(target), f"folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_folder(folder: Path) -> None:
    """`folder` and its parents, if missing; InputError names it when it cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(str(folder), f"cannot be created ({error.strerror})") from None


def open_for_writing(path: Path) -> TextIO:
    """`path` opened to stream text into, in place (what was written stays if the run stops); InputError
    names it when it cannot be opened."""
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise InputError(str(path), f"cannot be written ({error.strerror})") from None

"""Reading JSON and YAML files into plain data, with errors that point at the line."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable

import orjson

from vericarbon.errors import InputError
from vericarbon.limits import MAX_FILE_BYTES
from vericarbon.resources import cache_dir


def escape_pointer_part(part: str) -> str:
    """A key as one step of a JSON pointer (RFC 6901)."""
    return part.replace("~", "~0").replace("/", "~1")


def read_text(path: Path) -> bytes:
    """The bytes of a package, ruleset, overlay or answers file: a regular file of at most the package
    limit (`screen --max-package-mb`'s default). Anything else is refused before it is opened: a FIFO would
    block, and /dev/zero never ends."""
    limit = MAX_FILE_BYTES
    try:
        status = os.stat(path)
        if stat.S_ISDIR(status.st_mode):
            raise InputError(str(path), "is a directory, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise InputError(str(path), "is not a regular file (a FIFO, device or socket): not opened")
        if status.st_size > limit:
            raise InputError(str(path), f"{status.st_size / 1048576:.1f} MiB: a file may be at most {limit / 1048576:g} MiB; not read")
        with open(path, "rb") as stream:
            # read what stat measured (and a byte to see growth): read(limit + 1) allocates the whole limit,
            # 64 MiB, for every small ruleset file (20 ms of each start with the ruleset folders)
            raw = stream.read(status.st_size + 1)
            if len(raw) > status.st_size:  # it grew since it was measured: the rest, up to the limit
                raw += stream.read(limit + 1 - len(raw))
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as error:
        raise InputError(str(path), f"cannot be read ({error.strerror})") from None
    if len(raw) > limit:  # it grew since it was measured
        raise InputError(str(path), f"grew beyond {limit / 1048576:g} MiB while it was read; not read")
    return raw


def field_at(value: Any, path: tuple[str, ...]) -> Any:
    """The value at a field path in a parsed document, or None where any step is absent."""
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_document_cached(path: Path, raw: bytes) -> Any:
    """parse_document, remembered by the content's hash (rulesets are parsed at every start; their YAML
    costs ~50 ms each, the cached JSON well under 1 ms)."""
    return cached_by_key(hashlib.sha256(raw).hexdigest(), lambda: parse_document(path, raw))


def cached_by_key(key: str, compute: Callable[[], Any]) -> Any:
    """compute(), remembered in the cache folder under `key` (a content hash, so never stale). Only plain
    JSON data is cached, so what comes back is exactly what compute gave; a cache file that cannot be read
    is computed again."""
    folder = cache_dir("documents")
    cached = folder / f"{key}.json" if folder else None
    if cached is not None:
        try:
            return orjson.loads(cached.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            pass
    data = compute()
    if cached is not None:
        try:
            text = orjson.dumps(data)
            if orjson.loads(text) == data:  # dates or other YAML types would not come back the same: not cached
                partial = cached.with_name(f".{key}.{os.getpid()}")
                partial.write_bytes(text)
                os.replace(partial, cached)
        except (OSError, TypeError, orjson.JSONEncodeError):
            pass
    return data


def parse_document(path: Path, raw: bytes) -> Any:
    """Parse JSON (by .json suffix or a leading brace) or YAML: UTF-8 with or without a byte-order mark;
    duplicate keys, non-finite numbers and YAML aliases that multiply the document are refused."""
    name = str(path)
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # the byte-order mark Excel and Notepad write
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(name, f"is not UTF-8 text (byte {error.start})") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        # orjson: ~10x the standard parser on evidence, and strict: it refuses NaN, Infinity, overflowing
        # numbers and runaway nesting itself; only duplicate keys (last one wins) are left to find
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise InputError(name, f"malformed JSON: {error.msg}", f"line {error.lineno}, column {error.colno}") from None
        if _LONG_NUMBER.search(raw):
            data = _exact_integers(name, text)
        if _has_duplicate_key(raw, data):
            raise InputError(name, "a key appears twice in one object (which value is meant?)", _duplicate_key_pointer(text) or "/")
        return data
    from vericarbon.evidence.yaml_text import parse_yaml  # PyYAML loads only when a document is YAML

    data = parse_yaml(name, text)
    pointer = _non_finite(data, "")
    if pointer is not None:
        raise InputError(name, "a number must be finite (NaN and infinity are not evidence)", pointer)
    return data


# A run of 19 digits: orjson reads an integer beyond 64 bits (19 digits and more) as a float, which loses
# a serial number's last digits. Such a text is read again by the standard parser, whose integers are exact.
_LONG_NUMBER = re.compile(rb"\d{19}")


def _exact_integers(name: str, text: str) -> Any:
    """The JSON text (already accepted by orjson) with every integer exact."""
    try:
        return json.loads(text)
    except RecursionError:  # the standard parser recurses, orjson does not
        raise InputError(name, "nested too deep to read its integers beyond 64 bits exactly") from None


def _has_duplicate_key(raw: bytes, data: Any) -> bool:
    """Whether parsing dropped a repeated key. Every colon of a JSON text is a key's or a character inside a
    string; written back out, the parsed data has one colon per key it kept and the same colons inside
    strings. So the two counts differ by exactly the keys dropped, unless the text escaped a colon inside a
    string (\\u003a), which the exact walk then settles. (~2 ms for a 1 MB package, against 25 ms for
    counting keys by a regular expression.)"""
    if b"\\" in raw and re.search(rb"\\u003[aA]", raw):  # one memchr (1 us on 90 KB) rules out most texts, where the search takes 40
        return _duplicate_key_pointer(raw.decode("utf-8")) is not None
    try:
        written = orjson.dumps(data).count(b":")
    except TypeError:  # nested deeper than orjson writes (255): the same count by walking the data
        written = _colons(data)
    return raw.count(b":") != written


def _colons(data: Any) -> int:
    """The colons the data would be written with: one per key, and those inside keys and strings."""
    count, pending = 0, [data]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            count += len(value) + sum(key.count(":") for key in value)
            pending.extend(value.values())
        elif type(value) is list:
            pending.extend(value)
        elif type(value) is str:
            count += value.count(":")
    return count


class _Duplicated(dict):
    key = ""


def _duplicate_key_pointer(text: str) -> str | None:
    """The pointer of the first key that appears twice in its object, or None (found again, slowly, only
    when the fast count says there is one)."""

    def pairs(items: list[tuple[str, Any]]) -> dict:
        seen: dict = {}
        for key, value in items:
            if key in seen and not isinstance(seen, _Duplicated):
                seen = _Duplicated(seen)
                seen.key = key
            seen[key] = value
        return seen

    try:
        pending: list[tuple[Any, str]] = [(json.loads(text, object_pairs_hook=pairs), "")]
    except RecursionError:  # deeper than the exact reader goes: refuse rather than guess
        return "/"
    while pending:
        value, pointer = pending.pop(0)
        if isinstance(value, _Duplicated):
            return f"{pointer}/{escape_pointer_part(value.key)}"
        if isinstance(value, dict):
            pending += [(child, f"{pointer}/{escape_pointer_part(key)}") for key, child in value.items()]
        elif isinstance(value, list):
            pending += [(child, f"{pointer}/{index}") for index, child in enumerate(value)]
    return None


def _non_finite(value: Any, pointer: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return pointer or "/"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, child in items:
        found = _non_finite(child, f"{pointer}/{key}")
        if found:
            return found
    return None

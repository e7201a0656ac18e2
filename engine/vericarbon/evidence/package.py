"""Load an evidence package and validate it against its kind's JSON Schema (Draft 2020-12).

jsonschema-rs validates (the hot path: ~150x faster here); only a package it rejects is re-read by the
`jsonschema` package, whose errors carry paths and plain messages and whose `best_match` picks the
useful branch of an anyOf/oneOf. Every `$ref` resolves offline against the schemas/ folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jsonschema_rs
import orjson

from vericarbon.version import __version__
from vericarbon.errors import InputError
from vericarbon.evidence.documents import escape_pointer_part, parse_document, read_text
from vericarbon.evidence.serials import SerialError, serial_range
from vericarbon.evidence.shapes import Shape
from vericarbon.resources import builtin_schema_dir, cache_dir

if TYPE_CHECKING:  # the Python validator is imported where it explains an error: most runs never need it (~45 ms)
    import jsonschema
    import referencing

_SCHEMA_FILE = re.compile(r"^(?P<kind>[a-z0-9-]+?)-(?P<version>\d+\.\d+)\.schema\.json$")


class Package(NamedTuple):
    path: str
    data: dict
    sha256: str
    kind: str
    schema_version: str


class SchemaStore:
    """Every schema in a folder: `common` and the other shared definitions, and one file per package kind and version."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or builtin_schema_dir()
        self.documents: dict[str, dict] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        self._fast: dict[str, Any] = {}
        fingerprint = hashlib.sha256(__version__.encode())  # what a document is valid against: these schemas, read by this vericarbon
        for path in sorted(self.folder.glob("*.schema.json")):
            raw = path.read_bytes()
            fingerprint.update(hashlib.sha256(raw).digest())
            document = orjson.loads(raw)
            self.documents[document["$id"]] = document
            match = _SCHEMA_FILE.match(path.name)
            if match:
                self.kinds[(match["kind"], match["version"])] = document["$id"]
        self.fingerprint = fingerprint.hexdigest()

    @cached_property
    def registry(self) -> referencing.Registry:
        import referencing
        import referencing.jsonschema

        resources = [(uri, referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT202012)) for uri, doc in self.documents.items()]
        return referencing.Registry().with_resources(resources)

    @cached_property
    def _rs_registry(self) -> jsonschema_rs.Registry:
        return jsonschema_rs.Registry(list(self.documents.items()))

    def schema_for(self, kind: str, version: str) -> dict:
        return self.documents[self.kinds[(kind, version)]]

    def fast_validator(self, uri: str) -> Any:
        """jsonschema-rs for the schema `uri`: it decides on every path where speed counts."""
        if uri not in self._fast:
            self._fast[uri] = jsonschema_rs.Draft202012Validator(self.documents[uri], registry=self._rs_registry, validate_formats=True)
        return self._fast[uri]

    def errors(self, uri: str, data: Any) -> list[tuple[str, str]]:
        """[] when `data` matches the schema `uri`, else every error as (JSON pointer, message): jsonschema-rs
        decides, and only a document that fails is walked again by the Python validator, which explains."""
        if self.fast_validator(uri).is_valid(data):
            return []
        return schema_errors(self.explaining_validator(self.documents[uri]), data) or [("/", "does not match its schema")]

    def file_errors(self, uri: str, data: Any, sha256: str) -> list[tuple[str, str]]:
        """errors() for data parsed from a file whose bytes hash to `sha256`. A file that passed against these
        very schemas, read by this vericarbon, is not validated again: a marker in the cache folder names
        both hashes (validating the built-in rulesets is ~5 ms of every start). A changed byte in the file
        or in any schema, or another vericarbon, makes another name."""
        folder = cache_dir("valid")
        marker = folder / f"{sha256}.{self.fingerprint}" if folder else None
        if marker is not None and marker.exists():
            return []
        problems = self.errors(uri, data)
        if not problems and marker is not None:
            with contextlib.suppress(OSError):
                marker.touch()
        return problems

    def explaining_validator(self, schema: dict) -> jsonschema.Draft202012Validator:
        import jsonschema

        return jsonschema.Draft202012Validator(schema, registry=self.registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def shape(self, kind: str, version: str) -> Shape:
        """The kind's schema as a Shape, for type-checking rule expressions."""
        return Shape(self.schema_for(kind, version), self._resolve, self.schema_for(kind, version))

    def _resolve(self, ref: str, document: dict) -> tuple[dict, dict]:
        uri, _, fragment = ref.partition("#")
        target_doc = self.documents[uri] if uri else document
        node: Any = target_doc
        for part in [p for p in fragment.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, target_doc

    def known_kinds(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.kinds)) or "none"


def schema_errors(validator: jsonschema.protocols.Validator, data: Any) -> list[tuple[str, str]]:
    """Every error, as (JSON pointer, plain message), in document order."""
    from jsonschema.exceptions import best_match

    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.context:
            error = best_match(error.context)
        pointer = "".join("/" + escape_pointer_part(str(p)) for p in error.absolute_path) or "/"
        problems.append((pointer, _plain(error)))
    return problems


def _plain(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown field(s) not allowed here")
    if error.validator == "const":
        return f"must be {error.validator_value!r}, found {error.instance!r}"
    if error.validator == "enum":
        return f"must be one of {', '.join(map(repr, error.validator_value))}; found {error.instance!r}"
    if error.validator == "format":
        return f"{error.instance!r} is not a valid {error.validator_value}"
    return error.message


def load_package(path: Path, store: SchemaStore) -> Package:
    """Read, identify and validate one evidence package; raise InputError listing every problem."""
    return parse_package(path, read_text(path), store)


def parse_package(path: Path, raw: bytes, store: SchemaStore) -> Package:
    """Identify and validate one package from its bytes (`path` names it and, by its suffix, its format)."""
    return validated_package(str(path), parse_document(path, raw), hashlib.sha256(raw).hexdigest(), store)


def validated_package(name: str, data: Any, sha256: str, store: SchemaStore) -> Package:
    """Identify and validate parsed package data; `sha256` is the hash of the bytes it was read from."""
    if not isinstance(data, dict):
        raise InputError(name, "an evidence package must be an object with 'kind' and 'schema_version'", "/")
    kind, version = data.get("kind"), data.get("schema_version")
    if not isinstance(kind, str) or not isinstance(version, str):
        raise InputError(name, "the package must declare 'kind' and 'schema_version' as strings", "/")
    if (kind, version) not in store.kinds:
        raise InputError(name, f"unknown package kind or schema version {kind!r} {version!r} (known: {store.known_kinds()})", "/kind")
    problems = store.errors(store.kinds[(kind, version)], data)
    if problems:
        raise InputError(name, problems)
    if kind == "credit-record":
        _derive_serial(name, data["serial"], data["registry"], data["quantity"], "/serial", block="block")
    for collection in _SERIAL_LOTS.get(kind, ()):
        lots = data
        for part in collection:
            lots = lots.get(part, {}) if isinstance(lots, dict) else {}
        for index, lot in enumerate(lots if isinstance(lots, list) else []):
            serial = lot.get("serial")
            if isinstance(serial, dict) and "raw" in serial:
                pointer = "/" + "/".join(collection) + f"/{index}/serial"
                if "registry" not in serial:  # the schema allows a raw serial alone; its grammar is the registry's
                    raise InputError(name, "a serial written as the registry writes it (raw) needs the registry whose grammar reads it", f"{pointer}/registry")
                quantity = lot.get("quantity_tco2e", lot.get("quantity", 0))
                _derive_serial(name, serial, serial["registry"], quantity, pointer, block="prefix")
            elif isinstance(serial, dict):
                serial.setdefault("prefix", "")  # a range with no block named is in its registry's unnamed block, as the ledger keys it
    return Package(name, data, sha256, kind, version)


# Where a kind holds credit lots whose serial may be written as the registry writes it
_SERIAL_LOTS = {"carbon-neutrality-claim": [("credits",)], "ghg-inventory": [("offsets", "batches")]}


def _derive_serial(name: str, serial: dict, registry: str, quantity: float, pointer: str, block: str) -> None:
    """Fill the serial's block (under the name `block`), start and end from the registry's own serial, by
    its grammar: whatever the file said there, the submitter does not choose them."""
    try:
        parsed = serial_range(registry, serial, quantity)
    except SerialError as error:
        raise InputError(name, str(error), pointer + ("/raw" if "raw" in serial else "")) from None
    serial.update({block: parsed.block, "start": parsed.start, "end": parsed.end})

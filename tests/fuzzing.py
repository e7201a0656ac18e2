"""Generated evidence packages, for the fuzz test (tests/test_fuzz.py) and the fuzz benchmark
(benchmarks/fuzz.py, at scale): one set of generators, so both explore the same inputs. The other input
families (workbooks, registry exports, statement tables, answers, overlays, zip sources) are in
fuzz_files.py; fuzz_families.py names them all and runs them through the API and the command line.

Packages come three ways: mutants of the bundled samples (`mutated`), instances grown from the kinds'
JSON Schemas (`from_schema`: the grammar the schemas are, with their examples and edge values, some
mutated afterwards), and Python values the API takes directly (`api_value`: dicts with big integers,
deep nesting, non-string keys, NaN, huge lists) that no JSON file can hold.

A mutation picks a place in a bundled sample and changes it. Most mutations keep the value's type (an
extreme number where a number was, control characters where a string was, a calendar edge where a date
was), so the package often still validates and the rules run on it; the rest swap types, delete, nest
deeply or duplicate, which the schema and the parser must refuse cleanly."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import orjson

import vericarbon

SAMPLES = sorted((Path(__file__).resolve().parent.parent / "evidence_samples").glob("*.json"))
EXTREME_FLOATS = [1e-300, 8e-05, -0.0, 1e308, -1e308, 5e-324, 1.7976931348623157e308, 0.1, 1e16 + 1]
HUGE_INTEGERS = [2**63, 2**63 - 1, -(2**63), 10**30, -(2**70), 2**64 + 1]
DATES = ["9999-12-31", "0001-01-01", "2024-02-29", "2023-02-29", "2024-13-01", "1970-01-01"]
STRINGS = ["", "\x00\x07\x1b[31m", "a" * 10_000, "<script>alert(1)</script>", "| cell\n# heading", "kWh*10**10**10", "💥" * 100, "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOO_DEEP = "\x00too deep\x00"
_originals: dict[Path, dict] = {}
SCHEMAS = {(schema := json.loads(path.read_text())).get("$id", path.name): schema
           for path in sorted((Path(__file__).resolve().parent.parent / "schemas").glob("*.schema.json"))}
KIND_SCHEMAS = [schema for schema in SCHEMAS.values() if "const" in schema.get("properties", {}).get("kind", {})]


def original(sample: Path) -> dict:
    if sample not in _originals:
        _originals[sample] = json.loads(sample.read_text())
    return _originals[sample]


def places(document: Any) -> list[tuple]:
    """Every place in the document (the root included) down to 40 levels, as a key path."""
    found, pending = [], [((), document)]
    while pending:
        path, value = pending.pop()
        found.append(path)
        if len(path) < 40 and isinstance(value, dict):
            pending += [(path + (key,), child) for key, child in value.items()]
        elif len(path) < 40 and isinstance(value, list):
            pending += [(path + (index,), child) for index, child in enumerate(value)]
    return found


def _get(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(document: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    _get(document, path[:-1])[path[-1]] = new
    return document


def _delete(document: Any, path: tuple) -> Any:
    if path:
        del _get(document, path[:-1])[path[-1]]
    return document


def mutate_once(document: Any, rng: random.Random) -> Any:
    path = rng.choice(places(document))
    value = _get(document, path)
    if rng.random() < 0.7:  # keep the type: what the rules see
        if isinstance(value, bool):
            return _set(document, path, not value)
        if isinstance(value, int):
            return _set(document, path, rng.choice(HUGE_INTEGERS + [0, -1, 1]))
        if isinstance(value, float):
            return _set(document, path, rng.choice(EXTREME_FLOATS))
        if isinstance(value, str):
            return _set(document, path, rng.choice(DATES) if _DATE.match(value) else rng.choice(STRINGS))
        if isinstance(value, list) and value:
            index = rng.randrange(len(value))
            if rng.random() < 0.5:
                value.pop(index)
            else:
                value.insert(index, copy.deepcopy(value[index]))
            return document
        if isinstance(value, dict) and value:
            key = rng.choice(list(value))
            if rng.random() < 0.5:
                del value[key]
            else:
                value[key + "_x"] = copy.deepcopy(value[key])  # an unknown field
            return document
    kind = rng.randrange(6)
    if kind == 0:
        return _set(document, path, None)
    if kind == 1:
        return _set(document, path, rng.choice([str(value)[:50], 0, 1.5, True, [], {}, [value]]))
    if kind == 2:
        depth = rng.choice([50, 200, 400, 3000])
        if depth > 400:  # deeper than any encoder writes: spliced into the text by mutated()
            return _set(document, path, _TOO_DEEP)
        nested: Any = value
        for _ in range(depth):
            nested = [nested]
        return _set(document, path, nested)
    if kind == 3:
        return _delete(document, path)
    if kind == 4:
        return _set(document, path, rng.choice(EXTREME_FLOATS + HUGE_INTEGERS))
    return _set(document, path, rng.choice(STRINGS))


def mutated(rng: random.Random) -> tuple[str, bytes]:
    """A sample's name and the bytes of one of its mutants (one to three mutations)."""
    sample = rng.choice(SAMPLES)
    document = copy.deepcopy(original(sample))
    for _ in range(rng.choice([1, 1, 2, 3])):
        document = mutate_once(document, rng)
    return sample.name, _dumped(document).replace(json.dumps(_TOO_DEEP).encode(), b"[" * 3000 + b"0" + b"]" * 3000)


def check(raw: bytes) -> int:
    """What `vericarbon verify` would do with these bytes, in process: the exit code it documents (0, 1, 2).
    Any other exception escapes: that is a defect. Every output format must render, and JSON must be
    strict JSON (no NaN or Infinity)."""
    try:
        result = vericarbon.verify(raw)
    except vericarbon.InputError:
        return 2
    for name in ("json", "md", "xml", "text"):
        text = result.render(name)
        if name == "json":
            json.loads(text, parse_constant=_not_json)
    return 1 if result.summary["by_status"]["fail"] else 0


def _not_json(name: str) -> Any:
    raise AssertionError(f"{name} written into JSON output")


# --- grown from the JSON Schemas ------------------------------------------------------------------------

def from_schema(rng: random.Random) -> tuple[str, bytes]:
    """A package grown from a kind's schema: each value from the schema's examples, enumerations and
    bounds, edge values now and then, optional fields sometimes left out; then a mutation in one of three."""
    schema = rng.choice(KIND_SCHEMAS)
    document = _grow(schema, schema, rng, 0)
    if rng.random() < 0.33:
        document = mutate_once(document, rng)
    return schema.get("$id", "schema"), _dumped(document)


def _resolve(node: dict, document: dict) -> tuple[dict, dict]:
    """A `$ref`'s target and the schema document it is in (urn:…#/$defs/x or #/$defs/x)."""
    base, _, pointer = node["$ref"].partition("#")
    document = SCHEMAS.get(base, document) if base else document
    target: Any = document
    for step in [part for part in pointer.split("/") if part]:
        target = target[step]
    return {**target, **{key: value for key, value in node.items() if key != "$ref"}}, document


def _grow(node: dict, document: dict, rng: random.Random, depth: int) -> Any:
    if "$ref" in node:
        node, document = _resolve(node, document)
    if "const" in node:
        return node["const"]
    if node.get("examples") and rng.random() < 0.6:
        return copy.deepcopy(rng.choice(node["examples"]))
    if node.get("enum"):
        return rng.choice(node["enum"])
    for combinator in ("oneOf", "anyOf"):
        if node.get(combinator):
            return _grow({**{k: v for k, v in node.items() if k != combinator}, **rng.choice(node[combinator])}, document, rng, depth + 1)
    kind = node.get("type")
    kind = rng.choice(kind) if isinstance(kind, list) else kind or ("object" if "properties" in node else "array" if "items" in node else "string")
    if kind == "object":
        required = set(node.get("required", []))
        return {name: _grow(child, document, rng, depth + 1) for name, child in node.get("properties", {}).items()
                if name in required or (depth < 6 and rng.random() < 0.5)}
    if kind == "array":
        low = node.get("minItems", 0)
        count = low if depth >= 6 else rng.randint(low, max(low, min(node.get("maxItems", 4), 4)))
        return [_grow(node.get("items", {}), document, rng, depth + 1) for _ in range(count)]
    edge = rng.random() < 0.15  # mostly values the schema takes, so the rules run; now and then its edges and beyond
    if kind in ("number", "integer"):
        low, high = node.get("minimum", node.get("exclusiveMinimum", 0)), node.get("maximum", node.get("exclusiveMaximum", 1e6))
        value = rng.choice([low, high, 0, rng.choice(EXTREME_FLOATS + HUGE_INTEGERS)]) if edge else rng.uniform(low, high) + ("exclusiveMinimum" in node)
        return int(value) if kind == "integer" and isinstance(value, float) and value == value and abs(value) < 1e300 else value
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if node.get("format") == "date":
        return rng.choice(DATES) if edge else f"20{rng.randint(10, 30)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if node.get("pattern") and not edge:
        return node.get("examples", ["GB"])[0] if node.get("examples") else "GB"
    return rng.choice([rng.choice(STRINGS), "a" * node.get("maxLength", 20)]) if edge else rng.choice(["text", "Acme Ltd", "x" * max(node.get("minLength", 1), 1)])


def _dumped(document: Any) -> bytes:
    try:
        return orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, or nesting orjson will not write
        return json.dumps(document).encode()


# --- Python values through the API ----------------------------------------------------------------------

ODD_VALUES: list[Any] = [10**400, -(10**400), float("nan"), float("inf"), (1, 2), {1: "int key"}, {"set"}, b"bytes", "x" * 5_000_000,
                         list(range(200_000)), None, True]


def api_value(rng: random.Random) -> dict:
    """A sample as a dict, with a value no JSON file holds put somewhere in it (or nested 10 000 deep)."""
    document = copy.deepcopy(original(rng.choice(SAMPLES)))
    path = rng.choice(places(document))
    if rng.random() < 0.2:
        nested: Any = 0
        for _ in range(rng.choice([300, 2000, 10_000])):
            nested = [nested] if rng.random() < 0.5 else {"k": nested}
        return _set(document, path, nested) if path else {**document, "deep": nested}
    value = rng.choice(ODD_VALUES)
    return _set(document, path, value) if path else document

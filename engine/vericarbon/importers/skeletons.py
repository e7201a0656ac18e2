"""`vericarbon init KIND`: a commented YAML skeleton of a package, read off the kind's JSON Schema — every
field with what it is, required ones first and filled with an example; optional ones commented out, ready to
uncomment. Examples come from the built-in rulesets' test packages of that kind (valid packages shipped with
vericarbon); a field none of them has gets a placeholder saying what to write."""

from __future__ import annotations

import json
from typing import Any

from vericarbon.evidence.documents import parse_document
from vericarbon.evidence.package import SchemaStore
from vericarbon.evidence.shapes import Shape
from vericarbon.resources import builtin_rulesets, ruleset_header

MAX_DEPTH = 12
PLACEHOLDER = {"string": "FILL-IN", "number": 0, "integer": 0, "boolean": False, "date": "YYYY-MM-DD"}


def samples_of(kind: str, version: str, store: SchemaStore) -> list[dict]:
    """The built-in rulesets' test packages of this kind and version: valid examples of every field they hold."""
    found = []
    for path in map(ruleset_header, builtin_rulesets()):
        base = parse_document(path, path.read_bytes()).get("test_base")
        if isinstance(base, dict) and base.get("kind") == kind and base.get("schema_version") == version and not store.errors(store.kinds[(kind, version)], base):
            found.append(base)
    return found


def skeleton(shape: Shape, kind: str, version: str, samples: list[dict]) -> str:
    lines = [f"# A {kind} {version} package (vericarbon init {kind}).",
             "# Required fields come first, filled with an example to replace; optional fields are commented out (#) —",
             "# uncomment the ones you have. Check it with: vericarbon validate FILE.yaml", ""]
    _object(shape, [sample for sample in samples], 0, lines, {"kind": kind, "schema_version": version})
    return "\n".join(lines) + "\n"


def _object(shape: Shape, examples: list[Any], depth: int, lines: list[str], fixed: dict | None = None, first_prefix: str = "") -> None:
    required = set(shape.required()) | _first_alternative(shape)
    names = shape.field_names()
    ordered = [n for n in names if n in required] + [n for n in names if n not in required]
    indent = "  " * depth
    for position, name in enumerate(ordered):
        child = shape.field(name)
        if child is None:
            continue
        prefix = first_prefix if position == 0 and first_prefix else indent
        comment_out = name not in required
        values = [example[name] for example in examples if isinstance(example, dict) and name in example]
        note = _note(child, name in required)
        if fixed and name in fixed:
            lines.append(f"{prefix}{name}: {json.dumps(fixed[name])}  {note}")
            continue
        _field(name, child, values, depth, lines, comment_out, note, prefix)


def _field(name: str, shape: Shape, values: list[Any], depth: int, lines: list[str], comment_out: bool, note: str, prefix: str) -> None:
    mark = "# " if comment_out else ""
    indent = "  " * depth
    kind = shape.kind
    items = shape.items() if kind == "array" else None
    if depth >= MAX_DEPTH:
        return
    if kind == "object" and shape.field_names():
        inner: list[str] = []
        _object(shape, values, depth + 1, inner)
        empty = all(line.lstrip().startswith("#") for line in inner)  # no required field: an empty mapping, not null
        lines.append(f"{prefix}{mark}{name}:{' {}' if empty and not comment_out else ''}  {note}")
        lines += [_commented(line, indent) if comment_out else line for line in inner]
    elif items is not None and items.kind == "object" and items.field_names():
        lines.append(f"{prefix}{mark}{name}:  {note}")
        inner = []
        element = [values[0][0]] if values and isinstance(values[0], list) and values[0] else []
        _object(items, element, depth + 2, inner, first_prefix="  " * (depth + 1) + "- ")
        lines += [_commented(line, indent) if comment_out else line for line in inner]
    else:
        example = values[0] if values else _placeholder(shape, items)
        lines.append(f"{prefix}{mark}{name}: {json.dumps(example, ensure_ascii=False)}  {note}")


def _first_alternative(shape: Shape) -> set[str]:
    """Where the schema asks for one of several sets of fields (anyOf/oneOf of `required`), the first set:
    the skeleton fills one way the schema accepts, and the notes say the field is one of the choices."""
    for branch in shape._branches():
        for keyword in ("anyOf", "oneOf"):
            alternatives = branch.node.get(keyword, [])
            if alternatives and all(set(alternative) <= {"required"} for alternative in alternatives):
                return set(alternatives[0]["required"])
    return set()


def _commented(line: str, indent: str) -> str:
    stripped = line[len(indent):] if line.startswith(indent) else line.lstrip()
    return f"{indent}# {stripped}" if not stripped.startswith("# ") else f"{indent}{stripped}"


def _note(shape: Shape, required: bool) -> str:
    description, choices = shape.description(), shape.enum()
    kind = shape.kind if shape.kind != "array" else f"list of {(shape.items() or shape).kind}"
    parts = ["required" if required else "optional", kind]
    if choices:
        parts.append("one of " + ", ".join(map(str, choices)))
    return "# " + "; ".join(parts) + (f" — {description}" if description else "")


def _placeholder(shape: Shape, items: Shape | None) -> Any:
    choices = shape.enum()
    if choices:
        return choices[0]
    if items is not None:
        return [_placeholder(items, None)]
    return PLACEHOLDER.get(shape.kind, "FILL-IN")

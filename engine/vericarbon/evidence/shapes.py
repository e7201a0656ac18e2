"""What a field is, read off the package's JSON Schema: lets rules be type-checked when they load."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

_JSON_TYPES = ("object", "array", "number", "integer", "string", "boolean", "null")


class Shape(NamedTuple):
    """A schema node resolved far enough to answer: what kind of value, which fields, which items."""

    node: dict
    resolve: Callable[[str, dict], tuple[dict, dict]]  # ($ref, schema the ref appears in) -> (node, its document)
    document: dict

    def _branches(self) -> list["Shape"]:
        """The node itself plus every subschema whose fields a value may have (allOf/anyOf/oneOf/$ref)."""
        found = [self]
        if "$ref" in self.node:
            target, doc = self.resolve(self.node["$ref"], self.document)
            found += Shape(target, self.resolve, doc)._branches()
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in self.node.get(keyword, []):
                found += Shape(sub, self.resolve, self.document)._branches()
        return found

    @property
    def kind(self) -> str:
        """One of object, array, number, string, boolean, date, any."""
        kinds = set()
        for branch in self._branches():
            declared = branch.node.get("type")
            if isinstance(declared, str):
                declared = [declared]
            for name in declared or []:
                if name == "null":
                    continue
                if name == "integer":
                    name = "number"
                if name == "string" and branch.node.get("format") == "date":
                    name = "date"
                kinds.add(name)
            if "enum" in branch.node or "const" in branch.node:
                values = branch.node.get("enum", [branch.node.get("const")])
                kinds |= {_kind_of_literal(v) for v in values if v is not None}
        if "string" in kinds and "date" in kinds:
            kinds.discard("string")
        return kinds.pop() if len(kinds) == 1 else "any"

    def field(self, name: str) -> "Shape | None":
        for branch in self._branches():
            props = branch.node.get("properties", {})
            if name in props:
                return Shape(props[name], self.resolve, branch.document)
        for branch in self._branches():
            extra = branch.node.get("additionalProperties")
            if isinstance(extra, dict):
                return Shape(extra, self.resolve, branch.document)
        return None

    def items(self) -> "Shape | None":
        for branch in self._branches():
            if isinstance(branch.node.get("items"), dict):
                return Shape(branch.node["items"], self.resolve, branch.document)
        return None

    def required(self) -> list[str]:
        """The fields every value must have: the node's own `required`, and those of its $ref and allOf
        parts (not of anyOf/oneOf alternatives, which a value need meet only one of)."""
        names = list(self.node.get("required", []))
        if "$ref" in self.node:
            target, doc = self.resolve(self.node["$ref"], self.document)
            names += Shape(target, self.resolve, doc).required()
        for sub in self.node.get("allOf", []):
            names += Shape(sub, self.resolve, self.document).required()
        return list(dict.fromkeys(names))

    def present_when_read(self) -> list[str]:
        """The fields every value has once the package is read: the required ones, and those reading fills
        in (`x-filled-when-read`: a serial range's start and end, derived from the registry's serial)."""
        return self.required() + [name for branch in self._branches() for name in branch.node.get("x-filled-when-read", [])]

    def description(self) -> str:
        return next((branch.node["description"] for branch in self._branches() if "description" in branch.node), "")

    def enum(self) -> list[Any]:
        for branch in self._branches():
            if "enum" in branch.node:
                return list(branch.node["enum"])
            if "const" in branch.node:
                return [branch.node["const"]]
        return []

    def field_names(self) -> list[str]:
        names: list[str] = []
        for branch in self._branches():
            names += [n for n in branch.node.get("properties", {}) if n not in names]
        return names


def _kind_of_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "any"


ANY_SHAPE = Shape({}, lambda ref, doc: ({}, {}), {})

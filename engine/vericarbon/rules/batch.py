"""Rules across packages. A ruleset's `series:` says what each package contributes to the series store — an
entity, a period and a few typed values, each an expression over the package — and its `batch_rules:` are
checked over groups of those records: one entity's series in period order (`group_by: entity`), the
packages sharing a value (`group_by: VALUE`), or every package (`group_by: all`). A batch rule reads the
current record as `item` (with `item.prev` and `item.next`, its neighbours in the group) and the group as
`group.members`, in the same expression language as every other rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vericarbon.errors import InputError
from vericarbon.evidence.shapes import Shape
from vericarbon.lang import Compiled, ExprError, Node, Scope, Type, children, compile_expression, parse
from vericarbon.lang import Path as FieldPath
from vericarbon.rules.templates import Template, TemplateError, template

KEYS = {"package_id": "string", "entity": "string", "period": "number"}  # every record has these


@dataclass
class CompiledSeries:
    entity: Compiled
    period: Compiled
    values: dict[str, Compiled | Template]  # a template gives text
    conditions: dict[str, Compiled]  # a value recorded only when its condition holds


@dataclass
class CompiledBatchRule:
    spec: dict
    when: Compiled | None
    check: Compiled
    message: Template
    reads: frozenset[str]  # "prev", "next", "group": which neighbours a finding involves

    @property
    def id(self) -> str:
        return self.spec["id"]


def value_types(spec: dict) -> dict[str, str]:
    return {**KEYS, **{name: value["type"] for name, value in spec.get("values", {}).items()}}


def compile_series(spec: dict, path: str, package: Shape, param_types: dict[str, Type], definitions: dict[str, Node]) -> CompiledSeries:
    """The series expressions for one package kind, each checked to give the type it declares."""

    def compiled(source: str, location: str, wanted: str) -> Compiled:
        try:
            found = compile_expression(parse(source), Scope(package, param_types, definitions=definitions))
        except ExprError as error:
            raise InputError(path, f"series, column {error.pos + 1}: {error.message}\n    {source}", location) from None
        if wanted != "any" and found.type.kind not in (wanted, "any", "null"):
            raise InputError(path, f"series value is {found.type}, but it is declared {wanted}", location)
        return found

    values: dict[str, Compiled | Template] = {}
    conditions: dict[str, Compiled] = {}
    for name, value in spec.get("values", {}).items():
        location = f"/series/values/{name}"
        if "when" in value:
            conditions[name] = compiled(value["when"], location + "/when", "boolean")
        if "template" in value:
            try:
                values[name] = template(value["template"], lambda source: compiled(source, location, "any").fn)
            except TemplateError as error:
                raise InputError(path, f"series value {name}: {error}", location) from None
        else:
            values[name] = compiled(value["value"], location, value["type"])
    return CompiledSeries(compiled(spec["entity"], "/series/entity", "string"), compiled(spec["period"], "/series/period", "number"), values, conditions)


def _record_shape(types: dict[str, str], neighbours: bool) -> dict:
    properties: dict[str, Any] = {name: {"type": kind} for name, kind in types.items()}
    if neighbours:
        properties |= {"prev": _record_shape(types, False), "next": _record_shape(types, False)}
    return {"type": "object", "properties": properties}


def compile_batch_rules(ruleset_path: str, spec: dict, rules: list[dict], param_types: dict[str, Type]) -> list[CompiledBatchRule]:
    """Each batch rule against the record the series declares; a field the series lacks is a load error."""
    item = _record_shape(value_types(spec), neighbours=True)
    group = {"type": "object", "properties": {"group": {"type": "object", "properties": {"key": {}, "members": {"type": "array", "items": item}}}}}
    scope = Scope(Shape(group, None, group), param_types, item=Shape(item, None, item), item_collection="group.members")  # type: ignore[arg-type]
    compiled = []
    for index, rule in enumerate(rules):
        if rule["group_by"] not in ("entity", "all") and rule["group_by"] not in spec.get("values", {}):
            raise InputError(ruleset_path, f"batch rule {rule['id']}: group_by {rule['group_by']!r} is neither entity, all nor a series value", f"/batch_rules/{index}/group_by")

        def build(field: str, source: str, boolean: bool = True) -> Compiled:
            try:
                found = compile_expression(parse(source, item_name="item"), scope)
            except ExprError as error:
                raise InputError(ruleset_path, f"batch rule {rule['id']}, {field}, column {error.pos + 1}: {error.message}\n    {source}", f"/batch_rules/{index}/{field}") from None
            if boolean and found.type.kind not in ("boolean", "any"):
                raise InputError(ruleset_path, f"batch rule {rule['id']}, {field}: must be a condition (true/false), but it is {found.type}", f"/batch_rules/{index}/{field}")
            return found

        try:
            message = template(rule["message"], lambda source: build("message", source, boolean=False).fn)
        except TemplateError as error:
            raise InputError(ruleset_path, f"batch rule {rule['id']}: {error}", f"/batch_rules/{index}/message") from None
        trees = [parse(rule["check"], item_name="item")] + ([parse(rule["when"], item_name="item")] if "when" in rule else [])
        compiled.append(CompiledBatchRule(rule, build("when", rule["when"]) if "when" in rule else None, build("check", rule["check"]), message, _neighbours(trees)))
    return compiled


def _neighbours(trees: list[Node]) -> frozenset[str]:
    """Which other records a rule's verdict on one record depends on: its neighbours, or the whole group."""
    found: set[str] = set()

    def visit(node: Node) -> None:
        if isinstance(node, FieldPath):
            if node.root == "item" and node.parts[:1] in (["prev"], ["next"]):
                found.add(node.parts[0])
            elif node.root == "package" and node.parts[:1] == ["group"]:
                found.add("group")
        for child in children(node):
            visit(child)

    for tree in trees:
        visit(tree)
    return frozenset(found)

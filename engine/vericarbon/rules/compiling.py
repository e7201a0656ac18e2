"""Compiling a loaded ruleset for one package kind: every rule's expressions parsed and type-checked
against the kind's schema, its generated loop, its relational plan, and what evidence it reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.evidence.shapes import Shape
from vericarbon.lang import Call, Compiled, ExprError, Node, Scope, Type, children, compile_expression, compile_rule, parse, type_of_shape
from vericarbon.lang import Path as FieldPath
from vericarbon.relational import relations
from vericarbon.rules.batch import CompiledSeries, compile_series
from vericarbon.rules.model import PARAM_TYPES, Ruleset, located
from vericarbon.rules.reports import CompiledReport, compile_report
from vericarbon.rules.templates import Template, TemplateError, template


@dataclass
class CompiledRule:
    spec: dict
    for_each: tuple[str, ...] | None
    run: Callable[..., list[str]]  # the generated loop: each item's status (vericarbon.lang.codegen.generate_rule)
    explain_when: Compiled | None
    explain_check: Compiled
    message: Template
    check_tree: Node
    relation: relations.RelationPlan | None = None
    engine_note: str = "python"
    reads: list[str] = field(default_factory=list)
    absent: str = "not_evaluated"  # the status when a field the rule reads is missing from the package
    base: str = field(init=False)  # the pointer of the collection it runs over ("" for the whole package)

    def __post_init__(self) -> None:
        self.base = "".join("/" + part for part in self.for_each) if self.for_each is not None else ""

    @property
    def id(self) -> str:
        return self.spec["id"]


@dataclass
class CompiledRuleset:
    ruleset: Ruleset
    kind: str
    params: dict[str, Any]
    rules: list[CompiledRule]
    report: CompiledReport | None = None
    series: CompiledSeries | None = None
    shape: Shape | None = None  # the package kind's schema, to describe the fields rules read
    relation_engine: relations.RelationEngine = field(init=False)

    def __post_init__(self) -> None:
        self.relation_engine = relations.RelationEngine([r.relation for r in self.rules if r.relation])

def compile_ruleset(ruleset: Ruleset, kind: str, version: str, store: SchemaStore, params: dict[str, Any] | None = None) -> CompiledRuleset:
    """Compile every rule for one package kind; parameter values default to the ruleset's own, and that
    compilation (done once when the ruleset loads) is reused."""
    if params is None and (kind, version) in ruleset.compiled:
        return ruleset.compiled[(kind, version)]
    with located(ruleset):
        compiled = _compile_ruleset(ruleset, kind, version, store, ruleset.params() if params is None else params)
    if params is None:
        ruleset.compiled[(kind, version)] = compiled
    return compiled


def _compile_ruleset(ruleset: Ruleset, kind: str, version: str, store: SchemaStore, values: dict[str, Any]) -> CompiledRuleset:
    param_types = {name: PARAM_TYPES[spec["type"]] for name, spec in ruleset.data.get("parameters", {}).items()}
    shape = store.shape(kind, version)
    definitions = _definitions(ruleset, shape, param_types)
    report = compile_report(ruleset.data["report"], ruleset.path, shape, param_types, definitions) if "report" in ruleset.data else None
    series = compile_series(ruleset.data["series"], ruleset.path, shape, param_types, definitions) if "series" in ruleset.data else None
    return CompiledRuleset(ruleset, kind, values, [_compile_rule(ruleset, index, rule, shape, param_types, values, definitions, kind == ruleset.data.get("test_base", {}).get("kind")) for index, rule in enumerate(ruleset.rules)], report, series, shape)


def _definitions(ruleset: Ruleset, package: Shape, param_types: dict[str, Type]) -> dict[str, Node]:
    """The ruleset's named expressions, parsed, and each type-checked once on its own."""
    trees: dict[str, Node] = {}
    for name, source in ruleset.data.get("definitions", {}).items():
        try:
            trees[name] = parse(source)
        except ExprError as error:
            raise located_error(ruleset, f"definition {name}", f"/definitions/{name}", source, error) from None
    for name, source in ruleset.data.get("definitions", {}).items():
        try:
            compile_expression(trees[name], Scope(package, param_types, definitions=trees, expanding=[name]))
        except ExprError as error:
            raise located_error(ruleset, f"definition {name}", f"/definitions/{name}", source, error) from None
    return trees


def _compile_rule(ruleset: Ruleset, index: int, rule: dict, package: Shape, param_types: dict[str, Type], params: dict[str, Any], definitions: dict[str, Node], is_test_kind: bool) -> CompiledRule:
    """One rule, type-checked against one package kind. `is_test_kind`: the kind of the ruleset's test
    package, where a rule reading a field a package may leave out must have a case that leaves it out."""
    item_shape = None
    for_each = rule.get("for_each")
    if for_each:
        collection = Scope(package, param_types, definitions=definitions)
        try:
            found = compile_expression(parse(for_each), collection)
        except ExprError as error:
            raise _expression_error(ruleset, index, rule, "for_each", for_each, error) from None
        if found.type.kind != "list":
            raise InputError(ruleset.path, f"rule {rule['id']}: for_each {for_each!r} is {found.type}, not a list", f"/rules/{index}/for_each")
        item_shape = found.type.shape

    def scope() -> Scope:
        return Scope(package, param_types, item=item_shape, item_collection=for_each, definitions=definitions)

    def build(field_name: str, source: str, traced: bool) -> tuple[Node, Compiled]:
        """The field's tree, type-checked, and its closure: traced (what explaining runs) for a condition,
        plain for a message's expressions."""
        try:
            tree = parse(source, item_name="item" if for_each else None)
            compiled = compile_expression(tree, scope(), traced=traced)
        except ExprError as error:
            raise _expression_error(ruleset, index, rule, field_name, source, error) from None
        if field_name != "message" and compiled.type.kind not in ("boolean", "any"):
            error = ExprError(f"must be a condition (true/false), but it is {compiled.type}", 0)
            raise _expression_error(ruleset, index, rule, field_name, source, error)
        return tree, compiled

    when_tree = explain_when = None
    if "when" in rule:
        when_tree, explain_when = build("when", rule["when"], traced=True)
    check_tree, explain_check = build("check", rule["check"], traced=True)
    relation, engine_note = None, "python"
    if for_each:
        try:
            relation = relations.plan(rule["id"], for_each, check_tree, params, _date_paths(item_shape, package, check_tree))
            if relation.interval is not None:
                engine_note = "python sort-and-sweep (an overlap join, quadratic on durable-rules)"
            else:
                engine_note = "durable-rules (" + ("absence of a related fact" if relation.quantifier == "any" else "join between facts") + ")"
        except relations.NotRelational as reason:
            engine_note = f"python ({reason})"
    run = compile_rule(when_tree, check_tree, scope, rule["id"], per_item=bool(for_each), answered=relation is not None)
    try:
        message = template(rule["message"], lambda source: build("message", source, traced=False)[1].fn)
    except TemplateError as error:
        raise InputError(ruleset.path, f"rule {rule['id']}: {error}", f"/rules/{index}/message") from None
    compiled = CompiledRule(rule, tuple(for_each.split(".")) if for_each else None, run, explain_when, explain_check, message, check_tree, relation, engine_note)
    compiled.reads, tested = evidence_read(for_each, [check_tree] + ([when_tree] if when_tree is not None else []), definitions)
    compiled.absent = rule.get("absent", "not_evaluated")
    optional = absence_decides(compiled.reads, tested, for_each, package)
    if optional and "absent" not in rule:
        raise InputError(ruleset.path, f"rule {rule['id']} reads {', '.join(optional)}, which a package may leave out: say what that absence means with absent: fail, not_evaluated or not_applicable", f"/rules/{index}")
    if optional and is_test_kind and not any(_leaves_out(case) for case in rule["tests"]):
        raise InputError(ruleset.path, f"rule {rule['id']} reads {', '.join(optional)}, which a package may leave out: add a test case that leaves one out (null in set or patch) and expects what that gives", f"/rules/{index}/tests")
    return compiled


def evidence_read(for_each: str | None, trees: list[Node], definitions: dict[str, Node]) -> tuple[list[str], set[str]]:
    """Where in the package a rule looks, as JSON pointers (`*` for every element of a list): what a
    report shows as the evidence a conforming rule rests on; and the pointers the rule itself tests with
    `exists()`/`missing()`, whose absence it has already given a meaning."""
    found: set[str] = set()
    tested: set[str] = set()
    item_base = "/" + for_each.replace(".", "/") + "/*" if for_each else ""

    def pointer(path: FieldPath, element_base: str) -> str | None:
        base = {"package": "", "item": item_base, "element": element_base}.get(path.root)
        return None if base is None or not (path.parts or base) else base + "".join("/" + part for part in path.parts)

    def collection_pointer(node: Node, element_base: str) -> str | None:
        if isinstance(node, Call) and node.name == "others":  # the rule's own collection, without the item
            node = node.args[0]
        return pointer(node, element_base) if isinstance(node, FieldPath) else None

    def visit(node: Node, element_base: str, expanded: frozenset[str]) -> None:
        if isinstance(node, FieldPath):
            if node.root == "defs" and node.parts[0] in definitions and node.parts[0] not in expanded:
                visit(definitions[node.parts[0]], element_base, expanded | {node.parts[0]})
            elif (where := pointer(node, element_base)) is not None:
                found.add(where)
            return
        first = collection_pointer(node.args[0], element_base) if isinstance(node, Call) and node.args else None
        if first is not None and node.name in ("exists", "missing"):  # type: ignore[attr-defined]
            tested.add(first)
        for position, child in enumerate(children(node)):  # inside an aggregate, `.field` is a field of its collection's elements
            visit(child, first + "/*" if first is not None and position > 0 else element_base, expanded)

    for tree in trees:
        visit(tree, "", frozenset())
    if for_each:
        found.add(item_base.removesuffix("/*"))  # the collection itself: its absence makes the rule not applicable
    return sorted(found), tested


def _leaves_out(case: dict) -> bool:
    """Does a test case delete something from the test package (a null in `set`, or anywhere in `patch`)?"""
    def deletes(patch: Any) -> bool:
        return isinstance(patch, dict) and any(value is None or deletes(value) for value in patch.values())
    return any(value is None for value in case.get("set", {}).values()) or deletes(case.get("patch"))


def absence_decides(reads: list[str], tested: set[str], for_each: str | None, package: Shape) -> list[str]:
    """Where a valid package may leave out something a rule reads and the rule does not test for it
    itself: the outermost optional field on the way to each such read, which the rule must give a meaning
    (`absent:`). The rule's own collection is not one of them (its absence makes the rule not applicable,
    docs/semantics.md)."""
    collection = "/" + for_each.replace(".", "/") if for_each else None
    optional: list[str] = []
    for read in reads:
        if read == collection or read in tested:
            continue
        parts = read.strip("/").split("/")
        start = len(collection.strip("/").split("/")) + 1 if collection and read.startswith(collection + "/*/") else 0
        shape: Shape | None = package
        for position, part in enumerate(parts):
            if shape is None:
                break
            if part == "*":
                shape = shape.items()
                continue
            if position >= start and part not in shape.present_when_read():
                outermost = "/" + "/".join(parts[: position + 1])
                if outermost not in optional and outermost not in tested:
                    optional.append(outermost)
                break
            shape = shape.field(part)
    return optional


def _date_paths(item_shape: Shape | None, package: Shape, check: Node) -> set[tuple[str, tuple[str, ...]]]:
    """(side, field path) for every date field the check reads on the item or on the joined elements."""
    found: set[tuple[str, tuple[str, ...]]] = set()
    target = check.args[0] if hasattr(check, "args") and check.args else None  # type: ignore[attr-defined]
    if target is not None and getattr(target, "name", None) == "others":
        target = target.args[0]
    element_shape = None
    if target is not None and getattr(target, "root", None) == "package":
        element_shape = _walk_shape(package, tuple(target.parts))
        element_shape = element_shape.items() if element_shape else None

    def visit(node: Any) -> None:
        if getattr(node, "root", None) in ("item", "element") and node.parts:
            shape = _walk_shape(item_shape if node.root == "item" else element_shape, tuple(node.parts))
            if shape is not None and type_of_shape(shape).kind == "date":
                found.add((node.root, tuple(node.parts)))
        for child in children(node):
            visit(child)

    visit(check)
    return found


def _walk_shape(shape: Shape | None, path: tuple[str, ...]) -> Shape | None:
    for part in path:
        if shape is None:
            return None
        shape = shape.field(part)
    return shape


def _expression_error(ruleset: Ruleset, index: int, rule: dict, field_name: str, source: str, error: ExprError) -> InputError:
    return located_error(ruleset, f"rule {rule['id']}, {field_name}", f"/rules/{index}/{field_name}", source, error)


def located_error(ruleset: Ruleset, what: str, location: str, source: str, error: ExprError) -> InputError:
    caret = " " * error.pos + "^"
    return InputError(ruleset.path, f"{what}, column {error.pos + 1}: {error.message}\n    {source}\n    {caret}", location)

"""Type-checks an expression tree against the package schema and builds its closure.

Never `eval`: each node of the parsed tree becomes a Python closure. The tree is kept, so the relational
compiler (vericarbon.relational) can turn suitable conditions into durable-rules patterns instead.
docs/semantics.md is the contract this module follows."""

from __future__ import annotations

from typing import Any, Callable

from vericarbon.lang.codegen import generate_rule
from vericarbon.lang.functions import FUNCTIONS
from vericarbon.lang.nodes import COMPARISONS, Binary, Call, ListOf, Literal, Node, Path, Unary, children
from vericarbon.lang.runtime import MISSING, Env, add_duration, as_date, escape_pointer_part, finite, frame_pointer, pointer_of
from vericarbon.lang.tokens import ExprError
from vericarbon.lang.types import BOOLEAN, DATE, NUMBER, Compiled, Fn, Scope, Type, literal_type, require, type_of_shape


def compile_expression(node: Node, scope: Scope, *, traced: bool = False) -> Compiled:
    """Type-check `node` against `scope` and build its closure. With traced=True every node outside an
    aggregate's per-element expression appends {expr, value, pointer?, elements?} to env.trace."""
    return Compiler(scope, traced).compile(node, depth=0)


def compile_rule(when: Node | None, check: Node, scope: Callable[[], Scope], name: str, per_item: bool, answered: bool = False) -> Fn:
    """Type-check a rule's when and check and generate its loop over the items (vericarbon.lang.codegen):
    the statuses the closures would give, for the rules' hot path. `name` labels the code ("<rule ID>");
    `answered`: durable-rules or the overlap sweep answers for some items (else the loop decides all)."""
    parts = []
    for tree in (when, check):
        if tree is None:
            parts.append(None)
            continue
        compiler = Compiler(scope(), traced=False)
        compiler.compile(tree, depth=0)
        parts.append((tree, compiler.closures, compiler.types, compiler.hoisted))
    return generate_rule(name, parts[0], parts[1], per_item, answered)  # type: ignore[arg-type]


MAX_DEFINITION_USES = 10_000
MAX_DEFINITION_DEPTH = 160  # levels, definitions' own included: Python's recursion limit is 1000 frames


class Compiler:
    def __init__(self, scope: Scope, traced: bool) -> None:
        self.scope = scope
        self.traced = traced
        self.hoisting = False  # compiling inside a subexpression already computed once per package
        self.closures: dict[Node, Fn] = {}  # every node outside element expressions, for the code generator
        self.types: dict[Node, Type] = {}
        self.hoisted: set[Node] = set()
        self.definition_uses = 0  # definitions compiled in place so far: bounded, as each use copies its tree

    def compile(self, node: Node, depth: int, in_element: bool = False) -> Compiled:
        method = getattr(self, "_" + type(node).__name__.lower())
        hoist = self._hoistable(node, in_element)
        if hoist:
            self.hoisting = True
        try:
            compiled: Compiled = method(node, depth, in_element)
        finally:
            if hoist:
                self.hoisting = False
        if hoist:
            compiled = Compiled(_once_per_package(compiled.fn, node), compiled.type)
            self.hoisted.add(node)
        if self.traced and not in_element and not isinstance(node, (Literal, ListOf)):
            compiled = Compiled(_tracing(compiled.fn, node, depth), compiled.type)
        self.types[node] = compiled.type
        if not in_element:
            self.closures[node] = compiled.fn
        return compiled

    def _hoistable(self, node: Node, in_element: bool) -> bool:
        """A computed subexpression of a per-item check that reads no item (`period.end + months(12)`,
        `sum(lines, .tco2e)`, `defs.NAME`): its value is the same for every item of the package, so it is
        computed once, not once per item (which would make an aggregate quadratic)."""
        if self.scope.item is None or self.traced or self.hoisting or in_element:
            return False
        computed = isinstance(node, (Unary, Binary, Call)) or (isinstance(node, Path) and node.root == "defs")
        return computed and not _reads_item(node)

    # -- leaves

    def _literal(self, node: Literal, depth: int, in_element: bool) -> Compiled:
        value = node.value
        return Compiled(lambda env: value, literal_type(value))

    def _listof(self, node: ListOf, depth: int, in_element: bool) -> Compiled:
        items = [self.compile(item, depth + 1, in_element) for item in node.items]
        kinds = {c.type.kind for c in items}
        if len(kinds) > 1:
            raise ExprError("a list literal mixes " + " and ".join(sorted(kinds)), node.pos)
        fns = [c.fn for c in items]
        if all(isinstance(item, Literal) for item in node.items):
            constant = [item.value for item in node.items]  # type: ignore[attr-defined]
            return Compiled(lambda env: constant, Type("list"))
        return Compiled(lambda env: [fn(env) for fn in fns], Type("list"))

    def _path(self, node: Path, depth: int, in_element: bool) -> Compiled:
        if node.root == "defs":
            return self._definition(node, depth, in_element)
        if node.root == "params":
            name = node.parts[0]
            if name not in self.scope.params:
                known = ", ".join(sorted(self.scope.params)) or "none"
                raise ExprError(f"unknown parameter {name!r} (this ruleset has: {known})", node.pos)

            def parameter(env: Env) -> Any:
                value = env.params.get(name)
                if value is None:
                    env.absent.append(f"parameter {name} is unset")
                    return MISSING
                return value

            return Compiled(parameter, self.scope.params[name])
        if node.root == "item":
            if self.scope.item is None:
                raise ExprError("'item' is only defined in a rule with for_each", node.pos)
            shape = self.scope.item
        elif node.root == "element":
            if not self.scope.elements:
                raise ExprError("'.field' refers to the current element and only works inside an aggregate", node.pos)
            shape = self.scope.elements[-1]
        else:
            shape = self.scope.package
            if node.parts[0] == "item" and shape.field("item") is None:
                raise ExprError("'item' is only defined in a rule with for_each", node.pos)
        walked: list[str] = []
        for part in node.parts:
            if shape.kind == "array":
                where = ".".join(walked)
                raise ExprError(f"{where} is a list: reach its elements through an aggregate, e.g. any({where}, .{part} ...)", node.pos)
            child = shape.field(part)
            if child is None:
                where = ".".join(walked) or {"package": "the package", "item": "item", "element": "the element"}[node.root]
                known = ", ".join(shape.field_names()) or "no fields"
                raise ExprError(f"unknown field {part!r} in {where} (known: {known})", node.pos)
            walked.append(part)
            shape = child
        return Compiled(_path_reader(node.root, tuple(node.parts)), type_of_shape(shape))

    def _definition(self, node: Path, depth: int, in_element: bool) -> Compiled:
        """defs.NAME: the ruleset's named expression, compiled in place (it reads the package and parameters)."""
        name = node.parts[0]
        if name not in self.scope.definitions:
            known = ", ".join(sorted(self.scope.definitions)) or "none"
            raise ExprError(f"unknown definition {name!r} (this ruleset defines: {known})", node.pos)
        if name in self.scope.expanding:
            raise ExprError(f"definition {name!r} refers to itself through {' → '.join(self.scope.expanding)}", node.pos)
        self.definition_uses += 1
        if self.definition_uses > MAX_DEFINITION_USES or depth > MAX_DEFINITION_DEPTH:  # d2: defs.d1 + defs.d1, ... doubles at every step
            raise ExprError(f"definitions expand into more than {MAX_DEFINITION_USES} uses or {MAX_DEFINITION_DEPTH} levels in one expression", node.pos)
        self.scope.expanding.append(name)
        try:
            return self.compile(self.scope.definitions[name], depth + 1, in_element)
        finally:
            self.scope.expanding.pop()

    # -- operators

    def _unary(self, node: Unary, depth: int, in_element: bool) -> Compiled:
        operand = self.compile(node.operand, depth + 1, in_element)
        inner = operand.fn
        if node.op == "not":
            require(operand.type, {"boolean"}, node.operand, "'not' needs")

            def negate(env: Env) -> Any:
                value = inner(env)
                return MISSING if value is MISSING else not value

            return Compiled(negate, BOOLEAN)
        require(operand.type, {"number"}, node.operand, "'-' needs")

        def minus(env: Env) -> Any:
            value = inner(env)
            return MISSING if value is MISSING else -value

        return Compiled(minus, NUMBER)

    def _binary(self, node: Binary, depth: int, in_element: bool) -> Compiled:
        left = self.compile(node.left, depth + 1, in_element)
        right = self.compile(node.right, depth + 1, in_element)
        lf, rf = left.fn, right.fn
        if node.op in ("and", "or"):
            require(left.type, {"boolean"}, node.left, f"'{node.op}' needs")
            require(right.type, {"boolean"}, node.right, f"'{node.op}' needs")
            return Compiled(_and(lf, rf) if node.op == "and" else _or(lf, rf), BOOLEAN)
        if node.op in ("in", "not in"):
            require(right.type, {"list"}, node.right, f"'{node.op}' needs")
            negated = node.op == "not in"

            def member(env: Env) -> Any:
                needle, haystack = lf(env), rf(env)
                if needle is MISSING or haystack is MISSING:
                    return MISSING
                return (needle in haystack) != negated

            return Compiled(member, BOOLEAN)
        if node.op in COMPARISONS:
            return Compiled(_comparison(node, left.type, right.type, lf, rf), BOOLEAN)
        return _arithmetic(node, left, right)

    # -- functions

    def _call(self, node: Call, depth: int, in_element: bool) -> Compiled:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise ExprError(f"unknown function {node.name!r} (known: {', '.join(sorted(FUNCTIONS))})", node.pos)
        return spec(self, node, depth, in_element)

    def element_expression(self, collection: Compiled, node: Node, depth: int) -> Compiled:
        self.scope.elements.append(collection.type.shape)
        try:
            return self.compile(node, depth + 1, in_element=True)
        finally:
            self.scope.elements.pop()


def _reads_item(node: Node) -> bool:
    """Does the expression depend on the current item? (Definitions read only the package and parameters.)"""
    if isinstance(node, Path):
        return node.root == "item"
    if isinstance(node, Call) and node.name == "others":
        return True  # the collection without the current item
    return any(_reads_item(child) for child in children(node))


def _once_per_package(fn: Fn, node: Node) -> Fn:
    """Remember the value in env.memo (one per rule and package) when there is one; a missing value is
    computed again, so each item records why it is missing."""

    def once(env: Env) -> Any:
        memo = env.memo
        if memo is None:
            return fn(env)
        value = memo.get(node, MISSING)
        if value is MISSING:
            value = fn(env)
            if value is not MISSING:
                memo[node] = value
        return value

    return once


def _tracing(fn: Fn, node: Node, depth: int) -> Fn:
    reader = node if isinstance(node, Path) and node.root not in ("params", "defs") else None
    decides_by_elements = isinstance(node, Call) and node.name in ("all", "any", "none")

    def traced(env: Env) -> Any:
        entry: dict[str, Any] = {"expr": node.text(), "depth": depth}
        env.trace.append(entry)  # type: ignore[union-attr]
        value = fn(env)
        entry["value"] = value
        if decides_by_elements:
            entry["elements"], env.deciding = env.deciding, []
        if reader is not None:
            entry["pointer"] = pointer_of(reader, env)
        return value

    return traced


def _path_reader(root: str, parts: tuple[str, ...]) -> Fn:
    suffix = "".join("/" + escape_pointer_part(p) for p in parts)

    def read(env: Env) -> Any:
        if root == "package":
            value, base = env.package, ""
        elif root == "item":
            value, base = env.item, env.item_pointer
        else:
            value, base = env.elements[-1][0], None  # the element's pointer is spelt out only if it is missing
        for part in parts:
            if type(value) is not dict:
                value = None
                break
            value = value.get(part)
        if value is None:
            env.absent.append((frame_pointer(env.elements[-1]) if base is None else base) + suffix)
            return MISSING
        return value

    return read


def _and(lf: Fn, rf: Fn) -> Fn:
    def conjunction(env: Env) -> Any:
        left = lf(env)
        if left is False:
            return False
        right = rf(env)
        if right is False:
            return False
        return MISSING if left is MISSING or right is MISSING else True

    return conjunction


def _or(lf: Fn, rf: Fn) -> Fn:
    def disjunction(env: Env) -> Any:
        left = lf(env)
        if left is True:
            return True
        right = rf(env)
        if right is True:
            return True
        return MISSING if left is MISSING or right is MISSING else False

    return disjunction


_ORDERABLE = {"number", "date", "string", "duration"}


def _comparison(node: Binary, lt: Type, rt: Type, lf: Fn, rf: Fn) -> Fn:
    known = {lt.kind, rt.kind} - {"any", "null"}
    if len(known) > 1:
        raise ExprError(f"cannot compare {lt} with {rt} in {node.text()!r}", node.pos)
    if node.op not in ("==", "!=") and known - _ORDERABLE:
        raise ExprError(f"'{node.op}' cannot order {known.pop()} values in {node.text()!r}", node.pos)
    date_side = "date" in known
    op = node.op

    def compare(env: Env) -> Any:
        left, right = lf(env), rf(env)
        if left is MISSING or right is MISSING:
            return MISSING
        if date_side:
            left, right = as_date(left), as_date(right)
            if left is MISSING or right is MISSING:
                env.absent.append(f"not a date in {node.text()!r}")
                return MISSING
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        return left >= right

    return compare


def _arithmetic(node: Binary, left: Compiled, right: Compiled) -> Compiled:
    lk, rk, op = left.type.kind, right.type.kind, node.op
    lf, rf = left.fn, right.fn
    if lk == "date" or (op in "+-" and rk == "duration"):
        if op not in "+-" or rk not in ("duration", "date", "any"):
            raise ExprError(f"a date takes '+' or '-' with days(), months() or years(), not {rk} in {node.text()!r}", node.pos)
        if rk == "date" and op == "-":

            def days_between(env: Env) -> Any:
                a, b = as_date(lf(env)), as_date(rf(env))
                return MISSING if a is MISSING or b is MISSING else (a - b).days

            return Compiled(days_between, NUMBER)
        sign = 1 if op == "+" else -1
        text = node.text()

        def shift(env: Env) -> Any:
            day, duration = as_date(lf(env)), rf(env)
            if day is MISSING or duration is MISSING:
                return MISSING
            try:
                return add_duration(day, duration, sign)
            except (OverflowError, ValueError):
                env.absent.append(f"{text!r} falls outside the calendar (years 1 to 9999)")
                return MISSING

        return Compiled(shift, DATE)
    require(left.type, {"number"}, node.left, f"'{op}' needs")
    require(right.type, {"number"}, node.right, f"'{op}' needs")
    text = node.text()

    def arithmetic(env: Env) -> Any:
        a, b = lf(env), rf(env)
        if a is MISSING or b is MISSING:
            return MISSING
        if op == "+":
            return finite(a + b, env, text)
        if op == "-":
            return finite(a - b, env, text)
        if op == "*":
            return finite(a * b, env, text)
        if b == 0:
            env.absent.append(f"division by zero in {text!r}")
            return MISSING
        try:
            return finite(a / b, env, text)
        except OverflowError:  # int / int beyond a float
            env.absent.append(f"{text!r} is too large a number to compute")
            return MISSING

    return Compiled(arithmetic, NUMBER)

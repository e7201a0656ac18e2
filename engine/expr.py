"""The rule expression language: parsed by hand, type-checked against the package schema, compiled to closures.

Never `eval`: the source is tokenised and parsed into a small tree, then each node becomes a Python
closure. The tree is kept, so the relational compiler (engine.relations) can turn suitable conditions
into durable-rules patterns instead. docs/semantics.md is the contract this module follows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from engine import units as units_module
from engine.shapes import ANY_SHAPE, Shape


class ExprError(Exception):
    """A syntax or type error at a character offset of the expression source."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "missing"

    def __bool__(self) -> bool:
        raise TypeError("missing has no truth value")


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Months:
    """A calendar duration: adding it to a date moves the month and clamps the day (31 Jan + 1 month = 28/29 Feb)."""

    count: int


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|[<>+\-*/(),.\[\]])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, keyword, end
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if not match:
            start = len(source) - len(source[pos:].lstrip())
            raise ExprError(f"unexpected character {source[start]!r}", start)
        kind = match.lastgroup or ""
        text = match.group(kind)
        start = match.start(kind)
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        tokens.append(Token(kind, text, start))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# ---------------------------------------------------------------- tree


@dataclass(eq=False)
class Node:
    pos: int
    end: int = field(default=0, init=False)
    source: str = field(default="", init=False, repr=False)

    def text(self) -> str:
        return self.source[self.pos : self.end]


@dataclass(eq=False)
class Literal(Node):
    value: Any


@dataclass(eq=False)
class ListOf(Node):
    items: list[Node]


@dataclass(eq=False)
class Path(Node):
    root: str  # "package", "item", "element", "params" or "defs"
    parts: list[str]


@dataclass(eq=False)
class Unary(Node):
    op: str
    operand: Node


@dataclass(eq=False)
class Binary(Node):
    op: str  # + - * / == != < <= > >= in "not in" and or
    left: Node
    right: Node


@dataclass(eq=False)
class Call(Node):
    name: str
    args: list[Node]


def parse(source: str, *, item_name: str | None = None) -> Node:
    """Parse an expression. `item_name` is "item" inside a rule that iterates (for_each), else None."""
    parser = _Parser(source, tokenize(source), item_name)
    node = parser.expression()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise ExprError(f"unexpected {token.text!r} after a complete expression", token.pos)
    return node


_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


class _Parser:
    def __init__(self, source: str, tokens: list[Token], item_name: str | None) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.item_name = item_name

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token.text != text or token.kind not in ("op", "keyword"):
            found = "the end of the expression" if token.kind == "end" else repr(token.text)
            raise ExprError(f"expected {text!r} but found {found}", token.pos)
        return self.take()

    def finish(self, node: Node, start: int) -> Node:
        node.pos = start
        node.end = self.tokens[self.index - 1].pos + len(self.tokens[self.index - 1].text)
        node.source = self.source
        return node

    def expression(self) -> Node:
        return self.disjunction()

    def disjunction(self) -> Node:
        start = self.peek().pos
        node = self.conjunction()
        while self.peek().text == "or" and self.peek().kind == "keyword":
            self.take()
            node = self.finish(Binary(start, "or", node, self.conjunction()), start)
        return node

    def conjunction(self) -> Node:
        start = self.peek().pos
        node = self.negation()
        while self.peek().text == "and" and self.peek().kind == "keyword":
            self.take()
            node = self.finish(Binary(start, "and", node, self.negation()), start)
        return node

    def negation(self) -> Node:
        token = self.peek()
        if token.kind == "keyword" and token.text == "not":
            self.take()
            return self.finish(Unary(token.pos, "not", self.negation()), token.pos)
        return self.comparison()

    def comparison(self) -> Node:
        start = self.peek().pos
        node = self.additive()
        token = self.peek()
        if token.kind == "op" and token.text in _COMPARISONS:
            self.take()
            node = self.finish(Binary(start, token.text, node, self.additive()), start)
        elif token.kind == "keyword" and token.text == "in":
            self.take()
            node = self.finish(Binary(start, "in", node, self.additive()), start)
        elif token.kind == "keyword" and token.text == "not" and self.peek(1).text == "in":
            self.take()
            self.take()
            node = self.finish(Binary(start, "not in", node, self.additive()), start)
        token = self.peek()
        if token.kind == "op" and token.text in _COMPARISONS or token.text == "in":
            raise ExprError("comparisons do not chain: join them with 'and'", token.pos)
        return node

    def additive(self) -> Node:
        start = self.peek().pos
        node = self.multiplicative()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take().text
            node = self.finish(Binary(start, op, node, self.multiplicative()), start)
        return node

    def multiplicative(self) -> Node:
        start = self.peek().pos
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take().text
            node = self.finish(Binary(start, op, node, self.unary()), start)
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.take()
            return self.finish(Unary(token.pos, "-", self.unary()), token.pos)
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        start = token.pos
        if token.kind == "number":
            value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            return self.finish(Literal(start, value), start)
        if token.kind == "string":
            return self.finish(Literal(start, _unquote(token.text)), start)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return self.finish(Literal(start, {"true": True, "false": False, "null": None}[token.text]), start)
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            items: list[Node] = []
            if self.peek().text != "]":
                items.append(self.expression())
                while self.peek().text == ",":
                    self.take()
                    items.append(self.expression())
            self.expect("]")
            return self.finish(ListOf(start, items), start)
        if token.kind == "op" and token.text == ".":
            parts = self.dotted_rest() if self.peek().kind == "name" else []
            return self.finish(Path(start, "element", parts), start)
        if token.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                self.take()
                args: list[Node] = []
                if self.peek().text != ")":
                    args.append(self.expression())
                    while self.peek().text == ",":
                        self.take()
                        args.append(self.expression())
                self.expect(")")
                return self.finish(Call(start, token.text, args), start)
            parts = [token.text]
            if self.peek().text == "." and self.peek().kind == "op":
                self.take()
                parts += self.dotted_rest()
            if parts[0] in ("params", "defs"):
                if len(parts) != 2:
                    raise ExprError(f"a {'parameter' if parts[0] == 'params' else 'definition'} is written {parts[0]}.NAME", start)
                return self.finish(Path(start, parts[0], parts[1:]), start)
            if self.item_name and parts[0] == self.item_name:
                return self.finish(Path(start, "item", parts[1:]), start)
            return self.finish(Path(start, "package", parts), start)
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        raise ExprError(f"expected a value but found {found}", token.pos)

    def dotted_rest(self) -> list[str]:
        token = self.take()
        if token.kind != "name":
            raise ExprError("expected a field name after '.'", token.pos)
        parts = [token.text]
        while self.peek().text == "." and self.peek().kind == "op":
            self.take()
            token = self.take()
            if token.kind != "name":
                raise ExprError("expected a field name after '.'", token.pos)
            parts.append(token.text)
        return parts


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# ---------------------------------------------------------------- types


@dataclass(frozen=True)
class Type:
    kind: str  # number string boolean date duration list object any null
    shape: Shape = ANY_SHAPE  # for list: the element shape; for object: its own shape

    def __str__(self) -> str:
        return self.kind


ANY = Type("any")
NUMBER = Type("number")
STRING = Type("string")
BOOLEAN = Type("boolean")
DATE = Type("date")
DURATION = Type("duration")
NULL = Type("null")


def type_of_shape(shape: Shape) -> Type:
    kind = shape.kind
    if kind == "array":
        return Type("list", shape.items() or ANY_SHAPE)
    if kind == "object":
        return Type("object", shape)
    return Type(kind, shape)


def _literal_type(value: Any) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return ANY


# ---------------------------------------------------------------- evaluation environment


Frame = tuple[Any, str, int]  # an element, its collection's pointer and its index; index -1: the pointer is the element's own


class Env:
    """What a compiled expression reads at run time. `trace` is a list while explaining, else None."""

    __slots__ = ("package", "item", "item_pointer", "elements", "params", "trace", "deciding", "absent", "memo")

    def __init__(self, package: Any, params: dict[str, Any], item: Any = None, item_pointer: str = "") -> None:
        self.package = package
        self.params = params
        self.item = item
        self.item_pointer = item_pointer
        self.elements: list[Frame] = []
        self.trace: list[dict] | None = None
        self.deciding: list[str] = []  # while explaining: the elements that decided the last all/any/none
        self.absent: list[str] = []  # why a value was missing: pointers and unset parameters
        self.memo: dict[Node, Any] | None = None  # values of item-independent subexpressions, while one rule runs over one package


def escape_pointer_part(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@dataclass
class Scope:
    """What names mean while compiling one rule."""

    package: Shape
    params: dict[str, Type]
    item: Shape | None = None
    item_collection: str | None = None  # the for_each path, so others(...) can tell it apart
    elements: list[Shape] = field(default_factory=list)
    definitions: dict[str, Node] = field(default_factory=dict)  # the ruleset's named expressions, read as defs.NAME
    expanding: list[str] = field(default_factory=list)  # definitions being compiled, to refuse a cycle


Fn = Callable[[Env], Any]


@dataclass
class Compiled:
    fn: Fn
    type: Type


def compile_expression(node: Node, scope: Scope, *, traced: bool = False) -> Compiled:
    """Type-check `node` against `scope` and build its closure. With traced=True every node outside an
    aggregate's per-element expression appends {expr, value, pointer?, elements?} to env.trace."""
    return _Compiler(scope, traced).compile(node, depth=0)


class _Compiler:
    def __init__(self, scope: Scope, traced: bool) -> None:
        self.scope = scope
        self.traced = traced
        self.hoisting = False  # compiling inside a subexpression already computed once per package

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
        if self.traced and not in_element and not isinstance(node, (Literal, ListOf)):
            compiled = Compiled(_tracing(compiled.fn, node, depth), compiled.type)
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
        return Compiled(lambda env: value, _literal_type(value))

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
            _require(operand.type, {"boolean"}, node.operand, "'not' needs")

            def negate(env: Env) -> Any:
                value = inner(env)
                return MISSING if value is MISSING else not value

            return Compiled(negate, BOOLEAN)
        _require(operand.type, {"number"}, node.operand, "'-' needs")

        def minus(env: Env) -> Any:
            value = inner(env)
            return MISSING if value is MISSING else -value

        return Compiled(minus, NUMBER)

    def _binary(self, node: Binary, depth: int, in_element: bool) -> Compiled:
        left = self.compile(node.left, depth + 1, in_element)
        right = self.compile(node.right, depth + 1, in_element)
        lf, rf = left.fn, right.fn
        if node.op in ("and", "or"):
            _require(left.type, {"boolean"}, node.left, f"'{node.op}' needs")
            _require(right.type, {"boolean"}, node.right, f"'{node.op}' needs")
            return Compiled(_and(lf, rf) if node.op == "and" else _or(lf, rf), BOOLEAN)
        if node.op in ("in", "not in"):
            _require(right.type, {"list"}, node.right, f"'{node.op}' needs")
            negated = node.op == "not in"

            def member(env: Env) -> Any:
                needle, haystack = lf(env), rf(env)
                if needle is MISSING or haystack is MISSING:
                    return MISSING
                return (needle in haystack) != negated

            return Compiled(member, BOOLEAN)
        if node.op in _COMPARISONS:
            return Compiled(_comparison(node, left.type, right.type, lf, rf), BOOLEAN)
        return _arithmetic(node, left, right)

    # -- functions

    def _call(self, node: Call, depth: int, in_element: bool) -> Compiled:
        spec = _FUNCTIONS.get(node.name)
        if spec is None:
            raise ExprError(f"unknown function {node.name!r} (known: {', '.join(sorted(_FUNCTIONS))})", node.pos)
        return spec(self, node, depth, in_element)

    def element_expression(self, collection: Compiled, node: Node, depth: int) -> Compiled:
        self.scope.elements.append(collection.type.shape)
        try:
            return self.compile(node, depth + 1, in_element=True)
        finally:
            self.scope.elements.pop()


def _require(actual: Type, kinds: set[str], node: Node, what: str) -> None:
    if actual.kind not in kinds and actual.kind != "any":
        raise ExprError(f"{what} {' or '.join(sorted(kinds))}, but {node.text()!r} is {actual}", node.pos)


def children(node: Node) -> list[Node]:
    """The direct subexpressions of `node`."""
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, ListOf):
        return list(node.items)
    return []


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


def pointer_of(node: Path, env: Env) -> str:
    """The JSON pointer a path reads in this environment."""
    if node.root == "item":
        base = env.item_pointer
    elif node.root == "element":
        base = _frame_pointer(env.elements[-1])
    else:
        base = ""
    return base + "".join("/" + escape_pointer_part(p) for p in node.parts)


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
            env.absent.append((_frame_pointer(env.elements[-1]) if base is None else base) + suffix)
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


def as_date(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return MISSING


def add_duration(day: dt.date, duration: Any, sign: int) -> dt.date:
    if isinstance(duration, Months):
        months = day.year * 12 + day.month - 1 + sign * duration.count
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return dt.date(year, month + 1, min(day.day, last))
    return day + sign * duration


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

        def shift(env: Env) -> Any:
            day, duration = as_date(lf(env)), rf(env)
            return MISSING if day is MISSING or duration is MISSING else add_duration(day, duration, sign)

        return Compiled(shift, DATE)
    _require(left.type, {"number"}, node.left, f"'{op}' needs")
    _require(right.type, {"number"}, node.right, f"'{op}' needs")
    text = node.text()

    def arithmetic(env: Env) -> Any:
        a, b = lf(env), rf(env)
        if a is MISSING or b is MISSING:
            return MISSING
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            env.absent.append(f"division by zero in {text!r}")
            return MISSING
        return a / b

    return Compiled(arithmetic, NUMBER)


# ---------------------------------------------------------------- functions


def _arity(node: Call, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(node.args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise ExprError(f"{node.name}() takes {wanted} argument(s), got {len(node.args)}", node.pos)


def _collection(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    collection = c.compile(node.args[0], depth + 1, in_element)
    _require(collection.type, {"list"}, node.args[0], f"{node.name}() needs a list as first argument;")
    return collection


def _aggregate(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """sum, count, min, max, all, any, none over a list. all/any/none/count take a per-element condition;
    sum/min/max take the per-element value to fold and, third, an optional condition that filters elements."""
    name = node.name
    if name in ("all", "any", "none"):
        _arity(node, 2)
    elif name == "count":
        _arity(node, 1, 2)
    else:
        _arity(node, 1, 3)
    collection = _collection(c, node, depth, in_element)
    per_element = c.element_expression(collection, node.args[1], depth) if len(node.args) >= 2 else None
    condition = c.element_expression(collection, node.args[2], depth) if len(node.args) == 3 else None
    if name in ("all", "any", "none", "count") and per_element is not None:
        _require(per_element.type, {"boolean"}, node.args[1], f"{name}() needs a condition:")
        condition, per_element = per_element, None
    if condition is not None:
        _require(condition.type, {"boolean"}, node.args[-1], f"{name}() filters with a condition:")
    if name == "sum":
        if per_element is not None:
            _require(per_element.type, {"number"}, node.args[1], "sum() adds numbers;")
        elif collection.type.shape.kind not in ("number", "any"):
            raise ExprError("sum() of a list of objects needs the field to add, e.g. sum(lines, .tco2e)", node.pos)
    collect, pointer_fn = collection.fn, _base_pointer(node.args[0])
    value_fn = per_element.fn if per_element else None
    test_fn = condition.fn if condition else None
    result_type = NUMBER if name in ("sum", "count") else BOOLEAN
    if name in ("min", "max"):
        result_type = per_element.type if per_element else type_of_shape(collection.type.shape)

    def aggregate(env: Env) -> Any:
        values = collect(env)
        if values is MISSING:
            return MISSING
        tested: list[tuple[Any, Frame]] = []  # (condition result, element) for all/any/none/count
        folded: list[Any] = []
        for frame in _frames(values, pointer_fn(env)):
            env.elements.append(frame)
            value = frame[0]
            try:
                if test_fn is not None:
                    verdict = test_fn(env)
                    if name in ("all", "any", "none", "count"):
                        tested.append((verdict, frame))
                        continue
                    if verdict is MISSING:
                        return MISSING
                    if verdict is False:
                        continue
                folded.append(value_fn(env) if value_fn else value)
            finally:
                env.elements.pop()
        if test_fn is not None and name in ("all", "any", "none", "count"):
            return _decide(name, tested, env)
        if name == "count":
            return len(folded)
        return _fold(name, folded, env)

    return Compiled(aggregate, result_type)


def _decide(name: str, tested: list[tuple[Any, Frame]], env: Env) -> Any:
    """all/any/none/count over per-element conditions; an unknown element leaves the answer unknown
    only when the known ones do not settle it."""
    unknown = any(verdict is MISSING for verdict, _ in tested)
    true_at = [frame for verdict, frame in tested if verdict is True]
    if name == "count":
        return MISSING if unknown else len(true_at)
    false_at = [frame for verdict, frame in tested if verdict is False]
    if name == "all":
        decided, deciding = (False, false_at) if false_at else (MISSING if unknown else True, [])
    elif name == "any":
        decided, deciding = (True, true_at) if true_at else (MISSING if unknown else False, [])
    else:
        decided, deciding = (False, true_at) if true_at else (MISSING if unknown else True, [])
    if env.trace is not None:
        env.deciding = [_frame_pointer(frame) for frame in deciding]
    return decided


def _fold(name: str, values: list[Any], env: Env) -> Any:
    if any(value is MISSING for value in values):
        return MISSING
    if name == "sum":
        return sum(values)
    if not values:
        env.absent.append(f"{name}() of an empty list")
        return MISSING
    return min(values) if name == "min" else max(values)


def _base_pointer(node: Node) -> Callable[[Env], str]:
    if isinstance(node, Path):
        return lambda env: pointer_of(node, env)
    if isinstance(node, Call) and node.name == "others" and isinstance(node.args[0], Path):
        inner = node.args[0]
        return lambda env: pointer_of(inner, env)
    return lambda env: ""


def _others(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """The rule's own collection without the current item: "no other batch overlaps this one"."""
    _arity(node, 1)
    target = node.args[0]
    if c.scope.item is None or not isinstance(target, Path) or target.root != "package" or ".".join(target.parts) != c.scope.item_collection:
        raise ExprError(f"others() takes the rule's own for_each collection ({c.scope.item_collection or 'none'})", node.pos)
    collection = _collection(c, node, depth, in_element)
    collect = collection.fn
    base = "".join("/" + escape_pointer_part(p) for p in target.parts)

    def others(env: Env) -> Any:
        values = collect(env)
        if values is MISSING:
            return MISSING
        skip = env.item_pointer
        return _Others(values, base, skip)

    return Compiled(others, collection.type)


class _Others(list):
    """A list that keeps the original positions of its elements, so pointers stay true."""

    def __init__(self, values: list, base: str, skip: str) -> None:
        kept = [(v, f"{base}/{i}") for i, v in enumerate(values) if f"{base}/{i}" != skip]
        super().__init__(v for v, _ in kept)
        self.pointers = [p for _, p in kept]


def _frames(values: Any, base_pointer: str) -> Iterator[Frame]:
    """The elements an aggregate walks, with where each is; its pointer is only spelt out when it is needed."""
    if isinstance(values, _Others):
        return zip(values, values.pointers, itertools.repeat(-1))
    return ((value, base_pointer, index) for index, value in enumerate(values))


def _frame_pointer(frame: Frame) -> str:
    return frame[1] if frame[2] < 0 else f"{frame[1]}/{frame[2]}"


def _exists(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    _arity(node, 1)
    target = node.args[0]
    if not isinstance(target, Path):
        raise ExprError(f"{node.name}() takes a field, like {node.name}(engagement.criteria)", node.pos)
    inner = c.compile(target, depth + 1, in_element).fn
    present_means = node.name == "exists"

    def exists(env: Env) -> Any:
        mark = len(env.absent)
        present = inner(env) is not MISSING
        del env.absent[mark:]  # absence is the answer here, not a reason the rule could not run
        return present == present_means

    return Compiled(exists, BOOLEAN)


def _approx(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """approx(a, b, rel): |a - b| <= rel × max(|a|, |b|); two zeros are equal."""
    _arity(node, 3)
    parts = [c.compile(arg, depth + 1, in_element) for arg in node.args]
    for arg, part in zip(node.args, parts):
        _require(part.type, {"number"}, arg, "approx() needs")
    a_fn, b_fn, tol_fn = (p.fn for p in parts)

    def approx(env: Env) -> Any:
        a, b, tolerance = a_fn(env), b_fn(env), tol_fn(env)
        if a is MISSING or b is MISSING or tolerance is MISSING:
            return MISSING
        return abs(a - b) <= tolerance * max(abs(a), abs(b))

    return Compiled(approx, BOOLEAN)


def _date(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    _arity(node, 1)
    arg = node.args[0]
    if not isinstance(arg, Literal) or as_date(arg.value) is MISSING:
        raise ExprError("date() takes a literal 'YYYY-MM-DD'", node.pos)
    day = as_date(arg.value)
    return Compiled(lambda env: day, DATE)


def _duration(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    _arity(node, 1)
    count = c.compile(node.args[0], depth + 1, in_element)
    _require(count.type, {"number"}, node.args[0], f"{node.name}() needs")
    count_fn, unit = count.fn, node.name

    def duration(env: Env) -> Any:
        n = count_fn(env)
        if n is MISSING:
            return MISSING
        if unit == "days":
            return dt.timedelta(days=n)
        return Months(int(n) * (12 if unit == "years" else 1))

    return Compiled(duration, DURATION)


def _unary_function(kind_in: str, kind_out: Type, apply: Callable[[Any], Any]):
    def build(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
        _arity(node, 1)
        arg = c.compile(node.args[0], depth + 1, in_element)
        _require(arg.type, {kind_in}, node.args[0], f"{node.name}() needs")
        fn = arg.fn
        return Compiled(lambda env: MISSING if (v := fn(env)) is MISSING else apply(v), kind_out)

    return build


def _contains(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """contains(text, part): case-insensitive substring test, for claim and statement wording."""
    _arity(node, 2)
    text, part = (c.compile(arg, depth + 1, in_element) for arg in node.args)
    _require(text.type, {"string"}, node.args[0], "contains() needs")
    _require(part.type, {"string"}, node.args[1], "contains() needs")
    tf, pf = text.fn, part.fn

    def contains(env: Env) -> Any:
        a, b = tf(env), pf(env)
        return MISSING if a is MISSING or b is MISSING else b.casefold() in a.casefold()

    return Compiled(contains, BOOLEAN)


def _values(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """values(xs, .field): the list of one field of every element, for membership tests such as
    `item.leader_id in values(team.members, .id)`. An element lacking the field is left out."""
    _arity(node, 2)
    collection = _collection(c, node, depth, in_element)
    per_element = c.element_expression(collection, node.args[1], depth)
    collect, value_fn, pointer_fn = collection.fn, per_element.fn, _base_pointer(node.args[0])

    def values(env: Env) -> Any:
        items = collect(env)
        if items is MISSING:
            return MISSING
        found = []
        mark = len(env.absent)
        for frame in _frames(items, pointer_fn(env)):
            env.elements.append(frame)
            try:
                picked = value_fn(env)
            finally:
                env.elements.pop()
            if picked is not MISSING:
                found.append(picked)
        del env.absent[mark:]  # an element without the field is simply not among the values
        return found

    return Compiled(values, Type("list", _shape_of_type(per_element.type)))


def _without(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """without(xs, ys): the elements of xs that are not in ys, e.g. the required topics a plan leaves out."""
    _arity(node, 2)
    wanted = _collection(c, node, depth, in_element)
    present = c.compile(node.args[1], depth + 1, in_element)
    _require(present.type, {"list"}, node.args[1], "without() needs a list as second argument;")
    wf, pf = wanted.fn, present.fn

    def without(env: Env) -> Any:
        xs, ys = wf(env), pf(env)
        if xs is MISSING or ys is MISSING:
            return MISSING
        return [x for x in xs if x not in ys]

    return Compiled(without, wanted.type)


def _shape_of_type(value_type: Type) -> Shape:
    return value_type.shape if value_type.kind not in ("any", "null") else ANY_SHAPE


def _if(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """if(condition, then, else): choose between two values of one type, e.g. the materiality base."""
    _arity(node, 3)
    condition, then, other = (c.compile(arg, depth + 1, in_element) for arg in node.args)
    _require(condition.type, {"boolean"}, node.args[0], "if() needs")
    kinds = {then.type.kind, other.type.kind} - {"any", "null"}
    if len(kinds) > 1:
        raise ExprError(f"if() chooses between values of one type, not {then.type} and {other.type}", node.pos)
    cf, tf, of = condition.fn, then.fn, other.fn

    def choose(env: Env) -> Any:
        decided = cf(env)
        if decided is MISSING:
            return MISSING
        return tf(env) if decided else of(env)

    return Compiled(choose, then.type if then.type.kind not in ("any", "null") else other.type)


def _unit_argument(c: _Compiler, arg: Node, depth: int, in_element: bool, name: str) -> Compiled:
    """A unit: one unit string, or a list of unit strings that multiply."""
    compiled = c.compile(arg, depth + 1, in_element)
    _require(compiled.type, {"string", "list"}, arg, f"{name}() needs a unit or a list of units as")
    return compiled


def _convert(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """convert(value, unit(s), target): `value` in the product of the units, expressed in `target`.
    An unknown or incompatible unit gives missing, with the reason (engine.units)."""
    _arity(node, 3)
    value = c.compile(node.args[0], depth + 1, in_element)
    _require(value.type, {"number"}, node.args[0], "convert() needs")
    units = _unit_argument(c, node.args[1], depth, in_element, "convert")
    target = _unit_argument(c, node.args[2], depth, in_element, "convert")
    vf, uf, tf = value.fn, units.fn, target.fn

    def convert(env: Env) -> Any:
        amount, unit, to = vf(env), uf(env), tf(env)
        if amount is MISSING or unit is MISSING or to is MISSING or not _all_strings(unit):
            return MISSING
        try:
            return units_module.convert(amount, unit, to)
        except units_module.UnitProblem as problem:
            env.absent.append(str(problem))
            return MISSING

    return Compiled(convert, NUMBER)


def _convertible(c: _Compiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """convertible(unit(s), target): true when the units are known and convert to `target`."""
    _arity(node, 2)
    units = _unit_argument(c, node.args[0], depth, in_element, "convertible")
    target = _unit_argument(c, node.args[1], depth, in_element, "convertible")
    uf, tf = units.fn, target.fn

    def convertible(env: Env) -> Any:
        unit, to = uf(env), tf(env)
        if unit is MISSING or to is MISSING or not _all_strings(unit):
            return MISSING
        return units_module.convertible(unit, to)

    return Compiled(convertible, BOOLEAN)


def _all_strings(unit: Any) -> bool:
    return isinstance(unit, str) or (isinstance(unit, list) and all(isinstance(u, str) for u in unit))


_FUNCTIONS: dict[str, Callable[[_Compiler, Call, int, bool], Compiled]] = {
    "sum": _aggregate,
    "count": _aggregate,
    "min": _aggregate,
    "max": _aggregate,
    "all": _aggregate,
    "any": _aggregate,
    "none": _aggregate,
    "others": _others,
    "exists": _exists,
    "missing": _exists,
    "approx": _approx,
    "date": _date,
    "days": _duration,
    "months": _duration,
    "years": _duration,
    "abs": _unary_function("number", NUMBER, abs),
    "lower": _unary_function("string", STRING, str.casefold),
    "year": _unary_function("date", NUMBER, lambda day: MISSING if (parsed := as_date(day)) is MISSING else parsed.year),
    "contains": _contains,
    "values": _values,
    "without": _without,
    "if": _if,
    "convert": _convert,
    "convertible": _convertible,
}

FUNCTION_NAMES = frozenset(_FUNCTIONS)

"""Static types of expressions, read from the package schema's shapes, what a compiled node gives, and what
names mean while compiling (Scope)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Protocol

from vericarbon.evidence.shapes import ANY_SHAPE, Shape
from vericarbon.lang.nodes import Node
from vericarbon.lang.tokens import ExprError

if TYPE_CHECKING:
    from vericarbon.lang.runtime import Env


class Type(NamedTuple):
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


def literal_type(value: Any) -> Type:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return ANY


Fn = Callable[["Env"], Any]


@dataclass
class Compiled:
    fn: Fn
    type: Type


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


class ArgumentCompiler(Protocol):
    """What a built-in function's builder (vericarbon.lang.functions) asks of the compiler: the scope, and
    its arguments compiled. The compiler finds the builders by name; they know it only by this shape, so
    the two modules do not import each other."""

    scope: Scope

    def compile(self, node: Node, depth: int, in_element: bool = False) -> Compiled: ...

    def element_expression(self, collection: Compiled, node: Node, depth: int) -> Compiled:
        """`node` compiled once per element of `collection`, with `.field` reading that element."""


def require(actual: Type, kinds: set[str], node: Node, what: str) -> None:
    if actual.kind not in kinds and actual.kind != "any":
        raise ExprError(f"{what} {' or '.join(sorted(kinds))}, but {node.text()!r} is {actual}", node.pos)

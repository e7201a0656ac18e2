"""Static types of expressions, read from the package schema's shapes, and what a compiled node gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

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


def require(actual: Type, kinds: set[str], node: Node, what: str) -> None:
    if actual.kind not in kinds and actual.kind != "any":
        raise ExprError(f"{what} {' or '.join(sorted(kinds))}, but {node.text()!r} is {actual}", node.pos)

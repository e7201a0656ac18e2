"""The expression tree: each node keeps its span of the source, so errors and explain traces quote the rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


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

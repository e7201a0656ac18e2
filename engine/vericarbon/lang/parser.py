"""A precedence-climbing parser from tokens to the expression tree; one method per precedence level."""

from __future__ import annotations

import re
from typing import Callable

from vericarbon.lang.nodes import COMPARISONS, Binary, Call, ListOf, Literal, Node, Path, Unary, children
from vericarbon.lang.tokens import ExprError, Token, tokenize


# How deeply an expression may nest (parentheses, calls, lists, not, minus, and chains such as a + b + c):
# the parser and the compilers recurse once per level, so a hostile ruleset must not reach Python's limit.
# The built-in rulesets nest at most 20 deep.
MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 100  # a literal longer than this is no figure; int() refuses beyond 4300 digits anyway


def parse(source: str, *, item_name: str | None = None) -> Node:
    """Parse an expression. `item_name` is "item" inside a rule that iterates (for_each), else None."""
    parser = _Parser(source, tokenize(source), item_name)
    node = parser.expression()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise ExprError(f"unexpected {token.text!r} after a complete expression", token.pos)
    _check_depth(node)
    return node


def _check_depth(root: Node) -> None:
    """Refuse a tree deeper than MAX_DEPTH (a long chain of operators parses without recursion, but is as
    deep as it is long), walked without recursion."""
    pending = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ExprError(f"nested more than {MAX_DEPTH} levels deep (split it into definitions)", node.pos)
        pending += [(child, depth + 1) for child in children(node)]


class _Parser:
    def __init__(self, source: str, tokens: list[Token], item_name: str | None) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.item_name = item_name
        self.depth = 0  # levels of expression(), not and minus open: each recurses

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
        return self.deeper(self.disjunction)

    def deeper(self, parse_level: Callable[[], Node]) -> Node:
        """parse_level one level deeper, refused beyond MAX_DEPTH before Python's recursion limit is near."""
        if self.depth >= MAX_DEPTH:
            raise ExprError(f"nested more than {MAX_DEPTH} levels deep (split it into definitions)", self.peek().pos)
        self.depth += 1
        try:
            return parse_level()
        finally:
            self.depth -= 1

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
            return self.finish(Unary(token.pos, "not", self.deeper(self.negation)), token.pos)
        return self.comparison()

    def comparison(self) -> Node:
        start = self.peek().pos
        node = self.additive()
        token = self.peek()
        if token.kind == "op" and token.text in COMPARISONS:
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
        if token.kind == "op" and token.text in COMPARISONS or token.text == "in":
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
            return self.finish(Unary(token.pos, "-", self.deeper(self.unary)), token.pos)
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        start = token.pos
        if token.kind == "number":
            if len(token.text) > MAX_NUMBER_DIGITS:
                raise ExprError(f"a number of more than {MAX_NUMBER_DIGITS} characters", token.pos)
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

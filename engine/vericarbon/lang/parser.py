"""A precedence-climbing parser from tokens to the expression tree; one method per precedence level."""

from __future__ import annotations

import re

from vericarbon.lang.nodes import COMPARISONS, Binary, Call, ListOf, Literal, Node, Path, Unary
from vericarbon.lang.tokens import ExprError, Token, tokenize


def parse(source: str, *, item_name: str | None = None) -> Node:
    """Parse an expression. `item_name` is "item" inside a rule that iterates (for_each), else None."""
    parser = _Parser(source, tokenize(source), item_name)
    node = parser.expression()
    if parser.peek().kind != "end":
        token = parser.peek()
        raise ExprError(f"unexpected {token.text!r} after a complete expression", token.pos)
    return node


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

"""YAML read as JSON would read it, safely: the loader parse_document uses for a document that is not
JSON. Kept apart so that a run whose rulesets come from the parse cache never imports PyYAML."""

from __future__ import annotations

import re
from typing import Any

import yaml

from vericarbon.errors import InputError
from vericarbon.limits import MAX_NESTING

MAX_ALIAS_GROWTH = 10  # aliases may repeat a part of a document, not multiply it (an "alias bomb")


def parse_yaml(name: str, text: str) -> Any:
    """The data of a YAML text; a malformed or hostile one is an InputError naming its line."""
    loader = _PlainLoader(text)
    loader.may_alias = bool(_ALIAS.search(text))
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(name, f"malformed YAML: {error.problem}", where) from None
    except yaml.YAMLError as error:
        raise InputError(name, f"malformed YAML: {error}") from None
    finally:
        loader.dispose()


class _PlainLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parses rulesets ~10x faster when present
    """Safe YAML read as JSON would read it: dates stay strings, and only true/false are booleans, so a
    country code NO or an answer "no" stays a string (YAML 1.1 would make them false). The node graph is
    checked before anything is built from it: no alias that contains itself, no duplicate key, no deeper
    nesting than JSON allows, and aliases that expand the document at most MAX_ALIAS_GROWTH-fold."""

    may_alias = True  # parse_document clears it for a text that holds no alias

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self.may_alias:
            _check_graph(node)
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        for key, _ in node.value:
            if key.tag == _MERGE:  # refused, not merged: YAML 1.1's merge rules are easy to misread, and JSON has none
                _refuse(key, "a merge key (<<) is not read here: write the mapping's keys out")
            if key.tag != _TEXT:  # JSON keys are text; `true:` or `1:` would become a key JSON cannot hold
                _refuse(key, f"a mapping key must be text; write {key.value!r} in quotes" if isinstance(key, yaml.ScalarNode) else "a mapping key must be text")
        keys = [key.value for key, _ in node.value]
        if len(keys) != len(set(keys)):
            repeated = next(key for key in keys if keys.count(key) > 1)
            _refuse(node, f"the key {repeated!r} appears twice in one mapping (which value is meant?)")
        return super().construct_mapping(node, deep)


# An alias is `*name` after a space, a line start or a flow indicator; `a * b` in a rule is not one. Only
# a document that may hold one is walked for cycles and expansion (the walk costs ~40 ms per ruleset).
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s,\]}]")


def _check_graph(root: yaml.Node) -> None:
    """One pass over the node graph, each distinct node once: its expanded size (what building and
    validating it would walk), cycles and depth. Raises yaml.MarkedYAMLError through _refuse, with the
    node's line."""
    expanded: dict[int, int] = {}  # node id -> nodes it stands for once expanded
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(child)] for child in children)
            continue
        if key in expanded:
            continue
        if key in on_path:
            _refuse(node, "an alias refers to the node that contains it (the document would be infinite)")
        if depth > MAX_NESTING:
            _refuse(node, f"nested more than {MAX_NESTING} levels deep")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))
    distinct = len(expanded)
    if expanded[id(root)] > MAX_ALIAS_GROWTH * distinct + 10_000:
        _refuse(root, f"aliases expand {distinct} nodes into {expanded[id(root)]}: more than {MAX_ALIAS_GROWTH}-fold (an alias bomb?)")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(node: yaml.Node, problem: str) -> None:
    raise yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)


def _not_json(loader: _PlainLoader, node: yaml.Node) -> None:
    _refuse(node, f"a value tagged {node.tag.replace('tag:yaml.org,2002:', '!!')} is not JSON data: write it as text in quotes")


_BOOLEAN, _MERGE, _TEXT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:str"
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):  # the safe loader's types beyond JSON's (a malformed !!timestamp crashed it)
    _PlainLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)
_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:timestamp", _BOOLEAN)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PlainLoader.add_implicit_resolver(_BOOLEAN, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

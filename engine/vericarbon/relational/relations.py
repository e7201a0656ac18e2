"""Relational rules on durable-rules: a per-item rule whose check relates the item to the elements of a
collection (`any(C, cond)`, `none(C, cond)`, `all(C, cond)`) becomes a join or an absence pattern.

The same check always has a Python closure too (vericarbon.lang); the two give the same answer by
construction: durable sees only the facts that carry every field the condition reads, and any item it
cannot settle on those facts alone is handed back to the closure. Conditions outside the subset below
stay in Python, and `rules show` says which engine a rule runs on and why.

Subset: comparisons `.field OP rhs` where rhs is built from item fields, literals, parameters, date()
and `+ - *` (dates take `+/- days(n)`), combined with and/or/not and `in [literals]`.

One shape is not sent to durable: the overlap join `none(C, .k == item.k and .start <= item.end and
.end >= item.start)`. Durable can only test it pair by pair (500 serial batches: ~110 ms); sorting the
elements by start and reading, per item, the slice that can reach it takes a few milliseconds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from vericarbon.evidence.documents import field_at
from vericarbon.lang import Binary, Call, ListOf, Literal, Node, Path, Unary, as_date, children
from vericarbon.relational.durable_session import MAX_EXPRESSIONS_PER_PATTERN, DurableRuleset, end_pattern

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_ARITHMETIC = {"+": "$add", "-": "$sub", "*": "$mul"}
_MAX_CONJUNCTS = 16


class NotRelational(Exception):
    """The check stays in Python; the message says why."""


class Atom(NamedTuple):
    field: tuple[str, ...]  # element field
    op: str
    rhs: Node
    value: Any = None  # rhs as durable JSON: a constant, {"i": item field} or {"$add": {"$l": .., "$r": ..}}


@dataclass
class RelationPlan:
    """How one rule runs on durable: which collections, which fields, which patterns."""

    rule_id: str
    quantifier: str  # any: fails when no element matches; none/all: fails per matching element
    items: tuple[str, ...]
    elements: tuple[str, ...]
    exclude_self: bool
    conjuncts: list[list[Atom]]
    item_fields: set[tuple[str, ...]] = field(default_factory=set)
    element_fields: set[tuple[str, ...]] = field(default_factory=set)
    date_fields: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    interval: "Interval | None" = None  # an overlap join, run as a sort-and-sweep instead of on durable

    @functools.cached_property
    def item_fact_fields(self) -> frozenset[str]:
        """The fields an item's fact must carry for the answer to stand for it (see Answer)."""
        return frozenset(_field_name(path) for path in self.item_fields)

    @functools.cached_property
    def element_fact_fields(self) -> frozenset[str]:
        return frozenset(_field_name(path) for path in self.element_fields)


@dataclass(frozen=True)
class Interval:
    """`none(C, .k == item.k and .start <= item.end and .end >= item.start)`: element and item ranges overlap."""

    keys: tuple[tuple[str, str], ...]  # (element fact field, item fact field) that must be equal
    start: str  # element fact field compared <= the item's end
    end: str  # element fact field compared >= the item's start
    item_start: str
    item_end: str

    @functools.cached_property
    def element_fact_fields(self) -> frozenset[str]:
        """The fields an element's fact must carry to be swept (as RelationPlan's, names in the fact)."""
        return frozenset({self.start, self.end, *(element for element, _ in self.keys)})

    @functools.cached_property
    def item_fact_fields(self) -> frozenset[str]:
        return frozenset({self.item_start, self.item_end, *(item for _, item in self.keys)})

    @functools.cached_property
    def element_key(self) -> Callable[[dict], Any]:
        """An element fact's key (the fields that must equal the item's), by operator.itemgetter: a
        generator building a tuple per fact was a third of a sweep."""
        return operator.itemgetter(*(element for element, _ in self.keys)) if self.keys else _no_key

    @functools.cached_property
    def item_key(self) -> Callable[[dict], Any]:
        return operator.itemgetter(*(item for _, item in self.keys)) if self.keys else _no_key


def _no_key(fact: dict) -> tuple:
    return ()


def plan(rule_id: str, item_collection: str, check: Node, params: dict[str, Any], date_paths: set[tuple[str, tuple[str, ...]]]) -> RelationPlan:
    """Plan a durable evaluation of `check`, or raise NotRelational. `date_paths` lists (side, path) of
    the fields the schema declares as dates, side being "item" or "element"."""
    if not (isinstance(check, Call) and check.name in ("any", "none", "all") and len(check.args) == 2):
        raise NotRelational("the check is not any/none/all over a collection")
    target = check.args[0]
    exclude_self = False
    if isinstance(target, Call) and target.name == "others":
        target, exclude_self = target.args[0], True
    if not (isinstance(target, Path) and target.root == "package"):
        raise NotRelational("the collection is not a package field")
    condition = check.args[1]
    if check.name == "all":
        condition = Unary(condition.pos, "not", condition)
    conjuncts = _dnf(condition, negated=False)
    if len(conjuncts) > _MAX_CONJUNCTS:
        raise NotRelational(f"the condition expands to more than {_MAX_CONJUNCTS} alternatives")
    found = RelationPlan(rule_id, "any" if check.name == "any" else "none", tuple(item_collection.split(".")), tuple(target.parts), exclude_self, conjuncts)
    for conjunct in conjuncts:
        if len(conjunct) + 2 > MAX_EXPRESSIONS_PER_PATTERN:
            raise NotRelational(f"a pattern would need more than {MAX_EXPRESSIONS_PER_PATTERN} expressions")
        for position, atom in enumerate(conjunct):
            found.element_fields.add(atom.field)
            conjunct[position] = Atom(atom.field, atom.op, atom.rhs, _rhs(atom.rhs, params, found))
    found.date_fields = {(side, path) for side, path in date_paths if path in (found.item_fields if side == "item" else found.element_fields)}
    found.interval = _interval(found)
    return found


def _interval(relation: RelationPlan) -> Interval | None:
    """The overlap-join shape, which durable can only run pairwise (quadratic), recognised for a sweep."""
    if relation.quantifier != "none" or len(relation.conjuncts) != 1:
        return None
    sides: dict[str, list[tuple[str, str]]] = {"==": [], "<=": [], ">=": []}
    for atom in relation.conjuncts[0]:
        if atom.op not in sides or not (isinstance(atom.value, dict) and set(atom.value) == {"i"}):
            return None
        sides[atom.op].append((_field_name(atom.field), atom.value["i"]))
    keys, starts, ends = sides["=="], sides["<="], sides[">="]
    if len(starts) != 1 or len(ends) != 1 or starts[0][0] == ends[0][0]:
        return None
    return Interval(tuple(keys), starts[0][0], ends[0][0], item_start=ends[0][1], item_end=starts[0][1])


def _dnf(node: Node, negated: bool) -> list[list[Atom]]:
    if isinstance(node, Unary) and node.op == "not":
        return _dnf(node.operand, not negated)
    if isinstance(node, Binary) and node.op in ("and", "or"):
        left, right = _dnf(node.left, negated), _dnf(node.right, negated)
        if (node.op == "or") != negated:
            return left + right
        return [a + b for a in left for b in right]
    if isinstance(node, Binary) and node.op in ("in", "not in") and isinstance(node.right, ListOf):
        positive = (node.op == "in") != negated
        atoms = [_atom(Binary(node.pos, "==" if positive else "!=", node.left, item)) for item in node.right.items]
        return [[a] for a in atoms] if positive else [atoms]
    if isinstance(node, Binary) and node.op in _FLIP:
        op = _NEGATE[node.op] if negated else node.op
        return [[_atom(Binary(node.pos, op, node.left, node.right))]]
    if isinstance(node, Path) and node.root == "element":
        return [[Atom(tuple(node.parts), "==", Literal(node.pos, not negated))]]
    raise NotRelational(f"{node.text() or type(node).__name__!r} is not a comparison durable-rules can join on")


def _atom(comparison: Binary) -> Atom:
    left_is_element = _is_element_field(comparison.left)
    right_is_element = _is_element_field(comparison.right)
    if left_is_element and not _mentions_element(comparison.right):
        return Atom(tuple(comparison.left.parts), comparison.op, comparison.right)  # type: ignore[attr-defined]
    if right_is_element and not _mentions_element(comparison.left):
        return Atom(tuple(comparison.right.parts), _FLIP[comparison.op], comparison.left)  # type: ignore[attr-defined]
    raise NotRelational("each comparison needs one side that is a plain element field and another that does not read the element")


def _is_element_field(node: Node) -> bool:
    return isinstance(node, Path) and node.root == "element" and bool(node.parts)


def _mentions_element(node: Node) -> bool:
    if isinstance(node, Path):
        return node.root == "element"
    return any(_mentions_element(child) for child in children(node))


def _rhs(node: Node, params: dict[str, Any], found: RelationPlan) -> Any:
    """The durable right-hand side for `node`: a constant, {"item": field} or an arithmetic object."""
    if isinstance(node, Literal):
        if node.value is None:
            raise NotRelational("comparison with null")
        return node.value
    if isinstance(node, Path) and node.root == "params":
        value = params.get(node.parts[0])
        if value is None:
            raise NotRelational(f"parameter {node.parts[0]} is unset")
        if isinstance(value, (dict, list)):
            raise NotRelational(f"parameter {node.parts[0]} is not a scalar")
        return value
    if isinstance(node, Path) and node.root == "item" and node.parts:
        found.item_fields.add(tuple(node.parts))
        return {"i": _field_name(tuple(node.parts))}
    if isinstance(node, Call) and node.name == "date":
        return as_date(node.args[0].value).toordinal()  # type: ignore[attr-defined]
    if isinstance(node, Call) and node.name == "days":
        return _rhs(node.args[0], params, found)
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal):
        return -node.operand.value
    if isinstance(node, Binary) and node.op in _ARITHMETIC:
        if isinstance(node.right, Call) and node.right.name in ("months", "years"):
            raise NotRelational("calendar months are computed in Python")
        return {_ARITHMETIC[node.op]: {"$l": _rhs(node.left, params, found), "$r": _rhs(node.right, params, found)}}
    raise NotRelational(f"{node.text()!r} cannot be a durable-rules operand")


def _field_name(path: tuple[str, ...]) -> str:
    return "f_" + "__".join(path)


def _test(atom: Atom) -> dict:
    name = _field_name(atom.field)
    if atom.op == "==":
        return {name: atom.value}
    return {_DURABLE_OP[atom.op]: {name: atom.value}}


def fact_type(collection: tuple[str, ...]) -> str:
    return ".".join(collection)


class Answer(NamedTuple):
    """What durable-rules (or the overlap sweep) decided for one rule: the failing items, each with the
    elements that decided it, and the items the answer stands for. Those are the items whose facts carry
    every field the rule joins on, provided every element's fact carries its fields too (else none: an
    element durable could not see might have matched); the closures decide the others."""

    failing: dict[int, list[int]]
    settled: frozenset[int]


_FACT_INTEGERS = (-(2**63), 2**63 - 1)  # the integers durable-rules' C engine holds

# per collection: its path, its fact type and, per field, the fact's key, the path and whether it is a date
Layout = list[tuple[tuple[str, ...], str, list[tuple[str, tuple[str, ...], bool]]]]


class RelationEngine:
    """All relational rules of one ruleset in one durable ruleset: one session per evaluated package."""

    def __init__(self, plans: list[RelationPlan]) -> None:
        self.plans = plans
        rules: dict[str, list[dict]] = {}
        for relation in plans:
            if relation.interval is None:
                rules.update(self._patterns(relation))
        self._ruleset = DurableRuleset(rules) if rules else None
        # durable is sent only the fields its patterns test (fewer properties per fact: ~15 % less time in
        # a session); the overlap sweeps read theirs from facts of their own
        self.durable_layout = _layout([relation for relation in plans if relation.interval is None])
        self.sweep_layout = _layout([relation for relation in plans if relation.interval is not None])

    @staticmethod
    def _patterns(relation: RelationPlan) -> dict[str, list[dict]]:
        item_pattern = {"i": {"t": fact_type(relation.items)}}
        element_tests = []
        for conjunct in relation.conjuncts:
            tests: list[dict] = [{"t": fact_type(relation.elements)}]
            if relation.exclude_self:
                tests.append({"$neq": {"n": {"i": "n"}}})
            tests += [_test(atom) for atom in conjunct]
            element_tests.append({"$and": tests})
        if relation.quantifier == "any":
            negations = [{f"x{k}$not": test} for k, test in enumerate(element_tests)]
            return {relation.rule_id: [item_pattern, end_pattern(), *negations]}
        return {f"{relation.rule_id}#{k}": [item_pattern, {"e": test}] for k, test in enumerate(element_tests)}

    @staticmethod
    def facts(package: Any, layout: Layout) -> list[dict]:
        """Flat facts for every collection of the layout; a missing field is left out."""
        facts: list[dict] = []
        for collection, type_name, fields in layout:
            values = field_at(package, collection)
            if not isinstance(values, list):
                continue
            for index, value in enumerate(values):
                fact: dict[str, Any] = {"t": type_name, "n": index}
                for name, path, is_date in fields:
                    scalar = value
                    for part in path:  # field_at written out: this runs per element and field
                        scalar = scalar.get(part) if type(scalar) is dict else None
                    if is_date:
                        scalar = as_date(scalar)
                        scalar = scalar.toordinal() if isinstance(scalar, dt.date) else None
                    if type(scalar) is int and not _FACT_INTEGERS[0] <= scalar <= _FACT_INTEGERS[1]:
                        continue  # durable holds 64-bit integers: left out like a missing field, so the closure decides this item exactly
                    if scalar is not None and type(scalar) is not dict and type(scalar) is not list:
                        fact[name] = scalar
                facts.append(fact)
        return facts

    def run(self, package: Any) -> dict[str, Answer]:
        """Per rule id, the answer durable-rules or the sweep gives; a rule is absent when its values do
        not compare (the closures decide every item)."""
        if not self.plans:
            return {}
        durable_facts = self.facts(package, self.durable_layout) if self._ruleset is not None else []
        matches = self._ruleset.run(durable_facts) if self._ruleset is not None else {}
        sweep_facts = self.facts(package, self.sweep_layout) if self.sweep_layout else []
        answers: dict[str, Answer] = {}
        for relation in self.plans:
            facts = durable_facts if relation.interval is None else sweep_facts
            failing = {} if relation.interval is None else _sweep(relation, relation.interval, facts)
            if failing is not None:
                answers[relation.rule_id] = Answer(failing, _settled(relation, facts, package))
        for name, frames in matches.items():
            failing = answers[name.split("#", 1)[0]].failing
            for frame in frames:
                elements = failing.setdefault(frame["i"]["n"], [])
                if "e" in frame and frame["e"]["n"] not in elements:
                    elements.append(frame["e"]["n"])
        return answers


def _layout(plans: list[RelationPlan]) -> Layout:
    """The facts the plans read (see Layout)."""
    fields: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    dates: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for relation in plans:
        fields.setdefault(relation.items, set()).update(relation.item_fields)
        fields.setdefault(relation.elements, set()).update(relation.element_fields)
        for side, path in relation.date_fields:
            dates.setdefault(relation.items if side == "item" else relation.elements, set()).add(path)
    return [(collection, fact_type(collection), [(_field_name(path), path, path in dates.get(collection, set())) for path in sorted(paths)]) for collection, paths in fields.items()]


def _settled(relation: RelationPlan, facts: list[dict], package: Any) -> frozenset[int]:
    """The items an answer stands for (see Answer)."""
    elements = field_at(package, relation.elements)
    element_type, element_names = fact_type(relation.elements), relation.element_fact_fields
    seen = sum(1 for fact in facts if fact["t"] == element_type and fact.keys() >= element_names)
    if not isinstance(elements, list) or seen != len(elements):
        return frozenset()
    item_type, item_names = fact_type(relation.items), relation.item_fact_fields
    return frozenset([fact["n"] for fact in facts if fact["t"] == item_type and fact.keys() >= item_names])


def _sweep(relation: RelationPlan, interval: Interval, facts: list[dict]) -> dict[int, list[int]] | None:
    """Overlaps by sorting the elements per key on their start and, for each item, reading only the slice
    that can reach it: O((n + m) log n + k) instead of durable's n × m. None when values do not compare."""
    element_type, item_type = fact_type(relation.elements), fact_type(relation.items)
    wanted, element_key, start, end = interval.element_fact_fields, interval.element_key, interval.start, interval.end
    groups: dict[Any, list[tuple[Any, Any, int]]] = {}
    for fact in facts:
        if fact["t"] == element_type and fact.keys() >= wanted:
            groups.setdefault(element_key(fact), []).append((fact[start], fact[end], fact["n"]))
    try:
        index = {}
        for key, ranges in groups.items():
            ranges.sort()
            index[key] = ([r[0] for r in ranges], ranges, max(r[1] - r[0] for r in ranges))
        failing: dict[int, list[int]] = {}
        needed, item_key, exclude_self = interval.item_fact_fields, interval.item_key, relation.exclude_self
        for fact in facts:
            if fact["t"] != item_type or not fact.keys() >= needed:
                continue
            found = index.get(item_key(fact))
            if found is None:
                continue
            starts, ranges, longest = found
            low, high, own = fact[interval.item_start], fact[interval.item_end], fact["n"]
            hits = [n for _, last, n in ranges[bisect.bisect_left(starts, low - longest) : bisect.bisect_right(starts, high)] if last >= low and not (exclude_self and n == own)]
            if hits:
                failing[own] = hits
    except TypeError:
        return None
    return failing

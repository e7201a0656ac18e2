"""The elements an aggregate reads: every one, with where each is, or only those an index gives.

`none(others(lines), .source_id == item.source_id and .gas == item.gas and …)`, run for each line, walks
every line: n² conditions (3 100 lines: 9.6 M, 13 s). When an aggregate's condition opens with equalities
between an element field and a value that does not read the element (an item field, a parameter, a
literal), an element whose field differs from that value, the fields before it being equal, makes the
condition false at that equality having read no missing value: `and` stops there and nothing is left in
env.absent. Such an element changes no answer of any/none/count nor of a filtered sum/min/max/median/mad
(docs/semantics.md), so only the other elements need the condition, in document order as before. An index
built once per package and rule (in env.memo), from the tuple of the element's key fields to its
positions, gives them.

The answers stay exactly the walk's. The equalities are Python's ==, and a dict finds a key by == for str,
int, float and bool (1 == 1.0 and true == 1 as before; case and units as written). Any other value is no
key: an element holding a missing field, null, a list, an object, NaN or a date at its j-th key field is
examined for every item that matches its first j - 1 keys, as its condition may read a missing field
there or compare otherwise; an item whose key value is not such a scalar walks every element. `all` is
not indexed: there the elements the index leaves out are the ones that decide.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from vericarbon.lang.nodes import Binary, Call, Literal, Node, Path
from vericarbon.lang.runtime import MISSING, Env, Frame

# the aggregates an index can serve, and which argument is the condition
CONDITION_ARGUMENT = {"any": 1, "none": 1, "count": 1, "sum": 2, "min": 2, "max": 2, "median": 2, "mad": 2}


class KeyPlan:
    """The key of an aggregate's index: the element fields its condition opens with and, for each, the
    value it must equal. Compared by identity, as it names one aggregate's index in env.memo."""

    __slots__ = ("fields", "probes")

    def __init__(self, fields: tuple[tuple[str, ...], ...], probes: tuple[Callable[[Env], Any], ...]) -> None:
        self.fields = fields
        self.probes = probes


class Others(list):
    """others(C): C without the item, built by one copy of the list (no pointer is written until one is
    needed: explaining builds this once per item), keeping where each element was, so pointers stay
    true, and the whole of C, which the index reads."""

    def __init__(self, values: Any, base: str, skip: str) -> None:
        whole = values if type(values) is list else list(values)  # what an unvalidated document holds, as enumerate() reads it
        self.whole, self.base = whole, base
        self.skipped = _position(skip, base, len(whole))
        super().__init__(whole if self.skipped < 0 else whole[: self.skipped] + whole[self.skipped + 1 :])


def _position(pointer: str, base: str, count: int) -> int:
    """The index i < count for which pointer is f"{base}/{i}", else -1."""
    rest = pointer[len(base) + 1 :] if pointer.startswith(base + "/") else ""
    if rest.isascii() and rest.isdigit() and str(int(rest)) == rest and int(rest) < count:
        return int(rest)
    return -1


def frames(values: Any, base_pointer: str) -> Iterator[Frame]:
    """The elements an aggregate walks, with where each is; its pointer is only spelt out when it is needed."""
    if isinstance(values, Others):
        base, skipped = values.base, values.skipped
        return ((value, f"{base}/{index}", -1) for index, value in enumerate(values.whole) if index != skipped)
    return ((value, base_pointer, index) for index, value in enumerate(values))


def all_frames(collect: Callable[[Env], Any], pointer_fn: Callable[[Env], str]) -> Callable[[Env], Any]:
    """Every element of the collection `collect` reads (MISSING when it is missing)."""

    def frames_of(env: Env) -> Any:
        values = collect(env)
        return MISSING if values is MISSING else frames(values, pointer_fn(env))

    return frames_of


def indexed_frames(plan: "KeyPlan", elements: Any, base: str, skip: str | None, env: Env) -> Iterator[Frame] | None:
    """The frames a walk gives, of the elements the index leaves for this item (every element when its
    key is not plain scalars); `skip`: others()'s item pointer, None for the collection itself. None when
    `elements` is not a list."""
    if type(elements) is not list:
        return None
    found = positions(plan, elements, env)
    indices = range(len(elements)) if found is None else found
    if skip is None:
        return ((elements[i], base, i) for i in indices)
    return ((elements[i], pointer, -1) for i in indices if (pointer := f"{base}/{i}") != skip)


def key_plan(node: Call, kind_of: Callable[[Node], str]) -> KeyPlan | None:
    """The index `node` can use, or None: an any/none/count or filtered fold over a package list (or its
    others()) whose condition opens with equalities, one at least with an item field. `kind_of` gives a
    side's static type: an equality of dates compares parsed dates, not what the index would compare."""
    position = CONDITION_ARGUMENT.get(node.name)
    if position is None or len(node.args) != position + 1 or not _package_list(node.args[0]):
        return None
    fields: list[tuple[str, ...]] = []
    probes: list[Node] = []
    for conjunct in _conjuncts(node.args[position]):
        key = _key(conjunct, kind_of)
        if key is None:
            break
        fields.append(key[0])
        probes.append(key[1])
    if not any(isinstance(probe, Path) and probe.root == "item" for probe in probes):
        return None
    return KeyPlan(tuple(fields), tuple(_probe_reader(probe) for probe in probes))


def positions(plan: KeyPlan, elements: list, env: Env) -> list[int] | None:
    """The positions of the elements whose condition can be anything but a false that read nothing
    missing, in document order; None when this item's key is not plain scalars (walk them all)."""
    key = tuple(read(env) for read in plan.probes)
    if not all(_plain(value) for value in key):
        return None
    memo = env.memo
    index = memo.get(plan) if memo is not None else None
    if index is None or index.elements is not elements:
        index = _Index(elements, plan.fields)
        if memo is not None:
            memo[plan] = index  # type: ignore[index]
    return index.positions(key)


class _Index:
    __slots__ = ("elements", "full", "partial")

    def __init__(self, elements: list, fields: tuple[tuple[str, ...], ...]) -> None:
        self.elements = elements
        self.full: dict[tuple, list[int]] = {}  # every key field a plain scalar
        self.partial: list[dict[tuple, list[int]]] = [{} for _ in fields]  # [j]: the first j plain, the j-th not
        for position, element in enumerate(elements):
            key: list[Any] = []
            for depth, path in enumerate(fields):
                value = _read(element, path)
                if not _plain(value):
                    self.partial[depth].setdefault(tuple(key), []).append(position)
                    break
                key.append(value)
            else:
                self.full.setdefault(tuple(key), []).append(position)
        if not any(self.partial):
            self.partial = []

    def positions(self, key: tuple) -> list[int]:
        found = self.full.get(key, [])
        extra = [position for depth, by_prefix in enumerate(self.partial) for position in by_prefix.get(key[:depth], ())]
        return sorted(found + extra) if extra else found


def _plain(value: Any) -> bool:
    """A value a dict finds by == (not NaN, which equals nothing; not None, which a read gives as missing)."""
    kind = type(value)
    return kind is str or kind is int or kind is bool or (kind is float and value == value)


def _read(value: Any, path: tuple[str, ...]) -> Any:
    """A field as the compiled reads find it: None where it is missing or a step is not an object."""
    for part in path:
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def _package_list(node: Node) -> bool:
    if isinstance(node, Call) and node.name == "others" and node.args:
        node = node.args[0]
    return isinstance(node, Path) and node.root == "package" and bool(node.parts)


def _conjuncts(node: Node) -> list[Node]:
    """The operands of nested `and`s in the order `and` evaluates them (it stops at the first false)."""
    if isinstance(node, Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _key(node: Node, kind_of: Callable[[Node], str]) -> tuple[tuple[str, ...], Node] | None:
    """(element field, probe) of `.field == probe` (either way round), else None."""
    if not (isinstance(node, Binary) and node.op == "=="):
        return None
    for field, probe in ((node.left, node.right), (node.right, node.left)):
        if isinstance(field, Path) and field.root == "element" and field.parts and _is_probe(probe):
            if "date" in (kind_of(field), kind_of(probe)):
                return None
            return tuple(field.parts), probe
    return None


def _is_probe(node: Node) -> bool:
    if isinstance(node, Literal):
        return _plain(node.value)
    return isinstance(node, Path) and ((node.root == "item" and bool(node.parts)) or node.root == "params")


def _probe_reader(node: Node) -> Callable[[Env], Any]:
    if isinstance(node, Literal):
        value = node.value
        return lambda env: value
    parts = tuple(node.parts)  # type: ignore[attr-defined]
    if node.root == "params":  # type: ignore[attr-defined]
        return lambda env: env.params.get(parts[0])
    return lambda env: _read(env.item, parts)

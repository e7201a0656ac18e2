"""Python source generated from a checked expression tree, then `compile()`d, as jinja2 compiles templates.

The tree has already been parsed and type-checked by the compiler (vericarbon.lang.compiler), which also
built a closure for every node. This module writes one function per expression in which the hot nodes —
field reads, parameters, literals, `not`, `and`/`or`, comparisons, membership, arithmetic, `exists()`,
`missing()`, `approx()`, `if()` and the aggregates over a field's list (`sum`, `count`, `all`, `any`,
`none`) — are inline Python statements, and every other node calls its closure. Identifiers come from
a closed set (v1, v2 … for values, p1 … for parameters, `env` and the loop's own locals, the helpers in NAMESPACE); every text or number from the rule
is written with `repr`, never pasted, so nothing a user wrote is evaluated.

The generated function gives the same value as the closure, and leaves the same pointers in env.absent
(what decides whether a missing field is the rule's `absent:` case). It does not trace: explaining runs
the traced closures (docs/semantics.md, "Where a finding points").
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import math
import operator
import os
import sys
import time
import types
from typing import Any, Mapping

from vericarbon.errors import BudgetExceeded
from vericarbon.lang.elements import key_plan
from vericarbon.lang.nodes import COMPARISONS, Binary, Call, ListOf, Literal, Node, Path, Unary, children
from vericarbon.lang.runtime import MISSING, as_date, escape_pointer_part, finite
from vericarbon.lang.types import Fn, Type
from vericarbon.resources import cache_dir

NO_FIELDS: Mapping[str, Any] = types.MappingProxyType({})  # what a field read finds on an item or element that is not an object
NAMESPACE = {"BudgetExceeded": BudgetExceeded, "clock": time.monotonic, "MISSING": MISSING, "NO_FIELDS": NO_FIELDS, "as_date": as_date, "finite": finite, "isfinite": math.isfinite, "reduce": functools.reduce, "add": operator.add}
_AGGREGATES = ("sum", "count", "all", "any", "none")
# Budgets are cooperative (as regorus's): the loops over items and over an aggregate's elements count ticks and
# read the clock every TICKS of them against env.deadline, so a rule over its budget stops with BudgetExceeded.
TICKS = 256  # a power of two: `index & (TICKS - 1)` is the tick test
ITEM_POINTER = "\x00item pointer\x00"  # where the item's pointer goes, spelt out only on the rare path that needs it


Part = tuple[Node, dict[Node, Fn], dict[Node, Type], set[Node]]  # a tree, and its nodes' closures, types, hoisting
Element = tuple[str, str, str]  # inside a generated aggregate: the element's variable, its pointer expression, its fields' variable


def generate_rule(name: str, when: Part | None, check: Part, per_item: bool, answered: bool = False) -> Fn:
    """One function running a rule over its items: `run(env, items, base, fails, settled, absent)` gives
    each item's status. The when and the check are written inline, item-independent subexpressions are
    computed at their first use and kept for the other items (recomputed while missing, so each item
    records why), and — for a rule `answered` by durable-rules or the sweep — an item their answer stands
    for (its index in `settled`) takes that answer: fail when its index is in `fails`."""
    writer = _Writer({**check[1], **(when[1] if when else {})}, {**check[2], **(when[2] if when else {})}, check[3] | (when[3] if when else set()))
    writer.depth = 2
    if when is not None:
        applies = writer.value(when[0], element=None)
        writer.emit(f"if {applies} is False:")
        writer.emit("    append('not_applicable')")
        writer.emit("    continue")
        writer.emit(f"if {applies} is MISSING:")
        writer.emit("    append(absent if any(reason[:1] == '/' for reason in reasons) else 'not_evaluated')")
        writer.emit("    continue")
    if answered:
        writer.emit("if index in settled:")
        writer.emit("    append('fail' if index in fails else 'pass')")
        writer.emit("    continue")
    outcome = writer.value(check[0], element=None)
    writer.emit(f"if {outcome} is True:")
    writer.emit("    append('pass')")
    writer.emit(f"elif {outcome} is False:")
    writer.emit("    append('fail')")
    writer.emit("else:")
    writer.emit("    append(absent if any(reason[:1] == '/' for reason in reasons) else 'not_evaluated')")
    # `reasons` is env.absent, which the closures called from here append to as well
    head = ["def run(env, items, base, fails, settled, absent):", "    statuses = []", "    append = statuses.append", "    reasons = env.absent"]
    head += [f"    {kept} = MISSING" for kept in writer.kept.values()]
    head += [f"    {value} = env.params.get({name!r})\n    {value} = MISSING if {value} is None else {value}" for name, value in writer.params.items()]
    head += ["    deadline = env.deadline", "    for index, item in enumerate(items):", "        if reasons:", "            reasons.clear()", *_tick("index")]
    if writer.reads_item_fields:
        head += ["        fields = item if type(item) is dict else NO_FIELDS"]
    if writer.closures_read_item:
        head += ["        env.item = item", "        env.item_pointer = " + ("base + '/' + str(index)" if per_item else "''")]
    lines = [line.replace(ITEM_POINTER, "(base + '/' + str(index))" if per_item else "''") for line in writer.lines]
    source = "\n".join(head + lines) + "\n    return statuses\n"
    namespace = {**NAMESPACE, "F": writer.fns}
    exec(_compiled(source, f"<rule {name}>"), namespace)  # noqa: S102 (source generated from a checked tree, see the module's docstring)
    run: Fn = namespace["run"]
    run.source = source  # type: ignore[attr-defined]  # to read what was generated (tests, debugging)
    return run


def _compiled(source: str, label: str) -> Any:
    """compile() of the source, kept in the cache folder by the source's hash and this Python's bytecode
    tag (compiling the generated code of a large ruleset costs ~45 ms at every start; reading it back,
    a few). A cached entry is the compilation of exactly that text, so it cannot be stale; one that
    cannot be read is compiled again."""
    folder = cache_dir("code")
    if folder is None:
        return compile(source, label, "exec")
    key = hashlib.sha256(f"{label}\n{source}".encode()).hexdigest()
    cached = folder / f"{key}.{sys.implementation.cache_tag}"
    try:
        code = marshal.loads(cached.read_bytes())
        if isinstance(code, types.CodeType):
            return code
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = compile(source, label, "exec")
    try:
        partial = cached.with_name(f".{cached.name}.{os.getpid()}")
        partial.write_bytes(marshal.dumps(code))
        os.replace(partial, cached)
    except OSError:
        pass
    return code


class _Writer:
    def __init__(self, closures: dict[Node, Fn], types: dict[Node, Type], hoisted: set[Node]) -> None:
        self.closures, self.types, self.hoisted = closures, types, hoisted
        self.lines: list[str] = []
        self.fns: list[Fn] = []
        self.depth = 0  # indentation inside generated blocks
        self.count = 0
        self.present: set[str] = set()  # literals and constants: never missing, never compared with `is`
        self.kept: dict[Node, str] = {}  # item-independent subexpressions: the local that keeps each one's value
        self.params: dict[str, str] = {}  # parameter name -> the local holding its value (MISSING when unset)
        self.closures_read_item = False  # a closure runs per item: env.item and env.item_pointer must be set
        self.reads_item_fields = False  # a field of the item is read: `fields` is bound once per item

    def missing_test(self, *names: str) -> str:
        """`a is MISSING or b is MISSING` over the names that can be missing ("False" when none can)."""
        return " or ".join(f"{name} is MISSING" for name in names if name not in self.present) or "False"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def fresh(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def kept_value(self, node: Node) -> str:
        """An item-independent subexpression: computed by its closure at first use, kept for the next items."""
        kept = self.kept.setdefault(node, f"h{len(self.kept) + 1}")
        self.fns.append(self.closures[node])
        self.emit(f"if {kept} is MISSING:")
        self.emit(f"    {kept} = F[{len(self.fns) - 1}](env)")
        return kept

    def call_closure(self, node: Node) -> str:
        self.closures_read_item = True
        self.fns.append(self.closures[node])
        target = self.fresh()
        self.emit(f"{target} = F[{len(self.fns) - 1}](env)")
        return target

    # element: the loop variable, its pointer and its fields (Element) while inside a generated aggregate, else None
    def value(self, node: Node, element: Element | None) -> str:
        if element is None and node in self.hoisted:
            return self.kept_value(node)
        if element is None and node not in self.closures:
            return self._unsupported(node)
        if isinstance(node, Literal) and (node.value is None or isinstance(node.value, (bool, int, float, str))):
            self.present.add(repr(node.value))
            return repr(node.value)
        if isinstance(node, Path) and node.root in ("package", "item") or (isinstance(node, Path) and node.root == "element" and element is not None):
            return self.path(node, element)
        if isinstance(node, Path) and node.root == "params":
            return self.parameter(node.parts[0])
        if isinstance(node, Unary):
            return self.unary(node, element)
        if isinstance(node, Binary):
            return self.binary(node, element)
        if isinstance(node, ListOf) and all(isinstance(item, Literal) for item in node.items):
            self.fns.append([item.value for item in node.items])  # type: ignore[attr-defined, arg-type]
            self.present.add(f"F[{len(self.fns) - 1}]")
            return f"F[{len(self.fns) - 1}]"
        if isinstance(node, Call) and node.name in _AGGREGATES and self.generated_aggregate(node):
            return self.generated_or_closure(node, element)
        if isinstance(node, Call) and node.name in ("exists", "missing", "approx", "if"):
            return getattr(self, "call_" + node.name)(node, element)
        if element is None:
            return self.call_closure(node)
        return self._unsupported(node)

    def generated_or_closure(self, node: Call, element: Element | None) -> str:
        """The aggregate written out, or — when its element expression holds a node this module does not
        write — its closure (never inside another generated loop: closures read env.elements)."""
        lines, fns, count, depth = len(self.lines), len(self.fns), self.count, self.depth
        try:
            return self.aggregate(node, element)
        except _NotGenerated:
            if element is not None:
                raise
            del self.lines[lines:], self.fns[fns:]
            self.count, self.depth = count, depth
            return self.call_closure(node)

    def _unsupported(self, node: Node) -> str:
        raise _NotGenerated(node)

    # -- leaves

    def path(self, node: Path, element: Element | None) -> str:
        """A field read: the first step from the item's or element's fields (bound once per item or
        element: NO_FIELDS when it is not an object), each further step checking for an object."""
        target = self.fresh()
        if node.parts:
            first, *rest = node.parts
            if node.root == "package":
                self.emit(f"{target} = env.package.get({first!r}) if type(env.package) is dict else None")
            elif node.root == "item":
                self.reads_item_fields = True
                self.emit(f"{target} = fields.get({first!r})")
            else:
                self.emit(f"{target} = {element[2]}.get({first!r})")  # type: ignore[index]
        else:  # the item or element itself
            rest = []
            self.emit(f"{target} = {'item' if node.root == 'item' else element[0]}")  # type: ignore[index]
        for part in rest:
            self.emit(f"{target} = {target}.get({part!r}) if type({target}) is dict else None")
        suffix = "".join("/" + escape_pointer_part(part) for part in node.parts)
        base = {"package": "", "item": f"{ITEM_POINTER} + "}.get(node.root, f"{element[1]} + " if element else "")
        self.emit(f"if {target} is None:")
        self.emit(f"    reasons.append({base}{suffix!r})")
        self.emit(f"    {target} = MISSING")
        return target

    def parameter(self, name: str) -> str:
        """A parameter is read once per run (`pN`); where it is unset, each use records why."""
        value = self.params.setdefault(name, f"p{len(self.params) + 1}")
        self.emit(f"if {value} is MISSING:")
        self.emit(f"    reasons.append({'parameter ' + name + ' is unset'!r})")
        return value

    # -- operators

    def unary(self, node: Unary, element: Element | None) -> str:
        operand = self.value(node.operand, element)
        target = self.fresh()
        operation = f"not {operand}" if node.op == "not" else f"-{operand}"
        self.emit(f"{target} = MISSING if {self.missing_test(operand)} else {operation}")
        return target

    def binary(self, node: Binary, element: Element | None) -> str:
        if node.op in ("and", "or"):
            return self.logical(node, element)
        left_type, right_type = self.types.get(node.left), self.types.get(node.right)
        if node.op in COMPARISONS and "date" in {getattr(left_type, "kind", None), getattr(right_type, "kind", None)}:
            return self.date_comparison(node, element)
        if node.op not in COMPARISONS and node.op not in ("in", "not in") and (getattr(left_type, "kind", "number") != "number" or getattr(right_type, "kind", "number") != "number"):
            return self.value_by_closure(node, element)  # date arithmetic
        left = self.value(node.left, element)
        right = self.value(node.right, element)
        target = self.fresh()
        self.emit(f"if {self.missing_test(left, right)}:")
        self.emit(f"    {target} = MISSING")
        self.emit("else:")
        if node.op in COMPARISONS:
            self.emit(f"    {target} = {left} {node.op} {right}")
        elif node.op in ("in", "not in"):
            self.emit(f"    {target} = {left} {node.op} {right}")
        elif node.op == "/":
            self.emit(f"    if {right} == 0:")
            self.emit(f"        reasons.append({'division by zero in ' + repr(node.text())!r})")
            self.emit(f"        {target} = MISSING")
            self.emit("    else:")
            self.emit("        try:")
            self.emit(f"            {target} = finite({left} / {right}, env, {node.text()!r})")
            self.emit("        except OverflowError:")
            self.emit(f"            reasons.append({repr(node.text()) + ' is too large a number to compute'!r})")
            self.emit(f"            {target} = MISSING")
        else:
            self.emit(f"    {target} = {left} {node.op} {right}")
            self.emit(f"    if type({target}) is float and not isfinite({target}):")
            self.emit(f"        {target} = finite({target}, env, {node.text()!r})")
        return target

    def value_by_closure(self, node: Node, element: Element | None) -> str:
        if element is not None:
            return self._unsupported(node)
        return self.call_closure(node)

    def date_comparison(self, node: Binary, element: Element | None) -> str:
        left = self.value(node.left, element)
        right = self.value(node.right, element)
        target, day_left, day_right = self.fresh(), self.fresh(), self.fresh()
        self.emit(f"if {self.missing_test(left, right)}:")
        self.emit(f"    {target} = MISSING")
        self.emit("else:")
        self.emit(f"    {day_left}, {day_right} = as_date({left}), as_date({right})")
        self.emit(f"    if {day_left} is MISSING or {day_right} is MISSING:")
        self.emit(f"        reasons.append({'not a date in ' + repr(node.text())!r})")
        self.emit(f"        {target} = MISSING")
        self.emit("    else:")
        self.emit(f"        {target} = {day_left} {node.op} {day_right}")
        return target

    def variable(self, value: str) -> str:
        """`value`, or for a literal side a variable bound to it, so that `is` tests compare a variable."""
        if value not in self.present:
            return value
        bound = self.fresh()
        self.emit(f"{bound} = {value}")
        return bound

    def logical(self, node: Binary, element: Element | None) -> str:
        """and/or decide without the missing side when they can (docs/semantics.md)."""
        settles = "False" if node.op == "and" else "True"
        otherwise = "True" if node.op == "and" else "False"
        left = self.value(node.left, element)
        target = self.fresh()
        left = self.variable(left)
        self.emit(f"if {left} is {settles}:")
        self.emit(f"    {target} = {settles}")
        self.emit("else:")
        self.depth += 1
        right = self.variable(self.value(node.right, element))
        self.emit(f"if {right} is {settles}:")
        self.emit(f"    {target} = {settles}")
        self.emit(f"elif {left} is MISSING or {right} is MISSING:")
        self.emit(f"    {target} = MISSING")
        self.emit("else:")
        self.emit(f"    {target} = {otherwise}")
        self.depth -= 1
        return target

    # -- functions

    def call_exists(self, node: Call, element: Element | None) -> str:
        mark, target = self.fresh(), self.fresh()
        self.emit(f"{mark} = len(reasons)")
        read = self.value(node.args[0], element)
        self.emit(f"del reasons[{mark}:]")  # absence is the answer here, not a reason the rule could not run
        present = "True" if read in self.present else f"{read} is not MISSING"
        self.emit(f"{target} = {present}" if node.name == "exists" else f"{target} = not ({present})")
        return target

    call_missing = call_exists

    def call_approx(self, node: Call, element: Element | None) -> str:
        a, b, tolerance = (self.value(arg, element) for arg in node.args)
        target = self.fresh()
        self.emit(f"if {self.missing_test(a, b, tolerance)}:")
        self.emit(f"    {target} = MISSING")
        self.emit("else:")
        self.emit(f"    {target} = abs({a} - {b}) <= {tolerance} * max(abs({a}), abs({b}))")
        return target

    def call_if(self, node: Call, element: Element | None) -> str:
        condition = self.value(node.args[0], element)
        target = self.fresh()
        self.emit(f"if {self.missing_test(condition)}:")
        self.emit(f"    {target} = MISSING")
        self.emit(f"elif {condition}:")
        self.depth += 1
        self.emit(f"{target} = {self.value(node.args[1], element)}")
        self.depth -= 1
        self.emit("else:")
        self.depth += 1
        self.emit(f"{target} = {self.value(node.args[2], element)}")
        self.depth -= 1
        return target

    def generated_aggregate(self, node: Call) -> bool:
        """An aggregate over a field's list (not others(), a computed list or a nested aggregate's elements),
        whose per-element expressions this module writes in full, and which no index serves."""
        collection = node.args[0]
        if not (isinstance(collection, Path) and collection.root in ("package", "item")) or len(node.args) > (2 if node.name != "sum" else 3):
            return False
        if key_plan(node, lambda side: getattr(self.types.get(side), "kind", "any")) is not None:
            return False  # its closure reads only the elements an index gives (vericarbon.lang.elements)
        if node.name == "sum" and len(node.args) < 2:
            return False
        return all(_writable(arg) for arg in node.args[1:])

    def aggregate(self, node: Call, element: Element | None) -> str:
        values = self.value(node.args[0], element)
        target, index, item, base = self.fresh(), self.fresh(), self.fresh(), self.fresh()
        suffix = "".join("/" + escape_pointer_part(part) for part in node.args[0].parts)  # type: ignore[attr-defined]
        self.emit(f"if {self.missing_test(values)}:")
        self.emit(f"    {target} = MISSING")
        self.emit("else:")
        self.depth += 1
        self.emit(f"{base} = {ITEM_POINTER + ' + ' if node.args[0].root == 'item' else ''}{suffix!r}")  # type: ignore[attr-defined]
        return self.aggregate_body(node, values, target, index, item, base)

    def aggregate_body(self, node: Call, values: str, target: str, index: str, item: str, base: str) -> str:
        """The loop over the elements, each element's outcome folded in as it comes (every element is read,
        so each missing field is recorded), then the aggregate's value from what was folded."""
        fields = self.fresh()
        inner = (item, f"f'{{{base}}}/{{{index}}}'", fields)  # the element's pointer, spelt out only where a field is missing
        if node.name == "sum":
            total, unknown = self.fresh(), self.fresh()
            self.emit(f"{total}, {unknown} = [], False")
        else:
            trues, falses, unknown = self.fresh(), self.fresh(), self.fresh()
            self.emit(f"{trues}, {falses}, {unknown} = 0, False, False")
        self.emit(f"for {index}, {item} in enumerate({values}):")
        self.depth += 1
        for line in _tick(index):
            self.emit(line.strip())  # one statement: the writer indents it at this depth
        if any(_reads_element_fields(arg) for arg in node.args[1:]):
            self.emit(f"{fields} = {item} if type({item}) is dict else NO_FIELDS")
        if node.name == "sum":
            if len(node.args) == 3:
                keep = self.value(node.args[2], inner)
                self.emit(f"if {keep} is MISSING:")
                self.emit(f"    {unknown} = True")
                self.emit("    break")
                self.emit(f"if {keep} is False:")
                self.emit("    continue")
            value = self.value(node.args[1], inner)
            if value not in self.present:
                self.emit(f"if {value} is MISSING:")
                self.emit(f"    {unknown} = True")
            self.emit(f"{total}.append({value})")
            self.depth -= 1
            self.emit(f"{target} = MISSING if {unknown} else finite(reduce(add, {total}, 0), env, 'sum()')")
        else:
            if len(node.args) == 1:  # count(C): every element
                self.emit(f"{trues} += 1")
            else:
                verdict = self.variable(self.value(node.args[1], inner))
                self.emit(f"if {verdict} is True:")
                self.emit(f"    {trues} += 1")
                self.emit(f"elif {verdict} is False:")
                self.emit(f"    {falses} = True")
                self.emit(f"elif {verdict} is MISSING:")
                self.emit(f"    {unknown} = True")
            self.depth -= 1
            if node.name == "count":
                self.emit(f"{target} = MISSING if {unknown} else {trues}")
            elif node.name == "all":
                self.emit(f"{target} = False if {falses} else (MISSING if {unknown} else True)")
            elif node.name == "any":
                self.emit(f"{target} = True if {trues} else (MISSING if {unknown} else False)")
            else:
                self.emit(f"{target} = False if {trues} else (MISSING if {unknown} else True)")
        self.depth -= 1
        return target


class _NotGenerated(Exception):
    """A node inside an aggregate's element expression that this module does not write: the aggregate
    then runs as its closure."""


def _tick(index: str) -> list[str]:
    """The budget's tick in a generated loop over `index` (indented for the item loop; see TICKS)."""
    return [f"        if not {index} & {TICKS - 1} and deadline and clock() > deadline: raise BudgetExceeded(env.started)"]


def _reads_element_fields(node: Node) -> bool:
    """Does an aggregate's per-element expression read a field of the element?"""
    if isinstance(node, Path):
        return node.root == "element" and bool(node.parts)
    return any(_reads_element_fields(child) for child in children(node))


def _writable(node: Node) -> bool:
    """Can an element expression be written in full (no closure can run inside a generated loop, since the
    closures read the element from env.elements)?"""
    if isinstance(node, Literal):
        return node.value is None or isinstance(node.value, (bool, int, float, str))
    if isinstance(node, ListOf):
        return all(isinstance(item, Literal) for item in node.items)
    if isinstance(node, Path):
        return node.root in ("element", "params", "package", "item")
    if isinstance(node, Unary):
        return _writable(node.operand)
    if isinstance(node, Binary):
        return _writable(node.left) and _writable(node.right)
    if isinstance(node, Call):
        return node.name in ("exists", "missing", "approx", "if") and all(_writable(arg) for arg in node.args)
    return False

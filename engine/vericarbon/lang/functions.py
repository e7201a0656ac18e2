"""The built-in functions of the expression language, by name. Each builder checks its arguments' types
and returns the closure; `c` is the compiler (as an ArgumentCompiler), which compiles the arguments."""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
import re
from typing import TYPE_CHECKING, Any, Callable, Iterator

from vericarbon.evidence.shapes import ANY_SHAPE, Shape
from vericarbon.lang import units as units_module
from vericarbon.lang.elements import KeyPlan, Others, all_frames, frames, indexed_frames, key_plan
from vericarbon.lang.nodes import Call, Literal, Node, Path
from vericarbon.lang.parties import party_match, same_person
from vericarbon.lang.runtime import (
    MISSING,
    Env,
    Frame,
    Months,
    as_date,
    escape_pointer_part,
    finite,
    format_value,
    frame_pointer,
    pointer_of,
)
from vericarbon.lang.tokens import ExprError
from vericarbon.lang.types import (
    BOOLEAN,
    DATE,
    DURATION,
    NUMBER,
    STRING,
    ArgumentCompiler,
    Compiled,
    Type,
    require,
    type_of_shape,
)

if TYPE_CHECKING:
    from vericarbon.factors import Factor


def _arity(node: Call, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(node.args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise ExprError(f"{node.name}() takes {wanted} argument(s), got {len(node.args)}", node.pos)


def _collection(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    collection = c.compile(node.args[0], depth + 1, in_element)
    require(collection.type, {"list"}, node.args[0], f"{node.name}() needs a list as first argument;")
    return collection


def _aggregate(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """sum, count, min, max, median, mad, all, any, none over a list. all/any/none/count take a per-element
    condition; sum/min/max/median/mad take the per-element value to fold and, third, an optional condition
    that filters elements (mad: the median absolute deviation from the median, a spread outliers do not move)."""
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
        require(per_element.type, {"boolean"}, node.args[1], f"{name}() needs a condition:")
        condition, per_element = per_element, None
    if condition is not None:
        require(condition.type, {"boolean"}, node.args[-1], f"{name}() filters with a condition:")
    if name in ("sum", "median", "mad"):
        if per_element is not None:
            require(per_element.type, {"number"}, node.args[1], f"{name}() folds numbers;")
        elif collection.type.shape.kind not in ("number", "any"):
            raise ExprError(f"{name}() of a list of objects needs the field to {'add' if name == 'sum' else 'fold'}, e.g. {name}(lines, .tco2e)", node.pos)
    collect, pointer_fn = collection.fn, _base_pointer(node.args[0])
    value_fn = per_element.fn if per_element else None
    test_fn = condition.fn if condition else None
    result_type = NUMBER if name in ("sum", "count", "median", "mad") else BOOLEAN
    if name in ("min", "max"):
        result_type = per_element.type if per_element else type_of_shape(collection.type.shape)
    plan = key_plan(node, lambda side: c.element_expression(collection, side, depth).type.kind)
    frames_of = all_frames(collect, pointer_fn) if plan is None else _indexed(c, node, depth, collect, pointer_fn, plan)

    def aggregate(env: Env) -> Any:
        frames = frames_of(env)
        if frames is MISSING:
            return MISSING
        tested: list[tuple[Any, Frame]] = []  # (condition result, element) for all/any/none/count
        folded: list[Any] = []
        for frame in frames:
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
        env.deciding = [frame_pointer(frame) for frame in deciding]
    return decided


def _fold(name: str, values: list[Any], env: Env) -> Any:
    if any(value is MISSING for value in values):
        return MISSING
    if name == "sum":
        # left to right in document order, as Python before 3.12 and a spreadsheet add: the builtin sum()
        # compensates floating-point error from 3.12 on, and results must not depend on the Python version
        return finite(functools.reduce(operator.add, values, 0), env, f"{name}()")
    if not values:
        env.absent.append(f"{name}() of an empty list")
        return MISSING
    if name in ("median", "mad"):
        import statistics  # here, not at the top: with fractions it is 2 ms of every start, for two functions

        middle = statistics.median(values)
        return middle if name == "median" else statistics.median(abs(value - middle) for value in values)
    return min(values) if name == "min" else max(values)


def _base_pointer(node: Node) -> Callable[[Env], str]:
    if isinstance(node, Path):
        return lambda env: pointer_of(node, env)
    if isinstance(node, Call) and node.name == "others" and isinstance(node.args[0], Path):
        inner = node.args[0]
        return lambda env: pointer_of(inner, env)
    return lambda env: ""


def _others(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
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
        return Others(values, base, skip)

    return Compiled(others, collection.type)


def _indexed(c: ArgumentCompiler, node: Call, depth: int, collect: Callable[[Env], Any], pointer_fn: Callable[[Env], str], plan: KeyPlan) -> Callable[[Env], Any]:
    """The elements the index leaves for this item (vericarbon.lang.elements). others(C) reads C itself,
    not the list of the others built per item (an n² of its own), except while explaining, where others()
    and C leave their trace entries as before."""
    target = node.args[0]
    within = c.compile(target.args[0], depth + 2, True).fn if isinstance(target, Call) else None  # True: untraced

    def frames_of(env: Env) -> Any:
        values = within(env) if within is not None and env.trace is None else collect(env)
        if values is MISSING:
            return MISSING
        whole = values.whole if isinstance(values, Others) else values
        found = indexed_frames(plan, whole, pointer_fn(env), env.item_pointer if within is not None else None, env)
        if found is None:  # not a list, as an unvalidated document could hold: walked as before
            found = frames(values if within is None or isinstance(values, Others) else collect(env), pointer_fn(env))
        return found

    return frames_of


def _exists(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
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


def _approx(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """approx(a, b, rel): |a - b| <= rel × max(|a|, |b|); two zeros are equal."""
    _arity(node, 3)
    parts = [c.compile(arg, depth + 1, in_element) for arg in node.args]
    for arg, part in zip(node.args, parts):
        require(part.type, {"number"}, arg, "approx() needs")
    a_fn, b_fn, tol_fn = (p.fn for p in parts)

    def approx(env: Env) -> Any:
        a, b, tolerance = a_fn(env), b_fn(env), tol_fn(env)
        if a is MISSING or b is MISSING or tolerance is MISSING:
            return MISSING
        return abs(a - b) <= tolerance * max(abs(a), abs(b))

    return Compiled(approx, BOOLEAN)


def _date(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    _arity(node, 1)
    arg = node.args[0]
    if not isinstance(arg, Literal) or as_date(arg.value) is MISSING:
        raise ExprError("date() takes a literal 'YYYY-MM-DD'", node.pos)
    day = as_date(arg.value)
    return Compiled(lambda env: day, DATE)


def _duration(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    _arity(node, 1)
    count = c.compile(node.args[0], depth + 1, in_element)
    require(count.type, {"number"}, node.args[0], f"{node.name}() needs")
    count_fn, unit = count.fn, node.name

    def duration(env: Env) -> Any:
        n = count_fn(env)
        if n is MISSING:
            return MISSING
        try:
            if unit == "days":
                return dt.timedelta(days=n)
            return Months(int(n) * (12 if unit == "years" else 1))
        except (OverflowError, ValueError):
            env.absent.append(f"{unit}({n}) is longer than the calendar")
            return MISSING

    return Compiled(duration, DURATION)


def _unary_function(kind_in: str, kind_out: Type, apply: Callable[[Any], Any]):
    def build(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
        _arity(node, 1)
        arg = c.compile(node.args[0], depth + 1, in_element)
        require(arg.type, {kind_in}, node.args[0], f"{node.name}() needs")
        fn = arg.fn
        return Compiled(lambda env: MISSING if (v := fn(env)) is MISSING else apply(v), kind_out)

    return build


def _string_pair_function(kind_out: Type, apply: Callable[[str, str], Any]):
    """A function of two strings: missing if either is."""

    def build(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
        _arity(node, 2)
        first, second = (c.compile(arg, depth + 1, in_element) for arg in node.args)
        for arg, part in zip(node.args, (first, second)):
            require(part.type, {"string"}, arg, f"{node.name}() needs")
        ff, sf = first.fn, second.fn

        def call(env: Env) -> Any:
            a, b = ff(env), sf(env)
            return MISSING if a is MISSING or b is MISSING else apply(a, b)

        return Compiled(call, kind_out)

    return build


def _log10(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """log10(x): the order of magnitude, for comparing figures across scales; missing, with the reason, for x <= 0."""
    _arity(node, 1)
    arg = c.compile(node.args[0], depth + 1, in_element)
    require(arg.type, {"number"}, node.args[0], "log10() needs")
    fn, text = arg.fn, node.args[0].text()

    def log10(env: Env) -> Any:
        value = fn(env)
        if value is MISSING:
            return MISSING
        if value <= 0:
            env.absent.append(f"log10() of {format_value(value)} ({text}), which is not positive")
            return MISSING
        return math.log10(value)

    return Compiled(log10, NUMBER)


def _values(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """values(xs, .field): the list of one field of every element, for membership tests such as
    `item.leader_id in values(team.members, .id)`. An element lacking the field is left out.
    distinct(xs, .field): the same without repeats, in first-seen order (`count(distinct(group.members, .entity))`)."""
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
        for frame in frames(items, pointer_fn(env)):
            env.elements.append(frame)
            try:
                picked = value_fn(env)
            finally:
                env.elements.pop()
            if picked is not MISSING:
                found.append(picked)
        del env.absent[mark:]  # an element without the field is simply not among the values
        return list(dict.fromkeys(found)) if node.name == "distinct" else found

    return Compiled(values, Type("list", _shape_of_type(per_element.type)))


def _without(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """without(xs, ys): the elements of xs that are not in ys, e.g. the required topics a plan leaves out."""
    _arity(node, 2)
    wanted = _collection(c, node, depth, in_element)
    present = c.compile(node.args[1], depth + 1, in_element)
    require(present.type, {"list"}, node.args[1], "without() needs a list as second argument;")
    wf, pf = wanted.fn, present.fn

    def without(env: Env) -> Any:
        xs, ys = wf(env), pf(env)
        if xs is MISSING or ys is MISSING:
            return MISSING
        return [x for x in xs if x not in ys]

    return Compiled(without, wanted.type)


def _shape_of_type(value_type: Type) -> Shape:
    return value_type.shape if value_type.kind not in ("any", "null") else ANY_SHAPE


def _if(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """if(condition, then, else): choose between two values of one type, e.g. the materiality base."""
    _arity(node, 3)
    condition, then, other = (c.compile(arg, depth + 1, in_element) for arg in node.args)
    require(condition.type, {"boolean"}, node.args[0], "if() needs")
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


def _unit_argument(c: ArgumentCompiler, arg: Node, depth: int, in_element: bool, name: str) -> Compiled:
    """A unit: one unit string, or a list of unit strings that multiply."""
    compiled = c.compile(arg, depth + 1, in_element)
    require(compiled.type, {"string", "list"}, arg, f"{name}() needs a unit or a list of units as")
    return compiled


def _convert(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """convert(value, unit(s), target): `value` in the product of the units, expressed in `target`.
    An unknown or incompatible unit gives missing, with the reason (vericarbon.lang.units)."""
    _arity(node, 3)
    value = c.compile(node.args[0], depth + 1, in_element)
    require(value.type, {"number"}, node.args[0], "convert() needs")
    units = _unit_argument(c, node.args[1], depth, in_element, "convert")
    target = _unit_argument(c, node.args[2], depth, in_element, "convert")
    vf, uf, tf = value.fn, units.fn, target.fn

    def convert(env: Env) -> Any:
        amount, unit, to = vf(env), uf(env), tf(env)
        if amount is MISSING or unit is MISSING or to is MISSING or not _all_strings(unit):
            return MISSING
        try:
            return finite(units_module.convert(amount, unit, to), env, node.text())
        except units_module.UnitProblem as problem:
            env.absent.append(str(problem))
            return MISSING

    return Compiled(convert, NUMBER)


def _convertible(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
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


# What official_factor(citation, FIELD) can read, and its type: the factor's own fields, and its set's.
# (Each reader is given the factor and its set's `about`.)
_OFFICIAL_FIELDS: dict[str, tuple[Type, Callable[[Factor, dict[str, Any]], Any]]] = {
    "value": (NUMBER, lambda f, about: f.value),
    "printed": (NUMBER, lambda f, about: round(f.value, 5)),  # to five decimal places, as the DESNZ tables print factors
    "low": (NUMBER, lambda f, about: MISSING if f.low is None else f.low),
    "high": (NUMBER, lambda f, about: MISSING if f.high is None else f.high),
    "ranged": (BOOLEAN, lambda f, about: f.low is not None and f.high is not None),  # published with a range
    "unit": (STRING, lambda f, about: f.factor_unit),  # mass per activity unit, as the set prints them
    "activity_unit": (STRING, lambda f, about: f.unit),
    "ghg": (STRING, lambda f, about: f.ghg),
    "scope": (STRING, lambda f, about: f.scope or MISSING),
    "description": (STRING, lambda f, about: f.description),
    "year": (NUMBER, lambda f, about: about["year"]),  # the reporting year the edition is for
    "gwp": (STRING, lambda f, about: about["gwp"] or MISSING),
}


def _official_factor(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """official_factor(citation, "value"): a field of the official factor a line cites (vericarbon.factors);
    an unknown set, id or description gives missing with the reason."""
    _arity(node, 2)
    citation = c.compile(node.args[0], depth + 1, in_element)
    require(citation.type, {"object"}, node.args[0], "official_factor() needs a factor citation (an object with set and id) as")
    field = node.args[1]
    if not isinstance(field, Literal) or field.value not in _OFFICIAL_FIELDS:
        raise ExprError(f"official_factor() reads one of {', '.join(repr(name) for name in _OFFICIAL_FIELDS)}, as a quoted name", field.pos)
    field_type, read = _OFFICIAL_FIELDS[field.value]
    cf = citation.fn
    from vericarbon import factors  # here, for the rules that cite factors: 3 ms of every start otherwise

    def official(env: Env) -> Any:
        cited = cf(env)
        if cited is MISSING or not isinstance(cited, dict):
            return MISSING
        try:
            factor = factors.find(cited)
            value = read(factor, factors.load(factor.set).about)
        except factors.FactorProblem as problem:
            env.absent.append(str(problem))
            return MISSING
        if value is MISSING:
            env.absent.append(f"the official factor gives no {field.value}")
        return value

    return Compiled(official, field_type)


def _numbers(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
    """numbers(text): the numbers written in a text, in order ("70,723" is one number), leaving out
    four-digit whole numbers from 1900 to 2100, which in statement notes are years."""
    _arity(node, 1)
    text = c.compile(node.args[0], depth + 1, in_element)
    require(text.type, {"string"}, node.args[0], "numbers() needs")
    tf = text.fn
    return Compiled(lambda env: MISSING if (t := tf(env)) is MISSING else written_numbers(t), Type("list", Shape({"type": "number"}, None, None)))


def _numbers_named(parse: Callable[[str], list[int]]) -> Callable[[ArgumentCompiler, Call, int, bool], Compiled]:
    """A function of one text giving the sorted numbers it names (scopes, categories), to hold words against fields."""

    def build(c: ArgumentCompiler, node: Call, depth: int, in_element: bool) -> Compiled:
        _arity(node, 1)
        text = c.compile(node.args[0], depth + 1, in_element)
        require(text.type, {"string"}, node.args[0], f"{node.name}() needs")
        tf = text.fn
        return Compiled(lambda env: MISSING if (t := tf(env)) is MISSING else parse(t), Type("list", Shape({"type": "number"}, None, None)))

    return build


_SCOPES = re.compile(r"\bscopes?\s+([1-3](?:\s*(?:,|and|&|\+|/|or)\s*(?:scope\s+)?[1-3])*)\b", re.IGNORECASE)


def named_scopes(text: str) -> list[int]:
    return sorted({int(digit) for match in _SCOPES.finditer(text[:10_000]) for digit in re.findall(r"[1-3]", match.group(1))})


_CATEGORIES = re.compile(r"\b(?:categor(?:y|ies)|cat\.)\s*(\d{1,2}(?!\d)(?:\s*(?:,|and|&|\+|/|or|to|-|–)\s*(?:category\s+)?\d{1,2}(?!\d))*)", re.IGNORECASE)
_RANGE = re.compile(r"(\d{1,2})\s*(?:to|-|–)\s*(\d{1,2})")


def named_categories(text: str) -> list[int]:
    found: set[int] = set()
    for match in _CATEGORIES.finditer(text[:10_000]):
        listed = match.group(1)
        for low, high in _RANGE.findall(listed):
            found.update(range(int(low), int(high) + 1))
        found.update(int(number) for number in re.findall(r"\d{1,2}", _RANGE.sub("", listed)))
    return sorted(number for number in found if 1 <= number <= 15)


_WRITTEN_NUMBER = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
MAX_NUMBERS = 1000  # a text is evidence: bounded like units


def written_numbers(text: str) -> list[float]:
    found = []
    for match in _WRITTEN_NUMBER.finditer(text):
        written = match.group().replace(",", "")
        if len(written) == 4 and written.isdigit() and 1900 <= int(written) <= 2100:
            continue
        found.append(float(written))
        if len(found) == MAX_NUMBERS:
            break
    return found


FUNCTIONS: dict[str, Callable[[ArgumentCompiler, Call, int, bool], Compiled]] = {
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
    # contains(text, part): case-insensitive substring test, for claim and statement wording
    "contains": _string_pair_function(BOOLEAN, lambda text, part: part.casefold() in text.casefold()),
    # party_match(beneficiary, subject): how a beneficiary names the subject, or "no match" (lang/parties.py)
    "party_match": _string_pair_function(STRING, party_match),
    # same_person(name, name): one person written two ways (lang/parties.py)
    "same_person": _string_pair_function(BOOLEAN, same_person),
    "values": _values,
    "distinct": _values,
    "median": _aggregate,
    "mad": _aggregate,
    "log10": _log10,
    "without": _without,
    "if": _if,
    "convert": _convert,
    "convertible": _convertible,
    "official_factor": _official_factor,
    "numbers": _numbers,
    "scopes_named": _numbers_named(named_scopes),  # "Scope 1 and Scope 2", "Scopes 1, 2 and 3"
    "categories_named": _numbers_named(named_categories),  # Scope 3 categories: "category 6", "categories 1 to 3", "Cat. 4"
}

FUNCTION_NAMES = frozenset(FUNCTIONS)

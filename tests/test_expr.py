import datetime as dt

import pytest
from helpers import SHAPE, evaluate

from vericarbon.lang import MISSING, NUMBER, ExprError, Scope, compile_expression, parse


@pytest.mark.parametrize(
    "source, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 4", 2.5),
        ("-totals.total_tco2e", -400),
        ("totals.total_tco2e - 100", 300),
        ("totals.total_tco2e == 400", True),
        ("totals.total_tco2e != 400", False),
        ("totals.total_tco2e < 400", False),
        ("totals.total_tco2e <= 400", True),
        ("totals.total_tco2e > 399", True),
        ("totals.total_tco2e >= 401", False),
        ("true and false", False),
        ("true or false", True),
        ("not false", True),
        ("organisation.country in ['GB', 'FR']", True),
        ("organisation.country not in ['GB', 'FR']", False),
        ("sum(lines, .reported_tco2e)", 400),
        ("sum(lines, .reported_tco2e, .scope == 2)", 200),
        ("count(lines)", 2),
        ("count(lines, .scope == 1)", 1),
        ("min(lines, .activity.value)", 500),
        ("max(lines, .activity.value)", 1000),
        ("all(lines, .reported_tco2e > 0)", True),
        ("any(lines, .scope == 3)", False),
        ("none(lines, .scope == 3)", True),
        ("exists(verification.opinion_date)", True),
        ("missing(gwp_set)", True),
        ("approx(400.3, totals.total_tco2e, 0.001)", True),
        ("approx(401, totals.total_tco2e, 0.001)", False),
        ("approx(0, 0, 0)", True),
        ("period.end + months(12)", dt.date(2025, 12, 31)),
        ("date('2024-01-31') + months(1)", dt.date(2024, 2, 29)),
        ("period.end + days(1)", dt.date(2025, 1, 1)),
        ("period.start + years(1) == date('2025-01-01')", True),
        ("period.end - period.start", 365),
        ("verification.opinion_date > period.end", True),
        ("abs(0 - 3)", 3),
        ("year(period.end)", 2024),
        ("year(period.end + months(1))", 2025),
        ("lower(organisation.name) == 'acme ltd'", True),
        ("contains(organisation.name, 'ACME')", True),
    ],
)
def test_operators(source, expected, base_package):
    value, _ = evaluate(source, base_package)
    assert value == expected


def test_item_and_parameters(base_package):
    value, _ = evaluate("approx(item.activity.value * item.emission_factor.value, item.reported_tco2e, params.tol)", base_package, item_index=1)
    assert value is True


def test_missing_field_propagates_and_names_pointer(base_package):
    del base_package["verification"]["opinion_date"]
    value, env = evaluate("verification.opinion_date > period.end", base_package)
    assert value is MISSING
    assert env.absent == ["/verification/opinion_date"]


def test_a_missing_field_inside_an_aggregate_names_the_element(base_package):
    del base_package["lines"][1]["reported_tco2e"]
    value, env = evaluate("sum(lines, .reported_tco2e)", base_package)
    assert value is MISSING and env.absent == ["/lines/1/reported_tco2e"]
    value, env = evaluate("all(others(lines), .reported_tco2e > 0)", base_package, item_index=0)
    assert value is MISSING and env.absent == ["/lines/1/reported_tco2e"]


def test_unset_parameter_is_missing_with_reason(base_package):
    value, env = evaluate("totals.total_tco2e < params.unset", base_package)
    assert value is MISSING and env.absent == ["parameter unset is unset"]


def test_boolean_short_circuit_beats_missing(base_package):
    assert "gwp_set" not in base_package
    assert evaluate("false and gwp_set == 'AR5'", base_package)[0] is False
    assert evaluate("true or gwp_set == 'AR5'", base_package)[0] is True
    assert evaluate("true and gwp_set == 'AR5'", base_package)[0] is MISSING


@pytest.mark.parametrize(
    "source, expected",
    [("all(lines, .scope == 9)", True), ("any(lines, .scope == 1)", False), ("none(lines, .scope == 1)", True), ("sum(lines, .reported_tco2e)", 0), ("count(lines)", 0)],
)
def test_empty_list_semantics(source, expected, base_package):
    base_package["lines"] = []
    assert evaluate(source, base_package)[0] == expected


def test_min_of_empty_list_is_missing(base_package):
    base_package["lines"] = []
    value, env = evaluate("min(lines, .reported_tco2e)", base_package)
    assert value is MISSING and env.absent == ["min() of an empty list"]


def test_division_by_zero_is_missing(base_package):
    value, env = evaluate("totals.total_tco2e / 0", base_package)
    assert value is MISSING and "division by zero" in env.absent[0]


def test_others_excludes_current_item(base_package):
    scope = Scope(SHAPE, {}, item=SHAPE.field("lines").items(), item_collection="lines")
    compiled = compile_expression(parse("count(others(lines))", item_name="item"), scope)
    from vericarbon.lang import Env

    assert compiled.fn(Env(base_package, {}, base_package["lines"][0], "/lines/0")) == 1


@pytest.mark.parametrize(
    "source, position, fragment",
    [
        ("1 +", 3, "expected a value"),
        ("totals.total_tco2e $ 1", 19, "unexpected character"),
        ("totals.nope > 1", 0, "unknown field 'nope'"),
        ("lines.id == 'x'", 0, "is a list"),
        ("totals.total_tco2e == 'x'", 0, "cannot compare number with string"),
        ("period.end < 3", 0, "cannot compare date with number"),
        ("1 < 2 < 3", 6, "do not chain"),
        ("frobnicate(1)", 0, "unknown function"),
        ("sum(lines)", 0, "needs the field to add"),
        ("approx(1, 2)", 0, "takes 3 argument"),
        ("params.nope > 1", 0, "unknown parameter"),
        ("item.id == 'x'", 0, "only defined in a rule with for_each"),
        (".id == 'x'", 0, "only works inside an aggregate"),
        ("not 3", 4, "'not' needs boolean"),
        ("(1 + 2", 6, "expected ')'"),
        ("date('not a date')", 0, "literal 'YYYY-MM-DD'"),
        ("period.end + 3", 0, "a date takes"),
    ],
)
def test_errors_name_their_position(source, position, fragment):
    scope = Scope(SHAPE, {"tol": NUMBER})
    with pytest.raises(ExprError) as raised:
        compile_expression(parse(source), scope)
    assert raised.value.pos == position
    assert fragment in raised.value.message


def test_no_eval_attribute_access_is_not_syntax():
    with pytest.raises(ExprError):
        parse("__import__('os').system('true')")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("values(lines, .id)", ["L1", "L2"]),
        ("'L2' in values(lines, .id)", True),
        ("values(lines, .missing_field_free)", None),
        ("if(totals.total_tco2e > 100, 'big', 'small')", "big"),
        ("without(['L1', 'L3', 'L4'], values(lines, .id))", ["L3", "L4"]),
        ("count(without(values(lines, .id), ['L1', 'L2'])) == 0", True),
        ("convert(1000, 'kWh', 'MWh')", 1.0),
        ("convert(item.activity.value * 200, [item.activity.unit, 'kg/MWh'], 't')", 200.0),
        ("convert(10, ['passenger*km', 'kg/passenger/km'], 't')", 0.01),
        ("convert(2, 'mmBtu', 'GJ')", 2.1101120024),
        ("convertible([item.activity.unit, 'kg/MWh'], 't')", True),
        ("convertible([item.activity.unit, 'kg/L'], 't')", False),
        ("convertible('furlongs_per_fortnight', 't')", False),
        ("convertible('kg/(', 't')", False),
    ],
)
def test_values_if_and_units(source, expected, base_package):
    if expected is None:
        with pytest.raises(ExprError):
            evaluate(source, base_package, item_index=0)
        return
    value, _ = evaluate(source, base_package, item_index=0)
    assert value == pytest.approx(expected) if isinstance(expected, float) else value == expected


@pytest.mark.parametrize(
    "source, reason",
    [
        ("convert(1, 'furlong', 't')", "'furlong' cannot be converted to t"),
        ("convert(1, 'smoots', 't')", "unknown unit 'smoots' in 'smoots'"),
        ("convert(1, [item.activity.unit, 'kg/L'], 't')", "'MWh' × 'kg/L' cannot be converted to t"),
        ("convert(1, 'kg/)', 't')", "unit 'kg/)' cannot be read"),
    ],
)
def test_unit_problems_are_missing_with_the_reason(source, reason, base_package):
    value, env = evaluate(source, base_package, item_index=0)
    assert value is MISSING
    assert env.absent == [reason]


def test_if_with_a_missing_condition_is_missing(base_package):
    value, env = evaluate("if(gwp_set == 'AR5', 1, 2)", base_package)
    assert value is MISSING and env.absent == ["/gwp_set"]


def test_if_type_mismatch_is_a_load_error(base_package):
    with pytest.raises(ExprError, match="one type"):
        evaluate("if(true, 1, 'a')", base_package)


def test_a_per_item_check_computes_what_reads_no_item_once_per_package():
    """`sum(lines, …)` inside a per-line check is remembered for the package, not summed again per line
    (quadratic otherwise); a missing value is not remembered, so every item records why it is missing."""
    from vericarbon.lang import Env

    scope = Scope(SHAPE, {}, item=SHAPE.field("lines").items(), item_collection="lines")
    share = compile_expression(parse("item.reported_tco2e <= sum(lines, .reported_tco2e)", item_name="item"), scope).fn
    package = {"lines": [{"reported_tco2e": 1}, {"reported_tco2e": 2}]}
    env = Env(package, {}, package["lines"][0], "/lines/0")
    env.memo = {}
    assert share(env) is True  # 1 <= 3
    package["lines"].append({"reported_tco2e": 50})
    env.item, env.item_pointer = package["lines"][2], "/lines/2"
    assert share(env) is False  # 50 <= the remembered 3
    env.memo = None
    assert share(env) is True  # 50 <= 53: without a memo every call computes

    unknown = compile_expression(parse("item.reported_tco2e <= totals.total_tco2e * 2", item_name="item"), scope).fn
    env = Env({"lines": [{"reported_tco2e": 1}]}, {}, {"reported_tco2e": 1}, "/lines/0")
    env.memo = {}
    for _ in range(2):
        env.absent.clear()
        assert unknown(env) is MISSING and env.absent == ["/totals/total_tco2e"]
    assert env.memo == {}


def test_sum_adds_left_to_right_whatever_the_python_version():
    """Python 3.12's sum() compensates rounding (0.1 + 0.2 + 0.3 gives 0.6); a rule's sum gives the same
    result on every version: the plain left-to-right total, 0.6000000000000001."""
    package = {"lines": [{"reported_tco2e": value} for value in (0.1, 0.2, 0.3)]}
    value, _ = evaluate("sum(lines, .reported_tco2e)", package)
    assert value == (0.1 + 0.2) + 0.3 == 0.6000000000000001

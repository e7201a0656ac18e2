"""Rule conditions run as generated Python (vericarbon.lang.codegen): on every built-in rule, over the
bundled samples, every rule test package and mutated packages, the generated function gives the value
the closure gives and leaves the same missing fields behind, also where durable-rules' answer decides an
item; and no text of a rule reaches the source except as a literal."""

import copy
import json
import random
from pathlib import Path

import pytest
from fuzzing import SAMPLES, mutate_once, original
from helpers import SHAPE, STORE

from vericarbon.errors import InputError
from vericarbon.evidence.documents import field_at
from vericarbon.evidence.package import parse_package
from vericarbon.lang import MISSING, Env, Scope, compile_expression, compile_rule, parse
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import compile_ruleset, load_ruleset
from vericarbon.run.ruletests import merge_patch, set_pointers

RULESETS = [load_ruleset(path, STORE) for path in builtin_rulesets()]


def _closures(ruleset, kind, version):
    """Every rule's generated loop beside its when and check as closures (what ran before code generation)."""
    compiled = compile_ruleset(ruleset, kind, version, STORE)
    shape = STORE.shape(kind, version)
    from vericarbon.rules.compiling import _definitions

    definitions = _definitions(ruleset, shape, _param_types(ruleset))
    pairs = []
    for spec, rule in zip(ruleset.rules, compiled.rules):
        for_each = spec.get("for_each")
        item_shape = compile_expression(parse(for_each), Scope(shape, _param_types(ruleset), definitions=definitions)).type.shape if for_each else None
        scope = Scope(shape, _param_types(ruleset), item=item_shape, item_collection=for_each, definitions=definitions)
        closures = {field: compile_expression(parse(spec[field], item_name="item" if for_each else None), scope).fn for field in ("when", "check") if field in spec}
        pairs.append((rule, closures))
    return compiled, pairs


def _param_types(ruleset):
    from vericarbon.rules.model import PARAM_TYPES

    return {name: PARAM_TYPES[spec["type"]] for name, spec in ruleset.data.get("parameters", {}).items()}


def _packages(ruleset):
    """The ruleset's test packages and the bundled samples of its kinds, plus mutations of the samples."""
    base = ruleset.data.get("test_base")
    if base:
        for rule in ruleset.rules:
            for case in rule["tests"]:
                try:
                    yield set_pointers(merge_patch(base, case.get("patch", {})), case.get("set", {}))
                except ValueError:
                    continue
    rng = random.Random(20261126)
    for sample in SAMPLES:
        document = original(sample)
        if document.get("kind") not in ruleset.data["applies_to"]:
            continue
        yield document
        for _ in range(40):
            yield mutate_once(copy.deepcopy(document), rng)  # mutate_once changes what it is given


def _reference_statuses(rule, closures, package, params, items, base):
    """Each item's status as the closures decide it: the loop the generated code replaces."""
    statuses = []
    env = Env(package, params)
    env.memo = {}
    for index, item in enumerate(items):
        env.item, env.item_pointer = item, (f"{base}/{index}" if rule.for_each else "")
        env.absent.clear()
        applies = closures["when"](env) if "when" in closures else True
        if applies is False:
            statuses.append("not_applicable")
            continue
        if applies is MISSING:
            statuses.append(rule.absent if any(reason.startswith("/") for reason in env.absent) else "not_evaluated")
            continue
        outcome = closures["check"](env)
        missing_means = rule.absent if any(reason.startswith("/") for reason in env.absent) else "not_evaluated"
        statuses.append("pass" if outcome is True else "fail" if outcome is False else missing_means)
    return statuses


def _agree(rule, closures, package, params, answers):
    """The generated loop gives the closures' statuses on its own, and with durable-rules' (or the
    sweep's) answer for the items it stands for: the two engines agree wherever durable decides."""
    items = [None] if rule.for_each is None else field_at(package, rule.for_each)
    if not isinstance(items, list) or not items:
        return
    base = "".join("/" + part for part in rule.for_each) if rule.for_each else ""
    expected = _reference_statuses(rule, closures, package, params, items, base)
    answer = answers.get(rule.id)
    for fails, settled in [(None, frozenset())] + ([(answer.failing, answer.settled)] if answer else []):
        generated = rule.run(Env(package, params), items, base, fails, settled, rule.absent)
        assert generated == expected, (rule.id, fails is not None, [(i, g, e) for i, (g, e) in enumerate(zip(generated, expected)) if g != e][:5])


@pytest.mark.parametrize("ruleset", RULESETS, ids=lambda r: r.id)
def test_generated_code_gives_what_the_closures_give(ruleset):
    checked = 0
    for kind in ruleset.data["applies_to"]:
        compiled, pairs = _closures(ruleset, kind, "1.0")
        for document in _packages(ruleset):
            if document.get("kind") != kind:
                continue
            try:
                package = parse_package(Path("package.json"), json.dumps(document).encode(), STORE).data  # read as the CLI reads a file
            except InputError:
                continue
            answers = compiled.relation_engine.run(package)
            for rule, closures in pairs:
                _agree(rule, closures, package, compiled.params, answers)
                checked += 1
    assert checked > 100 or not ruleset.rules, checked


def _run(check: str, package: dict) -> tuple[str, Env]:
    run = compile_rule(None, parse(check), lambda: Scope(SHAPE, {}), "T", per_item=False)
    env = Env(package, {})
    return run(env, [None], "", None, frozenset(), "not_evaluated")[0], env


def test_a_rule_text_reaches_the_source_only_as_a_literal():
    hostile = "x') or __import__('os').system('echo owned') or ('"
    assert _run(f'organisation.name == "{hostile}"', {"organisation": {"name": hostile}})[0] == "pass"
    assert _run(f'organisation.name == "{hostile}"', {"organisation": {"name": "Acme"}})[0] == "fail"
    source = compile_rule(None, parse(f'organisation.name == "{hostile}"'), lambda: Scope(SHAPE, {}), "T", per_item=False).source
    assert repr(hostile) in source and "__import__" not in source.replace(repr(hostile), "")


def test_a_missing_field_leaves_its_pointer_as_the_closure_does():
    status, env = _run("totals.total_tco2e > 0 and period.end > period.start", {"period": {"start": "2024-01-01", "end": "2024-12-31"}})
    assert status == "not_evaluated" and env.absent == ["/totals/total_tco2e"]


AGGREGATES = [
    "sum(lines, .reported_tco2e) > 0",
    "sum(lines, .reported_tco2e, .scope == 1) > 0",
    "count(lines, .scope == 2) == 1",
    "count(lines) == 3",
    "all(lines, .reported_tco2e > 0)",
    "any(lines, .scope == 3)",
    "none(lines, .reported_tco2e < 0)",
]
LINES = [
    [{"scope": 1, "reported_tco2e": 10}, {"scope": 2, "reported_tco2e": 5}, {"scope": 1, "reported_tco2e": 2}],
    [{"scope": 1}, {"scope": 2, "reported_tco2e": 5}, {"scope": 3, "reported_tco2e": -1}],
    [{"reported_tco2e": 4}, {"scope": 1, "reported_tco2e": 0}],
    [7, {"scope": 3, "reported_tco2e": 3}, None],  # not objects: what an unvalidated document could hold
    [],
]


@pytest.mark.parametrize("check", AGGREGATES)
def test_generated_aggregates_fold_as_the_closures_do(check):
    """Every element is read (each missing field recorded, in order) and folded as it comes: the value and
    the missing fields are the closure's, whatever the elements hold."""
    closure = compile_expression(parse(check), Scope(SHAPE, {})).fn
    for lines in LINES:
        package = {"lines": lines}
        expected_env = Env(package, {})
        value = closure(expected_env)
        expected = "pass" if value is True else "fail" if value is False else "not_evaluated"
        status, env = _run(check, package)
        assert (status, env.absent) == (expected, expected_env.absent), (check, lines)

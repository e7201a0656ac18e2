"""The relational compiler: durable and the Python closure must agree on every item."""

import copy

import pytest
from helpers import STORE

from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.run.evaluate import evaluate_rule


@pytest.fixture(scope="module")
def compiled():
    from vericarbon.rules.rulesets import compile_ruleset

    ruleset = load_ruleset(next(p for p in builtin_rulesets() if p.stem == "inventory-basics"), STORE)
    return compile_ruleset(ruleset, "ghg-inventory", "1.0", STORE)


def test_join_and_absence_rules_run_on_durable(compiled):
    engines = {rule.id: rule.engine_note for rule in compiled.rules}
    assert engines["CR-NO-OVERLAP"].startswith("python sort-and-sweep")  # the overlap join
    assert compiled.rules[[r.id for r in compiled.rules].index("CR-NO-OVERLAP")].relation.interval is not None
    assert engines["CR-RETIREMENT-EVIDENCE"].startswith("durable-rules (absence")
    assert engines["INV-LINE-ARITH"].startswith("python")


def _batch(n, registry, start, end):
    return {"id": f"B{n}", "registry": registry, "project_id": "P", "vintage": 2024, "serial": {"prefix": "", "start": start, "end": end}, "quantity": end - start + 1}  # prefix: as reading fills it


@pytest.mark.parametrize(
    "ranges",
    [
        [("ICR", 1, 10), ("ICR", 11, 20)],  # adjacent
        [("ICR", 1, 10), ("ICR", 10, 20)],  # touching
        [("ICR", 1, 100), ("ICR", 20, 30)],  # nested
        [("ICR", 1, 10), ("ICR", 1, 10)],  # identical
        [("ICR", 1, 10), ("VCS", 5, 15)],  # other registry
        [("ICR", 1, 10), ("ICR", 5, 15), ("ICR", 12, 30), ("VCS", 1, 50)],
        [("ICR", 1, 1000), ("ICR", 2000, 2001), ("ICR", 999, 999), ("ICR", 1001, 1999)],  # a long range reached from far
        [("ICR", 50, 60), ("ICR", 1, 49), ("ICR", 61, 70), ("ICR", 55, 55)],  # unsorted, nested single credit
    ],
)
def test_durable_matches_python_on_overlaps(compiled, base_package, ranges):
    package = copy.deepcopy(base_package)
    package["offsets"]["batches"] = [_batch(n, *r) for n, r in enumerate(ranges)]
    rule = next(r for r in compiled.rules if r.id == "CR-NO-OVERLAP")
    durable = evaluate_rule(rule, package, compiled.params, compiled.relation_engine.run(package).get(rule.id))
    python = evaluate_rule(rule, package, compiled.params, None)
    assert [(o["pointer"], o["status"]) for o in durable["occurrences"]] == [(o["pointer"], o["status"]) for o in python["occurrences"]]
    assert durable["status"] == python["status"]


def test_incomplete_element_falls_back_to_python(compiled, base_package):
    package = copy.deepcopy(base_package)
    del package["documents"][1]["refers_to"]
    rule = next(r for r in compiled.rules if r.id == "CR-RETIREMENT-EVIDENCE")
    result = evaluate_rule(rule, package, compiled.params, compiled.relation_engine.run(package).get(rule.id))
    assert result["status"] == "fail"  # the rule declares absent: fail, so the Python path decided it
    assert any("/documents/1/refers_to" in o.get("missing", []) for o in result["occurrences"])


def test_an_answer_stands_for_the_items_whose_facts_carry_the_join_fields(compiled, base_package):
    package = copy.deepcopy(base_package)
    package["offsets"]["batches"] = [_batch(n, "ICR", n * 10 + 1, n * 10 + 5) for n in range(3)]
    package["documents"] = [{"id": f"D{n}", "kind": "retirement_certificate", "refers_to": f"B{n}"} for n in range(3)]
    del package["offsets"]["batches"][1]["id"]
    answers = compiled.relation_engine.run(package)
    assert answers["CR-RETIREMENT-EVIDENCE"].settled == {0, 2}  # batch 1 has no id to join on: the closure decides it
    del package["documents"][0]["kind"]
    assert compiled.relation_engine.run(package)["CR-RETIREMENT-EVIDENCE"].settled == set()  # an element durable cannot see


def test_equality_joins_still_run_on_durable():
    from vericarbon.rules.rulesets import compile_ruleset

    ruleset = load_ruleset(next(p for p in builtin_rulesets() if p.stem == "iso-14064-3"), STORE)
    engines = {rule.id: rule.engine_note for rule in compile_ruleset(ruleset, "ghg-verification", "1.0", STORE).rules}
    assert engines["VER-DI-NO-DOUBLE-COUNT"].startswith("durable-rules (join")
    # the techniques it accepts depend on the level of assurance (a definition), which durable-rules cannot join on;
    # CR-RETIREMENT-EVIDENCE keeps the absence pattern on durable (test_join_and_absence_rules_run_on_durable)
    assert engines["VER-SIGNIFICANT-LINES-EVIDENCED"].startswith("python")


def test_sweep_gives_the_closure_its_say_when_values_do_not_compare(compiled, base_package):
    package = copy.deepcopy(base_package)
    package["offsets"]["batches"] = [_batch(0, "ICR", 1, 10), _batch(1, "ICR", 5, 15)]
    facts = compiled.relation_engine.facts(package, compiled.relation_engine.sweep_layout)
    for fact in facts:
        if fact["t"] == "offsets.batches" and fact["n"] == 1:
            fact["f_serial__start"] = "five"
    from vericarbon.relational.relations import _sweep

    plan = next(r.relation for r in compiled.rules if r.id == "CR-NO-OVERLAP")
    assert _sweep(plan, plan.interval, facts) is None

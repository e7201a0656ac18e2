"""pytest runs every rule's own test cases too."""

import pytest
from helpers import STORE

from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.run.ruletests import merge_patch, run_rule_tests

CASES = [(path.stem, result) for path in builtin_rulesets() for result in run_rule_tests(load_ruleset(path, STORE), STORE)]


@pytest.mark.parametrize("ruleset, case", CASES, ids=[f"{r}:{c.rule_id}:{c.case}" for r, c in CASES])
def test_rule_case(ruleset, case):
    assert case.ok, f"expected {case.expected}, got {case.actual} {case.detail}"


def test_merge_patch():
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": [1]}) == {"a": 1, "b": {"d": 3, "e": 4}, "f": [1]}

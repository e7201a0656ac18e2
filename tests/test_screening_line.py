"""A screening line is built from the rules' statuses alone (Checker.screening_line), not from the whole
result document: on the bundled samples, the rule test packages and mutations of the samples, with and
without the intake profile, it says what the line built from check()'s result says."""

import copy
import json
import random

import pytest
from fuzzing import SAMPLES, mutate_once, original
from helpers import STORE

from vericarbon.errors import InputError, OutOfScope
from vericarbon.evidence.package import parse_package
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.run.checker import Checker
from vericarbon.run.evaluate import screening_line
from vericarbon.run.ruletests import merge_patch, set_pointers


def _documents():
    rng = random.Random(20261126)
    for sample in SAMPLES:
        yield sample.name, original(sample)
        for n in range(25):
            yield f"{sample.name} mutation {n}", mutate_once(copy.deepcopy(original(sample)), rng)
    for path in builtin_rulesets():
        ruleset = load_ruleset(path, STORE)
        base = ruleset.data.get("test_base")
        for rule in ruleset.rules if base else []:
            for case in rule["tests"]:
                try:
                    yield f"{rule['id']}: {case['name']}", set_pointers(merge_patch(base, case.get("patch", {})), case.get("set", {}))
                except ValueError:
                    continue


@pytest.mark.parametrize("profile", [None, "intake"])
def test_the_line_from_statuses_is_the_line_from_the_result(profile):
    checker = Checker(STORE, [], [], profile)
    compared = 0
    for name, document in _documents():
        try:
            package = parse_package(STORE.folder / "package.json", json.dumps(document).encode(), STORE)
            result = checker.check(package)
        except (InputError, OutOfScope):
            continue
        from_result = screening_line([r for rs in result["rulesets"] for r in rs["results"]], decide="decision" in result)
        assert checker.screening_line(package) == from_result, name
        if "decision" in result:
            assert from_result["decision"] == result["decision"]["outcome"], name
        compared += 1
    assert compared > (100 if profile else 300)  # intake covers ICR submissions only

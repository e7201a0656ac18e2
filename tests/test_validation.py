"""jsonschema-rs (the hot path) and jsonschema (the explainer) agree on validity."""

import copy
import json
from pathlib import Path

import pytest
from helpers import STORE

CASES = {
    "base": lambda p: None,
    "bad scope": lambda p: p["lines"][0].update(scope=4),
    "bad date": lambda p: p["period"].update(end="2024-02-30"),
    "missing totals": lambda p: p.pop("totals"),
    "extra field": lambda p: p.update(surprise=1),
    "negative serial": lambda p: p["offsets"]["batches"][0]["serial"].update(start=-1),
    "wrong const": lambda p: p.update(kind="other"),
    "bad country": lambda p: p["organisation"].update(country="gbr"),
}


@pytest.mark.parametrize("name", CASES)
def test_validators_agree(name, base_package):
    package = copy.deepcopy(base_package)
    CASES[name](package)
    fast = STORE.fast_validator(STORE.kinds[("ghg-inventory", "1.0")]).is_valid(package)
    slow = STORE.explaining_validator(STORE.schema_for("ghg-inventory", "1.0")).is_valid(package)
    assert fast == slow == (name == "base")


def test_samples_valid_under_both(samples):
    for path in samples.glob("*.json"):
        package = json.loads(path.read_text())
        assert STORE.fast_validator(STORE.kinds[(package["kind"], package["schema_version"])]).is_valid(package)
        assert STORE.explaining_validator(STORE.schema_for(package["kind"], package["schema_version"])).is_valid(package)


def test_refs_resolve_offline():
    schema = STORE.schema_for("ghg-inventory", "1.0")
    assert "urn:vericarbon:schema:common" in json.dumps(schema)


def test_rulesets_overlays_and_answers_valid_under_both():
    """Rulesets, overlays and answers are decided by jsonschema-rs too; the Python validator only explains."""
    from vericarbon.resources import builtin_rulesets
    from vericarbon.rules.sources import read_source

    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    documents = [("ruleset", p) for p in builtin_rulesets()] + [("overlay", examples / "eu-ets-avr.overlay.yaml"), ("answers", examples / "answers-northbridge-defects.yaml")]
    for schema, path in documents:
        data = read_source(path).data  # a ruleset folder's files as one document
        uri = f"urn:vericarbon:schema:{schema}"
        assert STORE.errors(uri, data) == [] and STORE.explaining_validator(STORE.documents[uri]).is_valid(data), path
        data["not_a_field"] = 1  # every one of these schemas refuses unknown fields
        assert STORE.errors(uri, data) and not STORE.explaining_validator(STORE.documents[uri]).is_valid(data), path

"""jsonschema-rs (the hot path) and jsonschema (the explainer) agree on validity."""

import copy
import json

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
    fast = STORE.fast_validator("ghg-inventory", "1.0").is_valid(package)
    slow = STORE.explaining_validator(STORE.schema_for("ghg-inventory", "1.0")).is_valid(package)
    assert fast == slow == (name == "base")


def test_samples_valid_under_both(samples):
    for path in samples.glob("*.json"):
        package = json.loads(path.read_text())
        assert STORE.fast_validator(package["kind"], package["schema_version"]).is_valid(package)
        assert STORE.explaining_validator(STORE.schema_for(package["kind"], package["schema_version"])).is_valid(package)


def test_refs_resolve_offline():
    schema = STORE.schema_for("ghg-inventory", "1.0")
    assert "urn:vericarbon:schema:common" in json.dumps(schema)

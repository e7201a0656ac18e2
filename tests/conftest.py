import copy
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from vericarbon.resources import builtin_rulesets  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "evidence_samples"


@pytest.fixture
def base_package() -> dict:
    ruleset = yaml.safe_load(next(p for p in builtin_rulesets() if p.stem == "inventory-basics").read_text())
    return copy.deepcopy(ruleset["test_base"])


@pytest.fixture
def samples() -> Path:
    return SAMPLES

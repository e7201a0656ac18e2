import copy
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

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


# PostgreSQL: .ci/run starts a throwaway cluster (.ci/postgres) and sets VERICARBON_TEST_DATABASE to its
# URL, with VERICARBON_REQUIRE_POSTGRES=1 so that a missing server fails the run instead of skipping.
def _admin_url() -> str:
    url = os.environ.get("VERICARBON_TEST_DATABASE")
    if not url:
        if os.environ.get("VERICARBON_REQUIRE_POSTGRES"):
            pytest.fail("VERICARBON_REQUIRE_POSTGRES is set but VERICARBON_TEST_DATABASE is not")
        pytest.skip("no PostgreSQL: set VERICARBON_TEST_DATABASE (.ci/postgres starts one)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database on the test cluster, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    admin = _admin_url()
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = re.sub(r"^(postgres(?:ql)?://[^/?]*/)[^?]*", lambda m: m.group(1) + name, admin)
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_location(request, tmp_path) -> Any:
    """Where a ledger lives, once as a SQLite file and once in PostgreSQL: one suite for both."""
    if request.param == "sqlite":
        return tmp_path / "l.sqlite"
    return request.getfixturevalue("postgres_url")

"""The start-up cache: parsed rulesets and compiled templates are remembered by their content's hash, so a
cache can never serve a stale or a damaged entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from vericarbon.evidence.documents import parse_document_cached
from vericarbon.resources import cache_dir


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("VERICARBON_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "documents"


def test_a_document_is_parsed_once_and_its_change_is_seen(cache, tmp_path):
    path = tmp_path / "r.yaml"
    first = b"ruleset: a\nversion: 1.0.0\n"
    assert parse_document_cached(path, first) == {"ruleset": "a", "version": "1.0.0"}
    assert len(list(cache.iterdir())) == 1
    assert parse_document_cached(path, b"ruleset: b\nversion: 1.0.0\n") == {"ruleset": "b", "version": "1.0.0"}  # new content, new key
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_entry_is_parsed_again_and_replaced(cache, tmp_path):
    raw = b"ruleset: a\n"
    parse_document_cached(tmp_path / "r.yaml", raw)
    entry = next(cache.iterdir())
    entry.write_bytes(b"{not json")
    assert parse_document_cached(tmp_path / "r.yaml", raw) == {"ruleset": "a"}
    assert entry.read_bytes() == b'{"ruleset":"a"}'


def test_what_json_cannot_hold_exactly_is_not_cached(cache, tmp_path):
    data = parse_document_cached(tmp_path / "r.yaml", b"n: 100000000000000000000000\n")  # beyond 64 bits: orjson would not write it
    assert data == {"n": 10**23}
    assert not cache.exists() or not list(cache.iterdir())


def test_errors_are_not_cached_and_the_cache_can_be_switched_off(cache, tmp_path, monkeypatch):
    from vericarbon.errors import InputError

    with pytest.raises(InputError):
        parse_document_cached(tmp_path / "r.yaml", b"a: 1\na: 2\n")  # a key twice
    assert not cache.exists() or not list(cache.iterdir())
    monkeypatch.setenv("VERICARBON_CACHE_DIR", "off")
    assert cache_dir("documents") is None
    assert parse_document_cached(tmp_path / "r.yaml", b"a: 1\n") == {"a": 1}


def test_generated_rule_code_is_kept_by_its_source_and_a_damaged_entry_is_compiled_again(tmp_path, monkeypatch):
    from helpers import SHAPE

    from vericarbon.lang import Env, Scope, compile_rule, parse

    monkeypatch.setenv("VERICARBON_CACHE_DIR", str(tmp_path / "cache"))
    code = tmp_path / "cache" / "code"

    def status(check: str, package: dict) -> str:
        run = compile_rule(None, parse(check), lambda: Scope(SHAPE, {}), "T", per_item=False)
        return run(Env(package, {}), [None], "", None, frozenset(), "not_evaluated")[0]

    assert status("period.end > period.start", {"period": {"start": "2024-01-01", "end": "2024-12-31"}}) == "pass"
    (entry,) = code.iterdir()
    assert status("period.end > period.start", {"period": {"start": "2025-01-01", "end": "2024-12-31"}}) == "fail"  # the same code, from the cache
    assert len(list(code.iterdir())) == 1
    assert status("period.end < period.start", {"period": {"start": "2025-01-01", "end": "2024-12-31"}}) == "pass"  # another source, another entry
    assert len(list(code.iterdir())) == 2
    import marshal

    for damage in (b"not marshal data", marshal.dumps(42)):  # unreadable, or readable but not code
        entry.write_bytes(damage)
        assert status("period.end > period.start", {"period": {"start": "2024-01-01", "end": "2024-12-31"}}) == "pass"


def test_a_ruleset_valid_before_is_not_validated_again_until_it_or_a_schema_changes(tmp_path, monkeypatch):
    import shutil

    from vericarbon.errors import InputError
    from vericarbon.evidence.package import SchemaStore
    from vericarbon.resources import builtin_rulesets, builtin_schema_dir
    from vericarbon.rules.rulesets import load_ruleset

    monkeypatch.setenv("VERICARBON_CACHE_DIR", str(tmp_path / "cache"))
    schemas = tmp_path / "schemas"
    shutil.copytree(builtin_schema_dir(), schemas)
    source = next(path for path in builtin_rulesets() if path.name == "inventory-basics.yaml")
    ruleset = tmp_path / "r.yaml"
    ruleset.write_bytes(source.read_bytes())
    validated = []

    def counting(store):
        errors = store.errors
        monkeypatch.setattr(store, "errors", lambda uri, data: validated.append(uri) or errors(uri, data))
        return store

    store = counting(SchemaStore(schemas))
    load_ruleset(ruleset, store, compile_now=False)
    load_ruleset(ruleset, store, compile_now=False)
    assert len(validated) == 1  # the second load found the first one's marker

    ruleset.write_bytes(source.read_bytes().replace(b"verb: shall", b"verb: must", 1))  # one changed byte: invalid
    with pytest.raises(InputError, match="must"):
        load_ruleset(ruleset, store, compile_now=False)

    ruleset.write_bytes(source.read_bytes())
    (schemas / "ruleset.schema.json").write_bytes((schemas / "ruleset.schema.json").read_bytes() + b"\n")  # a schema changed
    load_ruleset(ruleset, counting(SchemaStore(schemas)), compile_now=False)
    assert len(validated) == 3

"""Each pitfall measured in shared/engineering/durable-rules.md, reproduced against the wrapper."""

import json
import threading

import pytest

from vericarbon.relational.durable_session import DurableError, DurableRuleset, dumps_facts, end_pattern
from vericarbon.relational.durable_session import _engine as durable_rules_engine  # the raw engine, whichever build

ALL_X = {"x": [{"m": {"t": "x"}}]}


def test_small_floats_are_written_so_the_parser_keeps_every_fact():
    assert dumps_facts([{"v": 8e-05}, {"v": 1e20, "w": 0.5}]) == '[{"v":8.0e-05},{"v":1.0e+20,"w":0.5}]'
    facts = [{"t": "x", "v": 8e-05}] + [{"t": "x", "v": i} for i in range(5)]
    assert len(DurableRuleset(ALL_X).run(facts)["x"]) == 6


def test_raw_engine_really_drops_facts_after_a_bare_exponent():
    """The pitfall itself, so the test above proves something: the C parser loses the batch."""
    handle = durable_rules_engine.create_ruleset("pitfall_float", json.dumps({"x": {"all": [{"m": {"t": "x"}}]}}))
    durable_rules_engine.assert_facts(handle, '[{"sid":"p","id":1,"t":"x","v":8e-05},{"sid":"p","id":2,"t":"x","v":1}]')
    assert durable_rules_engine.start_action(handle) is None


def test_lost_batch_is_detected_not_silent(monkeypatch):
    import vericarbon.relational.durable_session as session

    monkeypatch.setattr(session, "dumps_facts", lambda facts: json.dumps(facts).replace("1.5", "1e-5"))
    with pytest.raises(DurableError, match="dropped facts"):
        DurableRuleset(ALL_X).run([{"t": "x", "v": 1.5}])


def test_non_finite_numbers_are_refused():
    with pytest.raises(DurableError):
        dumps_facts([{"v": float("nan")}])


def test_sequential_ids_do_not_collide_at_scale():
    matches = DurableRuleset(ALL_X).run({"t": "x", "n": i} for i in range(100_000))
    assert len(matches["x"]) == 100_000


def test_absence_sees_facts_that_arrive_after_the_subject():
    rules = {"absent": [{"i": {"t": "batch"}}, end_pattern(), {"x$not": {"$and": [{"t": "doc"}, {"ref": {"i": "bid"}}]}}]}
    facts = [{"t": "batch", "bid": "B1"}, {"t": "batch", "bid": "B2"}, {"t": "doc", "ref": "B1"}]
    matches = DurableRuleset(rules).run(facts)
    assert [frame["i"]["bid"] for frame in matches["absent"]] == ["B2"]


def test_two_sessions_in_one_process_are_isolated():
    rules = {"pair": [{"a": {"t": "x"}}, {"b": {"$and": [{"t": "x"}, {"$gt": {"n": {"a": "n"}}}]}}]}
    ruleset = DurableRuleset(rules)
    first = ruleset.run([{"t": "x", "n": 1}, {"t": "x", "n": 2}])
    second = ruleset.run([{"t": "x", "n": 5}])
    assert len(first["pair"]) == 1 and second["pair"] == []


def test_clean_session_deletes_state_without_crashing():
    """delete_state segfaults when no action fired; the sentinel rule always fires first."""
    ruleset = DurableRuleset({"never": [{"m": {"$and": [{"t": "x"}, {"v": 99}]}}]})
    for _ in range(3):
        assert ruleset.run([{"t": "x", "v": 1}])["never"] == []


def test_unmatched_fact_types_do_not_defer_actions():
    ruleset = DurableRuleset(ALL_X)
    matches = ruleset.run([{"t": "unknown"}, {"t": "x"}])
    assert len(matches["x"]) == 1  # returned synchronously, not by a background dispatcher


def test_pattern_expression_limit_is_checked_at_compile_time():
    tests = [{"t": "x"}] + [{"$neq": {"v": i}} for i in range(40)]
    with pytest.raises(DurableError, match="more than 32"):
        DurableRuleset({"big": [{"m": {"$and": tests}}]})


def test_fact_property_limit_is_checked():
    with pytest.raises(DurableError, match="properties"):
        DurableRuleset(ALL_X).run([{"t": "x", **{f"p{i}": i for i in range(260)}}])


def test_concurrent_threads_are_serialised():
    ruleset = DurableRuleset({"pair": [{"a": {"t": "x"}}, {"b": {"$and": [{"t": "x"}, {"$gt": {"n": {"a": "n"}}}]}}]})
    counts = []

    def work():
        counts.append(len(ruleset.run([{"t": "x", "n": i} for i in range(30)])["pair"]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [435] * 4

"""The one place vericarbon touches durable-rules.

It drives the C engine (`durable_rules_engine`) directly rather than through `durable.lang`'s Host, and
shuts out each pitfall measured in shared/engineering/durable-rules.md:

- facts are serialised here, with every float written with a fractional part (`8.0e-05`), because the C
  parser rejects `8e-05` and `assert_facts` then silently drops that fact and every one after it;
- fact ids are short sequential integers per session, never business ids, so the 32-bit id hash
  cannot collide;
- every session ends with a sentinel fact that a built-in rule matches, so (a) an action has always
  fired before `delete_state` (which segfaults otherwise) and (b) a batch that lost facts is detected:
  the sentinel is the last fact, so if it was dropped, everything may have been, and we raise;
- absence patterns (`none`) are placed after the sentinel's pattern: measured here, a negation decided
  when its subject arrives is never revisited when a matching fact arrives later in the same batch;
- matches are drained synchronously (start_action / complete_and_start_action), so nothing is left to
  a background dispatcher, no timer thread is started, and no user code runs inside durable at all;
- `$or` is never emitted (the compiler expands disjunctions into separate rules or negations), and
  `$neq` never meets an absent or null field (facts with a missing field are evaluated in Python);
- the engine is not thread-safe: a module lock serialises every call (scale with processes);
- the 255-properties and 32-expressions limits are checked when a rule is compiled.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import threading
from typing import Any, Iterable

import orjson

if sys.version_info >= (3, 13):  # durable-rules' engine built by vericarbon's setup.py (third_party/durable-rules-2.0.28)
    from vericarbon import _durable_rules_engine as _engine
else:
    import durable_rules_engine as _engine

MAX_PROPERTIES = 255
MAX_EXPRESSIONS_PER_PATTERN = 32
_SENTINEL_TYPE = "$end"
_SENTINEL_RULE = "$end"
_lock = threading.Lock()
_names = itertools.count(1)
_sessions = itertools.count(1)


class DurableError(RuntimeError):
    """durable-rules did something the wrapper had to refuse or could not trust."""


def end_pattern() -> dict:
    """The pattern of the sentinel fact; put it before any negation in a rule."""
    return {"$end": {"t": _SENTINEL_TYPE}}


def dumps_facts(facts: list[dict[str, Any]]) -> str:
    """JSON for flat facts, in the number format durable's parser accepts. orjson writes the batch (~10x
    a hand-rolled encoder); each float goes in as a fragment we formatted, since orjson writes 8e-5."""
    try:
        return orjson.dumps([fact if _PLAIN.issuperset(map(type, fact.values())) else {key: _scalar(value) for key, value in fact.items()} for fact in facts]).decode()
    except orjson.JSONEncodeError as error:
        raise DurableError(f"durable-rules cannot hold this fact: {error}") from None


_PLAIN = frozenset({str, int, bool, type(None)})  # written as they are; a fact holding only these is not copied (most facts: 3x faster)


def _scalar(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise DurableError(f"durable-rules cannot hold the non-finite number {value!r}")
        text = repr(value)
        mantissa, _, exponent = text.partition("e")
        if exponent and "." not in mantissa:
            text = f"{mantissa}.0e{exponent}"
        return orjson.Fragment(text)
    raise DurableError(f"a durable fact holds only scalars, not {kind.__name__}")


class DurableRuleset:
    """A compiled durable-rules ruleset; `run` evaluates one isolated session and returns the matches."""

    def __init__(self, rules: dict[str, list[dict]]) -> None:
        for name, patterns in rules.items():
            for pattern in patterns:
                for alias, test in pattern.items():
                    if _count_expressions(test) > MAX_EXPRESSIONS_PER_PATTERN:
                        raise DurableError(f"rule {name}: pattern {alias} has more than {MAX_EXPRESSIONS_PER_PATTERN} expressions")
        definition = {name: {"all": patterns} for name, patterns in rules.items()}
        definition[_SENTINEL_RULE] = {"all": [end_pattern()]}
        with _lock:
            self._handle = _engine.create_ruleset(f"vericarbon{next(_names)}", json.dumps(definition))
        self.rule_names = list(rules)

    def run(self, facts: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, dict]]]:
        """Assert `facts` (flat dicts with a "t" type) in a new session; return, per rule, its matched frames."""
        sid = str(next(_sessions))
        batch = []
        for count, fact in enumerate(facts, start=1):
            if len(fact) + 3 > MAX_PROPERTIES:
                raise DurableError(f"a fact of type {fact.get('t')!r} has more than {MAX_PROPERTIES - 3} properties")
            batch.append({**fact, "sid": sid, "id": count})
        batch.append({"t": _SENTINEL_TYPE, "sid": sid, "id": len(batch) + 1})
        encoded = dumps_facts(batch)
        matches: dict[str, list[dict[str, dict]]] = {name: [] for name in self.rule_names}
        sentinel_seen = False
        with _lock:
            code, _state = _engine.assert_facts(self._handle, encoded)
            if code == 2:
                raise DurableError("durable-rules rejected a fact as already observed")
            try:
                action = _engine.start_action(self._handle)
                while action:
                    frame = json.loads(action[1])
                    for name, bound in frame.items():
                        if name == _SENTINEL_RULE:
                            sentinel_seen = True
                        else:
                            matches[name].append(bound)
                    following = _engine.complete_and_start_action(self._handle, action[2])
                    action = (None, following, action[2]) if following else None
            finally:
                if sentinel_seen:
                    _engine.delete_state(self._handle, sid)
        if not sentinel_seen:
            raise DurableError("durable-rules dropped facts from a batch (the end-of-session fact never matched)")
        return matches


def _count_expressions(test: Any) -> int:
    if isinstance(test, dict):
        if "$and" in test:
            return sum(_count_expressions(t) for t in test["$and"])
        return 1
    return 1

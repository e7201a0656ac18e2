"""Shared fixtures-by-function for the tests: the starter schema as a Shape, and expression evaluation."""

from __future__ import annotations

import json
from typing import Any

from vericarbon.evidence.package import SchemaStore
from vericarbon.lang import NUMBER, Env, Scope, compile_expression, parse

STORE = SchemaStore()
SHAPE = STORE.shape("ghg-inventory", "1.0")


def evaluate(source: str, package: dict, item_index: int | None = None, params: dict[str, Any] | None = None) -> tuple[Any, Env]:
    item_shape = SHAPE.field("lines").items() if item_index is not None else None
    scope = Scope(SHAPE, {"tol": NUMBER, "unset": NUMBER}, item=item_shape, item_collection="lines")
    compiled = compile_expression(parse(source, item_name="item" if item_index is not None else None), scope)
    item = package["lines"][item_index] if item_index is not None else None
    env = Env(package, params or {"tol": 0.01, "unset": None}, item, f"/lines/{item_index}" if item_index is not None else "")
    return compiled.fn(env), env


def verify_json(package: Any, capsys: Any, *options: Any) -> tuple[int, dict | None, str]:
    """`vericarbon verify PACKAGE --format json OPTIONS…`: exit code, the result (None when nothing was written), stderr."""
    from vericarbon.cli import main

    code = main(["verify", str(package), "--format", "json", *[str(o) for o in options]])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def verify_conforming(package: Any, capsys: Any, *options: Any) -> dict:
    """verify_json for a package that must conform: exit 0, no nonconformity, nothing left unevaluated."""
    code, result, err = verify_json(package, capsys, *options)
    assert code == 0, err
    assert result is not None and result["verdict"] == "no_nonconformity"
    assert result["summary"]["by_status"]["not_evaluated"] == 0
    return result


def screen_or_crash(chunk: list) -> list[dict]:
    """Screen a chunk in a worker, but die as a segfault would on any package whose id says CRASH."""
    import faulthandler
    import os
    import signal

    from vericarbon.screening.batch import screen_chunk

    if any(b'"CRASH' in item.raw for item in chunk):
        faulthandler.disable()  # pytest's, inherited by a forked worker: it would print the worker's stack
        os.kill(os.getpid(), signal.SIGSEGV)
    return screen_chunk(chunk)


def screen_or_hang(chunk: list) -> list[dict]:
    """Screen a chunk in a worker, but on a package whose id says HANG spin forever where the time limit's
    signal cannot land (SIGALRM ignored: as for native code that never returns to the interpreter, its
    Python handler never runs): only the hard limits can end it."""
    import signal

    from vericarbon.screening import batch

    lines = []
    for item in chunk:
        if b'"HANG' in item.raw:
            batch._start_limit(batch._timeout)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                pass
        lines += batch.screen_chunk([item])
    return lines


def screen_first_chunk_last(chunk: list) -> list[dict]:
    """Screen a chunk in a worker, but hold back the chunk holding a package whose id says FIRST, so that
    with several workers the chunks after it are recorded in the ledger before it."""
    import time

    from vericarbon.screening.batch import screen_chunk

    if any(b'"FIRST' in item.raw for item in chunk):
        time.sleep(1.5)
    return screen_chunk(chunk)

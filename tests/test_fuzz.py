"""Property-based fuzzing of the bundled samples (tests/fuzzing.py mutates them): whatever the mutation,
no uncaught exception, an exit code in the documented set, output that renders and JSON that is JSON.
Bounded to well under a minute here; `python benchmarks/fuzz.py --n 100000` runs the same generator at scale."""

from __future__ import annotations

import contextlib
import io
import json

from fuzzing import check, mutated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vericarbon.cli import main


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_mutated_packages_never_escape_the_documented_outcomes(rng):
    _, raw = mutated(rng)
    assert check(raw) in (0, 1, 2)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_packages_through_the_command_line(rng, tmp_path_factory):
    _, raw = mutated(rng)
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "p.json").write_bytes(raw)
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        code = main(["verify", str(folder / "p.json"), "--format", "json", "-o", str(folder / "out.json")])
    err = stderr.getvalue()
    assert code in (0, 1, 2) and "Traceback" not in err and "internal error" not in err
    if code != 2:
        json.loads((folder / "out.json").read_text())

"""The one exception type for user mistakes: it names the file, the location and what is wrong; and per-rule
isolation: a rule (or a ruleset's relational answers, or a report fact) that raises is that rule's
`engine_error`, with the reason and the time it ran, and every other result is kept (as CDISC CORE marks one
rule EXECUTION ERROR and goes on). Only Exception is caught, and not RunStopped: Ctrl-C, SystemExit and a
package's time limit still stop the run."""

from __future__ import annotations

import time
from typing import Callable, NamedTuple, TypeVar

T = TypeVar("T")


class InputError(Exception):
    """Bad input from the user (evidence, ruleset, option). The CLI prints it and exits 2."""

    def __init__(self, file: str, problems: list[tuple[str, str]] | str, location: str = "") -> None:
        if isinstance(problems, str):
            problems = [(location, problems)]
        self.file = file
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = []
        for location, message in self.problems:
            where = f"{self.file}: {location}" if location else self.file
            lines.append(f"{where}: {message}")
        return "\n".join(lines)


class OutOfScope(InputError):
    """A well-formed package that none of the chosen rulesets (or the chosen profile) covers. `verify` stops
    with it like any input error; `screen` records the package as not applicable and goes on."""


class RunStopped(Exception):
    """Raised to stop a whole package's check (its time is up): per-rule isolation lets it through, where
    any other exception costs only the rule that raised it (vericarbon.run.isolation)."""


class BudgetExceeded(Exception):
    """Raised by a rule's generated loop that reads its clock past the deadline (vericarbon.lang.codegen
    ticks): that rule's engine error, and the others go on."""

    def __init__(self, started: float) -> None:
        super().__init__(f"budget exceeded after {time.monotonic() - started:.1f} s")


def engine_fault(error: BaseException) -> str:
    """An exception raised inside the engine (a rule, relational answers, a report fact) in one line for a
    result: its type and the first line of its message, never a traceback (results are shown to users)."""
    if isinstance(error, BudgetExceeded):
        return str(error)
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = message if len(message) <= 200 else message[:199] + "…"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class EngineError(NamedTuple):
    reason: str  # the exception's type and first line (engine_fault)
    elapsed_s: float


def contained(work: Callable[[], T]) -> tuple[T | None, EngineError | None]:
    """`work()`'s value, or None and the engine error it raised."""
    start = time.perf_counter()
    try:
        return work(), None
    except RunStopped:
        raise
    except Exception as error:  # noqa: BLE001 - isolation is the point: the other results are kept
        return None, EngineError(engine_fault(error), round(time.perf_counter() - start, 3))

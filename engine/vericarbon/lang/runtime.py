"""What compiled expressions read and share at run time: the missing value, calendar durations, the
evaluation environment, JSON pointers, dates, and how a value is written in a message."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from vericarbon.evidence.documents import escape_pointer_part
from vericarbon.lang.nodes import Node, Path


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "missing"

    def __bool__(self) -> bool:
        raise TypeError("missing has no truth value")


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Months:
    """A calendar duration: adding it to a date moves the month and clamps the day (31 Jan + 1 month = 28/29 Feb)."""

    count: int


Frame = tuple[Any, str, int]  # an element, its collection's pointer and its index; index -1: the pointer is the element's own


class Env:
    """What a compiled expression reads at run time. `trace` is a list while explaining, else None."""

    __slots__ = ("package", "item", "item_pointer", "elements", "params", "trace", "deciding", "absent", "memo", "deadline", "started")

    def __init__(self, package: Any, params: dict[str, Any], item: Any = None, item_pointer: str = "") -> None:
        self.package = package
        self.params = params
        self.item = item
        self.item_pointer = item_pointer
        self.elements: list[Frame] = []
        self.trace: list[dict] | None = None
        self.deciding: list[str] = []  # while explaining: the elements that decided the last all/any/none
        self.absent: list[str] = []  # why a value was missing: pointers and unset parameters
        self.memo: dict[Node, Any] | None = None  # values of item-independent subexpressions, while one rule runs over one package
        self.deadline = 0.0  # time.monotonic() by which a rule's generated loop must be done (0: no budget), and when it started
        self.started = 0.0


def pointer_of(node: Path, env: Env) -> str:
    """The JSON pointer a path reads in this environment."""
    if node.root == "item":
        base = env.item_pointer
    elif node.root == "element":
        base = frame_pointer(env.elements[-1])
    else:
        base = ""
    return base + "".join("/" + escape_pointer_part(p) for p in node.parts)


def frame_pointer(frame: Frame) -> str:
    return frame[1] if frame[2] < 0 else f"{frame[1]}/{frame[2]}"


def as_date(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return MISSING


def add_duration(day: dt.date, duration: Any, sign: int) -> dt.date:
    if isinstance(duration, Months):
        months = day.year * 12 + day.month - 1 + sign * duration.count
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return dt.date(year, month + 1, min(day.day, last))
    return day + sign * duration


def format_value(value: Any) -> str:
    """A value as messages, summaries and reports write it."""
    if value is MISSING or value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value) or "(none)"
    if isinstance(value, float):
        return f"{value:.10g}"  # enough digits for emission factors, none of float noise
    return str(value)


def finite(value: Any, env: Env, text: str) -> Any:
    """A number a computation gave, or missing with the reason if it overflowed to infinity: a line of
    1e308 × 10 must not pass a tolerance test (inf compared with anything) or reach JSON output."""
    if type(value) is float and not math.isfinite(value):
        env.absent.append(f"{text!r} is too large a number to compute")
        return MISSING
    return value

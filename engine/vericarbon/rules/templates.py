"""Message templates: text with `{expression}` parts, as rule messages and report facts write them
("Lot {item.lot_id} retired on {item.retirement.date}"); `{{` and `}}` are literal braces."""

from __future__ import annotations

import re
from typing import Any, Callable

from vericarbon.lang import MISSING, Env, format_value

MAX_PARTS = 1000  # the built-in messages have at most a few dozen
_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

Template = list[str | Callable[[Env], Any]]


class TemplateError(ValueError):
    """A brace left open or closed alone."""


def template(text: str, compile_part: Callable[[str], Callable[[Env], Any]]) -> Template:
    """The text's literal pieces and, for each `{expression}`, what `compile_part` makes of its source."""
    parts: Template = []
    position = 0
    for count, match in enumerate(_PART.finditer(text)):
        if count == MAX_PARTS:  # each part compiles to code: a hostile template of 10**6 parts took minutes
            raise TemplateError(f"more than {MAX_PARTS} {{expression}} parts and braces in one message")
        parts.append(text[position : match.start()])
        parts.append(match.group(0)[0] if match.group(0) in ("{{", "}}") else compile_part(match.group(1)))
        position = match.end()
    tail = text[position:]
    if "{" in tail or "}" in tail:
        raise TemplateError("unbalanced brace in message (write {{ or }} for a literal brace)")
    parts.append(tail)
    return [part for part in parts if part != ""]


def render_message(parts: Template, env: Env) -> str:
    """The message; a value the package lacks is named by where it should be ("(missing: /credits/0/retirement)")."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        mark = len(env.absent)
        value = part(env)
        where = list(dict.fromkeys(reason for reason in env.absent[mark:] if reason.startswith("/")))
        out.append(f"(missing: {', '.join(where)})" if value is MISSING and where else format_value(value))
    return "".join(out)


def render_fact(parts: Template, env: Env) -> str | None:
    """A report fact: the text, or None when every expression in it is missing (the package does not say)."""
    values = [part if isinstance(part, str) else part(env) for part in parts]
    if any(not isinstance(part, str) for part in parts) and all(value is MISSING or value is None for part, value in zip(parts, values) if not isinstance(part, str)):
        return None
    return "".join(value if isinstance(part, str) else format_value(value) for part, value in zip(parts, values))

"""The jinja2 environment shared by the HTML and Markdown templates."""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2

from vericarbon.lang import format_value

STATUS_LABEL = {
    "fail": "Nonconformity",
    "not_evaluated": "Not evaluated",
    "manual": "Needs auditor judgement",
    "waived": "Waived",
    "pass": "Conforms",
    "not_applicable": "Not applicable",
}


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return format_value(value)


def anchor(requirement_id: str) -> str:
    """The HTML id of a requirement's row on its reference page, e.g. 14064-3/5.1.7-a -> 14064-3-5-1-7-a."""
    return re.sub(r"[^A-Za-z0-9]+", "-", requirement_id).strip("-")


def environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vericarbon.render", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["value"] = _value
    env.filters["label"] = lambda status: STATUS_LABEL[status]
    env.filters["anchor"] = anchor
    env.filters["covers"] = lambda clauses: list(dict.fromkeys(id for c in clauses for id in c.get("covers", [])))
    env.filters["cite"] = lambda clauses: "; ".join(f"{c['document']} {c['clause']}" + ("" if c["confidence"] == "verified" else f" ({c['confidence']})") for c in clauses)
    return env

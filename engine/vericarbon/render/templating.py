"""The jinja2 environment shared by the HTML and Markdown templates."""

from __future__ import annotations

import functools
import html
import json
import re
from typing import Any

import jinja2
import markupsafe

from vericarbon.lang import format_value
from vericarbon.render.findings import cite, review_text
from vericarbon.resources import cache_dir

STATUS_LABEL = {
    "fail": "Nonconformity",
    "engine_error": "Engine error (not run)",
    "not_evaluated": "Not evaluated",
    "manual": "Needs auditor judgement",
    "waived": "Waived",
    "pass": "Conforms",
    "not_applicable": "Not applicable",
}


STATUS_MARK = {"fail": "✗", "engine_error": "!", "not_evaluated": "?", "manual": "☐", "waived": "≈", "pass": "✓", "not_applicable": "–"}


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return format_value(value)


def anchor(requirement_id: str) -> str:
    """The HTML id of a requirement's row on its reference page, e.g. 14064-3/5.1.7-a -> 14064-3-5-1-7-a."""
    return re.sub(r"[^A-Za-z0-9]+", "-", requirement_id).strip("-")


class MarkdownSafe(str):
    """Markdown already written (a code span): the Markdown environment does not escape it again."""


def markdown_text(value: Any) -> str:
    """A value as literal text inside Markdown: no line breaks (they would end a table row), HTML and the
    characters Markdown reads as markup escaped, so evidence can neither inject HTML nor forge structure."""
    if isinstance(value, MarkdownSafe):
        return value
    text = html.escape(re.sub(r"[\r\n\t]+", " ", str(value)), quote=False)
    return re.sub(r"([\\`*_\[\]|#~!])", r"\\\1", text)


def markdown_code(value: Any) -> MarkdownSafe:
    """A value as a Markdown code span: a fence longer than any run of backticks inside, pipes escaped
    (GitHub tables split cells on them even in code)."""
    text = re.sub(r"[\r\n\t]+", " ", str(value)).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return MarkdownSafe(f"{fence}{pad}{text}{pad}{fence}")


@functools.cache
def environment(autoescape: bool, markdown: bool = False) -> jinja2.Environment:
    """The templates' environment: HTML escaping with autoescape; with markdown, every value escaped for
    Markdown (`| code` writes a code span). One per kind, so each template compiles once per process."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vericarbon.render", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=markdown_text if markdown else None,
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(folder)) if (folder := cache_dir("templates")) else None,  # keyed by the template's checksum
    )
    env.filters["code"] = markdown_code
    env.filters["value"] = _value
    env.filters["label"] = lambda status: STATUS_LABEL[status]
    env.filters["mark"] = lambda status: STATUS_MARK[status]
    env.filters["anchor"] = anchor
    env.filters["covers"] = lambda clauses: list(dict.fromkeys(id for c in clauses for id in c.get("covers", [])))
    env.filters["cite"] = cite
    env.filters["review"] = review_text
    env.filters["css_string"] = lambda text: markupsafe.Markup(re.sub(r'["\\<>\r\n]', "", str(text)))  # inside a CSS string in <style>
    return env

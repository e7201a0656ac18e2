"""The evidence schemas as reference pages (docs/schemas/KIND-VERSION.md), written from the schemas and the
built-in rulesets: every field with its type, whether it is required, its allowed values, what it is, an
example (the schema's own: scripts/schema_examples.py fills them), and the rules that read it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vericarbon.evidence.package import SchemaStore
from vericarbon.importers.workbooks import layout
from vericarbon.lang import format_value
from vericarbon.render.templating import markdown_code, markdown_text
from vericarbon.rules.rulesets import Ruleset, compile_ruleset


def schema_pages(store: SchemaStore, rulesets: list[Ruleset]) -> dict[Path, str]:
    return {Path("schemas") / f"{kind}-{version}.md": schema_page(store, kind, version, rulesets) for kind, version in sorted(store.kinds)}


def schema_page(store: SchemaStore, kind: str, version: str, rulesets: list[Ruleset]) -> str:
    shape = store.shape(kind, version)
    readers = _readers(store, kind, version, rulesets)
    title = store.schema_for(kind, version).get("title", kind)
    lines = [f"# `{kind}` {version}", "", "<!-- Written by `vericarbon schemas docs`; edit schemas/ instead. -->", "", markdown_text(title), "",
             f"Start from `vericarbon init {kind}` (YAML) or `vericarbon template {kind} -o {kind}.xlsx` (a workbook). "
             "`[]` marks a list: `lines[].id` is the `id` of each line. Examples are the schema's own (`scripts/schema_examples.py` fills them from the bundled packages).", ""]
    for sheet in layout(shape):
        prefix = _list_path(sheet.collection)
        lines += [f"## {'Single-valued fields' if not sheet.collection else markdown_code(prefix)}", "",
                  "| field | type | required | what it is | example | read by |", "|---|---|---|---|---|---|"]
        for column in sheet.columns:
            pointer = "/" + "/".join(part for part in sheet.collection if part != "*") + ("/" if sheet.collection else "") + "/".join(column.path)
            pattern = "/" + "/".join(sheet.collection + ("*",) + column.path) if sheet.collection else pointer  # * for each record of the list
            field = (prefix + "." if prefix else "") + column.header
            kind_text = column.kind if column.kind != "list" else f"list of {column.items}"
            what = markdown_text(column.description) + (" One of: " + ", ".join(markdown_code(value) for value in column.enum) + "." if len(column.enum) > 1 else "")
            example = _shown(column.example) if column.example is not None else (_shown(column.enum[0]) if len(column.enum) == 1 else "")
            lines.append(f"| {markdown_code(field)} | {kind_text} | {'yes' if column.required else ''} | {what.strip()} | {markdown_code(example) if example else ''} | {', '.join(sorted(readers.get(pattern, set())))} |")
        lines.append("")
    return "\n".join(lines)


def _list_path(path: tuple[str, ...]) -> str:
    """`("credits", "*", "documents")` → `credits[].documents[]`: a list is marked where a "*" follows it,
    and the collection itself is one."""
    parts = [part for part in path if part != "*"]
    marked = [part + ("[]" if position + 1 < len(path) and path[position + 1] == "*" else "") for position, part in enumerate(path) if part != "*"]
    return ".".join(marked[:-1] + [parts[-1] + "[]"]) if parts else ""


def _readers(store: SchemaStore, kind: str, version: str, rulesets: list[Ruleset]) -> dict[str, set[str]]:
    """For each field (a pointer pattern, * for list positions) the rules that read it or a field inside it."""
    found: dict[str, set[str]] = {}
    for ruleset in rulesets:
        if kind not in ruleset.data["applies_to"]:
            continue
        for rule in compile_ruleset(ruleset, kind, version, store).rules:
            for read in rule.reads:
                pattern = re.sub(r"/\d+(?=/|$)", "/*", read).removesuffix("/*")
                found.setdefault(pattern, set()).add(rule.id)
    return found


def _shown(value: Any) -> str:
    text = ", ".join(format_value(v) for v in value) if isinstance(value, list) else format_value(value)
    return text[:60]

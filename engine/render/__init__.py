"""Stage 6: renderers. Each format is one module with `render(result: dict) -> str`; all read the canonical JSON result."""

from __future__ import annotations

from typing import Callable

from vericarbon.render import html, json_format, markdown, text, xml

RENDERERS: dict[str, Callable[[dict], str]] = {
    "json": json_format.render,
    "md": markdown.render,
    "html": html.render,
    "xml": xml.render,
    "text": text.render,
}

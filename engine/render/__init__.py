"""Stage 6: renderers. Each format is one module with `render(result: dict) -> str` (bytes for PDF); all
read the canonical JSON result."""

from __future__ import annotations

from typing import Callable

from vericarbon.render import csv_format, html, json_format, junit, markdown, oscal, pdf, sarif, text, xml

RENDERERS: dict[str, Callable[[dict], str | bytes]] = {
    "json": json_format.render,
    "md": markdown.render,
    "html": html.render,
    "xml": xml.render,
    "text": text.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "oscal-ar": oscal.render,
    "csv": csv_format.render,
    "pdf": pdf.render,
}

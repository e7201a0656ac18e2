"""Stage 8: renderers. Each format is one module with `render(result: dict) -> str` (bytes for PDF); all
read the canonical JSON result. A format's module is imported when it is first asked for, so a run pays
only for the formats it writes (the HTML report's jinja2 alone costs more than the whole check of a small
package)."""

from __future__ import annotations

import importlib
from typing import Callable

# format name -> the module under vericarbon.render that writes it
FORMATS: dict[str, str] = {
    "json": "json_format",
    "md": "markdown",
    "html": "html",
    "xml": "xml",
    "text": "text",
    "sarif": "sarif",
    "junit": "junit",
    "oscal-ar": "oscal",
    "csv": "csv_format",
    "pdf": "pdf",
}


def renderer(format: str) -> Callable[[dict], str | bytes]:
    """The render function of a format (one of FORMATS)."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (known: {', '.join(sorted(FORMATS))})")
    return importlib.import_module(f"vericarbon.render.{FORMATS[format]}").render

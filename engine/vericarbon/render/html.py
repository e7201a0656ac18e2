"""The report as issued, in HTML (autoescaped): the same document `pdf.py` prints."""

from __future__ import annotations

import datetime as dt

from vericarbon.render.issued import model
from vericarbon.render.templating import environment


def render(result: dict, generated: dt.datetime | None = None) -> str:
    return environment(autoescape=True).get_template("report.html.j2").render(result=result, doc=model(result, generated))

"""A printable HTML report, autoescaped."""

from __future__ import annotations

from vericarbon.render.templating import environment


def render(result: dict) -> str:
    return environment(autoescape=True).get_template("report.html.j2").render(result=result)

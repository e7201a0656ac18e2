"""A Markdown report for tickets and pull requests."""

from __future__ import annotations

from vericarbon.render.templating import environment


def render(result: dict) -> str:
    return environment(autoescape=False, markdown=True).get_template("report.md.j2").render(result=result)

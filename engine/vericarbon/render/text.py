"""The terminal summary: verdict, counts, then each failing or unevaluated rule with its clause, pointer and values."""

from __future__ import annotations

from vericarbon.render.templating import environment


def render(result: dict) -> str:
    return environment(autoescape=False).get_template("summary.txt.j2").render(result=result)

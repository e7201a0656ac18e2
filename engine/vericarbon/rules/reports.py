"""What a ruleset's issued report says about the engagement: its `report:` section. Each fact is a message
template over the package, type-checked against the kind's schema when the ruleset compiles, and evaluated
into the result, so renderers read only the result (`vericarbon.render.issued`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from vericarbon.errors import InputError, contained
from vericarbon.evidence.shapes import Shape
from vericarbon.lang import Compiled, Env, ExprError, Node, Scope, Type, compile_expression, parse
from vericarbon.rules.templates import Template, TemplateError, render_fact, template

SECTIONS = ("engagement", "figures", "statement", "signoff")  # lists of {label, value}, in report order


@dataclass
class CompiledReport:
    spec: dict
    facts: dict[str, list[tuple[str, Template]]]
    unmodified: Compiled | None  # is the opinion as issued unmodified (clean)?


def compile_report(spec: dict, path: str, package: Shape, param_types: dict[str, Type], definitions: dict[str, Node]) -> CompiledReport:
    def compiled(source: str, location: str) -> Compiled:
        try:
            return compile_expression(parse(source), Scope(package, param_types, definitions=definitions))
        except ExprError as error:
            raise InputError(path, f"report fact, column {error.pos + 1}: {error.message}\n    {source}", location) from None

    facts: dict[str, list[tuple[str, Template]]] = {}
    for section in SECTIONS:
        for index, fact in enumerate(spec.get(section, [])):
            location = f"/report/{section}/{index}/value"
            try:
                parts = template(fact["value"], lambda source: compiled(source, location).fn)
            except TemplateError as error:
                raise InputError(path, f"report fact {fact['label']!r}: {error}", location) from None
            facts.setdefault(section, []).append((fact["label"], parts))
    unmodified = None
    if "opinion_unmodified" in spec:
        unmodified = compiled(spec["opinion_unmodified"], "/report/opinion_unmodified")
        if unmodified.type.kind not in ("boolean", "any"):
            raise InputError(path, f"report opinion_unmodified must be a condition (true/false), but it is {unmodified.type}", "/report/opinion_unmodified")
    return CompiledReport(spec, facts, unmodified)


def evaluate_report(report: CompiledReport, package: Any, params: dict[str, Any]) -> dict:
    """The facts as text (None where the package does not say), the register's numbering, and whether the
    opinion as issued is unmodified (None when unknown)."""
    env = Env(package, params)
    found: dict[str, Any] = {"title": report.spec["title"], "register": report.spec.get("register", {})}
    for section, facts in report.facts.items():
        found[section] = [_fact(label, lambda parts=parts: render_fact(parts, env)) for label, parts in facts]
    if report.unmodified is not None:
        unmodified, error = contained(lambda: report.unmodified.fn(env))  # type: ignore[union-attr]
        found["opinion_unmodified"] = unmodified if isinstance(unmodified, bool) else None
        if error is not None:
            found["opinion_unmodified_error"] = error.reason
    return found


def _fact(label: str, render: Callable[[], str | None]) -> dict[str, Any]:
    """A fact as text; one that raises is not stated, with its engine error (vericarbon.errors.contained)."""
    value, error = contained(render)
    return {"label": label, "value": value} if error is None else {"label": label, "value": None, "engine_error": error.reason}


def report_facts(found: dict) -> list[dict]:
    """Every fact of an evaluated report, in its sections' order (the unmodified opinion as one more)."""
    facts = [fact for section in found.values() if isinstance(section, list) for fact in section]
    if "opinion_unmodified_error" in found:
        facts.append({"label": "opinion unmodified", "value": None, "engine_error": found["opinion_unmodified_error"]})
    return facts

"""Tailoring overlays: a registry's or a VVB's changes to one ruleset, kept apart from it and shown in every result.

An overlay sets parameter values, changes finding types, disables rules (each with a justification and
who approved it) and adds rules and manual checks. Applying it gives an ordinary ruleset document, which
is then validated, linted and compiled like any other; the changes are recorded for the report."""

from __future__ import annotations

import copy
from typing import Any

from vericarbon.errors import InputError


def apply_overlay(overlay: dict, path: str, sha256: str, base: dict) -> tuple[dict, dict]:
    """The base ruleset document with the overlay applied, and the record of what the overlay changed."""
    data = copy.deepcopy(base)
    problems: list[tuple[str, str]] = []
    label = f"overlay {overlay['overlay']} {overlay['version']}"
    declared = data.setdefault("parameters", {})
    base_values = {name: declared[name].get("value") for name in overlay.get("parameters", {}) if name in declared}
    for name, value in overlay.get("parameters", {}).items():
        if name not in declared:
            problems.append((f"/parameters/{name}", f"{data['ruleset']} has no parameter {name!r} (it has: {', '.join(sorted(declared)) or 'none'})"))
        else:  # the value's type is checked with the merged ruleset, like any ruleset's
            declared[name] = {**declared[name], "value": value, "source": label}
    rules = {rule["id"]: rule for rule in data["rules"]}
    for rule_id, finding_type in overlay.get("finding_types", {}).items():
        if rule_id not in rules:
            problems.append((f"/finding_types/{rule_id}", f"{data['ruleset']} has no rule {rule_id!r}"))
        else:
            rules[rule_id]["finding_type"] = finding_type
    checks = {check["id"]: check for check in data.get("manual_checks", [])}
    disabled = []
    for position, entry in enumerate(overlay.get("disable", [])):
        target = rules.get(entry["id"]) or checks.get(entry["id"])
        if target is None:
            problems.append((f"/disable/{position}/id", f"{data['ruleset']} has no rule or manual check {entry['id']!r}"))
        else:
            disabled.append({"id": entry["id"], "title": target["title"], **{k: entry[k] for k in ("justification", "approved_by", "date") if k in entry}})
    if problems:
        raise InputError(path, problems)
    off = {entry["id"] for entry in disabled}
    data["rules"] = [rule for rule in data["rules"] if rule["id"] not in off] + copy.deepcopy(overlay.get("rules", []))
    data["manual_checks"] = [check for check in data.get("manual_checks", []) if check["id"] not in off] + copy.deepcopy(overlay.get("manual_checks", []))
    record: dict[str, Any] = {
        "id": overlay["overlay"],
        "title": overlay["title"],
        "version": overlay["version"],
        "file": path,
        "sha256": sha256,
        "parameters": dict(overlay.get("parameters", {})),
        "base_parameters": base_values,
        "finding_types": dict(overlay.get("finding_types", {})),
        "disabled": disabled,
        "added": [item["id"] for item in overlay.get("rules", []) + overlay.get("manual_checks", [])],
    }
    if "owner" in overlay:
        record["owner"] = overlay["owner"]
    return data, record

"""An XML rendering of the result for systems that exchange XML (built with lxml, never by string concatenation)."""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

# Characters XML 1.0 cannot carry, even escaped: most C0 controls, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """The result with every such character in every string written as visible \\uXXXX text."""
    if isinstance(value, str):
        return _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if isinstance(value, dict):
        return {xml_safe(key): xml_safe(child) for key, child in value.items()}
    if isinstance(value, list):
        return [xml_safe(child) for child in value]
    return value


def render(result: dict) -> str:
    result = xml_safe(result)
    root = etree.Element("verification-result", vericarbon=result["vericarbon"], verdict=result["verdict"])
    evidence = result["evidence"]
    etree.SubElement(root, "evidence", {k: str(v) for k, v in evidence.items() if v is not None})
    if "decision" in result:
        decision = etree.SubElement(root, "decision", profile=result.get("profile", "intake"), outcome=result["decision"]["outcome"])
        for item in result["decision"]["to_fix"]:
            etree.SubElement(decision, "fix", rule=item["rule"], status=item["status"]).text = item["fix"]
    summary = etree.SubElement(root, "summary")
    for status, count in result["summary"]["by_status"].items():
        etree.SubElement(summary, "count", status=status).text = str(count)
    for ruleset in result["rulesets"]:
        node = etree.SubElement(root, "ruleset", id=ruleset["id"], version=ruleset["version"], sha256=ruleset["sha256"], document=ruleset["document"]["id"])
        for overlay in ruleset["overlays"]:
            applied = etree.SubElement(node, "overlay", id=overlay["id"], version=overlay["version"], sha256=overlay["sha256"])
            for disabled in overlay["disabled"]:
                etree.SubElement(applied, "disabled", rule=disabled["id"], approved_by=disabled["approved_by"]).text = disabled["justification"]
        for item in ruleset["results"]:
            entry = etree.SubElement(node, item["kind"].replace("_", "-"), id=item["id"], status=item["status"], severity=item["severity"])
            if "finding_type" in item:
                entry.set("finding-type", item["finding_type"])
            if "occurrence_count" in item:  # occurrences beyond --max-occurrences are counted, not listed
                entry.set("occurrence-count", str(item["occurrence_count"]))
            for clause in item["clauses"]:
                etree.SubElement(entry, "clause", document=clause["document"], number=clause["clause"], confidence=clause["confidence"])
            etree.SubElement(entry, "requirement").text = item["requirement"]
            if "reason" in item:
                etree.SubElement(entry, "reason").text = item["reason"]
            if "judgement" in item:
                judged = item["judgement"]
                etree.SubElement(entry, "judgement", judgement=judged["judgement"], by=judged["by"], engine_status=judged["engine_status"]).text = judged["justification"]
            for occurrence in item.get("occurrences", []):
                occ = etree.SubElement(entry, "occurrence", status=occurrence["status"], pointer=occurrence["pointer"])
                if "message" in occurrence:
                    etree.SubElement(occ, "message").text = occurrence["message"]
                if "waiver" in occurrence:
                    waiver = occurrence["waiver"]
                    etree.SubElement(occ, "waiver", approved_by=waiver["approved_by"], expires=waiver["expires"]).text = waiver["justification"]
                for value in occurrence.get("values", []):
                    etree.SubElement(occ, "value", pointer=value["pointer"], expr=value["expr"]).text = json.dumps(value["value"], ensure_ascii=False)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")

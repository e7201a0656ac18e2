"""JUnit XML, for CI systems: a test suite per ruleset, a test case per rule; a failing rule is a failure
carrying each failing occurrence's pointer and message, a rule that did not run (not applicable, not
evaluated, waived) is skipped with the reason, and one that raised inside vericarbon (engine_error) is an error. Built with lxml, never by string concatenation."""

from __future__ import annotations

from lxml import etree

from vericarbon.render.findings import clause_text, occurrences, rules
from vericarbon.render.xml import xml_safe


def render(result: dict) -> str:
    result = xml_safe(result)
    failing: dict[tuple[str, str], list] = {}
    for found in occurrences(result):
        failing.setdefault((found.ruleset["id"], found.rule["id"]), []).append(found)
    root = etree.Element("testsuites", name=f"vericarbon {result['evidence'].get('id') or result['evidence']['file']}")
    suites: dict[str, etree._Element] = {}
    counts: dict[str, dict[str, int]] = {}
    for ruleset, item in rules(result):
        suite = suites.get(ruleset["id"])
        if suite is None:
            suite = suites[ruleset["id"]] = etree.SubElement(root, "testsuite", name=f"{ruleset['id']} {ruleset['version']}")
            counts[ruleset["id"]] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        tally = counts[ruleset["id"]]
        tally["tests"] += 1
        case = etree.SubElement(suite, "testcase", classname=ruleset["id"], name=f"{item['id']} {item['title']}", time="0")
        status = item["status"]
        if status == "fail":
            tally["failures"] += 1
            found = [f for f in failing.get((ruleset["id"], item["id"]), []) if f.status == "fail"]
            failure = etree.SubElement(case, "failure", message=found[0].message if found else item["title"], type=item.get("finding_type", ""))
            failure.text = "\n".join(f"{f.pointer}: {f.message}" for f in found) + f"\n{clause_text(item)}\n{item['remediation']}"
        elif status == "engine_error":
            tally["errors"] += 1
            etree.SubElement(case, "error", message=item["reason"], type="engine_error").text = f"{item['id']} did not run: {item['reason']}"
        elif status != "pass":
            tally["skipped"] += 1
            etree.SubElement(case, "skipped", message=f"{status.replace('_', ' ')}: {item.get('reason', '')}".rstrip(": "))
    for ruleset_id, suite in suites.items():
        for name, value in counts[ruleset_id].items():
            suite.set(name, str(value))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")

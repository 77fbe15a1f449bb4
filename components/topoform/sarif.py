"""`topoform check` for CI systems: SARIF 2.1.0 (GitHub code scanning puts each finding on the
topology line it comes from) and JUnit XML (test-report widgets).

Each rule is described once (its ID, name, description, remediation and severity); each
finding is a result at its place in the topology files, with the resource's URN beside it.
A stack-level finding (a budget rule's) sits at the budget's line.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from .check import CheckResult

__all__ = ["junit", "sarif"]

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"mandatory": "error", "advisory": "warning", "disabled": "none"}
_SECURITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def sarif(result: CheckResult) -> str:
    """One SARIF run: topoform as the tool, its rules as the driver's rules, each finding a result."""
    from .check import RULE_BY_NAME

    used = sorted(RULE_BY_NAME, key=lambda name: RULE_BY_NAME[name].id)  # every rule, with its help: what code scanning lists
    index = {name: i for i, name in enumerate(used)}
    rules = []
    for name in used:
        rule = RULE_BY_NAME[name]
        rules.append(
            {
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.description},
                "fullDescription": {"text": rule.description},
                "help": {"text": f"Fix: {rule.remediation}", "markdown": f"**Fix:** {rule.remediation}"},
                "defaultConfiguration": {"level": _LEVEL.get(rule.enforcement, "warning")},
                "properties": {"tags": [rule.category, rule.severity], "security-severity": _SECURITY.get(rule.severity, "5.0")},
            }
        )
    results = []
    for v in result.violations:
        rule = RULE_BY_NAME[v.policy]
        entry: dict[str, object] = {
            "ruleId": rule.id,
            "ruleIndex": index[v.policy],
            "level": _LEVEL.get(v.enforcement, "warning"),
            "message": {"text": f"{v.message} ({v.urn or 'the stack'})"},
            "properties": {"urn": v.urn, "enforcement": v.enforcement, "severity": v.severity},
        }
        if v.location is not None:
            entry["locations"] = [
                {
                    "physicalLocation": {"artifactLocation": {"uri": str(v.location["file"]).replace("\\", "/")}, "region": {"startLine": int(v.location["line"])}},
                    "logicalLocations": [{"fullyQualifiedName": str(v.location["field"]), "kind": "member"}],
                }
            ]
        results.append(entry)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "topoform", "rules": rules}},
                "automationDetails": {"id": f"topoform/{result.stack}/"},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def junit(result: CheckResult) -> str:
    """One test suite per stack, one test case per finding: a mandatory one fails, an advisory
    one is skipped with its message (a clean stack is one passing case)."""
    from .check import RULE_BY_NAME

    suite = ET.Element(
        "testsuite",
        name=f"topoform check {result.stack}",
        tests=str(max(1, len(result.violations))),
        failures=str(len(result.mandatory)),
        skipped=str(len(result.violations) - len(result.mandatory)),
        errors="0",
    )
    if not result.violations:
        ET.SubElement(suite, "testcase", classname=f"topoform.{result.stack}", name="no findings")
    for v in result.violations:
        rule = RULE_BY_NAME[v.policy]
        where = f"{v.location['file']}:{v.location['line']} {v.location['field']}" if v.location else (v.urn or "the stack")
        case = ET.SubElement(suite, "testcase", classname=f"topoform.{result.stack}.{rule.id}", name=f"{rule.name}: {where}")
        if v.location is not None:
            case.set("file", str(v.location["file"]))
            case.set("line", str(v.location["line"]))
        text = f"{v.message}\nresource: {v.urn or 'the stack'}\nfix: {rule.remediation}"
        child = ET.SubElement(case, "failure" if v.enforcement == "mandatory" else "skipped", message=v.message, type=rule.id)
        child.text = text
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

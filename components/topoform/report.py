"""Readable renderings of check results: text for terminals, markdown for pull requests."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import jinja2

from .check import CheckResult, RULE_BY_NAME

__all__ = ["check_markdown", "check_text", "groups"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("topoform", "templates"), autoescape=False, keep_trailing_newline=True, trim_blocks=False)


def groups(result: CheckResult) -> list[dict[str, Any]]:
    """Violations grouped by policy, mandatory first (the result's order)."""
    out: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for v in result.violations:
        rule = RULE_BY_NAME[v.policy]
        group = out.setdefault(
            v.policy,
            {
                "policy": v.policy,
                "id": rule.id,
                "severity": v.severity,
                "enforcement": v.enforcement,
                "description": rule.description,
                "remediation": rule.remediation,
                "violations": [],
            },
        )
        group["violations"].append(v)
    return list(out.values())


def check_text(result: CheckResult) -> str:
    lines = [
        f"topoform check: stack {result.stack}: {result.resources} resources, {result.policies} policies, "
        f"{len(result.mandatory)} mandatory and {len(result.violations) - len(result.mandatory)} advisory findings"
    ]
    for g in groups(result):
        lines.append(f"{g['enforcement'].upper()} {g['id']} {g['policy']} ({g['severity']}): {g['description']}")
        for v in g["violations"]:
            lines.append(f"  {v.urn}")
            lines.append(f"    {v.message}")
        lines.append(f"  fix: {g['remediation']}")
    if not result.mandatory:
        lines.append("no mandatory violations")
    return "\n".join(lines) + "\n"


def check_markdown(result: CheckResult) -> str:
    return _ENV.get_template("check.md.j2").render(result=result, groups=groups(result))

"""Thin wiring from the rules to pulumi_policy objects (no server is started here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .base import Rule, StackRule, Subject
from .rules import RULES, judge_resource, judge_stack, rule_config, schema

__all__ = ["PACK_NAME", "policies", "subject"]

PACK_NAME = "topoform"
LEVELS = {"advisory": EnforcementLevel.ADVISORY, "mandatory": EnforcementLevel.MANDATORY, "disabled": EnforcementLevel.DISABLED}
SEVERITIES = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL}


def subject(r: ResourceValidationArgs | PolicyResource) -> Subject:
    """A pulumi_policy resource as the rules see it."""
    deps = getattr(r, "property_dependencies", None) or {}
    provider = r.provider
    return Subject(
        type=r.resource_type,
        name=r.name,
        urn=r.urn,
        props=r.props,
        protect=bool(r.opts.protect) if r.opts is not None else False,
        provider=provider.props if provider is not None else {},
        provider_urn=provider.urn if provider is not None else "",
        parent=(r.opts.parent or "") if r.opts is not None else "",
        property_dependencies={k: [d.urn for d in v] for k, v in deps.items()},
    )


def _resource_validation(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = rule_config(rule, args.get_config())
        for message in judge_resource(rule, subject(args), config):
            report(message, None)

    return validate


def _stack_validation(rule: Rule | StackRule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = rule_config(rule, args.get_config())
        for finding in judge_stack(rule, [subject(r) for r in args.resources], config):
            report(finding.message, finding.urn)

    return validate


def _common(rule: Rule | StackRule) -> Mapping[str, Any]:
    return {
        "enforcement_level": LEVELS[rule.enforcement],
        "config_schema": PolicyConfigSchema(schema(rule)),
        "display_name": f"{rule.id} {rule.name}",
        "severity": SEVERITIES[rule.severity],
        "tags": [rule.id, rule.category, *rule.clouds, *(f"mirrors:{m}" for m in rule.mirrors)],
        "remediation_steps": rule.remediation,
    }


def policies() -> list[Policy]:
    """Every rule as a pulumi_policy policy: resource rules validate one resource at a time,
    stack rules (and fact rules that need companion resources) the whole stack."""
    out: list[Policy] = []
    for rule in RULES:
        if isinstance(rule, Rule) and rule.scope == "resource":
            out.append(ResourceValidationPolicy(rule.name, rule.description, validate=_resource_validation(rule), **_common(rule)))
        else:
            out.append(StackValidationPolicy(rule.name, rule.description, validate=_stack_validation(rule), **_common(rule)))
    return out

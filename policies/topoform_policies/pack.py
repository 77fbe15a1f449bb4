"""Thin wiring from the rules to pulumi_policy objects (no server is started here)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

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
from .readers import facts
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


T = TypeVar("T")


class _Shared(threading.local):
    """What the policies of one analyzer call share, so a resource's facts (``Analyze``) or the
    stack's subjects (``AnalyzeStack``) are read once, not once per policy.

    The SDK's servicer calls every policy in turn with its own copy of the same resource or
    stack; a policy that asks a second time, or a different key, means a new call. Per thread:
    the pack's gRPC server may serve calls on several.
    """

    def __init__(self) -> None:
        self.key: Hashable = None
        self.asked: set[str] = set()
        self.value: Any = None

    def get(self, key: Hashable, policy: str, build: Callable[[], T]) -> T:
        if key != self.key or policy in self.asked:
            self.key, self.asked = None, set()  # nothing stale survives a build that raises
            self.value = build()
            self.key = key
        self.asked.add(policy)
        return self.value  # type: ignore[no-any-return]


_RESOURCE, _STACK = _Shared(), _Shared()


def _resource_validation(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        config = rule_config(rule, args.get_config())
        s = subject(args)
        for message in judge_resource(rule, s, config, lambda: _RESOURCE.get((args.urn, args.resource_type), rule.name, lambda: facts(s))):
            report(message, None)

    return validate


def _stack_validation(rule: Rule | StackRule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = rule_config(rule, args.get_config())
        # One list for every stack policy of the call, so the stack facts are read once.
        subjects = _STACK.get(tuple(r.urn for r in args.resources), rule.name, lambda: [subject(r) for r in args.resources])
        for finding in judge_stack(rule, subjects, config):
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

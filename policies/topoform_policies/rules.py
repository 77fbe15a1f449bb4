"""Every rule of the pack, and how to judge a set of subjects without the Pulumi engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .base import EXEMPTIONS_SCHEMA, Fact, Finding, Rule, StackRule, Subject, defaults, exempt
from .budget import BUDGET
from .portability import PORTABILITY
from .readers import facts, stack_facts
from .reliability import RELIABILITY
from .security import SECURITY

__all__ = ["RULES", "judge_resource", "judge_stack", "rule_config", "schema"]

RULES: list[Rule | StackRule] = [*SECURITY, *PORTABILITY, *RELIABILITY, *BUDGET]


def schema(rule: Rule | StackRule) -> dict[str, dict[str, Any]]:
    """The rule's config schema: its own properties plus exemptions."""
    return {**{k: dict(v) for k, v in rule.config.items()}, "exemptions": dict(EXEMPTIONS_SCHEMA)}


def rule_config(rule: Rule | StackRule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults from the schema, overridden by what was configured."""
    return {**defaults(schema(rule)), **dict(given or {})}


def judge_resource(rule: Rule, subject: Subject, config: Mapping[str, Any], read: Callable[[], Sequence[Fact]] | None = None) -> Iterator[str]:
    """A resource rule on one resource: a message per violating fact (``read`` gives the
    subject's facts when the caller shares them between rules)."""
    if exempt(subject.urn, config):
        return
    for fact in read() if read is not None else facts(subject):
        if fact.topic == rule.topic:
            message = rule.check(fact, config)
            if message:
                yield message


def judge_stack(rule: Rule | StackRule, subjects: Sequence[Subject], config: Mapping[str, Any]) -> Iterator[Finding]:
    """A stack rule (or a fact rule whose facts need the whole stack) on all resources."""
    if isinstance(rule, StackRule):
        findings: Iterator[Finding] = rule.check(subjects, config)
    else:
        findings = (
            Finding(s.urn, message)
            for s, fact in stack_facts(subjects)
            if fact.topic == rule.topic and (message := rule.check(fact, config))
        )
    for finding in findings:
        if not exempt(finding.urn, config):
            yield finding

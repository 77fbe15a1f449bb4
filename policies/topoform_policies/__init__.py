"""topoform's policy pack: security, portability and reliability rules for every cloud.

The rules are plain functions over neutral facts (:mod:`.readers`); :func:`policies` wraps
them for pulumi_policy. ``policies/__main__.py`` builds the PolicyPack for `pulumi preview
--policy-pack policies`; `topoform check` drives the same policies through the SDK's analyzer.
"""

from __future__ import annotations

from .base import Fact, Finding, Rule, StackRule, Subject
from .pack import PACK_NAME, policies, subject
from .reliability import RETAIN_RULE
from .rules import RULES, judge_resource, judge_stack, rule_config, schema

__all__ = [
    "PACK_NAME",
    "RETAIN_RULE",
    "RULES",
    "Fact",
    "Finding",
    "Rule",
    "StackRule",
    "Subject",
    "judge_resource",
    "judge_stack",
    "policies",
    "rule_config",
    "schema",
    "subject",
]

"""What rules are made of: subjects (resources as rules see them), facts, rules.

Rules never read a cloud's vocabulary directly. Readers (``readers/<cloud>.py``) turn each
resource type's properties into a few neutral facts -- *public?*, *encrypted with our key?*,
*API open to whom?* -- and a rule judges the facts, so one rule covers every cloud, and also
resources created outside topoform's components. Properties arrive as the Pulumi wire names
(camelCase), as read-only mappings, with numbers as floats.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fact", "Finding", "Rule", "StackRule", "Subject", "exempt", "get", "mapping"]

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["advisory", "mandatory", "disabled"]
Category = Literal["security", "portability", "reliability", "cost"]


def get(props: Any, *path: str | int, default: Any = None) -> Any:
    """``props["a"]["b"][0]``, or ``default`` where any step is missing."""
    node = props
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, Sequence) or isinstance(node, (str, bytes)) or step >= len(node):
                return default
            node = node[step]
        else:
            if not isinstance(node, Mapping) or step not in node:
                return default
            node = node[step]
    return default if node is None else node


def mapping(value: Any) -> Mapping[str, Any]:
    """A mapping, or one encoded as JSON (how providers pass nested config, e.g. default tags)."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Subject:
    """One resource, as the rules see it."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    provider: Mapping[str, Any] = field(default_factory=dict)
    """The explicit provider's properties (region, default tags, ...)."""
    provider_urn: str = ""
    parent: str = ""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Property name -> URNs it was computed from (how split resources find their bucket)."""

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]


@dataclass(frozen=True)
class Fact:
    """One neutral fact about a subject, with where it was read from."""

    topic: str
    value: Any
    where: str = ""


@dataclass(frozen=True)
class Finding:
    """A violation: which resource and what is wrong with it."""

    urn: str
    message: str


Check = Callable[[Fact, Mapping[str, Any]], str | None]
"""Judge one fact under the rule's config: a message when it violates the rule."""


@dataclass(frozen=True)
class Rule:
    """A resource rule: judges the facts of one topic on every resource."""

    id: str
    name: str
    category: Category
    description: str
    severity: Severity
    enforcement: Enforcement
    remediation: str
    mirrors: tuple[str, ...]
    clouds: tuple[str, ...]
    topic: str
    check: Check
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON-schema properties of this rule's config (defaults included)."""

    scope: Literal["resource", "stack"] = "resource"


StackCheck = Callable[[Sequence[Subject], Mapping[str, Any]], Iterator[Finding]]


@dataclass(frozen=True)
class StackRule:
    """A stack rule: judges relations between resources (replicas, providers, pools)."""

    id: str
    name: str
    category: Category
    description: str
    severity: Severity
    enforcement: Enforcement
    remediation: str
    mirrors: tuple[str, ...]
    clouds: tuple[str, ...]
    check: StackCheck
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    scope: Literal["resource", "stack"] = "stack"


EXEMPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Resources this rule does not apply to: URN glob patterns, each with the reason.",
    "items": {
        "type": "object",
        "properties": {"urn": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["urn", "reason"],
    },
    "default": [],
}


def exempt(urn: str, config: Mapping[str, Any]) -> bool:
    """Whether ``urn`` matches one of the rule's exemptions (each of which must give a reason)."""
    for entry in config.get("exemptions") or []:
        if isinstance(entry, Mapping) and entry.get("reason") and fnmatch.fnmatchcase(urn, str(entry.get("urn", ""))):
            return True
    return False


def defaults(schema: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The schema's defaults (the CLI applies them; an offline run must too)."""
    return {k: v["default"] for k, v in schema.items() if "default" in v}


def iter_topic(facts: Iterable[Fact], topic: str) -> Iterator[Fact]:
    return (f for f in facts if f.topic == topic)

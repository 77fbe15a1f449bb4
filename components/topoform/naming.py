"""Stable names: derived from map keys, never from positions.

Logical (Pulumi) names join the system name and map keys with ``-``; child
resources append their role to their component's name. Physical names that a
cloud limits in length or alphabet are shortened deterministically: the
readable prefix is kept and a short hash of the full name keeps them unique.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["NameRule", "Named", "account_id", "child", "compact", "digest", "fit", "name_rules", "physical"]


def digest(text: str, length: int = 6) -> str:
    """A short, stable hex digest of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def child(parent: str, *role: str) -> str:
    """The logical name of a component's child: ``<component>-<role>``."""
    return "-".join((parent, *role))


def physical(*parts: str, limit: int) -> str:
    """``a-b-c`` if it fits in ``limit`` characters, else a prefix plus a hash of the whole."""
    full = "-".join(p for p in parts if p)
    if len(full) <= limit:
        return full
    tag = digest(full)
    head = full[: limit - len(tag) - 1].rstrip("-")
    return f"{head}-{tag}"


def account_id(*parts: str) -> str:
    """A workload identity's name: a GCP service account ID (6-30 characters, a letter first),
    which the other clouds use as the identity's name too."""
    name = physical(*parts, limit=30)
    return name if len(name) >= 6 else f"{name}-{digest(name)}"


def compact(text: str, limit: int, *, alphabet: str = "a-z0-9") -> str:
    """For clouds that allow only ``alphabet`` (e.g. AKS pool names): drop the rest, hash if too long."""
    clean = re.sub(f"[^{alphabet}]", "", text.lower())
    if clean and len(clean) <= limit and clean == text:
        return clean
    if clean and len(clean) <= limit and not clean[0].isdigit():
        # Characters were dropped: add a hash so `a-b` and `ab` stay distinct.
        tag = digest(text, 4)
        if len(clean) + len(tag) <= limit:
            return clean + tag
        return clean[: limit - len(tag)] + tag
    tag = digest(text, 4)
    head = clean[: limit - len(tag)] or "p"
    if head[0].isdigit():
        head = "p" + head[: limit - len(tag) - 1]
    return head + tag


# --------------------------------------------------------------------------- physical names


@dataclass(frozen=True)
class NameRule:
    """Where one physical name of a resource type is, and what the cloud accepts (catalog/names.yaml)."""

    input: str
    max: int
    pattern: str
    source: str
    min: int = 1
    autoname: int | None = None
    """Characters Pulumi appends to the logical name when topoform gives none (``None``: never)."""
    prefix: dict[str, Any] | None = None
    """The provider's prefix argument: ``{input, adds, max}``."""

    def check(self, name: str) -> str | None:
        """Why ``name`` is not a valid physical name, or ``None``."""
        if not self.min <= len(name) <= self.max:
            return f"{len(name)} characters, not {self.min}-{self.max}"
        if not re.fullmatch(self.pattern, name):
            return f"does not match {self.pattern}"
        return None


@dataclass(frozen=True)
class Named:
    """A child's logical name and the arguments and options that give it a physical name fitting
    its cloud: none where Pulumi's own name fits."""

    name: str
    kwargs: dict[str, Any]
    opts: dict[str, Any]


@functools.cache
def name_rules() -> dict[str, list[NameRule]]:
    """Every resource type's physical-name rules, from ``catalog/names.yaml``."""
    data = yaml.safe_load((Path(__file__).parent / "catalog" / "names.yaml").read_text(encoding="utf-8"))
    return {t: [NameRule(**rule) for rule in rules] for t, rules in data["types"].items()}


def _snake(wire: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", wire).lower()


def fit(type_: str, logical: str) -> Named:
    """How to name ``logical`` of ``type_`` so its physical name fits the cloud.

    Where Pulumi's auto-name (the logical name and a random suffix) fits, nothing is passed, so
    names already deployed never change. Where it does not, the provider's prefix argument takes
    a shortened prefix (the provider still adds a unique suffix, so replacements can be created
    before the old resource goes), else the name itself is shortened and the resource is deleted
    before it is replaced (two of the same name cannot coexist)."""
    rules = name_rules().get(type_)
    rule = rules[0] if rules else None
    if rule is None or rule.autoname is None or len(logical) + rule.autoname <= rule.max:
        return Named(logical, {}, {})
    arg = {"resourceName": "resource_name_"}.get(rule.input) or _snake(rule.input)
    if rule.prefix is not None:
        limit = min(int(rule.prefix["max"]), rule.max - int(rule.prefix["adds"]))
        return Named(logical, {_snake(rule.prefix["input"]): f"{physical(logical, limit=limit - 1)}-"}, {})
    return Named(logical, {arg: physical(logical, limit=rule.max)}, {"delete_before_replace": True})

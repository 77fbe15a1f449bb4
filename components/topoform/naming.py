"""Stable names: derived from map keys, never from positions.

Logical (Pulumi) names join the system name and map keys with ``-``; child
resources append their role to their component's name. Physical names that a
cloud limits in length or alphabet are shortened deterministically: the
readable prefix is kept and a short hash of the full name keeps them unique.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["child", "digest", "physical", "compact"]


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

"""Readers: each resource type's properties -> neutral facts, one module per cloud.

:func:`facts` reads one subject; :func:`stack_facts` adds what only the whole stack shows
(an S3 bucket's separate encryption, versioning and policy resources).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..base import Fact, Subject
from . import aws, azure, gcp, kubernetes

__all__ = ["READERS", "facts", "stack_facts"]

READERS = {**aws.READERS, **gcp.READERS, **azure.READERS, **kubernetes.READERS}
STACK_READERS = [*aws.STACK_READERS, *gcp.STACK_READERS, *azure.STACK_READERS, *kubernetes.STACK_READERS]
_PREVIEW = re.compile(r"(alpha|beta|preview)", re.I)


def facts(s: Subject) -> list[Fact]:
    """Every fact the readers know about one resource."""
    out = list(READERS[s.type](s)) if s.type in READERS else []
    if s.package == "kubernetes":
        out += list(kubernetes.api_version(s))
    elif s.package == "azure-native" and s.type.count(":") >= 2 and "/" in s.type.split(":")[1]:
        # Explicitly versioned azure-native modules: azure-native:<module>/v2024...preview:Kind
        out.append(Fact("api_version", s.type.split(":")[1].split("/", 1)[1], "type"))
    return out


class _Memo:
    """The facts of the last list of subjects: stack rules each ask for them, once per analysis."""

    subjects: object = None
    facts: list[tuple[Subject, Fact]] = []


def stack_facts(subjects: Sequence[Subject], known: Sequence[Sequence[Fact]] | None = None) -> Iterator[tuple[Subject, Fact]]:
    """Facts per subject, the whole stack's included (computed once per list of subjects;
    ``known`` gives each subject's own facts where the caller has read them already)."""
    if subjects is not _Memo.subjects:
        own = known if known is not None else [facts(s) for s in subjects]
        found = [(s, fact) for s, found_facts in zip(subjects, own, strict=True) for fact in found_facts]
        for reader in STACK_READERS:
            found.extend(reader(subjects))
        _Memo.subjects, _Memo.facts = subjects, found
    return iter(_Memo.facts)


def is_preview(version: str) -> bool:
    return bool(_PREVIEW.search(version))

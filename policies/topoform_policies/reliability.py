"""Reliability rules: nothing stateful can be deleted by accident in a protected stack.

Policies see ``protect`` but not ``retainOnDelete``: `topoform check` judges that one over the
recording (:data:`RETAIN_RULE`), the pack cannot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .base import Fact, Finding, Rule, StackRule, Subject
from .readers import stack_facts

__all__ = ["RELIABILITY", "RETAIN_RULE", "protected_stack", "stateful"]

PROTECTED_SCHEMA = {
    "protected": {
        "type": "string",
        "enum": ["auto", "yes", "no"],
        "default": "auto",
        "description": "Whether this stack is protected; auto: it is when any stateful resource is protected.",
    }
}


def stateful(subjects: Sequence[Subject]) -> list[Subject]:
    marked = {s.urn for s, f in stack_facts(subjects) if f.topic == "stateful" and f.value}
    return [s for s in subjects if s.urn in marked]


def protected_stack(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> bool:
    mode = cfg.get("protected", "auto")
    if mode in ("yes", "no"):
        return bool(mode == "yes")
    return any(s.protect for s in stateful(subjects))


def _protected(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    if not protected_stack(subjects, cfg):
        return
    for s in stateful(subjects):
        if not s.protect:
            yield Finding(s.urn, "a stateful resource in a protected stack without protect")


def _deletion_protection(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    if not protected_stack(subjects, cfg):
        return
    for s, f in stack_facts(subjects):
        if f.topic == "deletion_protection" and not f.value:
            yield Finding(s.urn, f"the cloud's own deletion protection is off ({f.where})")


def _no_autoscaler(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    return None if f.value else f"nothing grows this pool ({f.where}): it stays at its minimum, and a pool at min 0 never gets a node"


RELIABILITY: list[Rule | StackRule] = [
    StackRule(
        "TF-R01", "stateful-resources-protected", "reliability",
        "In a protected stack every stateful resource (clusters, stores, keys, vaults, claims) has protect.",
        "critical", "mandatory", "Set protect: true in the topology (the default for prod).",
        (), ("aws", "gcp", "azure", "kubernetes"), _protected, PROTECTED_SCHEMA,
    ),
    StackRule(
        "TF-R02", "provider-deletion-protection", "reliability",
        "In a protected stack the clouds' own deletion protection is on: EKS and GKE deletion protection, GCS deletion policy PREVENT and no force_destroy, S3 without force_destroy, KMS deletion windows of at least 30 days (Key Vault purge protection: TF-S23).",
        "high", "mandatory", "Keep topoform's defaults; do not set forceDestroy or shorten key deletion windows.",
        (), ("aws", "gcp"), _deletion_protection, PROTECTED_SCHEMA,
    ),
    Rule(
        "TF-R04", "pools-have-an-autoscaler", "reliability",
        "Every node pool that may grow (max above min) has an autoscaler that grows it: a Cluster Autoscaler discovering the EKS cluster's node groups, autoscaling on the AKS agent pool (GKE pools' limits are their autoscaling).",
        "high", "mandatory", "Keep topoform's autoscaler; for node groups of your own, run the Cluster Autoscaler with --node-group-auto-discovery naming the cluster (EKS) or set enableAutoScaling (AKS).",
        (), ("aws", "azure"), "pool.autoscaler", _no_autoscaler, scope="stack",
    ),
]

RETAIN_RULE = StackRule(
    "TF-R03", "stateful-resources-retained", "reliability",
    "In a protected stack every stateful resource has retainOnDelete, so even `pulumi destroy` leaves the data (checked by `topoform check` over the recording: policies cannot see retainOnDelete).",
    "critical", "mandatory", "Set protect: true in the topology; topoform sets retainOnDelete with protect.",
    (), ("aws", "gcp", "azure", "kubernetes"), _protected, PROTECTED_SCHEMA,
)

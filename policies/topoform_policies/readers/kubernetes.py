"""Kubernetes objects read back into neutral facts (the same on every cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..base import Fact, Subject, get
from .common import GPU_LABEL, world_open_ports

__all__ = ["CLOUD_GPU_LABELS", "READERS", "STACK_READERS", "pod_spec"]

# Node labels that tie a workload to one cloud's GPU nodes.
CLOUD_GPU_LABELS = (
    "cloud.google.com/gke-accelerator",
    "k8s.amazonaws.com/accelerator",
    "kubernetes.azure.com/accelerator",
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "nvidia.com/gpu.product",
)
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob", "Pod", "ReplicationController"}


ADMINISTRATORS_LABEL = "topoform.io/administrators"
"""The label of the binding topoform makes for a site's named administrators."""

def pod_spec(s: Subject) -> Any:
    kind = s.type.rsplit(":", 1)[-1]
    if kind == "Pod":
        return get(s.props, "spec", default={})
    if kind == "CronJob":
        return get(s.props, "spec", "jobTemplate", "spec", "template", "spec", default={})
    return get(s.props, "spec", "template", "spec", default={})


def _selector_keys(spec: Any) -> set[str]:
    keys = set(get(spec, "nodeSelector", default={}) or {})
    terms = get(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", default=[]) or []
    for term in terms:
        keys.update(str(get(e, "key")) for e in get(term, "matchExpressions", default=[]) or [])
    return keys


def workload(s: Subject) -> Iterator[Fact]:
    spec = pod_spec(s)
    containers = list(get(spec, "containers", default=[]) or []) + list(get(spec, "initContainers", default=[]) or [])
    escalating = {str(get(c, "name")): str(get(c, "image", default="")) for c in containers if get(c, "securityContext", "allowPrivilegeEscalation") is not False}
    namespace = str(get(s.props, "metadata", "namespace", default="default"))
    yield Fact("pod.privilege_escalation", {"namespace": namespace, "containers": list(escalating), "images": escalating}, "securityContext.allowPrivilegeEscalation")
    wants_gpu = any(
        "nvidia.com/gpu" in (get(c, "resources", "limits", default={}) or {}) or "nvidia.com/gpu" in (get(c, "resources", "requests", default={}) or {})
        for c in containers
    )
    if wants_gpu:
        keys = _selector_keys(spec)
        yield Fact("pod.gpu_selector", {"platform": GPU_LABEL in keys, "cloud": sorted(k for k in keys if k in CLOUD_GPU_LABELS)}, "nodeSelector / nodeAffinity")


def binding(s: Subject) -> Iterator[Fact]:
    kind = s.type.rsplit(":", 1)[-1]
    subjects = sorted(f"{get(x, 'kind', default='')}:{get(x, 'name', default='')}" for x in get(s.props, "subjects", default=[]) or [])
    labelled = get(s.props, "metadata", "labels", ADMINISTRATORS_LABEL, default="") == "true"
    yield Fact("k8s.role_ref", {"kind": kind, "role": str(get(s.props, "roleRef", "name", default="")), "subjects": subjects, "administrators": labelled}, "roleRef.name")


INTERNAL = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    "networking.gke.io/load-balancer-type": "Internal",
}


def service(s: Subject) -> Iterator[Fact]:
    """A LoadBalancer Service is a cloud load balancer: its TLS policy and who may reach it."""
    if get(s.props, "spec", "type") != "LoadBalancer":
        return
    annotations = get(s.props, "metadata", "annotations", default={}) or {}
    policy = annotations.get("service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy")
    if annotations.get("service.beta.kubernetes.io/aws-load-balancer-ssl-cert"):
        yield Fact("lb.tls_policy", str(policy or "ELBSecurityPolicy-2016-08"), "aws-load-balancer-ssl-negotiation-policy")
    internal = any(annotations.get(k) == v for k, v in INTERNAL.items())
    tagged = bool(annotations.get("service.beta.kubernetes.io/azure-allowed-service-tags"))
    if internal or tagged:
        return
    sources = list(get(s.props, "spec", "loadBalancerSourceRanges", default=[]) or ["0.0.0.0/0"])
    ports = [(get(p, "port"), get(p, "port"), get(p, "protocol", default="TCP"), sources) for p in get(s.props, "spec", "ports", default=[]) or []]
    yield Fact("firewall.world_open", world_open_ports(ports), "spec.loadBalancerSourceRanges")


def claim(s: Subject) -> Iterator[Fact]:
    yield Fact("stateful", True)


def namespace(s: Subject) -> Iterator[Fact]:
    yield Fact("stateful", True)


def api_version(s: Subject) -> Iterator[Fact]:
    """Every Kubernetes object: its API group and version (alpha and beta versions are not portable)."""
    module = s.type.split(":")[1] if s.type.count(":") >= 2 else ""
    yield Fact("api_version", module, "apiVersion")


READERS: dict[str, Any] = {
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": binding,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": binding,
    "kubernetes:core/v1:PersistentVolumeClaim": claim,
    "kubernetes:core/v1:Namespace": namespace,
    "kubernetes:core/v1:Service": service,
}
for _group in ("apps/v1", "batch/v1", "core/v1"):
    for _kind in WORKLOADS:
        READERS.setdefault(f"kubernetes:{_group}:{_kind}", workload)

STACK_READERS: list[Any] = []

"""Portability rules: the same meaning on every cloud, nothing tied to one cloud unless exempted."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .base import Fact, Finding, Rule, StackRule, Subject, get
from .readers import is_preview, stack_facts
from .readers.common import GPU_LABEL

__all__ = ["PORTABILITY", "PORTABLE_TYPES", "jurisdiction"]

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


def _region(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    cloud, region = f.value
    allowed = (cfg.get("allowed_regions") or {}).get(cloud) or []
    return None if not allowed or region in allowed else f"{cloud} region {region} is not allowed (allowed: {', '.join(allowed)})"


def _required_labels(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    labels = f.value or {}
    missing = [k for k in cfg.get("required_labels", []) if not str(labels.get(k) or "").strip()]
    return f"missing required labels {', '.join(missing)} (absent or empty; {f.where})" if missing else None


def _portable_labels(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    ignored = cfg.get("ignored_keys", [])
    bad = []
    for key, value in sorted((f.value or {}).items()):
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in ignored):
            continue
        if not _KEY.match(key) or not _VALUE.match(str(value)):
            bad.append(f"{key}={value}")
    return f"labels not valid on every cloud (lowercase letters, digits, '_' and '-', at most 63): {', '.join(bad)}" if bad else None


def _gpu_pool(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    problems = []
    if not f.value.get("label"):
        problems.append(f"the label {GPU_LABEL}")
    if not f.value.get("tainted"):
        problems.append("the taint nvidia.com/gpu=present:NoSchedule")
    return f"a GPU pool without {' and '.join(problems)}" if problems else None


def _cloud_taints(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if not f.value:
        return None
    return (
        f"the cloud taints these nodes with {', '.join(f.value)} (NoSchedule), which no other cloud does: pods of topoform's namespaces "
        "tolerate it by default; pods elsewhere must tolerate it themselves, beside the platform taint"
    )


def _gpu_selector(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if f.value.get("cloud"):
        return f"selects GPU nodes by a cloud's own labels ({', '.join(f.value['cloud'])}); select on {GPU_LABEL}"
    if not f.value.get("platform"):
        return f"requests GPUs without selecting nodes by {GPU_LABEL}"
    return None


OPERATOR_ONLY_VERSIONS = ["mellanox.com/v1alpha1", "nfd.k8s-sigs.io/v1alpha1"]
"""Custom resources whose operators serve no other version: NVIDIA's Network Operator's
NicClusterPolicy and Node Feature Discovery's NodeFeatureRule (topoform's InfiniBand on AKS)."""


def _preview(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if str(f.value) in cfg.get("operator_versions", OPERATOR_ONLY_VERSIONS):
        return None
    return f"uses the pre-release API version {f.value}" if is_preview(str(f.value).rsplit("/", 1)[-1]) else None


def jurisdiction(cloud: str, region: str) -> str | None:
    from topoform.catalog import load_catalog

    regions = load_catalog().clouds.get(cloud)
    entry = regions.regions.get(region) if regions else None
    return entry.jurisdiction if entry else None


def _region_of(s: Subject, subjects_by_urn: Mapping[str, Subject]) -> tuple[str, str] | None:
    for f in stack_facts([s]):
        if f[1].topic == "region":
            return f[1].value  # type: ignore[no-any-return]
    provider = subjects_by_urn.get(s.provider_urn)
    if provider is not None and get(provider.props, "region"):
        return (s.package, str(get(provider.props, "region")))
    if get(s.provider, "region"):
        return (s.package if s.package != "azure-native" else "azure", str(get(s.provider, "region")))
    return None


# Resources that copy one store into another (they depend on both).
REPLICATIONS = {
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "gcp:storage/transferJob:TransferJob",
    "azure-native:storage:ObjectReplicationPolicy",
}
STORES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "gcp:storage/bucket:Bucket", "azure-native:storage:StorageAccount"}


def _backups(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    """Every protected store is copied to (or is the copy in) another region of the same jurisdiction."""
    by_urn = {s.urn: s for s in subjects}
    partners: dict[str, set[str]] = {}
    for s in subjects:
        if s.type not in REPLICATIONS:
            continue
        stores = {u for urns in s.property_dependencies.values() for u in urns if u in by_urn and by_urn[u].type in STORES}
        for u in stores:
            partners.setdefault(u, set()).update(stores - {u})
    for s in subjects:
        if s.type not in STORES or not s.protect:
            continue
        if not partners.get(s.urn):
            yield Finding(s.urn, "a protected store without a replica in a backup region")
            continue
        here = _region_of(s, by_urn)
        for other in sorted(partners[s.urn]):
            there = _region_of(by_urn[other], by_urn)
            if here is None or there is None:
                continue
            if here[1] == there[1]:
                yield Finding(s.urn, f"its replica is in the same region ({here[1]})")
            elif jurisdiction(*here) != jurisdiction(*there):
                yield Finding(s.urn, f"its replica crosses jurisdictions: {here[1]} ({jurisdiction(*here)}) and {there[1]} ({jurisdiction(*there)})")


def _explicit_providers(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    for s in subjects:
        name = s.provider_urn.split("::")[3] if s.provider_urn.count("::") >= 3 else ""
        if name.startswith("default"):
            yield Finding(s.urn, f"uses the default provider {name}: give it an explicit provider for its site and region")


def _versions_aligned(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    versions = {}
    for s, f in stack_facts(subjects):
        if f.topic == "cluster.version" and re.match(r"^\d+\.\d+", str(f.value)):
            major, minor = str(f.value).split(".")[:2]
            versions[s.urn] = (int(major), int(minor))
    if not versions:
        return
    newest = max(versions.values())
    for urn, version in sorted(versions.items()):
        if newest[1] - version[1] > int(cfg.get("max_skew", 1)):
            yield Finding(urn, f"runs Kubernetes {version[0]}.{version[1]}, more than {cfg.get('max_skew', 1)} minor behind {newest[0]}.{newest[1]}")


# Resource types with a counterpart on the other clouds (the concepts topoform maps).
PORTABLE_TYPES = (
    "pulumi:providers:*",
    "topoform:*",
    "kubernetes:*",
    # network
    "aws:ec2/vpc:*", "aws:ec2/subnet:*", "aws:ec2/internetGateway:*", "aws:ec2/natGateway:*", "aws:ec2/eip:*",
    "aws:ec2/routeTable:*", "aws:ec2/routeTableAssociation:*", "aws:ec2/defaultSecurityGroup:*", "aws:ec2/securityGroup*:*",
    "aws:vpc/securityGroup*:*", "gcp:compute/network:*", "gcp:compute/subnetwork:*", "gcp:compute/router:*", "gcp:compute/routerNat:*",
    "gcp:compute/firewall:*", "gcp:compute/globalAddress:*", "azure-native:network:VirtualNetwork", "azure-native:network:Subnet",
    "azure-native:network:NetworkSecurityGroup", "azure-native:network:SecurityRule", "azure-native:network:PublicIPAddress",
    "azure-native:resources:ResourceGroup",
    # private paths to the cloud's own services (GCP's: Private Google Access, a subnetwork setting)
    "aws:ec2/vpcEndpoint:*", "azure-native:network:PrivateEndpoint",
    # clusters and pools
    "aws:eks/*", "aws:ec2/launchTemplate:*", "gcp:container/*", "azure-native:containerservice*:*",
    # a pool's nodes placed close together (multi-node training)
    "aws:ec2/placementGroup:*", "gcp:compute/resourcePolicy:*", "azure-native:compute:ProximityPlacementGroup",
    # keys
    "aws:kms/*", "gcp:kms/*", "azure-native:keyvault:*",
    # storage and replication
    "aws:s3/*", "gcp:storage/*", "azure-native:storage:*",
    # identity
    "aws:iam/*", "gcp:serviceaccount/*", "gcp:projects/iAMMember:*", "azure-native:managedidentity:*", "azure-native:authorization:*",
    # logs (GCP's flow logs are a subnetwork setting)
    "aws:cloudwatch/logGroup:*", "azure-native:operationalinsights:Workspace", "azure-native:monitor:DiagnosticSetting",
    "aws:ec2/flowLog:*", "azure-native:network:FlowLog",
    # load balancing, certificates, DNS
    "aws:acm/*", "aws:route53/*", "aws:lb/*", "gcp:certificatemanager/*", "gcp:compute/sSLPolicy:*", "gcp:compute/securityPolicy:*",
    "gcp:compute/healthCheck:*", "gcp:dns/*", "azure-native:cdn:*", "azure-native:frontdoor:*", "azure-native:dns:*",
    "azure-native:trafficmanager:*",
    # what an account or project needs before anything else (AWS and Azure need no resource for it)
    "gcp:projects/service:*", "gcp:projects/serviceIdentity:*",
    # cloud-neutral helpers: waits for grants to apply, random name suffixes
    "time:*", "random:*",
)


def _portable_types(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    allowed = (*PORTABLE_TYPES, *cfg.get("extra_types", []))
    for s in subjects:
        if not any(fnmatch.fnmatchcase(s.type, pattern) for pattern in allowed):
            yield Finding(s.urn, f"{s.type} has no counterpart on the other clouds; exempt it or use a portable type")


def rule(id_: str, name: str, topic: str, description: str, severity: str, remediation: str, mirrors: tuple[str, ...], check: Any, clouds: tuple[str, ...], enforcement: str = "mandatory", config: Mapping[str, Mapping[str, Any]] | None = None) -> Rule:
    return Rule(id_, name, "portability", description, severity, enforcement, remediation, mirrors, clouds, topic, check, config or {})  # type: ignore[arg-type]


def stack_rule(id_: str, name: str, description: str, severity: str, remediation: str, mirrors: tuple[str, ...], check: Any, clouds: tuple[str, ...], enforcement: str = "mandatory", config: Mapping[str, Mapping[str, Any]] | None = None) -> StackRule:
    return StackRule(id_, name, "portability", description, severity, enforcement, remediation, mirrors, clouds, check, config or {})  # type: ignore[arg-type]


CLOUDS = ("aws", "gcp", "azure")

PORTABILITY: list[Rule | StackRule] = [
    rule(
        "TF-P01", "region-allowed", "region", "Resources live only in the regions the organisation allows, per cloud.",
        "high", "Move the site (topology sites.<s>.region) or widen allowed_regions.", (), _region, CLOUDS,
        config={"allowed_regions": {"type": "object", "default": {}, "description": "Allowed regions per cloud, e.g. {\"aws\": [\"us-east-1\"]}; a cloud not listed is unrestricted.",
                                    "properties": {c: {"type": "array", "items": {"type": "string"}} for c in CLOUDS}}},
    ),
    rule(
        "TF-P02", "required-labels", "labels", "Resources carry the required labels on every cloud (tags, labels).",
        "medium", "Add them to the topology's labels:.", (), _required_labels, CLOUDS,
        config={"required_labels": {"type": "array", "items": {"type": "string"}, "default": ["owner"], "description": "Label keys every resource must carry."}},
    ),
    rule(
        "TF-P03", "labels-portable", "labels", "Label keys and values are valid on every cloud: lowercase letters, digits, '_' and '-', at most 63 characters.",
        "low", "Rename the labels (the topology model enforces this for its own).", (), _portable_labels, CLOUDS, enforcement="advisory",
        config={"ignored_keys": {"type": "array", "items": {"type": "string"}, "default": ["Name", "kubernetes.io/*", "k8s.io/*", "topoform-*"], "description": "Cloud-required tag keys to skip (globs)."}},
    ),
    rule(
        "TF-P04", "gpu-pool-label-and-taint", "nodes.gpu", f"Every GPU node pool carries the platform label {GPU_LABEL} and the taint nvidia.com/gpu=present:NoSchedule.",
        "high", "Create GPU pools through topoform, or add the label and taint to the pool.", (), _gpu_pool, CLOUDS,
    ),
    rule(
        "TF-P05", "gpu-selection-by-platform-label", "pod.gpu_selector", f"Workloads that request GPUs select nodes by {GPU_LABEL}, never by a cloud's own labels.",
        "medium", f"Use nodeSelector {{{GPU_LABEL}: <type>}}.", (), _gpu_selector, ("kubernetes",),
    ),
    rule(
        "TF-P06", "no-preview-api-versions", "api_version", "No alpha, beta or preview API versions: they change or vanish without notice.",
        "medium", "Use a GA API version.", (), _preview, ("kubernetes", "azure"),
        config={"operator_versions": {"type": "array", "items": {"type": "string"}, "default": OPERATOR_ONLY_VERSIONS,
                                      "description": "API group/versions of custom resources whose operators serve no GA version."}},
    ),
    stack_rule(
        "TF-P07", "portable-resource-types", "Only resource types with a counterpart on the other clouds, unless exempted.",
        "low", "Exempt the resource with a reason, or use a portable type.", (), _portable_types, CLOUDS, enforcement="advisory",
        config={"extra_types": {"type": "array", "items": {"type": "string"}, "default": [], "description": "More portable type globs."}},
    ),
    stack_rule(
        "TF-P08", "backup-region-same-jurisdiction", "Every protected store is replicated to a different region of the same jurisdiction.",
        "high", "Set backup: true with a backup_region in the same jurisdiction (topology sites.<s>.backup_region).", (), _backups, CLOUDS,
    ),
    stack_rule(
        "TF-P09", "explicit-providers", "Every resource names the explicit provider of its site and region; none uses a default provider.",
        "high", "Keep pulumi:disable-default-providers: [\"*\"] and pass providers explicitly.", (), _explicit_providers, CLOUDS,
    ),
    stack_rule(
        "TF-P10", "kubernetes-versions-aligned", "Clusters across clouds run Kubernetes versions at most one minor apart.",
        "low", "Upgrade the older clusters.", (), _versions_aligned, CLOUDS, enforcement="advisory",
        config={"max_skew": {"type": "integer", "default": 1, "description": "Allowed minor versions between the newest and the oldest cluster."}},
    ),
    rule(
        "TF-P11", "no-cloud-only-taints", "nodes.cloud_taints",
        "Node pools carry no taint a cloud adds on its own (AKS spot pools: kubernetes.azure.com/scalesetpriority), so a workload that tolerates the platform taint runs anywhere.",
        "low", "Use on-demand capacity for pools portable workloads need, or add the cloud's toleration to the workloads that run on this pool (topoform's device plugin has it).",
        (), _cloud_taints, ("azure",), enforcement="advisory",
    ),
]

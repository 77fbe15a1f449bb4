"""Topology -> Plan: pure, deterministic resolution of everything the components need.

The planner looks up machines in the catalog, checks each site's capabilities,
applies the secure defaults and derives every name from map keys. It imports
no Pulumi and returns plain data (:class:`Plan`), serialisable as JSON for
golden files. Problems are collected, not raised one at a time, so a user sees
every fault in one run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .catalog import Catalog, load_catalog
from .errors import Path, Problem, TopologyError
from .model import CLOUDS, AwsSite, AzureSite, Cluster, GcpSite, NodePool, OnPremSite, Topology
from .naming import physical
from .providers import profile
from .providers.base import CloudProfile
from .specs import (
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    PLATFORM_ACCELERATOR_LABEL,
    PLATFORM_CAPACITY_LABEL,
    PLATFORM_POOL_LABEL,
    GpuClusterSpec,
    NetworkSpec,
    NodePoolSpec,
    TaintSpec,
)

__all__ = ["ClusterPlan", "Plan", "SitePlan", "plan"]

LOG_RETENTION_DAYS = 365
RESERVED_LABEL_PREFIX = "topoform.io/"


@dataclass(frozen=True)
class SitePlan:
    """A site resolved: where its explicit Pulumi provider points."""

    key: str
    provider: str
    provider_name: str
    """Logical name of the site's explicit Pulumi provider (one per site and region)."""
    region: str | None = None
    backup_region: str | None = None
    jurisdiction: str | None = None
    project: str | None = None
    account_id: str | None = None
    subscription_id: str | None = None
    kubeconfig_secret: str | None = None
    kubeconfig_context: str | None = None
    storage_class: str | None = None


@dataclass(frozen=True)
class ClusterPlan:
    """A cluster resolved: the component to create and its spec."""

    key: str
    site: str
    provider: str
    name: str
    """The component's logical name (``<system>-<key>``); its children derive from it."""
    spec: GpuClusterSpec
    aliases: list[str] = field(default_factory=list)
    """Logical names this cluster had before (from ``previous_names``)."""


@dataclass(frozen=True)
class Plan:
    """Everything the assembly needs, per site and per cluster."""

    name: str
    environment: str
    protected: bool
    tags: dict[str, str]
    sites: dict[str, SitePlan]
    clusters: dict[str, ClusterPlan]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def plan(t: Topology, catalog: Catalog | None = None) -> Plan:
    """Resolve ``t`` against the catalog; raise :class:`TopologyError` listing every problem."""
    cat = catalog or load_catalog()
    problems: list[Problem] = []
    tags = dict(sorted({**t.labels, "topoform-system": t.name, "topoform-environment": t.environment}.items()))

    sites = {key: _site(t, key, cat, problems) for key, site in t.sites.items()}
    networks: dict[str, NetworkSpec | None] = {}
    clusters: dict[str, ClusterPlan] = {}
    for key, cluster in t.clusters.items():
        site = t.sites.get(cluster.site)
        if site is None:
            continue  # reported by check_references
        prof = profile(site.provider)
        base: Path = ("clusters", key)
        problems.extend(prof.capability_problems(base, cluster))
        if cluster.site not in networks and not isinstance(site, OnPremSite):
            net, net_problems = prof.network(("sites", cluster.site, "network"), site.network)
            networks[cluster.site] = net
            problems.extend(net_problems)
        spec = _cluster(t, key, cluster, sites[cluster.site], prof, cat, tags, networks.get(cluster.site), problems)
        if spec is not None:
            clusters[key] = ClusterPlan(
                key=key,
                site=cluster.site,
                provider=site.provider,
                name=f"{t.name}-{key}",
                spec=spec,
                aliases=[f"{t.name}-{old}" for old in cluster.previous_names],
            )

    if problems:
        raise TopologyError(problems)
    return Plan(
        name=t.name,
        environment=t.environment,
        protected=t.protected,
        tags=tags,
        sites=sites,
        clusters=clusters,
    )


def _site(t: Topology, key: str, cat: Catalog, problems: list[Problem]) -> SitePlan:
    site = t.sites[key]
    provider_name = f"{t.name}-{key}"
    if isinstance(site, OnPremSite):
        return SitePlan(
            key=key,
            provider="onprem",
            provider_name=provider_name,
            jurisdiction=site.jurisdiction,
            kubeconfig_secret=site.kubeconfig.secret,
            kubeconfig_context=site.kubeconfig.context,
            storage_class=site.storage_class,
        )
    regions = cat.clouds[site.provider].regions
    for field_name in ("region", "backup_region"):
        region = getattr(site, field_name)
        if region is not None and region not in regions:
            problems.append(
                Problem(("sites", key, field_name), f"unknown {site.provider} region '{region}'; known: {', '.join(sorted(regions))}")
            )
    jurisdiction = site.jurisdiction or (regions[site.region].jurisdiction if site.region in regions else None)
    return SitePlan(
        key=key,
        provider=site.provider,
        provider_name=provider_name,
        region=site.region,
        backup_region=site.backup_region,
        jurisdiction=jurisdiction,
        project=site.project if isinstance(site, GcpSite) else None,
        account_id=site.account_id if isinstance(site, AwsSite) else None,
        subscription_id=site.subscription_id if isinstance(site, AzureSite) else None,
    )


def _cluster(
    t: Topology,
    key: str,
    cluster: Cluster,
    site: SitePlan,
    prof: CloudProfile,
    cat: Catalog,
    tags: dict[str, str],
    network: NetworkSpec | None,
    problems: list[Problem],
) -> GpuClusterSpec | None:
    base: Path = ("clusters", key)
    before = len(problems)
    version = ""
    if site.provider in CLOUDS:
        k8s = cat.clouds[site.provider].kubernetes
        version = cluster.kubernetes_version or k8s.default
        if version not in k8s.versions:
            problems.append(
                Problem(
                    (*base, "kubernetes_version"),
                    f"{site.provider} supports {', '.join(k8s.versions)} (catalog); '{version}' is not among them",
                )
            )
        if not any(p.gpu is None for p in cluster.node_pools.values()):
            problems.append(
                Problem((*base, "node_pools"), "add a CPU pool (instance: cpu-4x16, say): GPU nodes are tainted, system pods need somewhere to run")
            )

    pools: dict[str, NodePoolSpec] = {}
    names: dict[str, str] = {}
    for pool_key, pool in cluster.node_pools.items():
        spec = _pool(t, (*base, "node_pools", pool_key), pool_key, pool, site, prof, cat, problems)
        if spec is None:
            continue
        if "name" in spec:
            other = names.get(spec["name"])
            if other is not None:
                problems.append(
                    Problem((*base, "node_pools", pool_key), f"its {site.provider} pool name '{spec['name']}' collides with pool '{other}'; rename one")
                )
            names[spec["name"]] = pool_key
        pools[pool_key] = spec
    if len(problems) > before:
        return None

    out: GpuClusterSpec = {
        "cluster_name": physical(t.name, t.environment, key, limit=prof.cluster_name_limit),
        "region": site.region or "",
        "kubernetes_version": version,
        "api_access": cluster.api,
        "allowed_cidrs": list(cluster.allowed_cidrs),
        "node_pools": pools,
        "tags": dict(sorted({**tags, **cluster.labels, "topoform-cluster": key}.items())),
        "protect": t.protected,
        "log_retention_days": _log_retention(cluster, prof),
        "device_plugin": prof.device_plugin and any(p.gpu is not None for p in cluster.node_pools.values()),
    }
    if network is not None:
        out["network"] = network
    if site.project:
        out["project"] = site.project
    resource_group = getattr(t.sites[cluster.site], "resource_group", None)
    if resource_group:
        out["resource_group"] = resource_group
    out.update(prof.cluster_extras(cluster))  # type: ignore[typeddict-item]
    return out


def _log_retention(cluster: Cluster, prof: CloudProfile) -> int:
    override = cluster.overrides.get(prof.name)  # type: ignore[call-overload]
    return override.log_retention_days if override and override.log_retention_days else LOG_RETENTION_DAYS


def _pool(
    t: Topology,
    base: Path,
    key: str,
    pool: NodePool,
    site: SitePlan,
    prof: CloudProfile,
    cat: Catalog,
    problems: list[Problem],
) -> NodePoolSpec | None:
    gpu = pool.gpu is not None
    for label in pool.labels:
        if label.startswith(RESERVED_LABEL_PREFIX):
            problems.append(Problem((*base, "labels", label), f"labels under '{RESERVED_LABEL_PREFIX}' are set by topoform"))
    for taint in pool.taints:
        if taint == GPU_TAINT_KEY:
            problems.append(Problem((*base, "taints", taint), f"'{GPU_TAINT_KEY}' is set by topoform on every GPU pool"))

    if site.provider == "onprem":
        machine, accelerator = "existing", None
        if pool.gpu is not None and pool.gpu.type not in cat.logical.gpus:
            known = ", ".join(cat.logical.gpus)
            problems.append(Problem((*base, "gpu", "type"), f"unknown GPU '{pool.gpu.type}'; known: {known}"))
            return None
    else:
        choice, choice_problems = prof.choose_machine(base, pool, site.region or "", cat)
        problems.extend(choice_problems)
        if choice is None:
            return None
        machine, accelerator = choice.machine_type, choice.accelerator
        if gpu and site.provider == "gcp" and accelerator is None:
            problems.append(Problem((*base, "overrides", "gcp", "accelerator"), f"machine '{machine}' is not in the catalog; name its accelerator"))
            return None

    if pool.nodes is not None:
        lo = hi = pool.nodes
    else:
        lo, hi = pool.min or 0, pool.max or 0

    labels = {PLATFORM_POOL_LABEL: key, PLATFORM_CAPACITY_LABEL: "spot" if pool.spot else "on-demand"}
    taints: list[TaintSpec] = []
    if pool.gpu is not None:
        labels[PLATFORM_ACCELERATOR_LABEL] = pool.gpu.type
        taints.append({"key": GPU_TAINT_KEY, "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT})
    labels.update(pool.labels)
    taints += [{"key": k, "value": v.value, "effect": v.effect} for k, v in sorted(pool.taints.items())]

    spec: NodePoolSpec = {
        "machine_type": machine,
        "min_nodes": lo,
        "max_nodes": hi,
        "spot": pool.spot,
        "disk_gb": pool.disk_gb or prof.default_disk_gb[gpu],
        "labels": dict(sorted(labels.items())),
        "taints": taints,
    }
    if pool.gpu is not None:
        spec["gpu_type"] = pool.gpu.type
        spec["gpu_count"] = pool.gpu.count
    if accelerator:
        spec["accelerator"] = accelerator
    image = prof.pool_image(gpu)
    if image:
        spec["image"] = image
    name = prof.pool_name(key)
    if name:
        spec["name"] = name
    override = pool.overrides.get(prof.name)  # type: ignore[call-overload]
    if override is not None and override.zones:
        spec["zones"] = list(override.zones)
    if pool.node_selector:
        spec["node_selector"] = dict(sorted(pool.node_selector.items()))
    if pool.node_names:
        spec["node_names"] = list(pool.node_names)
    return spec

"""Topology -> Plan: pure, deterministic resolution of everything the components need.

The planner looks up machines in the catalog, checks each site's capabilities,
applies the secure defaults and derives every name from map keys. It imports
no Pulumi and returns plain data (:class:`Plan`), serialisable as JSON for
golden files. Problems are collected, not raised one at a time, so a user sees
every fault in one run.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..catalog import Catalog, load_catalog
from ..errors import Path, Problem, TopologyError
from ..model import (
    CLOUDS,
    PRIVATE_RANGES,
    AwsSite,
    AzureSite,
    Cluster,
    Endpoint,
    GcpSite,
    Identity,
    NodePool,
    OnPremSite,
    SiteNetwork,
    Store,
    Team,
    Topology,
    covers_world,
)
from ..naming import account_id, physical
from ..providers import profile
from . import capacity
from .cluster import autoscaler, fabric, fabric_network_problems, scratch
from ..providers.base import Capability, CloudProfile, PoolChoice, api_networks
from ..specs import (
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    PLATFORM_ACCELERATOR_LABEL,
    PLATFORM_CAPACITY_LABEL,
    PLATFORM_FABRIC_LABEL,
    PLATFORM_POOL_LABEL,
    RESERVED_NAMESPACES,
    BindingSpec,
    GpuClusterSpec,
    EndpointSpec,
    IdentitySpec,
    NetworkSpec,
    NodePoolSpec,
    StoreSpec,
    TaintSpec,
    TeamSpec,
    capacity_kind,
    step_path,
    topology_pool,
)

__all__ = [
    "ClusterPlan",
    "administrators",
    "EndpointPlan",
    "IdentityPlan",
    "Plan",
    "SitePlan",
    "StorePlan",
    "TeamPlan",
    "onprem_site_cluster",
    "plan",
    "primary_key",
    "provider_name",
]

LOG_RETENTION_DAYS = 365
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
NONCURRENT_RETENTION_DAYS = 30
STANDBY = "standby"
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
    admins: tuple[str, ...] = ()
    """Principals with cluster-admin access to the site's clusters, the deployer among them."""
    services: tuple[str, ...] = ()
    """GCP: the APIs the site's resources need, enabled before anything else is created there."""


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
class StorePlan:
    """A store resolved: the component to create and its spec."""

    key: str
    site: str
    provider: str
    name: str
    spec: StoreSpec
    aliases: list[str] = field(default_factory=list)
    monthly_change_percent: float = 10.0
    """How much of the data changes a month (what replication transfers; for `topoform cost`)."""


@dataclass(frozen=True)
class IdentityPlan:
    """A workload identity resolved for its cluster's cloud."""

    key: str
    cluster: str
    provider: str
    name: str
    spec: IdentitySpec
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TeamPlan:
    """A team's Kubernetes access, the same objects on every cluster."""

    key: str
    name: str
    spec: TeamSpec


@dataclass(frozen=True)
class EndpointPlan:
    """A load balancer resolved for its cluster's cloud (and, with failover, its secondary)."""

    key: str
    cluster: str
    provider: str
    name: str
    spec: EndpointSpec
    secondary: str | None = None
    """The key (in ``Plan.endpoints``) of the failover target, created first."""


@dataclass(frozen=True)
class Plan:
    """Everything the assembly needs, per site, cluster and store."""

    name: str
    environment: str
    protected: bool
    tags: dict[str, str]
    sites: dict[str, SitePlan]
    clusters: dict[str, ClusterPlan]
    stores: dict[str, StorePlan] = field(default_factory=dict)
    identities: dict[str, IdentityPlan] = field(default_factory=dict)
    teams: dict[str, TeamPlan] = field(default_factory=dict)
    endpoints: dict[str, EndpointPlan] = field(default_factory=dict)
    namespaces: dict[str, dict[str, int | None]] = field(default_factory=dict)
    """Per cluster key: the namespaces topoform creates (teams, identities, endpoints, on-prem
    stores) and each one's GPU quota (``None``: no quota)."""

    def regions(self) -> dict[str, list[str]]:
        """The regions each site needs an explicit provider in (primary first, then sorted)."""
        used: dict[str, set[str]] = {}
        for c in self.clusters.values():
            used.setdefault(c.site, set()).add(c.spec["region"])
        for s in self.stores.values():
            regions = used.setdefault(s.site, set())
            regions.add(s.spec["region"])
            if "replica" in s.spec:
                regions.add(s.spec["replica"]["region"])
        out = {}
        for site, regions in sorted(used.items()):
            primary = self.sites[site].region or ""
            out[site] = [primary] + sorted(r for r in regions if r != primary)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def primary_key(cluster_key: str) -> str:
    """The topology key of a cluster plan: a standby (``train.standby``) is its primary's entry."""
    return cluster_key.removesuffix(f".{STANDBY}")


def administrators(p: Plan) -> list[str]:
    """The RBAC subjects (``Kind:name``) bound to cluster-admin as the sites' administrators:
    what the policy against cluster-admin bindings accepts (`topoform check` passes them)."""
    subjects = {
        f"{kind}:{name}"
        for c in p.clusters.values()
        for admin in c.spec.get("admins", [])
        if (subject := profile(c.provider).admin_subject(admin)) is not None
        for kind, name in [subject]
    }
    return sorted(subjects)


def provider_name(site: SitePlan, region: str) -> str:
    """The logical name of a site's provider in ``region``: the primary keeps the bare site name."""
    if not region or region == site.region:
        return site.provider_name
    return f"{site.provider_name}-{region}"


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
        problems.extend(prof.cluster_problems(base, cluster))
        if cluster.site not in networks and not isinstance(site, OnPremSite):
            net_path: Path = ("sites", cluster.site, "network")
            net, net_problems = prof.network(net_path, site.network)
            networks[cluster.site] = net
            problems.extend(net_problems)
            for field, zones, region in (("zones", site.network.zones, site.region), ("backup_zones", site.network.backup_zones, site.backup_region)):
                if not isinstance(zones, list) or not zones:
                    continue
                if not prof.pins_network_zones():
                    problems.append(Problem((*net_path, field), f"a {prof.name} network spans the region's zones: give their number, and place pools with overrides.{prof.name}.zones"))
                elif region is None:
                    problems.append(Problem((*net_path, field), "only used with the site's backup_region"))
                else:
                    problems.extend(_zone_problems((*net_path, field), zones, region, prof))
            if site.network.backup_zones and len(site.network.backup_zones) != site.network.zone_count:
                problems.append(Problem((*net_path, "backup_zones"), f"name {site.network.zone_count} zones, as many as the network spans"))
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
            if cluster.standby:
                standby = _standby(t, key, cluster, spec, sites[cluster.site], prof, cat, problems, getattr(site, "network", None))
                if standby is not None:
                    clusters[f"{key}.{STANDBY}"] = ClusterPlan(
                        key=f"{key}.{STANDBY}",
                        site=cluster.site,
                        provider=site.provider,
                        name=f"{t.name}-{key}-{STANDBY}",
                        spec=standby,
                        aliases=[f"{t.name}-{old}-{STANDBY}" for old in cluster.previous_names],
                    )

    stores: dict[str, StorePlan] = {}
    for key, store in t.storage.items():
        if store.site not in t.sites:
            continue  # reported by check_references
        store_spec = _store(t, key, store, sites, cat, tags, problems)
        if store_spec is not None:
            stores[key] = StorePlan(
                key=key,
                site=store.site,
                provider=sites[store.site].provider,
                name=f"{t.name}-{key}",
                spec=store_spec,
                aliases=[f"{t.name}-{old}" for old in store.previous_names],
                monthly_change_percent=store.monthly_change_percent,
            )

    identities: dict[str, IdentityPlan] = {}
    for key, ident in t.identities.items():
        ip = _identity(t, key, ident, sites, tags, problems)
        if ip is not None:
            identities[key] = ip
            if f"{ident.cluster}.{STANDBY}" in clusters:
                identities[f"{key}.{STANDBY}"] = _standby_identity(t, ip, clusters[f"{ident.cluster}.{STANDBY}"], stores)
    # The data each cluster's workloads reach: the paths a cluster's network keeps private.
    for ip in identities.values():
        home = clusters.get(ip.cluster)
        if home is not None and home.provider != "onprem":
            grants = home.spec.setdefault("store_grants", [])
            grants.extend(dict(g) for g in ip.spec["grants"] if g not in grants)  # type: ignore[misc]
            grants.sort(key=lambda g: (g["store"], g["mode"]))
    teams = {key: tp for key, team in t.teams.items() if (tp := _team(t, key, team, sites, problems)) is not None}
    endpoints: dict[str, EndpointPlan] = {}
    for key, ep in t.endpoints.items():
        endpoints.update(_endpoint(t, key, ep, sites, tags, problems))
    for ep_plan in endpoints.values():
        # Azure Front Door origins admit only their profile's requests: at layer 7, in the cluster.
        home = clusters.get(ep_plan.cluster)
        if home is not None and _is_origin(ep_plan):
            home.spec["front_door_origins"] = True
    for cluster_key, cplan in clusters.items():
        entry = primary_key(cluster_key)  # a standby serves the same teams as its primary
        # One EKS access entry per principal: a role several teams assume keeps every team's group.
        principals: dict[str, set[str]] = {}
        for team in t.teams.values():
            if entry in team.namespaces and (o := team.overrides.get("aws")) is not None and o.principal_arn:
                principals.setdefault(o.principal_arn, set()).add(o.group or team.group)
        if principals and cplan.provider == "aws":
            cplan.spec["team_principals"] = {arn: sorted(groups) for arn, groups in sorted(principals.items())}
        if cplan.provider == "azure":
            # Entra ID groups of the teams with namespaces here: they need the cluster-user role to get a kubeconfig.
            groups = {(o.group if (o := team.overrides.get("azure")) is not None and o.group else team.group) for team in t.teams.values() if entry in team.namespaces}
            if groups:
                cplan.spec["team_groups"] = sorted(g for g in groups if _GUID.match(g))
        override = t.clusters[entry].overrides.get("gcp") if entry in t.clusters else None
        if override is not None and override.security_group:
            cplan.spec["security_group"] = override.security_group

    for key, site_plan in sites.items():
        if site_plan.provider == "gcp":
            sites[key] = replace(site_plan, services=_gcp_services(key, clusters, stores, endpoints))
        if site_plan.admins:
            problems.extend(_admin_problems(t, key, site_plan, clusters))
    namespaces = _namespaces(t, identities, teams, endpoints, stores, problems)
    problems.extend(_placement_problems(t, cat))
    problems.extend(_nlb_rule_problems(clusters, endpoints))
    problems.extend(_front_door_origin_problems(endpoints))

    if problems:
        # a site's problem found through each of its clusters is one problem
        raise TopologyError(list(dict.fromkeys(problems)))
    return Plan(
        name=t.name,
        environment=t.environment,
        protected=t.protected,
        tags=tags,
        sites=sites,
        clusters=clusters,
        stores=stores,
        identities=identities,
        teams=teams,
        endpoints=endpoints,
        namespaces=namespaces,
    )


# What each kind of GCP resource needs enabled (each API's service name, from the provider's
# resource metadata); Cloud Storage and Service Usage are on in every new project.
GCP_SERVICES = {
    "cluster": (
        "cloudresourcemanager.googleapis.com", "compute.googleapis.com", "container.googleapis.com", "cloudkms.googleapis.com",
        "iam.googleapis.com", "iamcredentials.googleapis.com", "logging.googleapis.com", "monitoring.googleapis.com",
    ),
    "store": ("storage.googleapis.com", "cloudkms.googleapis.com"),
    "replica": ("storagetransfer.googleapis.com",),
    "public-endpoint": ("compute.googleapis.com", "certificatemanager.googleapis.com", "dns.googleapis.com"),
}


def _gcp_services(site: str, clusters: dict[str, ClusterPlan], stores: dict[str, StorePlan], endpoints: dict[str, EndpointPlan]) -> tuple[str, ...]:
    kinds = [k for k, used in (
        ("cluster", any(c.site == site for c in clusters.values())),
        ("store", any(st.site == site for st in stores.values())),
        ("replica", any(st.site == site and "replica" in st.spec for st in stores.values())),
        # a failover target is an L4 load balancer: no certificate, no DNS record of its own
        ("public-endpoint", any(clusters[e.cluster].site == site and e.spec["public"] and not e.spec.get("secondary") for e in endpoints.values() if e.cluster in clusters)),
    ) if used]
    return tuple(sorted({api for k in kinds for api in GCP_SERVICES[k]}))


def _admin_problems(t: Topology, key: str, site: SitePlan, clusters: dict[str, ClusterPlan]) -> list[Problem]:
    """GKE knows a Google group only through Google Groups for RBAC: a site with group admins
    needs every cluster there to name its gke-security-groups@ group."""
    if site.provider != "gcp" or not any(a.startswith("group:") for a in site.admins):
        return []
    return [
        Problem(
            ("clusters", c.key, "overrides", "gcp", "security_group"),
            f"site '{key}' names group admins, which GKE resolves through Google Groups for RBAC: name the cluster's gke-security-groups@<domain> group",
        )
        for c in clusters.values()
        if c.site == key and "." not in c.key and "security_group" not in c.spec
    ]


SECURITY_GROUP_RULES = 60
"""Inbound rules per AWS security group (the default quota)."""
ROUTE53_CHECKER_RANGES = 7
"""Route 53 health checkers' ranges an NLB with DNS failover admits (three regions and GLOBAL)."""


def _nlb_rule_problems(clusters: dict[str, ClusterPlan], endpoints: dict[str, EndpointPlan]) -> list[Problem]:
    """EKS's built-in load-balancer controller writes, into the cluster security group, two rules
    per source range of each NLB (traffic and path-MTU) and one per load-balancer subnet: a
    cluster's endpoints must fit the group's quota together."""
    problems: list[Problem] = []
    for key, c in sorted(clusters.items()):
        if c.provider != "aws" or "network" not in c.spec:
            continue
        rules = 1 + len(api_networks(c.spec).private)  # itself, and the connected networks the API admits on 443
        last: str | None = None
        for ep in sorted(endpoints.values(), key=lambda e: e.key):
            if ep.cluster != key:
                continue
            allowed = ep.spec["allowed_cidrs"]
            sources = 1 if covers_world(allowed) else len(allowed) + (ROUTE53_CHECKER_RANGES if ep.spec.get("failover") and ep.spec["public"] else 0)
            rules += 2 * sources + c.spec["network"]["zones"]
            last = ep.key.split(".")[0]
        if last is not None and rules > SECURITY_GROUP_RULES:
            problems.append(
                Problem(
                    ("endpoints", last, "allowed_cidrs"),
                    f"the load balancers of cluster '{key}' need {rules} rules in its security group (two per admitted range, one per zone); "
                    f"AWS allows {SECURITY_GROUP_RULES}: admit fewer ranges",
                )
            )
    return problems


def _placement_problems(t: Topology, cat: Catalog) -> list[Problem]:
    """``placement`` names regions and jurisdictions the catalog knows (a typo would silently
    rule out every offering)."""
    problems = []
    regions = {r: c.regions[r].jurisdiction for c in cat.clouds.values() for r in c.regions}
    jurisdictions = sorted(set(regions.values()))
    for i, region in enumerate(t.placement.regions):
        if region not in regions:
            problems.append(Problem(("placement", "regions", i), f"unknown region '{region}'"))
    for i, j in enumerate(t.placement.jurisdictions):
        if j not in jurisdictions:
            problems.append(Problem(("placement", "jurisdictions", i), f"unknown jurisdiction '{j}'; known: {', '.join(jurisdictions)}"))
    return problems


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
        admins=tuple(dict.fromkeys(site.admins)),
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
        elif not any(_runs_system_pods(p) for p in cluster.node_pools.values()):
            cpu = next(k for k, p in cluster.node_pools.items() if p.gpu is None)
            problems.append(
                Problem(
                    (*base, "node_pools", cpu),
                    "give a CPU pool min: 1 or more and no NoSchedule or NoExecute taint: DNS and the other system pods need a node from the start "
                    "(the cluster's DNS add-on waits for one, and `pulumi up` with it)",
                )
            )

    pools: dict[str, NodePoolSpec] = {}
    names: dict[str, str] = {}
    for pool_key, pool in cluster.node_pools.items():
        pool_base: Path = (*base, "node_pools", pool_key)
        planned = _pool(t, pool_base, pool_key, pool, site, prof, cat, problems)
        if planned is None:
            continue
        logical, choice = planned
        # The pool's own zones here; a reservation's zone where its step is checked (the other
        # steps run in the pool's zones, or a fabric pool's in its reservation's).
        pinned = network.get("zone_ids") if network else None
        problems.extend(_pinned_zone_problems((*pool_base, "overrides", prof.name, "zones"), logical.get("zones", []), pinned))
        expanded, capacity_problems = capacity.steps(
            pool_base, pool_key, pool, logical, choice, prof, _step_zones(logical, site, prof, cat, choice, pinned), _respec(t, pool_base, pool_key, pool, site, prof, cat)
        )
        problems.extend(capacity_problems)
        for step_key, spec in expanded.items():
            step = spec.get("capacity")
            where: Path = pool_base if step is None else step_path(pool_base, step)
            if step_key != pool_key and (step_key in cluster.node_pools or step_key in pools):
                problems.append(Problem(where, f"its pool key '{step_key}' is another pool's; rename one"))
            elif "name" in spec:
                other = names.get(spec["name"])
                if other is not None:
                    problems.append(Problem(where, f"its {site.provider} pool name '{spec['name']}' collides with pool '{other}'; rename one"))
                names[spec["name"]] = step_key
            pools[step_key] = spec
    if network is not None:
        net_path: Path = ("sites", cluster.site, "network")
        ranges = [((*net_path, "cidr"), network["cidr"]), ((*net_path, "pods_cidr"), network["pods_cidr"]), ((*net_path, "services_cidr"), network["services_cidr"])]
        problems.extend(fabric_network_problems([(p, r) for p, r in ranges if r], pools, prof))
    if prof.pool_limit is not None and len(pools) > prof.pool_limit:
        # capacity steps and spread spot steps each add a pool of the cloud
        problems.append(Problem((*base, "node_pools"), f"makes {len(pools)} {site.provider} node pools (a pool per capacity step and per GPU type of a spread spot step); a cluster takes at most {prof.pool_limit}"))
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
    if site.provider in CLOUDS:
        out["deployer_networks"] = list(t.deployer.networks)
        out["admins"] = list(site.admins)
    public = api_networks(out).public
    if prof.api_cidr_limit is not None and len(public) > prof.api_cidr_limit:
        problems.append(
            Problem(
                (*base, "allowed_cidrs" if cluster.api == "public" else "api"),
                f"the API endpoint would admit {len(public)} CIDR blocks (allowed_cidrs and deployer.networks); {site.provider} takes at most {prof.api_cidr_limit}",
            )
        )
    if network is not None:
        out["network"] = network
    if site.project:
        out["project"] = site.project
    resource_group = getattr(t.sites[cluster.site], "resource_group", None)
    if resource_group:
        out["resource_group"] = resource_group
    out.update(prof.cluster_extras(cluster))  # type: ignore[typeddict-item]
    scaler, scaler_problems = autoscaler(base, cluster, pools, prof, version, cat)
    problems.extend(scaler_problems)
    if scaler is not None:
        out["autoscaler"] = scaler
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
) -> tuple[NodePoolSpec, PoolChoice | None] | None:
    """One topology pool resolved for its cloud (its capacity steps come after), and the
    machine chosen for it."""
    gpu = pool.gpu is not None
    for label in pool.labels:
        if label.startswith(RESERVED_LABEL_PREFIX):
            problems.append(Problem((*base, "labels", label), f"labels under '{RESERVED_LABEL_PREFIX}' are set by topoform"))
    for taint in pool.taints:
        if taint == GPU_TAINT_KEY:
            problems.append(Problem((*base, "taints", taint), f"'{GPU_TAINT_KEY}' is set by topoform on every GPU pool"))

    choice: PoolChoice | None = None
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
    asked = list(override.zones) if override is not None and override.zones else []
    zone_path: Path = (*base, "overrides", prof.name, "zones")
    zone_problems = _zone_problems(zone_path, asked, site.region or "", prof)
    problems.extend(zone_problems)
    if asked:
        spec["zones"] = asked
    if gpu and not zone_problems and site.provider != "onprem":
        zones, gpu_zone_problems = prof.gpu_zones(zone_path if asked else (*base, "gpu", "type"), accelerator, site.region or "", asked, cat)
        problems.extend(gpu_zone_problems)
        if zones:
            spec["zones"] = zones
    if site.provider != "onprem":
        offering = choice.offering if choice is not None else None
        disk = (override.disk_type if override is not None else None) or (offering.boot_disk if offering is not None else None) or cat.clouds[site.provider].boot_disk
        if disk:
            spec["disk_type"] = disk
    if override is not None and override.reservation:
        spec["reservation"] = override.reservation
        if not asked:
            problems.append(Problem((*base, "overrides", prof.name, "reservation"), f"a reservation lives in one zone: name it in overrides.{prof.name}.zones"))
    if override is not None and override.standby_zones and not t.clusters[base[1]].standby:  # type: ignore[index]
        problems.append(Problem((*base, "overrides", prof.name, "standby_zones"), "only used by a cluster with standby: true"))
    joined, fabric_problems = fabric(base, pool, spec, choice, prof, cat)
    problems.extend(fabric_problems)
    if joined is not None:
        spec["fabric"] = joined
        spec["labels"] = dict(sorted({**spec["labels"], PLATFORM_FABRIC_LABEL: joined["kind"]}.items()))
    local, scratch_problems = scratch(base, pool, choice, prof, cat)
    problems.extend(scratch_problems)
    if local is not None:
        spec["scratch"] = local
    if pool.node_selector:
        spec["node_selector"] = dict(sorted(pool.node_selector.items()))
    if pool.node_names:
        spec["node_names"] = list(pool.node_names)
    return spec, choice


def _respec(t: Topology, base: Path, key: str, pool: NodePool, site: SitePlan, prof: CloudProfile, cat: Catalog) -> capacity.Respec:
    """How a spot step's other GPU type is planned: the pool again with that type (same count
    per node, labels, zones asked, scratch), its problems reported at the step's entry."""

    def respec(path: Path, gpu: str) -> tuple[NodePoolSpec | None, list[Problem]]:
        assert pool.gpu is not None
        own, other = cat.logical.gpus.get(pool.gpu.type), cat.logical.gpus.get(gpu)
        if own is not None and other is not None and other.memory_gb < own.memory_gb:
            # the pool's GPU states what its pods need: a smaller one would take them and fail them
            return None, [
                Problem(path, f"{gpu} has {other.memory_gb} GB, less than the pool's {pool.gpu.type} ({own.memory_gb} GB): make the smaller type the pool's own, or leave it out")
            ]
        found: list[Problem] = []
        planned = _pool(t, base, key, _with_gpu(pool, gpu), site, prof, cat, found)
        if found or planned is None:
            return None, [Problem(path, f"{gpu} x{pool.gpu.count}: {p.message}") for p in found]
        return planned[0], []

    return respec


def _with_gpu(pool: NodePool, gpu: str | None) -> NodePool:
    """The pool with another GPU type (one of a spot step's ``also``), else as it is."""
    if pool.gpu is None or gpu is None or gpu == pool.gpu.type:
        return pool
    return pool.model_copy(update={"gpu": pool.gpu.model_copy(update={"type": gpu})})


def _pinned_zone_problems(path: Path, zones: list[str], pinned: list[str] | None) -> list[Problem]:
    """Zones outside those the site pinned its network to (AWS zone IDs), by index."""
    return [Problem((*path, i), f"'{zone}' is not one of the site's zones ({', '.join(pinned)})") for i, zone in enumerate(zones) if pinned and zone not in pinned]


def _step_zones(spec: NodePoolSpec, site: SitePlan, prof: CloudProfile, cat: Catalog, choice: PoolChoice | None, pinned: list[str] | None) -> capacity.ZoneCheck:
    """How a reserved step's zone is checked: a zone of the pool's region (and of the site's
    pinned ones), and for GPUs one that offers the pool's accelerator."""

    def check(path: Path, zones: list[str]) -> list[Problem]:
        problems = _zone_problems(path[:-1], zones, site.region or "", prof) + _pinned_zone_problems(path[:-1], zones, pinned)
        if problems:
            return [Problem(path, p.message) for p in problems]
        if "gpu_type" in spec and site.provider != "onprem":
            _, offered = prof.gpu_zones(path, choice.accelerator if choice else None, site.region or "", zones, cat)
            return offered
        return []

    return check


def _front_door_origin_problems(endpoints: dict[str, EndpointPlan]) -> Iterator[Problem]:
    """A Front Door origin's pods admit only that profile's requests, by a layer-7 rule on their
    port. Another endpoint on the same pods and port would allow the port outright, which
    cancels the rule ("the layer 7 portions ... will have no effect", Cilium); and the health
    path, open to probes without the header, must not be the site's root."""
    origins = {k: e for k, e in endpoints.items() if _is_origin(e)}
    for key, ep in sorted(origins.items()):
        base = ("endpoints", key.split(".")[0])
        if ep.spec["health_path"] == "/":
            yield Problem((*base, "health_check", "path"), "a Front Door origin serves its health path to any prober without the profile's header: give it a path of its own, not /")
        for other_key, other in sorted(endpoints.items()):
            if other_key == key or other.cluster != ep.cluster or _is_origin(other):
                continue
            if (other.spec["namespace"], other.spec["selector"], other.spec["port"]) == (ep.spec["namespace"], ep.spec["selector"], ep.spec["port"]):
                yield Problem(
                    ("endpoints", other_key.split(".")[0], "service"),
                    f"the same pods and port as endpoint '{key.split('.')[0]}', a Front Door origin: admitting this one would admit every request there; give it another port",
                )


def _is_origin(ep: EndpointPlan) -> bool:
    return ep.provider == "azure" and (ep.spec.get("failover_via") == "front-door" or (ep.spec["public"] and "domain" in ep.spec and not ep.spec.get("secondary")))


def _runs_system_pods(pool: NodePool) -> bool:
    """A CPU pool with a node from the start that system pods tolerate (no hard taint)."""
    size = pool.nodes if pool.nodes is not None else (pool.min or 0)
    return pool.gpu is None and size >= 1 and all(t.effect == "PreferNoSchedule" for t in pool.taints.values())


def _zone_problems(base: Path, zones: list[str], region: str, prof: CloudProfile) -> list[Problem]:
    """Zones must belong to the pool's region, once each (what a zone looks like differs per cloud)."""
    form = prof.zone_pattern(region) if region else None
    if form is None:
        return []
    pattern, example = form
    problems = [
        Problem((*base, i), f"'{zone}' is not a zone of {region} ({example}, ...)")
        for i, zone in enumerate(zones)
        if not re.fullmatch(pattern, zone)
    ]
    problems += [Problem((*base, i), f"'{zone}' is named twice") for i, zone in enumerate(zones) if zone in zones[:i]]
    return problems


def _standby(
    t: Topology,
    key: str,
    cluster: Cluster,
    primary: GpuClusterSpec,
    site: SitePlan,
    prof: CloudProfile,
    cat: Catalog,
    problems: list[Problem],
    net: SiteNetwork | None,
) -> GpuClusterSpec | None:
    """The same cluster in the site's backup region: the same pools (GPU pools scaled to zero
    until needed) in zones of that region, in a network of its own address range."""
    region = site.backup_region
    if region is None:
        return None
    before = len(problems)
    pools: dict[str, NodePoolSpec] = {}
    steps: dict[str, list[str]] = {}
    choices: dict[tuple[str, str | None], PoolChoice | None] = {}
    for step_key, step in primary["node_pools"].items():
        steps.setdefault(topology_pool(step_key, step), []).append(step_key)
    for step_key, primary_spec in primary["node_pools"].items():
        pool_key = topology_pool(step_key, primary_spec)
        pool = cluster.node_pools[pool_key]
        base: Path = ("clusters", key, "node_pools", pool_key)
        if capacity_kind(primary_spec) in capacity.RESERVED_KINDS:
            # Reservations and Capacity Blocks hold capacity in the primary's region only.
            if step_key == steps[pool_key][0] and all(capacity_kind(primary["node_pools"][k]) in capacity.RESERVED_KINDS for k in steps[pool_key]):
                problems.append(
                    Problem(
                        (*base, "capacity"),
                        "the standby cannot use reserved capacity, which is in the primary's region: add a step it can (on-demand or spot), or run without a standby",
                    )
                )
            continue
        # the machine of the backup region for the step's GPU (a spot step's other types: theirs)
        pool = _with_gpu(pool, primary_spec.get("gpu_type"))
        gpu = (pool_key, primary_spec.get("gpu_type"))
        if gpu not in choices:
            choices[gpu], choice_problems = prof.choose_machine(("clusters", key, "standby"), pool, region, cat)
            spread = primary_spec.get("capacity")
            if spread is not None and "also" in spread:  # a spread step's type: named where it is written
                choice_problems = [Problem(step_path(base, spread), f"the standby's region {region}: {p.message}") for p in choice_problems]
            problems.extend(choice_problems)
        choice = choices[gpu]
        if choice is None:
            continue
        spec: NodePoolSpec = {**primary_spec}
        spec["machine_type"] = choice.machine_type
        if choice.accelerator:
            spec["accelerator"] = choice.accelerator
        if pool.gpu is not None:
            spec["min_nodes"] = 0
        if "capacity" in spec and pool.max is not None:
            spec["max_nodes"] = pool.max  # no reservation holds nodes in the backup region
        # The primary's zones and reservation are in another region; the standby's zones are its
        # own (or, for GPUs, those of the backup region that offer them; else the cloud's choice).
        spec.pop("zones", None)
        spec.pop("reservation", None)
        if choice.offering is not None and choice.offering.reservation_only and not spec["spot"] and capacity_kind(spec) != "flex-start":
            problems.append(
                Problem(
                    ("clusters", key, "standby"),
                    f"pool '{pool_key}': {choice.machine_type} is sold only reserved or as spot, and its reservation is in {site.region}, "
                    f"not the standby's {region}: run this cluster without a standby, or the pool as spot (without a reservation)",
                )
            )
        override = pool.overrides.get(prof.name)  # type: ignore[call-overload]
        if choice.offering is not None and choice.offering.boot_disk and not (override is not None and override.disk_type):
            spec["disk_type"] = choice.offering.boot_disk  # the machine of the backup region's choice
        asked = list(override.standby_zones) if override is not None and override.standby_zones else []
        zone_path: Path = (*base, "overrides", prof.name, "standby_zones")
        zone_problems = _zone_problems(zone_path, asked, region, prof)
        problems.extend(zone_problems)
        if asked:
            spec["zones"] = asked
        if pool.gpu is not None and not zone_problems:
            zones, gpu_zone_problems = prof.gpu_zones(zone_path if asked else (*base, "gpu", "type"), choice.accelerator, region, asked, cat)
            problems.extend(gpu_zone_problems)
            if zones:
                spec["zones"] = zones
        pools[step_key] = spec
    standby: GpuClusterSpec = {**primary}
    if net is not None and "network" in primary:
        network, net_problems = _backup_network(("sites", cluster.site, "network"), net, prof)
        problems.extend(net_problems)
        if network is not None:
            standby["network"] = network
            problems.extend(fabric_network_problems([(("sites", cluster.site, "network", "backup_cidr"), network["cidr"])], standby["node_pools"], prof))
    if len(problems) > before:
        return None
    standby["cluster_name"] = physical(t.name, t.environment, key, STANDBY, limit=prof.cluster_name_limit)
    standby["region"] = region
    standby["node_pools"] = pools
    if "autoscaler" in primary:
        scaler = {**primary["autoscaler"]}
        ordered = capacity.priorities(pools)
        scaler.pop("priorities", None)
        if ordered:
            scaler["priorities"] = ordered
        standby["autoscaler"] = scaler  # type: ignore[typeddict-item]
    standby["tags"] = dict(sorted({**primary["tags"], "topoform-role": STANDBY}.items()))
    return standby


def _backup_network(base: Path, net: SiteNetwork, prof: CloudProfile) -> tuple[NetworkSpec | None, list[Problem]]:
    """The standby's network: ``backup_cidr``, or the block of the primary's size after it."""
    if net.existing is not None:
        return None, [Problem((*base, "existing"), "a standby cluster needs a network of its own in the backup region; topoform creates it, so remove existing or the standby")]
    primary = ipaddress.ip_network(net.cidr)
    if net.backup_cidr is not None:
        cidr = ipaddress.ip_network(net.backup_cidr)
        path: Path = (*base, "backup_cidr")
    else:
        start = int(primary.network_address) + primary.num_addresses
        cidr = ipaddress.ip_network((start % 2**primary.max_prefixlen, primary.prefixlen))
        path = (*base, "cidr")
        # The next block must stay in the private range the primary's is in (10.255/16 has none).
        home = next((r for r in PRIVATE_RANGES if primary.subnet_of(r)), None)  # type: ignore[arg-type]
        if start + primary.num_addresses > 2**primary.max_prefixlen or home is None or not cidr.subnet_of(home):  # type: ignore[arg-type]
            return None, [Problem((*base, "backup_cidr"), f"no private block of {net.cidr}'s size follows it; give the standby network's backup_cidr")]
    others = [(ipaddress.ip_network(net.pods_cidr), "pods_cidr"), (ipaddress.ip_network(net.services_cidr), "services_cidr")]
    # The same range as the primary's is accepted only spelled out (a standby made by an earlier
    # topoform has it; changing it replaces the standby's network), never a partial overlap.
    if cidr != primary:
        others.insert(0, (primary, "cidr"))
    for other, what in others:
        if cidr.overlaps(other):
            return None, [Problem(path, f"the standby network {cidr} overlaps {what} {other}; give backup_cidr another range")]
    # Zones pinned in the primary region say nothing of the backup region's: the standby spans as
    # many, its own pinned ones (backup_zones) or the region's first.
    return prof.network(path, net.model_copy(update={"cidr": str(cidr), "backup_cidr": None, "zones": list(net.backup_zones) or net.zone_count, "backup_zones": []}))


def _store(
    t: Topology,
    key: str,
    store: Store,
    sites: dict[str, SitePlan],
    cat: Catalog,
    tags: dict[str, str],
    problems: list[Problem],
) -> StoreSpec | None:
    base: Path = ("storage", key)
    site = sites[store.site]
    prof = profile(site.provider)
    before = len(problems)
    asks = [
        (Capability.PUBLIC_STORE, (*base, "access"), store.access == "public"),
        (Capability.CHOOSE_STORE_ENCRYPTION, (*base, "encryption"), store.encryption != "customer-managed"),
        (Capability.REPLICATE_STORE, (*base, "backup", "region"), store.backup is not None and store.backup.region is not None),
    ]
    for capability, path, asked in asks:
        if asked and capability in prof.unsupported:
            problems.append(Problem(path, f"{site.provider} sites cannot {capability.value}: {prof.unsupported[capability]}"))

    spec: StoreSpec = {
        "store_name": prof.store_name(t.name, t.environment, key),
        "region": site.region or "",
        "retention_days": store.retention_days or NONCURRENT_RETENTION_DAYS,
        "public": store.access == "public",
        "customer_managed_key": store.encryption == "customer-managed",
        "tags": dict(sorted({**tags, "topoform-store": key}.items())),
        "protect": t.protected,
    }
    if store.size_gb is not None:
        spec["size_gb"] = store.size_gb
    if site.project:
        spec["project"] = site.project
    resource_group = getattr(t.sites[store.site], "resource_group", None)
    if resource_group:
        spec["resource_group"] = resource_group

    if site.provider == "onprem":
        if store.size_gb is None:
            problems.append(Problem((*base, "size_gb"), "on-prem stores are PersistentVolumeClaims: give their size"))
        spec["storage_class"] = site.storage_class or ""
        spec["namespace"] = store.namespace or "storage"
        onprem = t.sites[store.site]
        if store.backup is not None and isinstance(onprem, OnPremSite) and onprem.backup_target is not None:
            target = onprem.backup_target
            target_site = sites[t.storage[target].site]
            spec["backup_target"] = {
                "store": target,
                "provider": target_site.provider,  # type: ignore[typeddict-item]
                "region": target_site.region or "",
            }
    elif store.backup is not None:
        region = store.backup.region or site.backup_region or ""
        regions = cat.clouds[site.provider].regions
        if region not in regions:
            problems.append(Problem((*base, "backup", "region"), f"unknown {site.provider} region '{region}'; known: {', '.join(sorted(regions))}"))
        spec["replica"] = {"region": region, "store_name": prof.store_name(t.name, t.environment, key, "bk")}
    if len(problems) > before:
        return None
    return spec


_GUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")


def _identity(
    t: Topology, key: str, ident: Identity, sites: dict[str, SitePlan], tags: dict[str, str], problems: list[Problem]
) -> IdentityPlan | None:
    base: Path = ("identities", key)
    cluster = t.clusters.get(ident.cluster)
    if cluster is None or cluster.site not in sites:
        return None  # reported by check_references
    site = sites[cluster.site]
    before = len(problems)
    for store_key, mode in ident.access.items():
        store = t.storage.get(store_key)
        if store is None:
            continue
        store_site = sites[store.site]
        if store_site.provider == "onprem":
            problems.append(Problem((*base, "access", store_key), f"'{store_key}' is an on-prem claim: mount it in the pod; it needs no cloud identity"))
        elif store_site.provider != site.provider:
            problems.append(
                Problem(
                    (*base, "access", store_key),
                    f"cross-cloud access is refused for now: cluster '{ident.cluster}' is on {site.provider}, "
                    f"store '{store_key}' on {store_site.provider}",
                )
            )
        elif store.site != cluster.site:
            problems.append(
                Problem(
                    (*base, "access", store_key),
                    f"cross-site access is refused for now: cluster '{ident.cluster}' is on site '{cluster.site}', "
                    f"store '{store_key}' on '{store.site}'",
                )
            )
    if len(problems) > before:
        return None
    spec: IdentitySpec = {
        "identity_name": account_id(t.name, t.environment, key),
        "namespace": ident.namespace,
        "service_account": ident.service_account,
        "grants": [{"store": s, "mode": m} for s, m in sorted(ident.access.items())],
        "region": site.region or "",
        "tags": dict(sorted({**tags, "topoform-identity": key}.items())),
    }
    if site.project:
        spec["project"] = site.project
    return IdentityPlan(
        key=key,
        cluster=ident.cluster,
        provider=site.provider,
        name=f"{t.name}-{key}",
        spec=spec,
        aliases=[f"{t.name}-{old}" for old in ident.previous_names],
    )


def _standby_identity(t: Topology, primary: IdentityPlan, standby: ClusterPlan, stores: dict[str, StorePlan]) -> IdentityPlan:
    """The identity on the standby cluster: the same service account, its own cloud identity,
    reaching each store's replica in the backup region (the store itself where it has none)."""
    spec: IdentitySpec = {
        **primary.spec,
        "identity_name": account_id(t.name, t.environment, primary.key, STANDBY),
        "region": standby.spec["region"],
        # Replication is one-way: the standby's workloads read the replicas (writes there would never
        # reach the primary), and reach a store without one as the primary does.
        "grants": [{**g, "mode": "read", "replica": True} if "replica" in stores[g["store"]].spec else dict(g) for g in primary.spec["grants"]],  # type: ignore[misc]
        "tags": dict(sorted({**primary.spec["tags"], "topoform-role": STANDBY}.items())),
    }
    return IdentityPlan(
        key=f"{primary.key}.{STANDBY}",
        cluster=standby.key,
        provider=primary.provider,
        name=f"{primary.name}-{STANDBY}",
        spec=spec,
        aliases=[f"{old}-{STANDBY}" for old in primary.aliases],
    )


def _team(t: Topology, key: str, team: Team, sites: dict[str, SitePlan], problems: list[Problem]) -> TeamPlan | None:
    base: Path = ("teams", key)
    bindings: list[BindingSpec] = []
    before = len(problems)
    for cluster_key, namespaces in sorted(team.namespaces.items()):
        cluster = t.clusters.get(cluster_key)
        if cluster is None or cluster.site not in sites:
            continue
        provider = sites[cluster.site].provider
        override = team.overrides.get(provider) if provider in CLOUDS else None  # type: ignore[call-overload]
        group = (override.group if override else None) or team.group
        if provider == "azure" and not _GUID.match(group):
            problems.append(
                Problem((*base, "overrides", "azure", "group"), f"AKS binds Entra ID groups by object ID: give the group's object ID for cluster '{cluster_key}'")
            )
        if provider == "gcp":
            gcp = cluster.overrides.get("gcp")
            if gcp is None or not gcp.security_group:
                problems.append(
                    Problem(
                        ("clusters", cluster_key, "overrides", "gcp", "security_group"),
                        f"team '{key}' binds a Google group on this GKE cluster: name the gke-security-groups@<domain> group (Google Groups for RBAC)",
                    )
                )
        # The standby cluster is the same cluster: the team has the same access there.
        targets = [cluster_key] + ([f"{cluster_key}.{STANDBY}"] if cluster.standby and provider in CLOUDS else [])
        for target in targets:
            for ns in sorted(set(namespaces)):
                bindings.append({"cluster": target, "namespace": ns, "group": group, "role": team.role})
    if len(problems) > before:
        return None
    spec: TeamSpec = {"bindings": bindings}
    if team.gpu_quota is not None:
        spec["gpu_quota"] = team.gpu_quota
    return TeamPlan(key=key, name=f"{t.name}-team-{key}", spec=spec)


def _endpoint(
    t: Topology, key: str, ep: Endpoint, sites: dict[str, SitePlan], tags: dict[str, str], problems: list[Problem]
) -> dict[str, EndpointPlan]:
    base: Path = ("endpoints", key)
    cluster = t.clusters.get(ep.cluster)
    if cluster is None or cluster.site not in sites:
        return {}
    out: dict[str, EndpointPlan] = {}
    public = ep.exposure == "public"
    targets = [(ep.cluster, False)] + ([(ep.failover, True)] if ep.failover and ep.failover in t.clusters else [])
    for cluster_key, secondary in targets:
        site = sites[t.clusters[cluster_key].site]
        spec, found = endpoint_spec(t.name, t.environment, key, ep, site, tags, secondary)
        if found:
            problems.extend(found)
            continue
        if secondary:
            spec["secondary"] = True
            spec["public"] = False if site.provider == "onprem" else public
            if public:
                spec["failover_via"] = "front-door" if sites[t.clusters[ep.cluster].site].provider == "azure" else "dns"
                if spec["failover_via"] == "dns":
                    spec["tls"] = ep.failover_tls or "load-balancer"
            out[f"{key}.failover"] = EndpointPlan(f"{key}.failover", cluster_key, site.provider, f"{t.name}-{key}-failover", spec)
        else:
            if ep.failover:
                spec["failover"] = True
                failover_provider = sites[t.clusters[ep.failover].site].provider
                spec["failover_address"] = "hostname" if failover_provider == "aws" else "ip"
                if ep.failover_address is not None:
                    spec["secondary_address"] = ep.failover_address
                if site.provider == "gcp" and failover_provider == "aws":
                    problems.append(
                        Problem((*base, "failover"), "GCP DNS fails over between IP addresses; an AWS load balancer answers with a host name")
                    )
            out[key] = EndpointPlan(key, cluster_key, site.provider, f"{t.name}-{key}", spec, secondary=f"{key}.failover" if ep.failover else None)
    return out


def endpoint_spec(
    system: str, environment: str, key: str, ep: Endpoint, site: SitePlan, tags: dict[str, str], secondary: bool = False
) -> tuple[EndpointSpec, list[Problem]]:
    """The spec of endpoint ``key`` on a cluster of ``site`` (or of its failover copy there), and
    what stops it being served there."""
    base: Path = ("endpoints", key)
    public = ep.exposure == "public"
    problems: list[Problem] = []
    spec: EndpointSpec = {
        "endpoint_name": physical(system, environment, key, "backup" if secondary else "", limit=32),
        "namespace": ep.service.namespace,
        "selector": dict(sorted((ep.service.selector or {"app.kubernetes.io/name": ep.service.name}).items())),
        "port": ep.service.port,
        "public": public,
        # Internal endpoints admit private networks unless told otherwise.
        "allowed_cidrs": list(ep.allowed_cidrs) or ([] if public else list(PRIVATE_NETWORKS)),
        "health_path": ep.health_check.path,
        "health_interval_seconds": ep.health_check.interval_seconds,
        "region": site.region or "",
        "tags": dict(sorted({**tags, "topoform-endpoint": key}.items())),
    }
    if ep.domain:
        spec["domain"] = ep.domain
        spec["dns_zone"] = ep.dns_zone or ep.domain.split(".", 1)[1]
    if site.project:
        spec["project"] = site.project
    if public and site.provider == "onprem" and not secondary:
        problems.append(Problem((*base, "exposure"), "onprem sites cannot serve a public endpoint: topoform does not manage a TLS terminator there; use a cloud cluster, or this cluster as a failover"))
    override = ep.overrides.get("azure")
    if site.provider == "azure" and public:
        if override is None or not override.dns_resource_group:
            problems.append(Problem((*base, "overrides", "azure", "dns_resource_group"), "a public Azure endpoint needs the resource group of its DNS zone"))
        else:
            spec["dns_resource_group"] = override.dns_resource_group
    return spec, problems


def onprem_cluster(t: Topology, site: str) -> str | None:
    """The cluster entry of an on-prem site (its kubeconfig reaches exactly one cluster)."""
    return next((k for k, c in sorted(t.clusters.items()) if c.site == site), None)


def onprem_site_cluster(p: Plan, site: str) -> str | None:
    """The same, from a plan."""
    return next((k for k, c in sorted(p.clusters.items()) if c.site == site), None)


def _namespaces(
    t: Topology,
    identities: dict[str, IdentityPlan],
    teams: dict[str, TeamPlan],
    endpoints: dict[str, EndpointPlan],
    stores: dict[str, StorePlan],
    problems: list[Problem],
) -> dict[str, dict[str, int | None]]:
    out: dict[str, dict[str, int | None]] = {}
    quota_owner: dict[tuple[str, str], str] = {}

    def add(cluster: str, ns: str, quota: int | None = None) -> None:
        if ns in RESERVED_NAMESPACES:
            return
        current = out.setdefault(cluster, {}).get(ns)
        out[cluster][ns] = current if quota is None else quota

    for ip in identities.values():
        add(ip.cluster, ip.spec["namespace"])
    for ep in endpoints.values():
        add(ep.cluster, ep.spec["namespace"])
    for sp in stores.values():
        if sp.provider == "onprem" and (cluster := onprem_cluster(t, sp.site)) is not None:
            add(cluster, sp.spec.get("namespace", "storage"))
    for tp in teams.values():
        quota = tp.spec.get("gpu_quota")
        for b in tp.spec["bindings"]:
            where = (b["cluster"], b["namespace"])
            if quota is not None and where in quota_owner and out[b["cluster"]].get(b["namespace"]) != quota:
                problems.append(
                    Problem(
                        ("teams", tp.key, "gpu_quota"),
                        f"namespace '{b['namespace']}' on cluster '{b['cluster']}' is shared with team '{quota_owner[where]}', "
                        "which sets another gpu_quota; give them one quota or separate namespaces",
                    )
                )
                continue
            if quota is not None:
                quota_owner[where] = tp.key
            add(b["cluster"], b["namespace"], quota)
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}

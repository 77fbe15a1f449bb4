"""Plan -> resources: one explicit provider per site and region, one component per concept.

The registry (:mod:`topoform.providers`) knows which module serves which provider; this
module walks the plan in key order, creates each site's providers (one per region it uses)
and wires them into the components: clusters, standby clusters, stores and their replicas.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .kube import namespace, namespace_guardrails
from .planner import Plan, SitePlan, onprem_site_cluster, provider_name
from .providers import module
from .resources import EncryptedStore, Endpoint, GpuCluster, ReplicaRef, SiteConnection, Utilities, WorkloadIdentity
from .team import TeamAccess

__all__ = ["Assembly", "assemble"]

CLASSES = {
    kind: {p: f"{prefix}{suffix}" for p, prefix in (("aws", "Aws"), ("gcp", "Gcp"), ("azure", "Azure"), ("onprem", "OnPrem"))}
    for kind, suffix in (("cluster", "GpuCluster"), ("store", "EncryptedStore"), ("identity", "WorkloadIdentity"), ("endpoint", "Endpoint"))
}


class Assembly:
    """What the program created: site connections by (site, region), components by key."""

    def __init__(self) -> None:
        self.sites: dict[tuple[str, str], SiteConnection] = {}
        self.clusters: dict[str, GpuCluster] = {}
        self.stores: dict[str, EncryptedStore] = {}
        self.namespaces: dict[tuple[str, str], pulumi.Resource] = {}
        self.identities: dict[str, WorkloadIdentity] = {}
        self.teams: dict[str, TeamAccess] = {}
        self.endpoints: dict[str, Endpoint] = {}


def _component(kind: str, provider: str) -> Any:
    return getattr(module(provider, kind), CLASSES[kind][provider])


def connect(site: SitePlan, region: str, plan: Plan, utilities: Utilities | None = None, shared: dict[Any, Any] | None = None) -> SiteConnection:
    """The explicit provider of a site in one region."""
    return module(site.provider, "site").connect(  # type: ignore[no-any-return]
        site, region, provider_name(site, region), plan.tags, utilities=utilities, shared=shared
    )


def utilities(plan: Plan) -> Utilities | None:
    """The helpers' explicit providers, where the plan needs them: waits for grants to apply
    (every cloud), random name suffixes (GCP and Azure names the cloud keeps, where unprotected)."""
    if not any(s.provider in ("aws", "gcp", "azure") for s in plan.sites.values()):
        return None
    import pulumiverse_time as time

    random = None
    if not plan.protected and any(s.provider in ("gcp", "azure") for s in plan.sites.values()):
        import pulumi_random

        random = pulumi_random.Provider(f"{plan.name}-random")
    return Utilities(time=time.Provider(f"{plan.name}-time"), random=random)


def _opts(site: SiteConnection, tools: Utilities | None, depends_on: list[pulumi.Resource] | None = None, **kwargs: Any) -> pulumi.ResourceOptions:
    """A component's options on a site: the site's provider (and the helpers'), after what the
    site needs first."""
    return pulumi.ResourceOptions(
        provider=site.provider, providers=tools.all() if tools else None, depends_on=[*site.ready, *(depends_on or [])], **kwargs
    )


def assemble(plan: Plan) -> Assembly:
    """Create every provider and component the plan describes (in key order)."""
    out = Assembly()
    tools = utilities(plan)
    shared: dict[Any, Any] = {}
    for key, regions in plan.regions().items():
        for region in regions:
            out.sites[(key, region)] = connect(plan.sites[key], region, plan, tools, shared)

    # Cloud stores first: clusters keep the paths to them private, on-prem stores back up to them.
    cloud_stores = sorted((kv for kv in plan.stores.items() if kv[1].provider != "onprem"), key=lambda kv: kv[0])
    onprem_stores = sorted((kv for kv in plan.stores.items() if kv[1].provider == "onprem"), key=lambda kv: kv[0])
    site_namespaces: dict[tuple[str, str], pulumi.Resource] = {}
    for key, store in cloud_stores:
        _store(out, plan, tools, key, store, site_namespaces)

    for key, cluster in sorted(plan.clusters.items()):
        site = out.sites[(cluster.site, cluster.spec["region"])]
        out.clusters[key] = _component("cluster", cluster.provider)(
            cluster.name,
            {**cluster.spec, **site.cluster_args, "stores": _store_refs(out, cluster.spec.get("store_grants", []))},
            opts=_opts(site, tools, aliases=[pulumi.Alias(name=old) for old in cluster.aliases]),
        )

    for cluster_key, namespaces in plan.namespaces.items():
        owner = out.clusters[cluster_key]
        for ns, quota in namespaces.items():
            name = f"{owner._name}-ns-{ns}"
            obj = namespace(name, ns, owner.kubernetes_provider, protect=plan.protected, parent=owner, annotations=owner.namespace_annotations)
            namespace_guardrails(name, obj, owner.kubernetes_provider, quota)
            owner.namespace_objects(name, obj)
            out.namespaces[(cluster_key, ns)] = obj

    for key, store in onprem_stores:
        _store(out, plan, tools, key, store, site_namespaces)

    for key, ident in sorted(plan.identities.items()):
        home = out.clusters[ident.cluster]
        args = {
            **ident.spec,
            "kubernetes_provider": home.kubernetes_provider,
            "cluster_name": home.cluster_name,
            "oidc_issuer": home.oidc_issuer,
            "stores": _store_refs(out, ident.spec["grants"]),
            **_platform(home),
        }
        out.identities[key] = _component("identity", ident.provider)(
            ident.name,
            args,
            opts=_opts(
                _site_of(out, plan, ident.cluster),
                tools,
                _namespaces(out, ident.cluster, [ident.spec["namespace"]]),
                aliases=[pulumi.Alias(name=old) for old in ident.aliases],
            ),
        )

    for key, team in sorted(plan.teams.items()):
        clusters = sorted({b["cluster"] for b in team.spec["bindings"]})
        out.teams[key] = TeamAccess(
            team.name,
            {**team.spec, "providers": {c: out.clusters[c].kubernetes_provider for c in clusters}},
            opts=pulumi.ResourceOptions(
                depends_on=[r for b in team.spec["bindings"] for r in _namespaces(out, b["cluster"], [b["namespace"]])]
            ),
        )

    # Failover targets first: a primary's DNS records point at them.
    for key, ep in sorted(plan.endpoints.items(), key=lambda kv: (kv[1].secondary is not None, kv[0])):
        home = out.clusters[ep.cluster]
        args = {**ep.spec, "kubernetes_provider": home.kubernetes_provider, **_platform(home)}
        if ep.secondary is not None:
            args["failover_target"] = ep.spec.get("secondary_address") or out.endpoints[ep.secondary].address
            secondary = plan.endpoints.get(ep.secondary)
            if secondary is not None and secondary.spec.get("failover_via") == "front-door" and secondary.provider == "azure":
                args["failover_kubernetes_provider"] = out.clusters[secondary.cluster].kubernetes_provider
        waits = _namespaces(out, ep.cluster, [ep.spec["namespace"]])
        if "failover_kubernetes_provider" in args:  # it also writes into the failover origin's namespace
            waits += _namespaces(out, plan.endpoints[ep.secondary].cluster, [ep.spec["namespace"]])  # type: ignore[index]
        out.endpoints[key] = _component("endpoint", ep.provider)(ep.name, args, opts=_opts(_site_of(out, plan, ep.cluster), tools, waits))
    return out


def _store(out: Assembly, plan: Plan, tools: Utilities | None, key: str, store: Any, site_namespaces: dict[tuple[str, str], pulumi.Resource]) -> None:
    site = out.sites[(store.site, store.spec["region"])]
    args: dict[str, Any] = dict(store.spec)
    depends: list[pulumi.Resource] = []
    if "replica" in store.spec:
        args["replica_provider"] = out.sites[(store.site, store.spec["replica"]["region"])].provider
    if store.provider == "onprem":
        ns = store.spec.get("namespace", "storage")
        home_key = onprem_site_cluster(plan, store.site)
        if home_key is not None and (home_key, ns) in out.namespaces:
            depends.append(out.namespaces[(home_key, ns)])
        else:  # a site with stores and no cluster entry
            if (store.site, ns) not in site_namespaces:
                site_namespaces[(store.site, ns)] = namespace(
                    f"{plan.sites[store.site].provider_name}-ns-{ns}", ns, site.provider, protect=plan.protected  # type: ignore[arg-type]
                )
            depends.append(site_namespaces[(store.site, ns)])
        target = store.spec.get("backup_target")
        if target is not None:
            args["backup_location"] = out.stores[target["store"]].velero_location
    out.stores[key] = _component("store", store.provider)(
        store.name,
        args,
        opts=_opts(site, tools, depends, aliases=[pulumi.Alias(name=old) for old in store.aliases]),
    )


def _store_refs(out: Assembly, grants: list[Any]) -> dict[str, Any]:
    """The stores (or, for a standby's grants, their replicas) that grants name, by store key."""
    return {g["store"]: ReplicaRef(out.stores[g["store"]]) if g.get("replica") else out.stores[g["store"]] for g in grants}


def _site_of(out: Assembly, plan: Plan, cluster: str) -> SiteConnection:
    """The site connection in a cluster's region."""
    return out.sites[(plan.clusters[cluster].site, plan.clusters[cluster].spec["region"])]


def _namespaces(out: Assembly, cluster: str, names: list[str]) -> list[pulumi.Resource]:
    return [out.namespaces[(cluster, n)] for n in names if (cluster, n) in out.namespaces]


def _platform(cluster: GpuCluster) -> dict[str, Any]:
    """What a cluster component offers the components built on it, beyond the common outputs."""
    extra: dict[str, Any] = {}
    if hasattr(cluster, "resource_group_name"):
        extra["resource_group"] = cluster.resource_group_name
    if hasattr(cluster, "identity_principal_id"):
        extra["cluster_principal_id"] = cluster.identity_principal_id
    return extra

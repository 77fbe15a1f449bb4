"""Plan -> resources: one explicit provider per site and region, one component per concept.

The registry (:mod:`topoform.providers`) knows which module serves which provider; this
module walks the plan in key order, creates each site's providers (one per region it uses)
and wires them into the components: clusters, standby clusters, stores and their replicas.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .kube import namespace
from .planner import Plan, SitePlan, provider_name
from .providers import module
from .resources import EncryptedStore, GpuCluster, SiteConnection

__all__ = ["Assembly", "assemble"]

CLASSES = {
    "cluster": {"aws": "AwsGpuCluster", "gcp": "GcpGpuCluster", "azure": "AzureGpuCluster", "onprem": "OnPremGpuCluster"},
    "store": {"aws": "AwsEncryptedStore", "gcp": "GcpEncryptedStore", "azure": "AzureEncryptedStore", "onprem": "OnPremEncryptedStore"},
}


class Assembly:
    """What the program created: site connections by (site, region), components by key."""

    def __init__(self) -> None:
        self.sites: dict[tuple[str, str], SiteConnection] = {}
        self.clusters: dict[str, GpuCluster] = {}
        self.stores: dict[str, EncryptedStore] = {}


def _component(kind: str, provider: str) -> Any:
    return getattr(module(provider, kind), CLASSES[kind][provider])


def connect(site: SitePlan, region: str, plan: Plan) -> SiteConnection:
    """The explicit provider of a site in one region."""
    return module(site.provider, "site").connect(site, region, provider_name(site, region), plan.tags)  # type: ignore[no-any-return]


def assemble(plan: Plan) -> Assembly:
    """Create every provider and component the plan describes (in key order)."""
    out = Assembly()
    for key, regions in plan.regions().items():
        for region in regions:
            out.sites[(key, region)] = connect(plan.sites[key], region, plan)

    for key, cluster in sorted(plan.clusters.items()):
        site = out.sites[(cluster.site, cluster.spec["region"])]
        out.clusters[key] = _component("cluster", cluster.provider)(
            cluster.name,
            {**cluster.spec, **site.cluster_args},
            opts=pulumi.ResourceOptions(provider=site.provider, aliases=[pulumi.Alias(name=old) for old in cluster.aliases]),
        )

    namespaces: dict[tuple[str, str], pulumi.Resource] = {}
    # Cloud stores first: on-prem stores back up to them.
    for key, store in sorted(plan.stores.items(), key=lambda kv: (kv[1].provider == "onprem", kv[0])):
        site = out.sites[(store.site, store.spec["region"])]
        args: dict[str, Any] = dict(store.spec)
        depends: list[pulumi.Resource] = []
        if "replica" in store.spec:
            args["replica_provider"] = out.sites[(store.site, store.spec["replica"]["region"])].provider
        if store.provider == "onprem":
            ns = store.spec.get("namespace", "storage")
            if (store.site, ns) not in namespaces:
                namespaces[(store.site, ns)] = namespace(
                    f"{plan.sites[store.site].provider_name}-ns-{ns}", ns, site.provider, protect=plan.protected  # type: ignore[arg-type]
                )
            depends.append(namespaces[(store.site, ns)])
            target = store.spec.get("backup_target")
            if target is not None:
                args["backup_location"] = out.stores[target["store"]].velero_location
        out.stores[key] = _component("store", store.provider)(
            store.name,
            args,
            opts=pulumi.ResourceOptions(
                provider=site.provider,
                depends_on=depends,
                aliases=[pulumi.Alias(name=old) for old in store.aliases],
            ),
        )
    return out

"""Plan -> resources: one explicit provider per site and region, one component per concept.

The only place that knows which component class serves which provider is the
registry (:mod:`topoform.providers`); this module walks the plan in key order
and wires providers into components.
"""

from __future__ import annotations

import pulumi

from .planner import Plan, SitePlan
from .providers import module
from .resources import GpuCluster, SiteConnection

__all__ = ["Assembly", "assemble"]

CLUSTER_CLASSES = {"aws": "AwsGpuCluster", "gcp": "GcpGpuCluster", "azure": "AzureGpuCluster", "onprem": "OnPremGpuCluster"}


class Assembly:
    """What the program created: providers by site, clusters by key."""

    def __init__(self) -> None:
        self.sites: dict[str, SiteConnection] = {}
        self.clusters: dict[str, GpuCluster] = {}


def connect(site: SitePlan, plan: Plan) -> SiteConnection:
    """The explicit provider of a site in its primary region."""
    return module(site.provider, "site").connect(site, site.region, site.provider_name, plan.tags)  # type: ignore[no-any-return]


def assemble(plan: Plan) -> Assembly:
    """Create every provider and component the plan describes (in key order)."""
    out = Assembly()
    used = {c.site for c in plan.clusters.values()}
    for key in sorted(used):
        out.sites[key] = connect(plan.sites[key], plan)
    for key, cluster in sorted(plan.clusters.items()):
        cls = getattr(module(cluster.provider, "cluster"), CLUSTER_CLASSES[cluster.provider])
        site = out.sites[cluster.site]
        out.clusters[key] = cls(
            cluster.name,
            {**cluster.spec, **site.cluster_args},
            opts=pulumi.ResourceOptions(
                provider=site.provider,
                aliases=[pulumi.Alias(name=old) for old in cluster.aliases],
            ),
        )
    return out

"""Synthetic topologies across the four kinds of site, at any size.

A *cell* is one site of each kind (AWS, GCP, Azure, on-prem), each with one cluster (a CPU
system pool and a GPU pool); each cloud site also has a replicated store, a workload identity
reading it and an internal endpoint; one team per cell has a namespace on each cluster. Cells
are independent, so the resource count grows linearly with the number of cells, and keys are
derived from the cell's number, never from positions.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cells_for", "pools_topology", "topology"]

_CLOUDS: dict[str, dict[str, Any]] = {
    "aws": {"site": {"provider": "aws", "region": "us-east-1", "backup_region": "us-west-2", "admins": ["arn:aws:iam::123456789012:role/platform-ci"]}, "gpu": {"type": "L4", "count": 1}},
    "gcp": {"site": {"provider": "gcp", "project": "acme-bench", "region": "us-central1", "backup_region": "us-east4"}, "gpu": {"type": "L4", "count": 1}},
    "azure": {"site": {"provider": "azure", "region": "eastus", "backup_region": "centralus", "admins": ["servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"]}, "gpu": {"type": "A100-80GB", "count": 1}},
}


def topology(cells: int) -> dict[str, Any]:
    """A topology of ``cells`` cells (see the module's docstring)."""
    sites: dict[str, Any] = {}
    clusters: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    identities: dict[str, Any] = {}
    teams: dict[str, Any] = {}
    endpoints: dict[str, Any] = {}
    for i in range(cells):
        team_namespaces: dict[str, list[str]] = {}
        for cloud, spec in _CLOUDS.items():
            site, cluster, store = f"{cloud}-{i}", f"k-{cloud}-{i}", f"s-{cloud}-{i}"
            sites[site] = dict(spec["site"])
            clusters[cluster] = {
                "site": site,
                **({"overrides": {"gcp": {"security_group": "gke-security-groups@acme.example"}}} if cloud == "gcp" else {}),
                "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 3}, "gpu": {"gpu": spec["gpu"], "min": 0, "max": 8}},
            }
            storage[store] = {"site": site, "size_gb": 1000, "backup": True}
            identities[f"i-{cloud}-{i}"] = {"cluster": cluster, "namespace": "jobs", "service_account": "trainer", "access": {store: "read"}}
            endpoints[f"e-{cloud}-{i}"] = {"cluster": cluster, "service": {"namespace": "serving", "name": "api", "port": 8080}}
            team_namespaces[cluster] = ["jobs"]
        sites[f"dc-{i}"] = {"provider": "onprem", "kubeconfig": {"secret": f"dc-{i}-kubeconfig"}, "storage_class": "ceph-encrypted"}
        clusters[f"k-dc-{i}"] = {"site": f"dc-{i}", "node_pools": {"a100": {"gpu": {"type": "A100-80GB", "count": 8}, "nodes": 4}}}
        team_namespaces[f"k-dc-{i}"] = ["jobs"]
        teams[f"t-{i}"] = {
            "group": f"team-{i}@acme.example",
            "role": "edit",
            "namespaces": team_namespaces,
            "gpu_quota": 8,
            "overrides": {"azure": {"group": f"6f1d2c3b-4a5e-4f60-8b7c-{i:012x}"}, "aws": {"principal_arn": f"arn:aws:iam::123456789012:role/team-{i}"}},
        }
    return {
        "name": "bench",
        "environment": "bench",
        "labels": {"owner": "ml-platform"},
        "deployer": {"networks": ["198.51.100.10/32"]},
        "sites": sites,
        "clusters": clusters,
        "storage": storage,
        "identities": identities,
        "teams": teams,
        "endpoints": endpoints,
    }


def pools_topology(pools: int, per_cluster: int = 100) -> dict[str, Any]:
    """A planning stress test: ``pools`` GPU pools spread over AWS clusters."""
    clusters: dict[str, Any] = {}
    for c in range((pools + per_cluster - 1) // per_cluster):
        n = min(per_cluster, pools - c * per_cluster)
        node_pools: dict[str, Any] = {"system": {"instance": "cpu-4x16", "min": 1, "max": 3}}
        node_pools.update({f"g{p}": {"gpu": {"type": "H100", "count": 8}, "min": 0, "max": 4, "spot": p % 2 == 0} for p in range(n - 1)})
        clusters[f"k{c}"] = {"site": "aws", "node_pools": node_pools}
    return {"name": "pools", "environment": "bench", "deployer": {"networks": ["198.51.100.10/32"]}, "sites": {"aws": {"provider": "aws", "region": "us-east-1", "admins": ["arn:aws:iam::123456789012:role/platform-ci"]}}, "clusters": clusters}


def cells_for(resources: int, per_cell: int) -> int:
    """How many cells make about ``resources`` resources."""
    return max(1, round(resources / per_cell))

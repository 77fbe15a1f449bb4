"""Readable text for the preview: a tree per site and cluster with resource counts.

Pure: it reads a plan and a recording (plain data), never Pulumi.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .planner import Plan
from .providers import profile
from .specs import NodePoolSpec, capacity_of

__all__ = ["preview_text"]



def _plural(n: int, word: str) -> str:
    """``1 resource``, ``2 resources``."""
    return f"{n} {word}{'' if n == 1 else 's'}"

def _descendants(resources: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    children: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        children.setdefault(r["parent"], []).append(r)
    out: list[dict[str, Any]] = []
    stack = [root]
    while stack:
        for r in children.get(stack.pop(), []):
            out.append(r)
            stack.append(r["urn"])
    return out


def _pool_line(key: str, pool: NodePoolSpec) -> str:
    size = f"{pool['min_nodes']}" if pool["min_nodes"] == pool["max_nodes"] else f"{pool['min_nodes']}..{pool['max_nodes']}"
    what = pool["machine_type"]
    if "gpu_type" in pool:
        what += f" ({pool['gpu_count']}x {pool['gpu_type']})"
    capacity = capacity_of(pool)
    taints = ", ".join(f"{t['key']}={t['value']}:{t['effect']}" for t in pool["taints"])
    fabric = f", fabric {pool['fabric']['kind']} x{pool['fabric']['interfaces']}" if "fabric" in pool else ""
    return f"pool {key}: {what}, {size} nodes, {capacity}{fabric}" + (f", taint {taints}" if taints else "")


_STORE_ROLES = ("bucket", "account", "pvc")
_REPLICATION_ROLES = ("replication", "transfer")


def _store_lines(name: str, region: str, replica_region: str | None, children: list[dict[str, Any]]) -> list[str]:
    """Each store with its key, its replica and the replica's region, read from the recording."""
    by_role = {r["name"][len(name) + 1 :]: r for r in children if r["name"].startswith(name + "-")}

    def show(role: str) -> str:
        r = by_role[role]
        return f"{r['type'].split(':')[-1]} {r['name']}"

    def first(*roles: str) -> str | None:
        return next((role for role in roles if role in by_role), None)

    store = first(*_STORE_ROLES)
    line = f"    {show(store) if store else '?'}" + (f" in {region}" if region else "")
    key = first("key")
    line += f", key {show(key)}" if key else ", provider-managed key" if store != "pvc" else ", encrypted by its storage class"
    lines = [line]
    replica = first(*(f"replica-{r}" for r in _STORE_ROLES))
    if replica:
        rkey = first("replica-key")
        rline = f"    replica {show(replica)} in {replica_region}" + (f", own key {show(rkey)}" if rkey else "")
        replication = first(*_REPLICATION_ROLES)
        rline += f", replicated by {show(replication)}" if replication else ", NOT REPLICATED"
        lines.append(rline)
    backup = first("backup-location")
    if backup:
        lines.append(f"    backup: Velero {show(backup)}, {show('backup-schedule')}")
    return lines


def _count(resources: list[dict[str, Any]], components: dict[str, dict[str, Any]], name: str) -> str:
    comp = components.get(name)
    return f"{comp['type'].split(':')[-1]} {name}, {_plural(len(_descendants(resources, comp['urn'])), 'resource')}" if comp else "not created"


def _access_lines(plan: Plan, resources: list[dict[str, Any]], components: dict[str, dict[str, Any]]) -> list[str]:
    """Who can reach what: identities -> stores, teams -> namespaces, endpoints -> clusters."""
    lines: list[str] = []
    if plan.identities or plan.teams or plan.endpoints:
        lines.append("access")
    for key, ident in sorted(plan.identities.items()):
        spec = ident.spec
        grants = ", ".join(f"{g['store']}: {g['mode']}" for g in spec["grants"]) or "no stores"
        lines.append(
            f"  identity {key}: {spec['namespace']}/{spec['service_account']} on {ident.cluster} ({ident.provider}) -> {grants}"
            f" [{_count(resources, components, ident.name)}]"
        )
    for key, team in sorted(plan.teams.items()):
        bindings = team.spec["bindings"]
        where = ", ".join(f"{b['cluster']}/{b['namespace']}" for b in bindings)
        roles = sorted({b["role"] for b in bindings})
        quota = f"; gpu quota {team.spec['gpu_quota']} per namespace" if "gpu_quota" in team.spec else ""
        groups = ", ".join(sorted({b["group"] for b in bindings}))
        lines.append(f"  team {key} ({groups}): {'/'.join(roles)} in {where}{quota} [{_count(resources, components, team.name)}]")
    for key, ep in sorted(plan.endpoints.items()):
        if ep.spec.get("secondary"):
            continue
        es = ep.spec
        exposure = f"public https://{es['domain']} from {', '.join(es['allowed_cidrs'])}" if es["public"] else "internal"
        failover = f", failover -> {plan.endpoints[ep.secondary].cluster}" if ep.secondary else ""
        lines.append(f"  endpoint {key}: {ep.cluster} ({ep.provider}) {exposure}{failover} [{_count(resources, components, ep.name)}]")
    return lines


def preview_text(plan: Plan, stack: str, resources: list[dict[str, Any]], notices: list[str]) -> str:
    lines = [f"topoform preview: {plan.name} / {plan.environment} (stack {stack}): {len(resources)} resources"]
    protected = "protected (protect + retainOnDelete on stateful resources)" if plan.protected else "not protected"
    lines.append(f"environment: {protected}")
    components = {r["name"]: r for r in resources if not r["custom"]}
    for site_key, site in sorted(plan.sites.items()):
        where = f"{site.provider} {site.region}" if site.region else site.provider
        if site.backup_region:
            where += f", backup {site.backup_region}"
        lines.append(f"site {site_key} ({where})")
        for key, cluster in sorted(plan.clusters.items()):
            if cluster.site != site_key:
                continue
            comp = components.get(cluster.name)
            children = _descendants(resources, comp["urn"]) if comp else []
            spec = cluster.spec
            lines.append(f"  cluster {key}: {comp['type'].split(':')[-1] if comp else '?'} {cluster.name}, {_plural(len(children), 'resource')}")
            if site.provider != "onprem":
                api = "private API" if spec["api_access"] == "private" else f"public API from {', '.join(spec['allowed_cidrs'])}"
                lines.append(f"    {spec['cluster_name']} in {spec['region']}: Kubernetes {spec['kubernetes_version']}, {api}")
                lines.append(f"    deployer: {profile(site.provider).deployer_access(spec)}")
            for pool_key, pool in spec["node_pools"].items():
                lines.append(f"    {_pool_line(pool_key, pool)}")
            counts = Counter(r["type"] for r in children)
            lines.append("    resources: " + ", ".join(f"{t.split(':')[-1]} {n}" for t, n in sorted(counts.items())))
        for key, store in sorted(plan.stores.items()):
            if store.site != site_key:
                continue
            comp = components.get(store.name)
            children = _descendants(resources, comp["urn"]) if comp else []
            lines.append(f"  store {key}: {comp['type'].split(':')[-1] if comp else '?'} {store.name}, {_plural(len(children), 'resource')}")
            replica = store.spec.get("replica")
            lines += _store_lines(store.name, store.spec["region"], replica["region"] if replica else None, children)
    lines += _access_lines(plan, resources, components)
    for notice in notices:
        lines.append(f"notice: {notice}")
    return "\n".join(lines) + "\n"

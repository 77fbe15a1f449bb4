"""Cluster planning by concept: how a cluster's pools scale, join and keep scratch data (pure).

The same file name as each provider folder's ``cluster.py``: what is planned here, the
cloud's cluster component builds. Each cloud's own vocabulary comes from its profile
(:meth:`~topoform.providers.base.CloudProfile.autoscaler`).
"""

from __future__ import annotations

import ipaddress

from ..catalog import Catalog
from ..errors import Path, Problem
from ..model import Cluster, NodePool
from ..providers.base import Capability, CloudProfile, PoolChoice
from .capacity import priorities
from ..specs import AutoscalerSpec, FabricSpec, NodePoolSpec, ScratchSpec

__all__ = ["autoscaled", "autoscaler", "fabric", "fabric_network_problems", "scratch"]


def autoscaled(pools: dict[str, NodePoolSpec]) -> list[str]:
    """The pools an autoscaler scales: those that may grow (``min`` < ``max``)."""
    return [key for key, pool in pools.items() if pool["min_nodes"] < pool["max_nodes"]]


def autoscaler(base: Path, cluster: Cluster, pools: dict[str, NodePoolSpec], prof: CloudProfile, version: str, catalog: Catalog) -> tuple[AutoscalerSpec | None, list[Problem]]:
    """The autoscaler a cluster needs, in its cloud's terms: none when no pool may grow (a pool
    at ``min: 0`` must be able to get its first node, so every cloud that can scale gets one)."""
    if not autoscaled(pools) or not prof.supports(Capability.AUTOSCALE):
        return None, []
    spec, problems = prof.autoscaler((*base, "autoscaling"), cluster.autoscaling, version, catalog)
    # GKE orders no node pools (its autoscaler picks among them itself): nothing to rank there
    ordered = priorities(pools) if prof.supports(Capability.CAPACITY_ORDER) else {}
    if spec is not None and ordered:
        spec["priorities"] = ordered
        if not prof.chains_expanders:
            # One expander only: the capacity lists' order wins, and says so if asked otherwise.
            if cluster.autoscaling.expander is not None:
                problems = [*problems, Problem((*base, "autoscaling", "expander"), f"{prof.name} runs one expander, and the capacity lists need priority: remove expander")]
            spec["expander"] = "priority"
    return spec, problems


def fabric(base: Path, pool: NodePool, spec: NodePoolSpec, choice: PoolChoice | None, prof: CloudProfile, catalog: Catalog) -> tuple[FabricSpec | None, list[Problem]]:
    """The fabric a pool asking for ``interconnect: fast`` gets: its machine's (from the
    catalog), for nodes that can meet it (a GPU pool of two or more nodes, in one zone). Sites
    that cannot build one say so through their capabilities."""
    if pool.interconnect != "fast" or not prof.supports(Capability.FABRIC):
        return None, []
    path = (*base, "interconnect")
    if pool.gpu is None:
        return None, [Problem(path, "a fast interconnect joins GPU nodes for multi-node training; this is a CPU pool")]
    offering = choice.offering if choice is not None else None
    if offering is None or offering.fabric is None or not prof.builds_fabric(offering):
        machine = choice.machine_type if choice is not None else "its machine"
        having = [
            f"{o.machine} ({o.gpu} x{o.gpus}, {o.fabric.kind} x{o.fabric.interfaces})"
            for o in catalog.clouds[prof.name].offerings
            if o.fabric is not None and prof.builds_fabric(o)
        ]
        if offering is not None and offering.fabric is not None:
            gap = prof.fabric_gaps[offering.fabric.kind]
            return None, [Problem(path, f"topoform does not build {machine}'s fabric ({offering.fabric.kind}): {gap}; on {prof.name} it builds these: {', '.join(having) or 'none'}")]
        return None, [Problem(path, f"{machine} has no fabric in the catalog; on {prof.name} these do: {', '.join(having) or 'none'}")]
    problems = []
    if spec["max_nodes"] < 2:
        problems.append(Problem(path, "a fast interconnect joins nodes of this pool to each other: give it max 2 or more"))
    zones = spec.get("zones", [])
    if len(zones) > 1:
        problems.append(Problem((*base, "overrides", prof.name, "zones"), f"a fast interconnect reaches only nodes in its own zone: name one of {', '.join(zones)}"))
    return {"kind": offering.fabric.kind, "interfaces": offering.fabric.interfaces, "vcpus": offering.vcpus}, problems


def fabric_network_problems(ranges: list[tuple[Path, str]], pools: dict[str, NodePoolSpec], prof: CloudProfile) -> list[Problem]:
    """Where a fabric holds an address range on its nodes (Azure's InfiniBand network,
    172.16.0.0/16), the cluster's address ranges (each with its field's path) keep out of it."""
    kinds = sorted({pool["fabric"]["kind"] for pool in pools.values() if "fabric" in pool and pool["fabric"]["kind"] in prof.fabric_cidrs})
    problems = []
    for kind in kinds:
        held, why = prof.fabric_cidrs[kind]
        problems += [
            Problem(path, f"{cidr} overlaps {held}, which {why}: choose another range")
            for path, cidr in ranges
            if ipaddress.ip_network(cidr).overlaps(ipaddress.ip_network(held))
        ]
    return problems


def scratch(base: Path, pool: NodePool, choice: PoolChoice | None, prof: CloudProfile, catalog: Catalog) -> tuple[ScratchSpec | None, list[Problem]]:
    """Pods' scratch space on the machine's local NVMe (``scratch: local-nvme``, or always where
    the cloud keeps it there on machines that come with local disks), from the catalog's record
    of the machine's disks; a machine without them is refused by name."""
    offering = choice.offering if choice is not None else None
    bundled = prof.scratch_bundled and offering is not None and offering.local_nvme is not None and offering.local_nvme.disks is not None
    if (pool.scratch != "local-nvme" and not bundled) or not prof.supports(Capability.LOCAL_NVME):
        return None, []
    if offering is None or offering.local_nvme is None:
        machine = choice.machine_type if choice is not None else "its machine"
        having = [o.machine for o in catalog.clouds[prof.name].offerings if o.local_nvme is not None]
        return None, [Problem((*base, "scratch"), f"{machine} has no local NVMe in the catalog; on {prof.name} these do: {', '.join(having) or 'none'}")]
    out: ScratchSpec = {}
    if offering.local_nvme.disks is not None:
        out["disks"] = offering.local_nvme.disks
    if offering.local_nvme.gb is not None:
        out["gb"] = offering.local_nvme.gb
    return out, []

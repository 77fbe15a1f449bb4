"""Azure planning: a private AKS cluster with Entra ID RBAC in its own VNet."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...errors import Path, Problem
from ...model import Cluster, NodePool, SiteNetwork
from ...naming import compact, digest
from ...specs import GpuClusterSpec, NetworkSpec
from ..base import Capability, CloudProfile, overlap_problems, api_networks

__all__ = ["AzureProfile", "system_pool"]


CAPACITY_RESERVATION_GROUP = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})/resourceGroups/(?P<group>[-\w.()]{1,90})"
    r"/providers/Microsoft\.Compute/capacityReservationGroups/(?P<name>[-\w.]{1,80})",
    re.IGNORECASE,
)
"""A capacity reservation group's resource ID (what an AKS pool's capacityReservationGroupID takes)."""
RESERVABLE_GPU_SERIES = re.compile(
    r"Standard_(NC\d+as_T4_v3|NC\d+ads_A10_v4|NC\d+ads_A100_v4|NV\d+s_v3|NV\d+adm?s_A10_v5|NV\d+adm?s_V710_v5|NG\d+adm?s_V620_v1)"
)
"""The GPU sizes capacity reservations take: "NCasT4_v3, NCADSA10_v4, NC_A100_v4, NV-series v3,
NVadsA10_v5, NVads V710 v5, NGads V620_v1"; not "ND-series, NCads H100 v5-series" (Azure,
On-demand capacity reservation, Limitations and restrictions, ms.date 02/17/2026). The V100
NCv3 sizes it also lists were retired in 2025."""


def reservation_group(group_id: str) -> tuple[str, str, str]:
    """A capacity reservation group's subscription, resource group and name, from its ID."""
    match = CAPACITY_RESERVATION_GROUP.fullmatch(group_id)
    assert match is not None, group_id  # validate refuses any other
    return match["subscription"], match["group"], match["name"]


def system_pool(cpu_pools: Iterable[str]) -> str:
    """The pool AKS runs system pods on (its "System" mode pool): the CPU pool keyed
    ``system``, else the first CPU pool by key."""
    keys = sorted(cpu_pools)
    return "system" if "system" in keys else keys[0]


INFINIBAND_SCALE_SET_LIMIT = 100
"""Nodes one InfiniBand pool may have: "the maximum scale set size that can be spun up with
singlePlacementGroup=true is capped at 100 VMs by default" (Set up InfiniBand, Azure VMs; 300 on a
support request), and AKS puts an InfiniBand size's pool in a single placement group."""


def _fabric_pool_problems(path: Path, pool: NodePool) -> Iterator[Problem]:
    """What an InfiniBand pool cannot be on AKS: each scale set is its own InfiniBand network ("VMSS
    serves as the isolation boundary between workloads"), so the pool is one scale set of at most
    100 VMs."""
    if len(pool.capacity) > 1:
        yield Problem(
            (*path, "capacity"),
            "each capacity step makes an AKS pool of its own, and each pool's scale set is a separate InfiniBand network, so a job's "
            "nodes across steps could not reach each other over it: give one step",
        )
    field, size = ("max", pool.max) if pool.max is not None else ("nodes", pool.nodes)
    if size is not None and size > INFINIBAND_SCALE_SET_LIMIT:
        yield Problem(
            (*path, field),
            f"an InfiniBand pool is one scale set in a single placement group, which Azure caps at {INFINIBAND_SCALE_SET_LIMIT} VMs "
            f"(300 on a support request): give {field} {INFINIBAND_SCALE_SET_LIMIT} or less, or split the pool",
        )


class AzureProfile(CloudProfile):
    """AKS. AKS installs the NVIDIA driver on GPU pools but no device plugin (outside a
    preview feature), so GPU clusters get our device plugin DaemonSet."""

    name: ClassVar[str] = "azure"
    unsupported = {
        **{k: v for k, v in CloudProfile.cloud_unsupported.items() if k is not Capability.RESERVATION},
        Capability.CHOOSE_DISK_TYPE: "AKS gives node pools managed OS disks of the size asked (disk_gb)",
        Capability.LOCAL_NVME: (
            "AKS has no pool setting that puts pods' scratch on the local NVMe drives: kubeletDiskType Temporary moves it to the SCSI "
            "resource disk (1 TiB on Standard_ND96isr_H100_v5, whose 8 NVMe drives stay raw), AKS's own guidance says emptyDir on NVMe "
            "needs custom node bootstrap scripting, and Azure Container Storage offers the drives as volumes, not as emptyDir or image storage"
        ),
    }
    fabric_cidrs = {
        # "The RDMA network in Azure reserves the address space 172.16.0.0/16" (Set up InfiniBand, Azure VMs)
        "infiniband": ("172.16.0.0/16", "Azure's InfiniBand network holds on ND-series VMs"),
    }
    cluster_name_limit = 63
    regional_reservations = True  # a capacity reservation group made without zones
    api_cidr_limit = 2000  # authorized IP ranges with API Server VNet Integration (200 without)
    pool_limit = 100  # "Maximum node pools per cluster: 100" (AKS quotas, SKU and region availability)
    device_plugin = True
    chains_expanders = False  # autoScalerProfile.expander is one of least-waste, most-pods, priority, random
    # "cluster-autoscaler is waiting for max-node-provision-time to expire before it can observe the
    # OverconstrainedAllocationRequest error" on AKS (kubernetes/autoscaler#8323, by AKS's maintainer)
    sees_failed_launches = False

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        cidr = ipaddress.ip_network(net.cidr)
        if net.existing is None and (cidr.version != 4 or cidr.prefixlen > 24):
            return None, [Problem((*base, "cidr"), f"{net.cidr} is too small for a node subnet and an API server subnet; use an IPv4 /24 or larger")]
        node_subnet, rest = cidr.subnets(prefixlen_diff=1)
        spec: NetworkSpec = {
            "cidr": net.cidr, "zones": net.zone_count, "nat": net.nat, "private_subnets": [str(node_subnet)], "public_subnets": [],
            "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
            # API Server VNet Integration: a /28 (the minimum) of the VNet's second half, for the API server alone.
            "apiserver_subnet": str(next(rest.subnets(new_prefix=28))),
        }
        if net.existing is not None:
            missing = [f for f in ("subnet_id", "apiserver_subnet_id") if not getattr(net.existing, f)]
            if missing:
                return None, [
                    Problem(
                        (*base, "existing"),
                        f"an existing Azure network needs {' and '.join(missing)} (the node subnet's resource ID; a /28 or larger subnet "
                        "delegated to Microsoft.ContainerService/managedClusters for the API server)",
                    )
                ]
            spec["existing"] = {"subnet_id": str(net.existing.subnet_id), "apiserver_subnet_id": str(net.existing.apiserver_subnet_id)}
        return spec, overlap_problems(base, net, net.pods_cidr, net.services_cidr)

    def zone_pattern(self, region: str) -> tuple[str, str] | None:
        return "[123]", "1, 2 or 3"

    def reservation_problem(self, kind: str, ref: str, machine: str) -> str | None:
        if not CAPACITY_RESERVATION_GROUP.fullmatch(ref):
            return f"{ref!r} is not a capacity reservation group's resource ID (/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/Microsoft.Compute/capacityReservationGroups/<name>)"
        if machine.startswith("Standard_N") and not RESERVABLE_GPU_SERIES.fullmatch(machine):
            return (
                f"Azure takes no capacity reservation for {machine} (of GPU sizes, only NCasT4_v3, NCads A10 v4, NC A100 v4, "
                "NVv3, NVads A10 v5, NVads V710 v5 and NGads V620 v1); use on-demand or spot steps"
            )
        return None

    def cluster_problems(self, base: Path, cluster: Cluster) -> Iterator[Problem]:
        for fast, p in cluster.node_pools.items():
            if p.interconnect == "fast" and p.gpu is not None:
                yield from _fabric_pool_problems((*base, "node_pools", fast), p)
        cpu = [k for k, p in cluster.node_pools.items() if p.gpu is None]
        if not cpu:
            return  # the planner asks for a CPU pool
        key = system_pool(cpu)
        pool = cluster.node_pools[key]
        size = pool.nodes if pool.nodes is not None else (pool.min or 0)
        if size < 1:
            # "We do not allow any system pools to have <1 node" (Azure/AKS#4298).
            yield Problem((*base, "node_pools", key, "min"), f"AKS runs system pods on pool '{key}', which needs at least one node: set min: 1 or more")
        hard = sorted(k for k, t in pool.taints.items() if t.effect != "PreferNoSchedule")
        if hard:
            yield Problem((*base, "node_pools", key, "taints", hard[0]), f"AKS runs system pods on pool '{key}', which they could not run on tainted: remove the taint, or key another CPU pool `system`")
        if pool.capacity and pool.capacity != ["on-demand"]:
            yield Problem((*base, "node_pools", key, "capacity"), f"AKS runs system pods on pool '{key}', which takes regular on-demand VMs: remove its capacity list (or key another CPU pool `system`)")
        if pool.spot:
            # "A Spot node pool can't be a default node pool, it can only be used as a secondary pool."
            yield Problem(
                (*base, "node_pools", key, "spot"),
                f"AKS runs system pods on pool '{key}', and a spot pool cannot be the system pool: set spot: false "
                "(spot CPU capacity goes in another pool)",
            )

    def deployer_access(self, spec: GpuClusterSpec) -> str:
        public = api_networks(spec).public
        reach = f"VNet-integrated, public endpoint for {', '.join(public)}" if public else "VNet-integrated private endpoint"
        return f"{reach}; RBAC Cluster Admin for {len(spec.get('admins', []))} admin(s), deployer included"

    def pool_image(self, gpu: bool) -> str:
        # Azure Linux node pools do not offer the A100/H100 sizes; Ubuntu does.
        return "Ubuntu"

    def pool_name(self, key: str) -> str:
        # AKS Linux pool names: 1-12 lowercase letters and digits, starting with a letter.
        return compact(key, 12)

    def cluster_extras(self, cluster: Cluster) -> dict[str, Any]:
        o = cluster.overrides.get("azure")
        return {"sku_tier": (o.sku_tier if o and o.sku_tier else "Standard"), "encryption_at_host": o.encryption_at_host if o else True}

    def store_name(self, system: str, environment: str, key: str, suffix: str = "") -> str:
        # Storage accounts: 3-24 lowercase letters and digits, unique across Azure.
        full = f"{system}-{environment}-{key}-{suffix}"
        head = "".join(c for c in f"{system}{environment}{key}{suffix}" if c.isalnum())[:18]
        return head + digest(full)

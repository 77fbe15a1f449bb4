"""AWS planning: EKS with Bottlerocket nodes, a VPC with private subnets per zone."""

from __future__ import annotations

from typing import Any, ClassVar

from ...errors import Path, Problem
from ...model import Cluster, SiteNetwork
from ...specs import GpuClusterSpec, NetworkSpec
from ..base import CloudProfile, overlap_problems, api_networks, split_cidr

__all__ = ["AwsProfile"]


class AwsProfile(CloudProfile):
    """EKS. GPU nodes run Bottlerocket's NVIDIA variant, which ships the driver and the
    NVIDIA device plugin, so no in-cluster DaemonSet is needed."""

    name: ClassVar[str] = "aws"
    unsupported = CloudProfile.cloud_unsupported
    cluster_name_limit = 100
    api_cidr_limit = 40  # EKS public access CIDR blocks (not adjustable)
    device_plugin = False

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        if net.existing is not None:
            ex = net.existing
            if not ex.vpc_id or len(ex.subnet_ids) < 2:
                return None, [Problem((*base, "existing"), "an existing AWS network needs vpc_id and at least two subnet_ids in different zones")]
            spec: NetworkSpec = {
                "cidr": net.cidr, "zones": net.zones, "nat": net.nat, "private_subnets": [], "public_subnets": [],
                "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
                "existing": {"vpc_id": ex.vpc_id, "subnet_ids": list(ex.subnet_ids)},
            }
            return spec, overlap_problems(base, net, None, net.services_cidr)
        private, public, problems = split_cidr(base, net, net.zones)
        problems += overlap_problems(base, net, None, net.services_cidr)
        return {
            "cidr": net.cidr, "zones": net.zones, "nat": net.nat, "private_subnets": private, "public_subnets": public,
            "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
        }, problems

    def deployer_access(self, spec: GpuClusterSpec) -> str:
        nets = api_networks(spec)
        reach = [f"public endpoint for {', '.join(nets.public)}"] if nets.public else ["private endpoint only"]
        reach += [f"443 from {', '.join(nets.private)}"] if nets.private else []
        return f"{'; '.join(reach)}; cluster-admin access entries for {len(spec.get('admins', []))} admin(s), deployer included"

    def pool_image(self, gpu: bool) -> str:
        return "BOTTLEROCKET_x86_64_NVIDIA" if gpu else "BOTTLEROCKET_x86_64"

    def cluster_extras(self, cluster: Cluster) -> dict[str, Any]:
        o = cluster.overrides.get("aws")
        # Standard support by default: extended support costs six times as much.
        return {"support_type": (o.support_type if o and o.support_type else "STANDARD")}

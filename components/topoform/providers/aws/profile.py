"""AWS planning: EKS with Bottlerocket nodes, a VPC with private subnets per zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from ...catalog import Catalog
from ...errors import Path, Problem
from ...model import Autoscaling, Cluster, SiteNetwork
from ...specs import AutoscalerSpec, GpuClusterSpec, NetworkSpec
from ..base import Capability, CloudProfile, overlap_problems, api_networks, split_cidr

__all__ = ["AwsProfile", "EKS_EXCLUDED_ZONE_IDS", "INTERFACE_ENDPOINTS", "zone_id_prefix"]

EKS_EXCLUDED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")
"""Availability Zones EKS places no cluster in ("The subnets can't reside in the following
Availability Zones", EKS User Guide, network requirements)."""
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "eks-auth")
"""Interface endpoints of a private cluster's VPC: image manifests and pull tokens (ECR),
credentials (STS; EKS Pod Identity's ``eks-auth``). Image layers come from S3, through the
gateway endpoint every created VPC gets."""
EKS_IMAGE_ACCOUNTS = {
    "af-south-1": "877085696533", "ap-east-1": "800184023465", "ap-south-2": "900889452093", "ap-southeast-3": "296578399912",
    "ap-southeast-4": "491585149902", "ca-west-1": "761377655185", "eu-central-2": "900612956339", "eu-south-1": "590381155156",
    "eu-south-2": "455263428931", "il-central-1": "066635153087", "me-central-1": "759879836304", "me-south-1": "558608220178",
    "us-gov-east-1": "151742754352", "us-gov-west-1": "013241004608", "cn-north-1": "918309763551", "cn-northwest-1": "961992271922",
}
"""The account of each region's EKS image registry where it is not 602401143452 (EKS User Guide,
"View Amazon container image registries for Amazon EKS add-ons")."""
EFA_PLUGIN_VERSION = "v0.5.20"
"""AWS's EFA Kubernetes device plugin (eks-charts aws-efa-k8s-device-plugin chart v0.5.30's image, 2026-08-03)."""
RESERVATION_ID = re.compile(r"cr-[0-9a-f]{17}")
RESERVATION_GROUP = re.compile(r"arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:\d{12}:group/[A-Za-z0-9._-]{1,128}")
"""A launch template targets one Capacity Reservation by ID or a group of them by its ARN."""
_DIRECTIONS = {
    "east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw", "gov": "g",
}


def zone_id_prefix(region: str) -> str | None:
    """The prefix of a region's Availability Zone IDs: ``us-east-1`` -> ``use1``,
    ``ap-northeast-1`` -> ``apne1``, ``us-gov-west-1`` -> ``usgw1``."""
    parts = region.split("-")
    if len(parts) < 3 or not parts[-1].isdigit() or any(p not in _DIRECTIONS for p in parts[1:-1]):
        return None
    return parts[0] + "".join(_DIRECTIONS[p] for p in parts[1:-1]) + parts[-1]


class AwsProfile(CloudProfile):
    """EKS. GPU nodes run Bottlerocket's NVIDIA variant, which ships the driver and the
    NVIDIA device plugin, so no in-cluster DaemonSet is needed."""

    name: ClassVar[str] = "aws"
    unsupported = {k: v for k, v in CloudProfile.cloud_unsupported.items() if k not in (Capability.RESERVATION, Capability.CAPACITY_BLOCK)}
    cluster_name_limit = 100
    api_cidr_limit = 40  # EKS public access CIDR blocks (not adjustable)
    device_plugin = False

    def cluster_problems(self, base: Path, cluster: Cluster) -> Iterator[Problem]:
        for key, pool in cluster.node_pools.items():
            own = pool.overrides.get("aws")
            if own is not None and own.reservation is not None:
                yield Problem(
                    (*base, "node_pools", key, "overrides", "aws", "reservation"),
                    "on AWS a reservation is a capacity step: capacity: [{reservation: cr-..., zone: <zone ID>, nodes: N}, ...]",
                )

    def reservation_problem(self, kind: str, ref: str, machine: str) -> str | None:
        if kind == "reservation" and not (RESERVATION_ID.fullmatch(ref) or RESERVATION_GROUP.fullmatch(ref)):
            return f"{ref!r} is not an On-Demand Capacity Reservation (cr- and 17 hex digits) or a capacity reservation group's ARN"
        return None

    def autoscaler(self, base: Path, asked: Autoscaling, version: str, catalog: Catalog) -> tuple[AutoscalerSpec | None, list[Problem]]:
        # EKS runs no autoscaler of its own: topoform installs the Cluster Autoscaler release of
        # the cluster's Kubernetes minor (the catalog checks it has one for every version).
        spec, problems = super().autoscaler(base, asked, version, catalog)
        release = catalog.clouds["aws"].cluster_autoscaler
        if spec is not None and release is not None and version in release.images:
            spec["image"] = release.images[version]
        return spec, problems

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        if net.existing is not None:
            ex = net.existing
            if not ex.vpc_id or len(ex.subnet_ids) < 2:
                return None, [Problem((*base, "existing"), "an existing AWS network needs vpc_id and at least two subnet_ids in different zones")]
            spec: NetworkSpec = {
                "cidr": net.cidr, "zones": net.zone_count, "nat": net.nat, "private_subnets": [], "public_subnets": [],
                "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
                "existing": {"vpc_id": ex.vpc_id, "subnet_ids": list(ex.subnet_ids)},
            }
            return spec, overlap_problems(base, net, None, net.services_cidr)
        private, public, problems = split_cidr(base, net, net.zone_count)
        problems += overlap_problems(base, net, None, net.services_cidr)
        spec = {
            "cidr": net.cidr, "zones": net.zone_count, "nat": net.nat, "private_subnets": private, "public_subnets": public,
            "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
        }
        if isinstance(net.zones, list):
            spec["zone_ids"] = list(net.zones)
        return spec, problems

    def zone_pattern(self, region: str) -> tuple[str, str] | None:
        # Zone IDs: the names (us-east-1a) map to different physical zones per account.
        prefix = zone_id_prefix(region)
        return (re.escape(prefix) + r"-az\d+", f"{prefix}-az1") if prefix else None

    def pins_network_zones(self) -> bool:
        return True

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
        extras: dict[str, Any] = {"support_type": (o.support_type if o and o.support_type else "STANDARD")}
        if o and o.read_buckets:
            extras["read_buckets"] = sorted(set(o.read_buckets))
        if cluster.api == "private":
            # Nodes of a private cluster pull images, get pod credentials and call STS inside the VPC.
            extras["vpc_endpoints"] = list(INTERFACE_ENDPOINTS)
        return extras

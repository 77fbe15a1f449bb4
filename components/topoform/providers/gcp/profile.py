"""GCP planning: a private regional GKE cluster in its own VPC subnet."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ...catalog import Catalog
from ...errors import Path, Problem
from ...model import GCP_RESERVATION, Autoscaling, Cluster, SiteNetwork
from ...naming import physical
from ...specs import AutoscalerSpec, GpuClusterSpec, NetworkSpec
from ..base import Capability, CloudProfile, overlap_problems, api_networks

__all__ = ["GcpProfile"]


def _where(catalog: Catalog, accelerator: str | None) -> str:
    zones = catalog.clouds["gcp"].gpu_zones.get(accelerator or "", {})
    return "offered in: " + ", ".join(f"{r} ({', '.join(z)})" for r, z in sorted(zones.items()) if z)


class GcpProfile(CloudProfile):
    """GKE. GKE installs the NVIDIA driver (``gpu_driver_installation_config``) and runs its
    own device plugin on GPU nodes, so no in-cluster DaemonSet is needed."""

    name: ClassVar[str] = "gcp"
    unsupported = {
        **{k: v for k, v in CloudProfile.cloud_unsupported.items() if k not in (Capability.RESERVATION, Capability.FLEX_START)},
        Capability.CAPACITY_ORDER: (
            "GKE's autoscaler picks among node pools itself and orders them only through a custom compute class, which every workload "
            "must then select (the cluster-wide default class that would spare them is not yet proven with pools made by hand); give one step"
        ),
    }
    # Google's manifests, even the unprivileged one (container-engine-accelerators
    # gpudirect-tcpxo/nccl-test-unprivileged-without-hostnetwork.yaml), give the sidecar NET_ADMIN
    # and hostPath volumes for /sys, /proc/sys and /dev/aperture_devices.
    fabric_gaps = {
        kind: (
            f"GPUDirect-{kind.rpartition('-')[2].upper()} works only when every workload pod carries a receive-data-path sidecar of the "
            "plugin's exact version, NRI device annotations and an interface per extra VPC, which topoform cannot put in your pods "
            "(a mismatch falls back to TCP without a word), and that sidecar needs NET_ADMIN and the host's /sys and /proc/sys, "
            "which the baseline Pod Security of topoform's namespaces refuses; A3 Ultra and A4 (GPUDirect-RDMA) need neither"
        )
        for kind in ("gpudirect-tcpx", "gpudirect-tcpxo")
    }
    cluster_name_limit = 40
    device_plugin = False
    # GKE puts pods' scratch space on the local SSDs a machine comes with, and the node pool's
    # count of them is create-only: left unset, the pool would be replaced on every update.
    scratch_bundled = True

    def reservation_problem(self, kind: str, ref: str, machine: str) -> str | None:
        if not re.fullmatch(GCP_RESERVATION, ref):
            return f"{ref!r} is not a reservation: its name, projects/<project>/reservations/<name>, or either with /reservationBlocks/<block>"
        return None

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        spec: NetworkSpec = {
            "cidr": net.cidr, "zones": net.zone_count, "nat": net.nat, "private_subnets": [net.cidr], "public_subnets": [],
            "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
        }
        if net.existing is not None:
            ex = net.existing
            missing = [f for f in ("network", "subnetwork", "pods_range", "services_range") if not getattr(ex, f)]
            if missing:
                return None, [Problem((*base, "existing"), f"an existing GCP network needs {', '.join(missing)} (the subnet's secondary range names)")]
            spec["existing"] = {
                "network": str(ex.network), "subnetwork": str(ex.subnetwork),
                "pods_range": str(ex.pods_range), "services_range": str(ex.services_range),
            }
            return spec, []
        return spec, overlap_problems(base, net, net.pods_cidr, net.services_cidr)

    def autoscaler(self, base: Path, asked: Autoscaling, version: str, catalog: Catalog) -> tuple[AutoscalerSpec | None, list[Problem]]:
        # GKE's autoscaler takes a profile, not numbers: balanced (its default) or
        # optimize-utilization, which removes underused nodes sooner. Asking to remove nodes
        # sooner than topoform's defaults picks the second; asking to keep them longer cannot be honoured.
        defaults = Autoscaling()
        problems = []
        if asked.expander is not None:
            problems.append(Problem((*base, "expander"), "GKE chooses which pool grows itself; remove it on a GKE cluster"))
        for field, later in (
            ("scale_down_utilization", asked.scale_down_utilization < defaults.scale_down_utilization),
            ("scale_down_after_minutes", asked.scale_down_after_minutes > defaults.scale_down_after_minutes),
        ):
            if later:
                problems.append(
                    Problem(
                        (*base, field),
                        f"GKE offers two autoscaling profiles, not numbers: balanced (the default, {getattr(defaults, field)} here) "
                        "or optimize-utilization, which removes underused nodes sooner; it cannot keep them longer than balanced does",
                    )
                )
        sooner = asked.scale_down_utilization > defaults.scale_down_utilization or asked.scale_down_after_minutes < defaults.scale_down_after_minutes
        spec: AutoscalerSpec = {
            "scale_down_utilization": asked.scale_down_utilization,
            "scale_down_after_minutes": asked.scale_down_after_minutes,
            "profile": "OPTIMIZE_UTILIZATION" if sooner else "BALANCED",
        }
        return spec, problems

    def zone_pattern(self, region: str) -> tuple[str, str] | None:
        return re.escape(region) + "-[a-z]", f"{region}-a"

    def gpu_zones(self, base: Path, accelerator: str | None, region: str, asked: list[str], catalog: Catalog) -> tuple[list[str] | None, list[Problem]]:
        # A regional pool in a zone without its GPU cannot create its nodes there: GPU pools run
        # in the zones that offer the accelerator (all of them unless the pool names some).
        offered = catalog.clouds["gcp"].zones_offering(accelerator, region)
        if offered is None:
            return (list(asked) or None), []
        if not offered:
            return None, [Problem(base, f"no zone of {region} offers {accelerator}; {_where(catalog, accelerator)}")]
        missing = [z for z in asked if z not in offered]
        if missing:
            source = catalog.clouds["gcp"].sources.get(catalog.clouds["gcp"].gpu_zones_source or "")
            read = f", read {source.read}" if source is not None and source.read else ""
            return None, [
                Problem(
                    base,
                    f"{', '.join(missing)} do{'es' if len(missing) == 1 else ''} not offer {accelerator}; in {region}: {', '.join(offered)} "
                    f"(the catalog's list{read}; if `gcloud compute accelerator-types list --filter=zone:{missing[0]}` shows it now, add the zone to gpu_zones in catalog/gcp.yaml)",
                )
            ]
        return (list(asked) or offered), []

    def deployer_access(self, spec: GpuClusterSpec) -> str:
        reach = api_networks(spec)
        ip = f"public IP endpoint for {', '.join(reach.public)}" if spec["api_access"] == "public" else "private IP endpoint"
        if spec.get("api_endpoint") == "ip":
            via = f"reached from {', '.join(reach.private)}" if reach.private and spec["api_access"] != "public" else "reached directly"
            return f"{ip} {via}, DNS endpoint closed to outside traffic; cluster-admin binding for {len(spec.get('admins', []))} admin(s)"
        return f"{ip}; DNS endpoint admitting IAM principals; cluster-admin binding for {len(spec.get('admins', []))} admin(s)"

    def pool_image(self, gpu: bool) -> str:
        return "COS_CONTAINERD"

    def cluster_extras(self, cluster: Cluster) -> dict[str, Any]:
        o = cluster.overrides.get("gcp")
        return {"release_channel": (o.release_channel if o and o.release_channel else "REGULAR"), "api_endpoint": (o.api_endpoint if o and o.api_endpoint else "dns")}

    def admin_subject(self, admin: str) -> tuple[str, str] | None:
        # GKE's IAM roles that reach Kubernetes objects are project-wide: per cluster, the admins
        # are bound to cluster-admin. Users and service accounts authenticate by e-mail; groups
        # come through Google Groups for RBAC.
        kind, _, email = admin.partition(":")
        return ("Group" if kind == "group" else "User", email)

    def store_name(self, system: str, environment: str, key: str, suffix: str = "") -> str:
        # Buckets are auto-named; this names their key rings, which are forever (GCP never deletes them).
        return physical(system, environment, key, suffix, limit=50)

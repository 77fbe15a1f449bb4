"""Azure planning: a private AKS cluster with Entra ID RBAC in its own VNet."""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from ...errors import Path, Problem
from ...model import Cluster, SiteNetwork
from ...naming import compact, digest
from ...specs import NetworkSpec
from ..base import CloudProfile, overlap_problems

__all__ = ["AzureProfile"]


class AzureProfile(CloudProfile):
    """AKS. AKS installs the NVIDIA driver on GPU pools but no device plugin (outside a
    preview feature), so GPU clusters get our device plugin DaemonSet."""

    name: ClassVar[str] = "azure"
    unsupported = CloudProfile.cloud_unsupported
    cluster_name_limit = 63
    device_plugin = True

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        node_subnet = next(ipaddress.ip_network(net.cidr).subnets(prefixlen_diff=1))
        spec: NetworkSpec = {
            "cidr": net.cidr, "zones": net.zones, "nat": net.nat, "private_subnets": [str(node_subnet)], "public_subnets": [],
            "pods_cidr": net.pods_cidr, "services_cidr": net.services_cidr,
        }
        if net.existing is not None:
            if not net.existing.subnet_id:
                return None, [Problem((*base, "existing"), "an existing Azure network needs subnet_id (the node subnet's resource ID)")]
            spec["existing"] = {"subnet_id": net.existing.subnet_id}
        return spec, overlap_problems(base, net, net.pods_cidr, net.services_cidr)

    def pool_image(self, gpu: bool) -> str:
        # Azure Linux node pools do not offer the A100/H100 sizes; Ubuntu does.
        return "Ubuntu"

    def pool_name(self, key: str) -> str:
        # AKS Linux pool names: 1-12 lowercase letters and digits, starting with a letter.
        return compact(key, 12)

    def cluster_extras(self, cluster: Cluster) -> dict[str, Any]:
        o = cluster.overrides.get("azure")
        return {"sku_tier": (o.sku_tier if o and o.sku_tier else "Standard")}

    def store_name(self, system: str, environment: str, key: str, suffix: str = "") -> str:
        # Storage accounts: 3-24 lowercase letters and digits, unique across Azure.
        full = f"{system}-{environment}-{key}-{suffix}"
        head = "".join(c for c in f"{system}{environment}{key}{suffix}" if c.isalnum())[:18]
        return head + digest(full)

"""On-prem planning: an existing cluster reached through a kubeconfig secret."""

from __future__ import annotations

from typing import ClassVar

from ..base import Capability, CloudProfile

__all__ = ["OnPremProfile"]


class OnPremProfile(CloudProfile):
    """An existing Kubernetes cluster: topoform creates nothing but Kubernetes objects
    in it (the NVIDIA device plugin, labels and taints on named nodes)."""

    name: ClassVar[str] = "onprem"
    unsupported = {
        Capability.CREATE_CLUSTER: "the cluster exists; topoform manages what runs in it",
        Capability.AUTOSCALE: "on-prem pools are existing nodes; give nodes: N instead of min/max",
        Capability.SPOT: "existing nodes are not spot capacity",
        Capability.CHOOSE_VERSION: "the existing cluster runs the version it runs; upgrade it with your own tooling",
        Capability.API_ACCESS: "the existing cluster's API is reached through its kubeconfig",
        Capability.STANDBY: "a standby needs a cloud backup region",
        Capability.SIZE_NODES: "existing nodes keep their disks",
        Capability.CATALOG_MACHINES: "existing nodes are not chosen from the catalog",
        Capability.PUBLIC_STORE: "on-prem stores are volumes inside the cluster",
        Capability.CHOOSE_STORE_ENCRYPTION: "on-prem volumes are encrypted by their storage class",
        Capability.REPLICATE_STORE: "on-prem stores are backed up to the site's backup_target (a cloud store)",
        Capability.FABRIC: "existing nodes keep the network they are cabled to",
        Capability.LOCAL_NVME: "existing nodes keep the storage they were set up with",
        Capability.CHOOSE_CAPACITY: "existing nodes are the capacity; a cloud pool takes a capacity list",
        Capability.CAPACITY_ORDER: "existing nodes are the capacity; a cloud pool takes a capacity list",
    }
    device_plugin = True

    def store_name(self, system: str, environment: str, key: str, suffix: str = "") -> str:
        return key  # the PersistentVolumeClaim's name

"""OnPremGpuCluster: an existing cluster, made GPU-ready with typed Kubernetes objects."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...kube import device_plugin, label_existing_nodes
from ...resources import GpuCluster, GpuClusterArgs
from ...specs import GpuClusterSpec

__all__ = ["OnPremGpuCluster"]


class OnPremGpuCluster(GpuCluster):
    """An existing Kubernetes cluster reached through the caller's Kubernetes provider.

    topoform creates no cluster here: it deploys the NVIDIA device plugin (tolerating the
    ``nvidia.com/gpu`` taint, on nodes with the platform accelerator label) and, for pools
    that list ``node_names``, labels and taints those nodes. Pass the Kubernetes provider
    as ``opts.provider`` and its kubeconfig as ``args["kubeconfig"]``."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OnPremGpuCluster", name, args, opts)
        provider = opts.provider if opts is not None else None
        if not isinstance(provider, k8s.Provider):
            raise TypeError(f"{name}: OnPremGpuCluster needs a pulumi_kubernetes.Provider as opts.provider")
        if args.get("device_plugin", True):
            device_plugin(self.child("nvidia-device-plugin"), provider, self)
        for key, pool in args["node_pools"].items():
            label_existing_nodes(self.child("node", key), pool, provider, self)
        self.finish(args["cluster_name"], "", args.get("kubeconfig", ""), provider=provider)

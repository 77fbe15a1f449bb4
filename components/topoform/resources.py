"""What every cloud's component shares: the public outputs and the house rules.

:class:`GpuCluster` is the base of ``AwsGpuCluster``, ``GcpGpuCluster``,
``AzureGpuCluster`` and ``OnPremGpuCluster``: the same ``args``
(:class:`~topoform.specs.GpuClusterSpec`) and the same outputs on every cloud.
Children are parented to the component, named ``<component>-<role>``, and
take the caller's providers through the parent; stateful children get
``protect`` and ``retain_on_delete`` from the spec.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .naming import child
from .specs import GpuClusterSpec

__all__ = ["GpuCluster", "GpuClusterArgs", "SiteConnection", "exec_kubeconfig"]


class GpuClusterArgs(GpuClusterSpec, total=False):
    """A cluster spec plus the inputs only a running program has (secrets, outputs)."""

    kubeconfig: pulumi.Input[str]
    """On-prem: the existing cluster's kubeconfig (a secret)."""


@dataclass
class SiteConnection:
    """A site's explicit provider, and extra component args only the site can supply."""

    provider: pulumi.ProviderResource
    cluster_args: dict[str, Any] = field(default_factory=dict)


class GpuCluster(pulumi.ComponentResource):
    """A Kubernetes cluster with a system pool and GPU pools; the same outputs on every cloud."""

    cluster_name: pulumi.Output[str]
    """The cluster's physical name."""
    endpoint: pulumi.Output[str]
    """The Kubernetes API server URL."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig for the cluster (a secret); it authenticates with the cloud's CLI."""
    kubernetes_provider: k8s.Provider
    """A Kubernetes provider for the cluster, for the layers built on top (RBAC, workloads)."""

    def __init__(self, type_name: str, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"topoform:index:{type_name}", name, None, opts)
        self._name = name
        self._args = args

    # -- helpers for subclasses -----------------------------------------------------

    def child(self, *role: str) -> str:
        """A child's logical name: ``<component>-<role>``."""
        return child(self._name, *role)

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for an ordinary child: parented to this component."""
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def stateful(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a stateful child: protected and retained on delete when the spec says so."""
        protect = self._args["protect"]
        return pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect, **kwargs)

    def finish(
        self,
        cluster_name: pulumi.Input[str],
        endpoint: pulumi.Input[str],
        kubeconfig: pulumi.Input[str],
        provider: k8s.Provider | None = None,
    ) -> None:
        """Set the common outputs, create the Kubernetes provider, register outputs once."""
        self.cluster_name = pulumi.Output.from_input(cluster_name)
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.kubernetes_provider = provider or k8s.Provider(
            self.child("k8s"),
            kubeconfig=self.kubeconfig,
            # Objects topoform creates in a cluster stay where they are put.
            enable_server_side_apply=True,
            opts=self.opts(),
        )
        self.register_outputs(
            {"cluster_name": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig}
        )


def exec_kubeconfig(name: str, server: str, ca_data: str, command: str, args: Sequence[str], env: dict[str, str] | None = None, **extra: Any) -> str:
    """A kubeconfig (JSON) whose user authenticates through an exec credential plugin."""
    exec_: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": command,
        "args": list(args),
        "interactiveMode": "Never",
        **extra,
    }
    if env:
        exec_["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": {"exec": exec_}}],
        },
        sort_keys=True,
    )

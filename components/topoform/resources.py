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
from .specs import GpuClusterSpec, StoreSpec

__all__ = ["Component", "EncryptedStore", "GpuCluster", "GpuClusterArgs", "SiteConnection", "StoreArgs", "exec_kubeconfig"]


class GpuClusterArgs(GpuClusterSpec, total=False):
    """A cluster spec plus the inputs only a running program has (secrets, outputs)."""

    kubeconfig: pulumi.Input[str]
    """On-prem: the existing cluster's kubeconfig (a secret)."""


class StoreArgs(StoreSpec, total=False):
    """A store spec plus the inputs only a running program has."""

    replica_provider: pulumi.ProviderResource
    """The provider of the replica's region (clouds, when the spec has a replica)."""
    backup_location: pulumi.Input[dict[str, Any]]
    """On-prem: the Velero BackupStorageLocation ``spec`` of the cloud store backups go to."""


@dataclass
class SiteConnection:
    """A site's explicit provider, and extra component args only the site can supply."""

    provider: pulumi.ProviderResource
    cluster_args: dict[str, Any] = field(default_factory=dict)


class Component(pulumi.ComponentResource):
    """The house rules every component follows: children parented and named after it,
    stateful children protected and retained when the spec says ``protect``."""

    def __init__(self, type_name: str, name: str, protect: bool, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"topoform:index:{type_name}", name, None, opts)
        self._name = name
        self._protect = protect
        # What the component waits for, its children wait for too.
        depends = opts.depends_on if opts is not None else None
        self._depends: list[pulumi.Resource] = [d for d in depends if isinstance(d, pulumi.Resource)] if isinstance(depends, list) else []

    def child(self, *role: str) -> str:
        """A child's logical name: ``<component>-<role>``."""
        return child(self._name, *role)

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for an ordinary child: parented to this component."""
        kwargs["depends_on"] = [*self._depends, *(kwargs.get("depends_on") or [])]
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def stateful(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a stateful child: protected and retained on delete when the spec says so."""
        return self.opts(protect=self._protect, retain_on_delete=self._protect, **kwargs)


class EncryptedStore(Component):
    """An object store encrypted with a customer-managed key, versioned, private, TLS-only,
    optionally replicated to another region under its own key; the same outputs everywhere."""

    store_name: pulumi.Output[str]
    """The bucket, storage account or PersistentVolumeClaim name."""
    key_id: pulumi.Output[str]
    """The customer-managed key (ARN, resource ID or key URI); empty when provider-managed."""
    replica_name: pulumi.Output[str]
    """The replica's bucket or account name; empty without a backup region."""
    replica_key_id: pulumi.Output[str]
    velero_location: pulumi.Output[dict[str, Any]]
    """How Velero writes backups here: a BackupStorageLocation ``spec`` (for on-prem stores)."""

    def __init__(self, type_name: str, name: str, args: StoreArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_name, name, args["protect"], opts)
        self._args = args

    def finish(
        self,
        store_name: pulumi.Input[str],
        key_id: pulumi.Input[str] = "",
        replica_name: pulumi.Input[str] = "",
        replica_key_id: pulumi.Input[str] = "",
        velero_location: pulumi.Input[dict[str, Any]] | None = None,
    ) -> None:
        self.store_name = pulumi.Output.from_input(store_name)
        self.key_id = pulumi.Output.from_input(key_id)
        self.replica_name = pulumi.Output.from_input(replica_name)
        self.replica_key_id = pulumi.Output.from_input(replica_key_id)
        self.velero_location = pulumi.Output.from_input(velero_location or {})
        self.register_outputs(
            {
                "store_name": self.store_name,
                "key_id": self.key_id,
                "replica_name": self.replica_name,
                "replica_key_id": self.replica_key_id,
            }
        )


class GpuCluster(Component):
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
        super().__init__(type_name, name, args["protect"], opts)
        self._args = args

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


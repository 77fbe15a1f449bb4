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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from .naming import Named, child, fit, physical
from .specs import EndpointSpec, GpuClusterSpec, IdentitySpec, StoreSpec

if TYPE_CHECKING:
    from .providers.base import ApiNetworks

__all__ = [
    "Component",
    "EncryptedStore",
    "Endpoint",
    "EndpointArgs",
    "GpuCluster",
    "GpuClusterArgs",
    "IdentityArgs",
    "ReplicaRef",
    "SiteConnection",
    "Utilities",
    "StoreArgs",
    "StoreRef",
    "WorkloadIdentity",
    "exec_kubeconfig",
]


class GpuClusterArgs(GpuClusterSpec, total=False):
    """A cluster spec plus the inputs only a running program has (secrets, outputs)."""

    kubeconfig: pulumi.Input[str]
    """On-prem: the existing cluster's kubeconfig (a secret)."""
    stores: dict[str, StoreRef]
    """The stores ``store_grants`` name (replicas for a standby), by store key."""


class StoreArgs(StoreSpec, total=False):
    """A store spec plus the inputs only a running program has."""

    replica_provider: pulumi.ProviderResource
    """The provider of the replica's region (clouds, when the spec has a replica)."""
    backup_location: pulumi.Input[dict[str, Any]]
    """On-prem: the Velero BackupStorageLocation ``spec`` of the cloud store backups go to."""


class StoreRef(Protocol):
    """What an identity needs of a store: the ID its grants are scoped to and the store's key
    (any :class:`EncryptedStore`, or ``topoform.EncryptedStore``)."""

    @property
    def store_id(self) -> pulumi.Output[str]: ...

    @property
    def key_id(self) -> pulumi.Output[str]: ...


class IdentityArgs(IdentitySpec, total=False):
    """An identity spec plus what only the running program has: the cluster and the stores."""

    kubernetes_provider: k8s.Provider
    cluster_name: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    resource_group: pulumi.Input[str]
    """Azure: where the user-assigned identity lives (the cluster's resource group)."""
    stores: dict[str, StoreRef]
    """The stores the grants name, by topology key."""


class EndpointArgs(EndpointSpec, total=False):
    """An endpoint spec plus what only the running program has."""

    kubernetes_provider: k8s.Provider
    resource_group: pulumi.Input[str]
    """Azure: the cluster's resource group (the endpoint's public IP lives there)."""
    cluster_principal_id: pulumi.Input[str]
    """Azure: the cluster identity, which must manage the public IP."""
    failover_target: pulumi.Input[str]
    """The secondary endpoint's address (host name or IP), for the DNS failover records."""
    failover_kubernetes_provider: k8s.Provider
    """The secondary's cluster: where a Front Door primary also admits only its own requests."""


@dataclass
class SiteConnection:
    """A site's explicit provider, and extra component args only the site can supply."""

    provider: pulumi.ProviderResource
    cluster_args: dict[str, Any] = field(default_factory=dict)
    ready: list[pulumi.Resource] = field(default_factory=list)
    """What must exist before anything of the site is created (GCP: the project's APIs)."""


@dataclass(frozen=True)
class Utilities:
    """Providers of the cloud-neutral helpers: waits (``pulumiverse_time``) and random suffixes
    (``pulumi_random``), explicit like every provider of the program."""

    time: pulumi.ProviderResource
    random: pulumi.ProviderResource | None = None

    def all(self) -> list[pulumi.ProviderResource]:
        return [p for p in (self.time, self.random) if p is not None]


class Component(pulumi.ComponentResource):
    """The house rules every component follows: children parented and named after it,
    stateful children protected and retained when the spec says ``protect``."""

    def __init__(self, type_name: str, name: str, protect: bool, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(f"topoform:index:{type_name}", name, None, opts)
        self._name = name
        # Not `_protect`: the SDK reads that attribute to make every child protected like its parent.
        self._stateful_protect = protect
        # What the component waits for, its children wait for too.
        depends = opts.depends_on if opts is not None else None
        self._depends: list[pulumi.Resource] = [d for d in depends if isinstance(d, pulumi.Resource)] if isinstance(depends, list) else []

    def child(self, *role: str) -> str:
        """A child's logical name: ``<component>-<role>``."""
        return child(self._name, *role)

    def named(self, type_: str, *role: str) -> Named:
        """The child ``<component>-<role>`` of ``type_``, with the arguments that keep its physical
        name within the cloud's limits (none where Pulumi's own name fits)."""
        return fit(type_, self.child(*role))

    def naming(self, type_: str, *role: str) -> dict[str, Any]:
        """The logical name (``resource_name``) of the child ``<component>-<role>`` and the name or
        prefix argument that keeps its physical name within the cloud's limits, for types whose
        provider takes a prefix (the physical name then stays unique across replacements)."""
        named = self.named(type_, *role)
        assert not named.opts, f"{type_}: use named() and pass its options"
        return {"resource_name": named.name, **named.kwargs}

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for an ordinary child: parented to this component."""
        kwargs["depends_on"] = [*self._depends, *(kwargs.get("depends_on") or [])]
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def invoke_opts(self) -> pulumi.InvokeOutputOptions:
        """Options for a look-up: the component's providers, after what the component waits for
        (a service agent is looked up only once its API is on)."""
        return pulumi.InvokeOutputOptions(parent=self, depends_on=list(self._depends))

    def unique_name(self, role: str, base: str, limit: int, stable: str | None = None, **kwargs: Any) -> pulumi.Input[str]:
        """A physical name the cloud keeps after deletion (a GCP key ring, a soft-deleted vault):
        stable in a protected environment, which never deletes it (``stable``, else ``base``
        shortened); elsewhere with a random suffix made once per deployment, so a destroyed
        environment can be created again."""
        if self._stateful_protect:
            return stable or physical(base, limit=limit)
        import pulumi_random as random

        # The suffix is the random provider's, not the region's: `provider` options stay out.
        extra = {k: v for k, v in kwargs.items() if k != "provider"}
        suffix = random.RandomId(self.child(role, "suffix"), byte_length=3, opts=self.opts(**extra))
        head = physical(base, limit=limit - 7)
        return suffix.hex.apply(lambda h: f"{head}-{h}")

    def unreachable_notice(self, args: GpuClusterSpec, reach: ApiNetworks, cloud: str, remedy: str = "add the public egress where `pulumi up` runs") -> None:
        """Say so when the deployer can reach a private API only through a network topoform is
        creating in this very run: the first `pulumi up` cannot write into the cluster until a VPN
        or peering joins it (then rerun). ``reach.public``: what reaches the API without it."""
        if reach.public or "existing" in args.get("network", {}):
            return
        pulumi.log.warn(
            f"cluster {args['cluster_name']}: deployer.networks reach the API only privately, and the {cloud} network they must reach is "
            f"created by this same run: objects inside the cluster wait for a VPN or peering into it (then run `pulumi up` again), or {remedy}",
            resource=self,
        )

    def stateful(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a stateful child: protected and retained on delete when the spec says so."""
        return self.opts(protect=self._stateful_protect, retain_on_delete=self._stateful_protect, **kwargs)


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
    store_id: pulumi.Output[str]
    """What access grants are scoped to: the bucket ARN (AWS), bucket name (GCP), container
    resource ID (Azure), claim name (on-prem)."""
    replica_store_id: pulumi.Output[str]
    """The same for the replica (empty without one): what standby clusters' identities reach."""
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
        store_id: pulumi.Input[str] | None = None,
        replica_store_id: pulumi.Input[str] | None = None,
    ) -> None:
        self.store_name = pulumi.Output.from_input(store_name)
        self.store_id = pulumi.Output.from_input(store_id if store_id is not None else store_name)
        self.replica_store_id = pulumi.Output.from_input(replica_store_id if replica_store_id is not None else replica_name)
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


@dataclass(frozen=True)
class ReplicaRef:
    """A store's replica as a :class:`StoreRef`: what an identity of a standby cluster reaches."""

    store: EncryptedStore

    @property
    def store_id(self) -> pulumi.Output[str]:
        return self.store.replica_store_id

    @property
    def key_id(self) -> pulumi.Output[str]:
        return self.store.replica_key_id


class WorkloadIdentity(Component):
    """A Kubernetes service account bound to a cloud identity that reaches exactly its stores."""

    principal: pulumi.Output[str]
    """The cloud identity: IAM role ARN, service account e-mail, or managed identity client ID."""
    service_account_name: pulumi.Output[str]

    def __init__(self, type_name: str, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_name, name, False, opts)
        self._args = args

    def service_account(self, annotations: dict[str, pulumi.Input[str]] | None = None) -> k8s.core.v1.ServiceAccount:
        """The Kubernetes ServiceAccount, annotated as the cloud requires."""
        args = self._args
        return k8s.core.v1.ServiceAccount(
            self.child("sa"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args["service_account"],
                namespace=args["namespace"],
                labels={"app.kubernetes.io/managed-by": "topoform"},
                annotations=annotations,
            ),
            automount_service_account_token=True,
            opts=self.opts(provider=args["kubernetes_provider"]),
        )

    def finish(self, principal: pulumi.Input[str], sa: k8s.core.v1.ServiceAccount) -> None:
        self.principal = pulumi.Output.from_input(principal)
        self.service_account_name = sa.metadata.name
        self.register_outputs({"principal": self.principal, "service_account_name": self.service_account_name})


class Endpoint(Component):
    """A load balancer in front of a cluster service: TLS for public endpoints, private
    addresses for internal ones; the same outputs on every cloud."""

    address: pulumi.Output[str]
    """The load balancer's host name or IP address."""
    url: pulumi.Output[str]

    def __init__(self, type_name: str, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_name, name, False, opts)
        self._args = args

    def service(
        self,
        service_type: str,
        annotations: Mapping[str, pulumi.Input[str]] | None = None,
        ports: list[int] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
        app_protocol: str | None = None,
        **spec: Any,
    ) -> k8s.core.v1.Service:
        """The Service that selects the workload's pods (and, for a LoadBalancer, makes the cloud's LB)."""
        args = self._args
        return k8s.core.v1.Service(
            self.child("svc"),
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args["endpoint_name"][:63],
                namespace=args["namespace"],
                labels={"app.kubernetes.io/managed-by": "topoform"},
                annotations=annotations,
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                type=service_type,
                selector=args["selector"],
                ports=[
                    k8s.core.v1.ServicePortArgs(name=f"p{p}", port=p, target_port=args["port"], protocol="TCP", app_protocol=app_protocol)
                    for p in (ports or [args["port"]])
                ],
                **spec,
            ),
            opts=self.opts(provider=args["kubernetes_provider"], depends_on=depends_on or []),
        )

    def allow_ingress(self) -> k8s.networking.v1.NetworkPolicy:
        """Namespaces deny ingress by default; admit traffic to the workload's port (the load
        balancer enforces ``allowed_cidrs``)."""
        args = self._args
        return k8s.networking.v1.NetworkPolicy(
            self.child("allow"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"allow-{args['endpoint_name']}"[:63], namespace=args["namespace"]),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=args["selector"]),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=args["port"], protocol="TCP")]
                    )
                ],
            ),
            opts=self.opts(provider=args["kubernetes_provider"]),
        )

    def finish(self, address: pulumi.Input[str], url: pulumi.Input[str]) -> None:
        self.address = pulumi.Output.from_input(address)
        self.url = pulumi.Output.from_input(url)
        self.register_outputs({"address": self.address, "url": self.url})


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
    oidc_issuer: pulumi.Output[str]
    """The cluster's service-account token issuer (workload identity federation); empty on-prem."""
    namespace_annotations: dict[str, str] = {}
    """Annotations every namespace topoform makes in this cluster carries (what the cloud needs of them)."""

    def namespace_objects(self, prefix: str, ns: k8s.core.v1.Namespace) -> None:
        """Objects every namespace topoform makes in this cluster holds beside its guardrails,
        where the cloud's pools need some of pods (none by default)."""

    def __init__(self, type_name: str, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_name, name, args["protect"], opts)
        self._args = args
        self.oidc_issuer = pulumi.Output.from_input("")

    def finish(
        self,
        cluster_name: pulumi.Input[str],
        endpoint: pulumi.Input[str],
        kubeconfig: pulumi.Input[str],
        provider: k8s.Provider | None = None,
        oidc_issuer: pulumi.Input[str] = "",
        authorized: list[pulumi.Resource] | None = None,
        identity: pulumi.Input[str] | None = None,
    ) -> None:
        """Set the common outputs, create the Kubernetes provider, register outputs once.

        ``authorized``: what gives the deployer its rights in the cluster (access entries, role
        assignments and the wait for them to apply); the provider, and so every object written
        through it, comes after them.

        ``identity``: a value unique to this cluster for its whole life (its OIDC issuer, its DNS
        endpoint). pulumi-kubernetes otherwise replaces its provider, and every object in the
        cluster, whenever the kubeconfig's server changes, such as when the API's endpoint does;
        with it, only a new cluster (a new identity) does."""
        self.cluster_name = pulumi.Output.from_input(cluster_name)
        self.oidc_issuer = pulumi.Output.from_input(oidc_issuer)
        self.endpoint = pulumi.Output.from_input(endpoint)
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.kubernetes_provider = provider or k8s.Provider(
            self.child("k8s"),
            kubeconfig=self.kubeconfig,
            cluster_identifier=identity,
            # Objects topoform creates in a cluster stay where they are put.
            enable_server_side_apply=True,
            opts=self.opts(depends_on=authorized or []),
        )
        self.register_outputs(
            {"cluster_name": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig, "oidc_issuer": self.oidc_issuer}
        )


def exec_kubeconfig(name: str, server: str, ca_data: str | None, command: str, args: Sequence[str], env: dict[str, str] | None = None, **extra: Any) -> str:
    """A kubeconfig (JSON) whose user authenticates through an exec credential plugin; without
    ``ca_data`` the server's certificate is checked against the system's public CAs."""
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
            "clusters": [{"name": name, "cluster": {"server": server, **({"certificate-authority-data": ca_data} if ca_data is not None else {})}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": {"exec": exec_}}],
        },
        sort_keys=True,
    )


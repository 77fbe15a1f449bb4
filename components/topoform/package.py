"""topoform's components for other programs: a GPU cluster, an encrypted store, a workload
identity and an endpoint on any cloud, described the way a topology describes them, without a
topology file.

``GpuCluster``, ``EncryptedStore`` and ``Endpoint`` take a cloud, a region and the same fields a
topology entry has (logical GPU types, node counts, spot, backup region, exposure...). They run
topoform's planner on those fields -- so catalog checks, names and secure defaults are the same
as for ``pulumi up -s <env>`` -- and create the cloud's own component as their child, with the
caller's providers.

These classes are also the component package other languages use (``components/__main__.py``
hosts them; ``pulumi package add``). The schema is inferred from the annotations and docstrings
below, so this module keeps its annotations evaluated (no ``from __future__ import annotations``)
and uses only types Pulumi's schema inference understands.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, Optional, TypedDict

import pulumi
from pydantic import ValidationError

from .errors import Problem, TopologyError
from .model import Topology, check_references
from .planner import Plan, endpoint_spec, plan
from .providers import module, sdk

sdk.install()

__all__ = [
    "AutoscalingArgs",
    "CapacityStepArgs",
    "EncryptedStore",
    "EncryptedStoreArgs",
    "Endpoint",
    "EndpointArgs",
    "GpuCluster",
    "GpuClusterArgs",
    "NodePoolArgs",
    "StoreGrantArgs",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
]

_SITE = "site"
"""The one site of the topology a component plans: its cloud and region."""


class CapacityStepArgs(TypedDict):
    """One step of a pool's capacity list: where its nodes come from, taken in the list's order."""

    kind: str
    """on-demand, spot, flex-start (GCP), reservation or capacity-block (AWS)."""
    reservation: NotRequired[str]
    """kind reservation: the reservation (AWS cr-... or a group's ARN; GCP its name; Azure a capacity reservation group's ID)."""
    capacity_block: NotRequired[str]
    """kind capacity-block: the Capacity Block's reservation ID (cr-...)."""
    zone: NotRequired[str]
    """kind reservation or capacity-block: the zone it is in (AWS zone ID, GCP zone, Azure 1-3)."""
    nodes: NotRequired[int]
    """kind reservation or capacity-block: how many of the pool's machines it holds."""
    also: NotRequired[list[str]]
    """kind spot: other GPU types the step may take (none with less memory), one spot pool each."""


class AutoscalingArgs(TypedDict):
    """How the cluster's autoscaler shrinks and grows its pools, the same on every cloud."""

    scale_down_utilization: NotRequired[float]
    """Below this share of a node's requested resources it may be removed (default 0.5)."""
    scale_down_after_minutes: NotRequired[int]
    """How long a node stays a candidate before it is removed (default 10)."""
    expander: NotRequired[str]
    """least-waste, most-pods or random: which pool grows when several could (not on GKE)."""


class NodePoolArgs(TypedDict):
    """A node pool: GPU nodes (``gpu_type``, ``gpu_count``) or CPU nodes (``instance``)."""

    gpu_type: NotRequired[str]
    """A logical GPU type: T4, L4, A10, A10G, L40S, A100-40GB, A100-80GB, H100, H200 or B200."""
    gpu_count: NotRequired[int]
    """GPUs per node (the machine sizes the cloud sells, such as 1 or 8)."""
    instance: NotRequired[str]
    """A logical CPU size for a CPU pool: cpu-2x8, cpu-4x16, cpu-8x32, cpu-16x64 or cpu-32x128."""
    min: NotRequired[int]
    """The fewest nodes the autoscaler keeps (give min and max, or nodes)."""
    max: NotRequired[int]
    """The most nodes the autoscaler adds."""
    nodes: NotRequired[int]
    """A fixed node count, instead of min and max."""
    spot: NotRequired[bool]
    """Spot (preemptible) capacity; on-demand when not set."""
    disk_gb: NotRequired[int]
    """The node's disk size in GB."""
    labels: NotRequired[dict[str, str]]
    """Kubernetes labels for the pool's nodes (topoform adds its own)."""
    capacity: NotRequired[list[CapacityStepArgs]]
    """Where the nodes come from, in order (default on-demand, or spot with spot: true)."""
    interconnect: NotRequired[str]
    """standard (default) or fast: the machine's fabric for multi-node training (EFA, GPUDirect-RDMA, InfiniBand), in one zone."""
    scratch: NotRequired[str]
    """disk (default) or local-nvme: pods' scratch space on the machine's local NVMe disks."""


class GpuClusterArgs(TypedDict):
    """A Kubernetes cluster with a CPU system pool and GPU pools, as a topology describes it."""

    cloud: str
    """aws, gcp or azure."""
    region: str
    """The cloud region, such as us-east-1, us-central1 or eastus."""
    system: str
    """The system's short name: the first part of every resource name (1-24 lowercase letters, digits, '-')."""
    environment: str
    """The environment (dev, prod...): part of physical names, and prod environments are protected by default."""
    project: NotRequired[str]
    """GCP: the project to create resources in."""
    labels: NotRequired[dict[str, str]]
    """Labels (tags) on every resource; keys and values portable across clouds."""
    protect: NotRequired[bool]
    """Protect stateful resources and keep them on delete (default: true when the environment starts with prod)."""
    node_pools: dict[str, NodePoolArgs]
    """Pools by name; the name is the pool's stable identity. Include one CPU pool."""
    kubernetes_version: NotRequired[str]
    """A minor version the cloud supports (default: the catalog's default)."""
    api: NotRequired[str]
    """private (default) or public; a public API needs allowed_cidrs."""
    allowed_cidrs: NotRequired[list[str]]
    """Networks allowed to reach a public API."""
    deployer_networks: NotRequired[list[str]]
    """Where `pulumi up` runs: public egress CIDRs get a private EKS or AKS API endpoint opened to them alone, private CIDRs reach it over a VPN or peering (required for a private API on AWS and Azure)."""
    admins: NotRequired[list[str]]
    """Principals given cluster-admin, the deployer among them (required on AWS and Azure): IAM role or user ARNs (AWS), user:/group:/serviceAccount: members (GCP), user:/group:/servicePrincipal: object IDs (Azure)."""
    cidr: NotRequired[str]
    """The network's address range (default 10.0.0.0/16)."""
    autoscaling: NotRequired[AutoscalingArgs]
    """How the autoscaler scales the pools (EKS: the Cluster Autoscaler topoform installs)."""


class EncryptedStoreArgs(TypedDict):
    """An object store encrypted with a customer-managed key, optionally replicated."""

    cloud: str
    """aws, gcp or azure."""
    region: str
    """The cloud region, such as us-east-1, us-central1 or eastus."""
    system: str
    """The system's short name: the first part of every resource name (1-24 lowercase letters, digits, '-')."""
    environment: str
    """The environment (dev, prod...): part of physical names, and prod environments are protected by default."""
    project: NotRequired[str]
    """GCP: the project to create resources in."""
    labels: NotRequired[dict[str, str]]
    """Labels (tags) on every resource; keys and values portable across clouds."""
    protect: NotRequired[bool]
    """Protect stateful resources and keep them on delete (default: true when the environment starts with prod)."""
    size_gb: NotRequired[int]
    """The expected size (what cost estimates use)."""
    backup_region: NotRequired[str]
    """Replicate to this region of the same cloud, under its own key."""
    retention_days: NotRequired[int]
    """Days noncurrent versions are kept (default 30)."""


class StoreGrantArgs(TypedDict):
    """Access to one store, by the outputs of its EncryptedStore."""

    store_id: pulumi.Input[str]
    """The store's storeId output: what the grant is scoped to."""
    key_id: NotRequired[pulumi.Input[str]]
    """The store's keyId output (AWS: the identity may use the key for its objects)."""
    mode: str
    """read, write or admin (admin never includes changing the store's policy)."""


class WorkloadIdentityArgs(TypedDict):
    """A Kubernetes service account in a cluster that runs as a cloud identity reaching only its stores."""

    cloud: str
    """aws, gcp or azure: the cluster's cloud."""
    region: str
    """The cluster's region."""
    system: str
    """The system's short name: the first part of the identity's name."""
    environment: str
    """The environment: part of the identity's name."""
    project: NotRequired[str]
    """GCP: the cluster's project."""
    labels: NotRequired[dict[str, str]]
    """Labels (tags) on every resource."""
    namespace: str
    """The service account's namespace (it must exist)."""
    service_account: str
    """The Kubernetes service account to create."""
    kubeconfig: pulumi.Input[str]
    """The cluster's kubeconfig output, for the service account."""
    cluster_name: pulumi.Input[str]
    """The cluster's clusterName output (AWS: the Pod Identity association)."""
    oidc_issuer: NotRequired[pulumi.Input[str]]
    """The cluster's oidcIssuer output (Azure: the federated credential)."""
    resource_group: NotRequired[pulumi.Input[str]]
    """Azure: the resource group the managed identity is created in."""
    grants: list[StoreGrantArgs]
    """The stores the identity reaches, and how."""


class EndpointArgs(TypedDict):
    """A load balancer in front of a service of a cluster: TLS, an allow-list and a certificate
    for the domain when public; private addresses only when internal."""

    cloud: str
    """aws, gcp or azure: the cluster's cloud."""
    region: str
    """The cluster's region."""
    system: str
    """The system's short name: the first part of the load balancer's name."""
    environment: str
    """The environment: part of the load balancer's name."""
    project: NotRequired[str]
    """GCP: the cluster's project."""
    labels: NotRequired[dict[str, str]]
    """Labels (tags) on every resource."""
    kubeconfig: pulumi.Input[str]
    """The cluster's kubeconfig output: the Service (and on GCP the Gateway) are created there."""
    namespace: str
    """The service's namespace (it must exist)."""
    service: str
    """The workload's name; its pods are selected by app.kubernetes.io/name unless selector is given."""
    selector: NotRequired[dict[str, str]]
    """The pods' labels, instead of app.kubernetes.io/name: <service>."""
    port: int
    """The port the pods listen on."""
    exposure: NotRequired[str]
    """internal (default: private networks only) or public (TLS on 443; needs domain and allowed_cidrs)."""
    domain: NotRequired[str]
    """The public name; its certificate is issued for it and its DNS zone gets the record."""
    dns_zone: NotRequired[str]
    """The DNS zone holding domain (default: domain without its first label)."""
    allowed_cidrs: NotRequired[list[str]]
    """Networks admitted; a public endpoint needs them ([0.0.0.0/0] opens it to everyone)."""
    health_path: NotRequired[str]
    """The HTTP path health checks probe (default /healthz)."""
    health_interval_seconds: NotRequired[int]
    """Seconds between health checks (default 30)."""
    dns_resource_group: NotRequired[str]
    """Azure, public: the resource group of the DNS zone."""
    resource_group: NotRequired[pulumi.Input[str]]
    """Azure, public: the cluster's resourceGroup output (the public IP is made there)."""
    cluster_principal_id: NotRequired[pulumi.Input[str]]
    """Azure, public: the cluster's principalId output (it must manage the public IP)."""


def _site(args: Mapping[str, Any], network: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The one site a component's topology has: its cloud, region and project."""
    if args["cloud"] not in _CLASS:
        raise ValueError(f"cloud: '{args['cloud']}' is not one of {', '.join(_CLASS)} (existing on-prem clusters are for topology files)")
    site: dict[str, Any] = {"provider": args["cloud"], "region": args["region"]}
    if "project" in args:
        site["project"] = args["project"]
    if "admins" in args:
        site["admins"] = list(args["admins"])
    if network:
        site["network"] = network
    return site


def _document(args: Mapping[str, Any], site: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": args["system"],
        "environment": args["environment"],
        "labels": dict(args.get("labels") or {}),
        "sites": {_SITE: site},
        **sections,
    }
    if "protect" in args:
        doc["protect"] = args["protect"]
    if args.get("deployer_networks") is not None:
        doc["deployer"] = {"networks": list(args["deployer_networks"])}
    return doc


def _validated(doc: dict[str, Any], ignore: Optional[tuple[str, ...]] = None) -> Topology:
    """The topology, checked as `topoform validate` checks a file (save the problem at the path
    ``ignore``); problems become one error."""
    try:
        topology = Topology.model_validate(doc)
        problems = [p for p in check_references(topology) if ignore is None or tuple(p.path) != ignore]
        if problems:
            raise TopologyError(problems)
        return topology
    except TopologyError as exc:
        raise ValueError("; ".join(p.format() for p in exc.problems)) from None
    except ValidationError as exc:  # one entry per field, as a topology file would report them
        raise ValueError("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())) from None


def _plan(kind: str, name: str, args: Mapping[str, Any], entry: dict[str, Any], network: Optional[dict[str, Any]] = None) -> Plan:
    """Plan a one-site topology holding ``entry`` as ``<kind>.<name>``; problems become one error."""
    site = _site(args, network)
    if "backup_region" in entry:
        site["backup_region"] = entry.pop("backup_region")
        entry["backup"] = True
    topology = _validated(_document(args, site, {kind: {name: {"site": _SITE, **entry}}}))
    try:
        return plan(topology)
    except TopologyError as exc:
        raise ValueError("; ".join(p.format() for p in exc.problems)) from None


def _key(name: str) -> str:
    """The topology key a component's name stands for."""
    return name.lower()[:24].strip("-") or "c"


class GpuCluster(pulumi.ComponentResource):
    """A GPU Kubernetes cluster on AWS (EKS), GCP (GKE) or Azure (AKS) with topoform's secure
    defaults: private API, encrypted secrets, workload identity, GPU pools labelled
    ``topoform.io/accelerator`` and tainted ``nvidia.com/gpu``. Uses the caller's providers."""

    cluster_name: pulumi.Output[str]
    """The cluster's physical name."""
    endpoint: pulumi.Output[str]
    """The Kubernetes API server URL."""
    kubeconfig: pulumi.Output[str]
    """A kubeconfig for the cluster (a secret); it authenticates with the cloud's CLI."""
    oidc_issuer: pulumi.Output[str]
    """The service-account token issuer, for workload identity federation."""
    resource_group: pulumi.Output[str]
    """Azure: the cluster's resource group (what an Endpoint or WorkloadIdentity there takes); empty elsewhere."""
    principal_id: pulumi.Output[str]
    """Azure: the principal ID of the cluster's managed identity (what a public Endpoint takes); empty elsewhere."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("topoform:index:GpuCluster", name, {}, opts)
        key = _key(name)
        entry: dict[str, Any] = {"node_pools": {k: _pool(k, v) for k, v in args["node_pools"].items()}}
        for field in ("kubernetes_version", "api", "allowed_cidrs", "autoscaling"):
            if field in args:
                entry[field] = args[field]
        planned = _plan("clusters", key, args, entry, {"cidr": args["cidr"]} if "cidr" in args else None)
        cluster = planned.clusters[key]
        cls = getattr(module(args["cloud"], "cluster"), f"{_CLASS[args['cloud']]}GpuCluster")
        inner = cls(name, cluster.spec, opts=pulumi.ResourceOptions(parent=self))
        self.cluster_name = inner.cluster_name
        self.endpoint = inner.endpoint
        self.kubeconfig = inner.kubeconfig
        self.oidc_issuer = inner.oidc_issuer
        self.kubernetes_provider = inner.kubernetes_provider
        self.resource_group = getattr(inner, "resource_group_name", pulumi.Output.from_input(""))
        self.principal_id = getattr(inner, "identity_principal_id", pulumi.Output.from_input(""))
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "resource_group": self.resource_group,
                "principal_id": self.principal_id,
            }
        )


class EncryptedStore(pulumi.ComponentResource):
    """An object store (S3, Cloud Storage or an Azure storage account) under a customer-managed
    key, versioned, private and TLS-only, optionally replicated to a backup region under its own
    key. Uses the caller's providers; the replica's provider is made for the backup region."""

    store_name: pulumi.Output[str]
    """The bucket or storage account name."""
    key_id: pulumi.Output[str]
    """The customer-managed key (ARN, resource ID or key URI)."""
    replica_name: pulumi.Output[str]
    """The replica's bucket or account name; empty without a backup region."""
    store_id: pulumi.Output[str]
    """What access grants are scoped to: bucket ARN (AWS), bucket name (GCP), container ID (Azure)."""

    def __init__(self, name: str, args: EncryptedStoreArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("topoform:index:EncryptedStore", name, {}, opts)
        key = _key(name)
        entry: dict[str, Any] = {k: args[k] for k in ("size_gb", "backup_region", "retention_days") if k in args}
        planned = _plan("storage", key, args, entry)
        store = planned.stores[key]
        store_args: dict[str, Any] = dict(store.spec)
        if "replica" in store.spec:
            site = planned.sites[_SITE]
            region = store.spec["replica"]["region"]
            connection = module(site.provider, "site").connect(site, region, f"{name}-{region}", planned.tags, opts=pulumi.ResourceOptions(parent=self))
            store_args["replica_provider"] = connection.provider
        cls = getattr(module(args["cloud"], "store"), f"{_CLASS[args['cloud']]}EncryptedStore")
        inner = cls(name, store_args, opts=pulumi.ResourceOptions(parent=self))
        self.store_name = inner.store_name
        self.key_id = inner.key_id
        self.replica_name = inner.replica_name
        self.store_id = inner.store_id
        self.register_outputs({"store_name": self.store_name, "key_id": self.key_id, "replica_name": self.replica_name, "store_id": self.store_id})


class WorkloadIdentity(pulumi.ComponentResource):
    """A Kubernetes service account bound to a cloud identity (EKS Pod Identity, GKE Workload
    Identity, or an Azure managed identity with a federated credential) whose policy names only
    the granted stores and their keys, with the actions of the mode: never a wildcard."""

    principal: pulumi.Output[str]
    """The cloud identity: IAM role ARN, service account e-mail, or managed identity client ID."""
    service_account_name: pulumi.Output[str]
    """The Kubernetes service account's name."""

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("topoform:index:WorkloadIdentity", name, {}, opts)
        import pulumi_kubernetes as k8s

        from .naming import account_id

        if args["cloud"] not in _CLASS:
            raise ValueError(f"cloud: '{args['cloud']}' is not one of {', '.join(_CLASS)}")
        for i, grant in enumerate(args["grants"]):
            if grant["mode"] not in ("read", "write", "admin"):
                raise ValueError(f"grants[{i}].mode: '{grant['mode']}' is not read, write or admin")
        key = _key(name)
        tags = dict(sorted({**(args.get("labels") or {}), "topoform-system": args["system"], "topoform-environment": args["environment"], "topoform-identity": key}.items()))
        identity: dict[str, Any] = {
            "identity_name": account_id(args["system"], args["environment"], key),
            "namespace": args["namespace"],
            "service_account": args["service_account"],
            "grants": [{"store": f"grant-{i}", "mode": g["mode"]} for i, g in enumerate(args["grants"])],
            "region": args["region"],
            "tags": tags,
            "stores": {f"grant-{i}": _StoreRef(g["store_id"], g.get("key_id", "")) for i, g in enumerate(args["grants"])},
            "cluster_name": args["cluster_name"],
            "oidc_issuer": args.get("oidc_issuer", ""),
            "kubernetes_provider": k8s.Provider(f"{name}-k8s", kubeconfig=args["kubeconfig"], enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=self)),
        }
        for field in ("project", "resource_group"):
            if field in args:
                identity[field] = args[field]
        cls = getattr(module(args["cloud"], "identity"), f"{_CLASS[args['cloud']]}WorkloadIdentity")
        inner = cls(name, identity, opts=pulumi.ResourceOptions(parent=self))
        self.principal = inner.principal
        self.service_account_name = inner.service_account_name
        self.register_outputs({"principal": self.principal, "service_account_name": self.service_account_name})


class Endpoint(pulumi.ComponentResource):
    """A load balancer in front of a service of a cluster (a Service of type LoadBalancer on AWS
    and Azure, a GKE Gateway on GCP, Front Door for public Azure endpoints). Public endpoints
    serve TLS 1.2 or newer on 443 with a managed certificate for the domain, admit only
    allowed_cidrs and are health-checked; internal ones stay on private addresses. DNS failover
    between two endpoints is for topology files."""

    address: pulumi.Output[str]
    """The load balancer's host name or IP address."""
    url: pulumi.Output[str]
    """https://<domain> for a public endpoint; the internal address and port otherwise."""

    def __init__(self, name: str, args: EndpointArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("topoform:index:Endpoint", name, {}, opts)
        import pulumi_kubernetes as k8s

        key = _key(name)
        service: dict[str, Any] = {"namespace": args["namespace"], "name": args["service"], "port": args["port"]}
        if "selector" in args:
            service["selector"] = args["selector"]
        entry: dict[str, Any] = {"cluster": _SITE, "service": service, "exposure": args.get("exposure", "internal")}
        entry.update({k: args[k] for k in ("domain", "dns_zone", "allowed_cidrs") if k in args})
        health = {field: args[k] for field, k in (("path", "health_path"), ("interval_seconds", "health_interval_seconds")) if k in args}  # type: ignore[literal-required]
        if health:
            entry["health_check"] = health
        if "dns_resource_group" in args:
            entry["overrides"] = {"azure": {"dns_resource_group": args["dns_resource_group"]}}
        # The endpoint names a cluster this one-site topology does not describe: the caller's.
        topology = _validated(_document(args, _site(args), {"endpoints": {key: entry}}), ignore=("endpoints", key, "cluster"))
        try:
            planned = plan(topology)
        except TopologyError as exc:
            raise ValueError("; ".join(p.format() for p in exc.problems)) from None
        spec, problems = endpoint_spec(topology.name, topology.environment, key, topology.endpoints[key], planned.sites[_SITE], planned.tags)
        if spec["public"] and args["cloud"] == "azure" and not ("resource_group" in args and "cluster_principal_id" in args):
            problems.append(Problem(("endpoints", key, "resource_group"), "a public Azure endpoint needs the cluster's resourceGroup and principalId outputs as resource_group and cluster_principal_id"))
        if problems:
            raise ValueError("; ".join(p.format() for p in problems))
        endpoint: dict[str, Any] = {
            **spec,
            "kubernetes_provider": k8s.Provider(f"{name}-k8s", kubeconfig=args["kubeconfig"], enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=self)),
        }
        for field in ("resource_group", "cluster_principal_id"):
            if field in args:
                endpoint[field] = args[field]
        cls = getattr(module(args["cloud"], "endpoint"), f"{_CLASS[args['cloud']]}Endpoint")
        inner = cls(name, endpoint, opts=pulumi.ResourceOptions(parent=self))
        self.address = inner.address
        self.url = inner.url
        self.register_outputs({"address": self.address, "url": self.url})


class _StoreRef:
    """A store known only by its outputs (what the cloud identity classes read)."""

    def __init__(self, store_id: pulumi.Input[str], key_id: pulumi.Input[str]) -> None:
        self.store_id = pulumi.Output.from_input(store_id)
        self.key_id = pulumi.Output.from_input(key_id)


_CLASS = {"aws": "Aws", "gcp": "Gcp", "azure": "Azure"}


def _pool(key: str, p: NodePoolArgs) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in p.items() if k not in ("gpu_type", "gpu_count", "capacity")}
    if "gpu_type" in p:
        out["gpu"] = {"type": p["gpu_type"], "count": p.get("gpu_count", 1)}
    if "capacity" in p:
        out["capacity"] = [_step(f"node_pools.{key}.capacity[{i}]", step) for i, step in enumerate(p["capacity"])]
    return out


_STEP_FIELDS = {"on-demand": set(), "flex-start": set(), "spot": {"also"}, "reservation": {"reservation", "zone", "nodes"}, "capacity-block": {"capacity_block", "zone", "nodes"}}
"""The fields each kind of capacity step takes (the topology validates their values)."""


def _step(where: str, step: CapacityStepArgs) -> Any:
    """A capacity step as a topology writes it: a word, or a mapping for the kinds that name more."""
    kind = step.get("kind", "")
    if kind not in _STEP_FIELDS:
        raise ValueError(f"{where}.kind: {kind!r} is not one of {', '.join(_STEP_FIELDS)}")
    rest = {k: v for k, v in step.items() if k != "kind"}
    extra = sorted(set(rest) - _STEP_FIELDS[kind])
    if extra:
        raise ValueError(f"{where}: a {kind} step takes no {', '.join(extra)}")
    if kind == "spot" and rest:
        return {"spot": {"also": rest["also"]}}
    return rest if kind in ("reservation", "capacity-block") else kind

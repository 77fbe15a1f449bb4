"""Resolved specs: what the planner produces and what the components take.

These are plain ``TypedDict`` values, so a plan is JSON as it stands (golden
files in the tests) and the same types are the components' ``args`` when
someone uses a component without a topology file. Every cloud's component of
one concept takes the same spec; fields a cloud does not use are optional.
This module imports no Pulumi.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "AutoscalerSpec",
    "BindingSpec",
    "EndpointSpec",
    "GrantSpec",
    "IdentitySpec",
    "TeamSpec",
    "BackupTargetSpec",
    "ExistingNetworkSpec",
    "FabricSpec",
    "GpuClusterSpec",
    "NetworkSpec",
    "NodePoolSpec",
    "ReplicaSpec",
    "ScratchSpec",
    "StoreSpec",
    "TaintSpec",
]

PLATFORM_ACCELERATOR_LABEL = "topoform.io/accelerator"
"""Every GPU node carries this label with the logical GPU type; workloads select on it."""
PLATFORM_POOL_LABEL = "topoform.io/pool"
PLATFORM_CAPACITY_LABEL = "topoform.io/capacity"
PLATFORM_FABRIC_LABEL = "topoform.io/fabric"
"""On nodes of pools with ``interconnect: fast``: the fabric's kind (``efa``, ``gpudirect-rdma``)."""
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces every cluster has: topoform never creates or guards them."""
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT: Literal["NoSchedule"] = "NoSchedule"


class TaintSpec(TypedDict):
    """A Kubernetes node taint in Kubernetes' own spelling (``NoSchedule``, ...)."""

    key: str
    value: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class FabricSpec(TypedDict):
    """A pool's fabric for multi-node training, resolved for its cloud."""

    kind: str
    """The catalog's fabric kind: ``efa`` (AWS), ``gpudirect-rdma`` (GCP)."""
    interfaces: int
    """Fabric interfaces per node (the machine's maximum)."""
    vcpus: int
    """The machine's vCPUs (what the host sets aside for the fabric scales with)."""


class ScratchSpec(TypedDict):
    """A pool's pod scratch space on the machine's local NVMe, resolved for its cloud."""

    disks: NotRequired[int]
    """How many local disks (GKE attaches them by count)."""
    gb: NotRequired[int]
    """Their total size, where the catalog knows it (what an empty pool's node offers pods)."""


CapacityKind = Literal["reservation", "capacity-block", "flex-start", "on-demand", "spot"]


class CapacitySpec(TypedDict):
    """One step of a pool's capacity list, resolved: what it is and where it stands."""

    kind: CapacityKind
    pool: str
    """The topology pool (its key) this step serves."""
    step: int
    """Its place in the pool's list (0 first): the autoscaler takes earlier steps first."""
    ref: NotRequired[str]
    """The reservation or Capacity Block it consumes."""
    nodes: NotRequired[int]
    """How many machines the reservation holds (billed whether they run or not)."""
    also: NotRequired[int]
    """A spot step's other GPU type: its place in the step's ``also`` (the pool's own type has none)."""


class NodePoolSpec(TypedDict):
    """One node pool, resolved for its cloud: machine type, size, labels and taints."""

    machine_type: str
    """The cloud's machine type (e.g. ``p5.48xlarge``); ``existing`` for on-prem nodes."""
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gb: int
    labels: dict[str, str]
    """Kubernetes node labels, platform labels included."""
    taints: list[TaintSpec]
    gpu_type: NotRequired[str]
    """The logical GPU type (``H100``); absent on CPU pools."""
    gpu_count: NotRequired[int]
    accelerator: NotRequired[str]
    """The cloud's accelerator name where it needs one (GCP: ``nvidia-h100-80gb``)."""
    image: NotRequired[str]
    """The node image family: EKS AMI type, GKE image type, AKS OS SKU."""
    name: NotRequired[str]
    """The physical pool name where the cloud limits it (AKS: 12 lowercase letters/digits)."""
    zones: NotRequired[list[str]]
    disk_type: NotRequired[str]
    """The boot disk type (AWS EBS volume type, GCP disk type)."""
    reservation: NotRequired[str]
    """GCP: the reservation on-demand nodes consume."""
    capacity: NotRequired[CapacitySpec]
    """Where this pool's nodes come from, when the topology pool gives a capacity list."""
    fabric: NotRequired[FabricSpec]
    """The machine's fabric joining the pool's nodes (``interconnect: fast``)."""
    scratch: NotRequired[ScratchSpec]
    """Pods' scratch space on the machine's local NVMe (``scratch: local-nvme``)."""
    node_selector: NotRequired[dict[str, str]]
    """On-prem: labels that select the existing nodes of this pool."""
    node_names: NotRequired[list[str]]
    """On-prem: existing nodes that get the platform label and taint."""


class ExistingNetworkSpec(TypedDict, total=False):
    """IDs of an existing network to place a cluster in, per cloud."""

    vpc_id: str
    subnet_ids: list[str]
    network: str
    subnetwork: str
    pods_range: str
    services_range: str
    subnet_id: str
    apiserver_subnet_id: str


class NetworkSpec(TypedDict):
    """The cluster's network: address plan for a new one, or IDs of an existing one."""

    cidr: str
    zones: int
    nat: Literal["single", "per_zone"]
    private_subnets: list[str]
    """Per-zone node subnets (AWS), or the one node subnet (GCP, Azure)."""
    public_subnets: list[str]
    """Per-zone public subnets for NAT gateways and public load balancers (AWS)."""
    pods_cidr: str
    services_cidr: str
    zone_ids: NotRequired[list[str]]
    """AWS: the zones the site pinned (Availability Zone IDs), one per private subnet."""
    apiserver_subnet: NotRequired[str]
    """Azure: the /28 delegated to the API server (API Server VNet Integration)."""
    existing: NotRequired[ExistingNetworkSpec]


class AutoscalerSpec(TypedDict):
    """The cluster's autoscaler settings, resolved for its cloud from ``autoscaling``."""

    scale_down_utilization: float
    """Below this requested share of a node's CPU and memory (GPUs on GPU nodes) it may go."""
    scale_down_after_minutes: int
    """How long a node stays a candidate for removal before it is removed."""
    expander: NotRequired[str]
    """Which pool grows first (EKS, AKS): least-waste, most-pods or random."""
    profile: NotRequired[str]
    """GKE: its autoscaling profile, BALANCED or OPTIMIZE_UTILIZATION."""
    image: NotRequired[str]
    """EKS: the Cluster Autoscaler image matching the cluster's Kubernetes minor."""
    priorities: NotRequired[dict[str, int]]
    """Every pool's (by key) priority, highest first, where capacity lists need an order (EKS,
    AKS: the priority expander)."""


class GpuClusterSpec(TypedDict):
    """A Kubernetes cluster with a system pool and GPU pools, resolved for one cloud."""

    cluster_name: str
    """The physical cluster name (within the cloud's length limit)."""
    region: str
    kubernetes_version: str
    """Minor version (``1.33``); empty for an existing on-prem cluster."""
    api_access: Literal["private", "public"]
    allowed_cidrs: list[str]
    node_pools: dict[str, NodePoolSpec]
    """Pools keyed by their topology key: the key is the stable identity of the pool."""
    tags: dict[str, str]
    """Labels/tags for every resource the cluster creates."""
    protect: bool
    """Protect the stateful children (cluster, keys) and retain them on delete."""
    log_retention_days: int
    network: NotRequired[NetworkSpec]
    project: NotRequired[str]
    """GCP project."""
    resource_group: NotRequired[str]
    """Azure: an existing resource group to use instead of creating one."""
    release_channel: NotRequired[str]
    sku_tier: NotRequired[str]
    encryption_at_host: NotRequired[bool]
    """Azure: node pools encrypt temporary disks and caches at the VM host."""
    support_type: NotRequired[str]
    device_plugin: NotRequired[bool]
    """Deploy the NVIDIA device plugin DaemonSet (clouds whose GPU nodes lack one, and on-prem)."""
    team_principals: NotRequired[dict[str, list[str]]]
    """AWS: IAM role ARN -> its teams' Kubernetes groups, one EKS access entry per role (teams'
    ``principal_arn``)."""
    front_door_origins: NotRequired[bool]
    """Azure: the cluster serves Front Door origins, whose pods admit only their profile's
    requests (its ``X-Azure-FDID``), which takes layer-7 network policy (ACNS)."""
    team_groups: NotRequired[list[str]]
    """Azure: the Entra ID group object IDs of the teams with namespaces in the cluster (each gets
    the cluster-user role, which lists the kubeconfig; RoleBindings grant the rest)."""
    security_group: NotRequired[str]
    """GCP: the ``gke-security-groups@`` group that enables Google Groups for RBAC."""
    api_endpoint: NotRequired[Literal["dns", "ip"]]
    """GCP: reach the API through its DNS-based endpoint (IAM, from anywhere) or its IP endpoint."""
    deployer_networks: NotRequired[list[str]]
    """Where `pulumi up` runs (the topology's ``deployer.networks``): public CIDRs get the API
    endpoint opened to them alone (EKS, AKS), private ones reach it over a VPN or peering."""
    store_grants: NotRequired[list[GrantSpec]]
    """The stores the cluster's workload identities reach, and how: the data paths the cluster's
    network keeps private (AWS: the S3 gateway endpoint's policy)."""
    read_buckets: NotRequired[list[str]]
    """AWS: other buckets the cluster's workloads may read through the S3 gateway endpoint."""
    vpc_endpoints: NotRequired[list[str]]
    """AWS: the interface endpoints a created VPC gets (``ecr.api``, ``sts``...), so nodes of a
    private cluster reach those services without crossing the NAT gateway."""
    autoscaler: NotRequired[AutoscalerSpec]
    """How the cluster's autoscaled pools scale (set when a pool has ``min`` < ``max``)."""
    admins: NotRequired[list[str]]
    """Principals given cluster-admin access through the cloud's IAM (the site's ``admins``, in
    the cloud's own notation); the identity `pulumi up` runs as is one of them on AWS and Azure."""


class ReplicaSpec(TypedDict):
    """Where a store is replicated: another region, with its own key."""

    region: str
    store_name: str
    """The replica's physical name where the cloud needs one (Azure storage account); else empty."""


class BackupTargetSpec(TypedDict):
    """On-prem: the cloud store that backups of this store are written to."""

    store: str
    """The target store's topology key."""
    provider: Literal["aws", "gcp", "azure"]
    region: str


class StoreSpec(TypedDict):
    """An encrypted object store (bucket, storage account, or on-prem volume), resolved for one cloud."""

    store_name: str
    """The physical name where the cloud needs one (Azure: 3-24 lowercase letters and digits); else a prefix."""
    region: str
    retention_days: int
    """Days that noncurrent (overwritten or deleted) versions are kept."""
    public: bool
    """Spelled out in the topology (``access: public``); never a default."""
    customer_managed_key: bool
    """False only when the topology says ``encryption: provider-managed``."""
    tags: dict[str, str]
    protect: bool
    """Protect the stateful children (stores, replicas, keys, vaults) and retain them on delete."""
    size_gb: NotRequired[int]
    replica: NotRequired[ReplicaSpec]
    project: NotRequired[str]
    resource_group: NotRequired[str]
    storage_class: NotRequired[str]
    """On-prem: the encrypted storage class of the PersistentVolumeClaim."""
    namespace: NotRequired[str]
    """On-prem: the namespace of the PersistentVolumeClaim."""
    backup_target: NotRequired[BackupTargetSpec]


class GrantSpec(TypedDict):
    """Access of a workload identity to one store."""

    store: str
    """The store's topology key."""
    mode: Literal["read", "write", "admin"]
    replica: NotRequired[bool]
    """Reach the store's replica in the backup region (identities of standby clusters)."""


class IdentitySpec(TypedDict):
    """A Kubernetes service account and the cloud identity it runs as, with its grants."""

    identity_name: str
    """The cloud identity's physical name (GCP: a service account ID, 6-30 characters)."""
    namespace: str
    service_account: str
    grants: list[GrantSpec]
    region: str
    tags: dict[str, str]
    project: NotRequired[str]


class BindingSpec(TypedDict):
    """A team's role in one namespace of one cluster."""

    cluster: str
    namespace: str
    group: str
    """The group as this cluster's Kubernetes knows it."""
    role: Literal["view", "edit", "admin"]


class TeamSpec(TypedDict):
    """A team's namespaces, role bindings and GPU quota on every cluster it uses."""

    bindings: list[BindingSpec]
    gpu_quota: NotRequired[int]


class EndpointSpec(TypedDict):
    """A load balancer in front of a cluster service, resolved for the cluster's cloud."""

    endpoint_name: str
    """A short physical name for the load balancer and its certificate."""
    namespace: str
    selector: dict[str, str]
    port: int
    public: bool
    allowed_cidrs: list[str]
    health_path: str
    health_interval_seconds: int
    region: str
    tags: dict[str, str]
    domain: NotRequired[str]
    dns_zone: NotRequired[str]
    project: NotRequired[str]
    dns_resource_group: NotRequired[str]
    failover: NotRequired[bool]
    """This endpoint is the primary of a DNS failover pair (its args then carry the secondary's address)."""
    failover_address: NotRequired[Literal["hostname", "ip"]]
    """What the secondary answers with: AWS load balancers have host names, the others IPs."""
    secondary: NotRequired[bool]
    """This endpoint is the failover target of another endpoint: it makes no DNS records."""
    failover_via: NotRequired[Literal["dns", "front-door"]]
    """A failover target: how clients reach it (DNS answers them directly; Azure Front Door
    forwards to it over HTTP, as to the primary's origin)."""
    tls: NotRequired[Literal["load-balancer", "workload"]]
    """A failover target reached by DNS: who serves the domain's certificate on port 443."""
    secondary_address: NotRequired[str]
    """A primary: the secondary's public address where its load balancer's is private (on-prem)."""


def capacity_kind(pool: NodePoolSpec) -> CapacityKind:
    """Where a pool's nodes come from: its capacity step's kind, else spot or on-demand."""
    return pool["capacity"]["kind"] if "capacity" in pool else "spot" if pool["spot"] else "on-demand"


def topology_pool(key: str, pool: NodePoolSpec) -> str:
    """The topology pool a cloud pool was planned from: its capacity step's pool, else its own key."""
    step = pool.get("capacity")
    return step["pool"] if step is not None else key


def step_path(base: tuple[str | int, ...], step: CapacitySpec) -> tuple[str | int, ...]:
    """Where a cloud pool's capacity step is written under its topology pool (``base``): its
    entry of ``capacity``, and of the step's ``spot.also`` for a spread step's other type."""
    return (*base, "capacity", step["step"], *(("spot", "also", step["also"]) if "also" in step else ()))


def reservation_of(pool: NodePoolSpec) -> str | None:
    """The reservation (or Capacity Block) a pool's capacity step consumes, where it holds one."""
    step = pool.get("capacity")
    return step.get("ref") if step is not None else None


def capacity_of(pool: NodePoolSpec) -> str:
    """Where a pool's nodes come from, in words: spot, on-demand, or its capacity step."""
    step = pool.get("capacity")
    if step is None:
        return capacity_kind(pool)
    held = f" {step['ref']} ({step['nodes']} held)" if "ref" in step else ""
    spread = f" ({_ordinal(step['also'] + 2)} GPU type)" if "also" in step else ""
    return f"{step['kind']}{held}, capacity step {step['step'] + 1}{spread}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"

"""The topology: one environment's AI infrastructure, provider-neutral.

This is the whole description users write (see the README's topology
reference): sites, clusters and their node pools, storage, workload
identities, teams, endpoints, labels, budget, placement and protection.
Every map is keyed by a stable name; keys become resource names, so
reordering a file renames nothing. The model is frozen and rejects unknown
keys; it imports no Pulumi SDK. Cross-references between sections are checked
by :func:`check_references`, catalog and capability checks by the planner.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator

from .errors import Path, Problem

__all__ = [
    "Api",
    "Autoscaling",
    "AwsSite",
    "AzureSite",
    "Backup",
    "Budget",
    "CapacityStep",
    "Cluster",
    "Deployer",
    "Endpoint",
    "Gpu",
    "Identity",
    "NodePool",
    "OnPremSite",
    "GcpSite",
    "Placement",
    "Reserved",
    "Site",
    "SpotStep",
    "Store",
    "Team",
    "Topology",
    "check_references",
    "covers_world",
    "is_private",
]

CLOUDS = ("aws", "gcp", "azure")
PROVIDERS = (*CLOUDS, "onprem")

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
"""Addresses the internet does not route (RFC 1918, and RFC 6598 shared address space)."""


def is_private(cidr: str) -> bool:
    """Whether a CIDR block (or address) lies in a range the internet does not route."""
    net = ipaddress.ip_network(cidr, strict=False)
    return isinstance(net, ipaddress.IPv4Network) and any(net.subnet_of(r) for r in PRIVATE_RANGES)


def covers_world(cidrs: list[str]) -> bool:
    """The CIDR blocks add up to every address (0.0.0.0/0 or ::/0)."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    v4 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv4Network))
    v6 = ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv6Network))
    return ipaddress.IPv4Network("0.0.0.0/0") in v4 or ipaddress.IPv6Network("::/0") in v6


def is_unroutable(cidr: str) -> bool:
    """Loopback, link-local, multicast, unspecified or reserved: no deployer comes from there."""
    net = ipaddress.ip_network(cidr, strict=False)
    a = net.network_address
    return a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified and net.prefixlen > 0 or a.is_reserved


_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_K8S_VERSION = re.compile(r"^1\.\d{2}$")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use 1-24 lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-'"
        )
    return value


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes name: use lowercase letters, digits and '-' (at most 63)")
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a CIDR block ({exc})") from None
    return str(net)


def _ipv4_cidr(value: str) -> str:
    value = _cidr(value)
    if ipaddress.ip_network(value).version != 4:
        raise ValueError(f"'{value}' is IPv6; cluster API endpoints admit IPv4 ranges (EKS refuses IPv6 on IPv4 clusters)")
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not an IPv4 address") from None


def _domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS name (lowercase, e.g. infer.acme.example)")
    return value


_HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~!$&()*+,;=:@%/-]*")


def _health_path(value: str) -> str:
    if not _HEALTH_PATH.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a plain URL path: start with / and leave out the query (?), the fragment (#) and spaces "
            "(every cloud's probe and the Cloud Armor rule that admits it must read the same path)"
        )
    return value


def _k8s_version(value: Any) -> Any:
    if isinstance(value, float):
        # 1.30 arrives as 1.3: speak of the lost zero only when one was lost.
        major, minor = str(value).split(".", 1)
        if len(minor) == 1:
            raise ValueError(f"write the version in quotes, such as \"{major}.{minor}0\": YAML reads {major}.{minor}0 as the number {value}")
        raise ValueError(f"write the version in quotes, such as \"{value}\": YAML reads it as a number")
    return value


def _version(value: str) -> str:
    if not _K8S_VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes minor version such as \"1.33\"")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    # Valid on every cloud at once: GCP labels are the strictest (lowercase,
    # <= 63 characters, letters, digits, '_' and '-'; keys start with a letter).
    for key, val in value.items():
        if not _LABEL_KEY.fullmatch(key):
            raise ValueError(
                f"label key {key!r} is not valid on every cloud: use lowercase letters, digits, '_' and '-', "
                "start with a letter, at most 63 characters"
            )
        if not _LABEL_VALUE.fullmatch(val):
            raise ValueError(
                f"label {key!r}: {val!r} is not valid on every cloud: values use lowercase letters, digits, "
                "'_' and '-', at most 63 characters"
            )
    return value


_K8S_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_K8S_LABEL_PREFIX = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _kube_labels(value: dict[str, str]) -> dict[str, str]:
    # Kubernetes label syntax: [prefix/]name, values <= 63 characters.
    for key, val in value.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and not _K8S_LABEL_PREFIX.fullmatch(prefix)) or not _K8S_LABEL_NAME.fullmatch(name):
            raise ValueError(f"{key!r} is not a Kubernetes label key ([prefix/]name, name <= 63 characters)")
        if val and not _K8S_LABEL_NAME.fullmatch(val):
            raise ValueError(f"{key!r}: {val!r} is not a Kubernetes label value (<= 63 letters, digits, '-', '_', '.')")
    return value


def _taints(value: dict[str, Any]) -> dict[str, Any]:
    # A taint's key and value follow the label syntax.
    _kube_labels({key: getattr(taint, "value", "") for key, taint in value.items()})
    return value


def _zones(value: Any) -> Any:
    """A number of zones (2 to 6) or the zones themselves (2 to 6 of them), in one message."""
    if isinstance(value, list):
        if not 2 <= len(value) <= 6 or not all(isinstance(z, str) for z in value):
            raise ValueError(f"name 2 to 6 zones, not {len(value)}" if all(isinstance(z, str) for z in value) else "zones are written as text (use1-az1)")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 6:
        raise ValueError("give the number of zones (2 to 6), or a list of the zones")
    return value


_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _node_name(value: str) -> str:
    if len(value) > 253 or not _NODE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes node name (lowercase letters, digits, '-' and '.')")
    return value


_AWS_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$")
_GCP_MEMBER = re.compile(r"^(user|group):[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$|^serviceAccount:[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
_AZURE_PRINCIPAL = re.compile(r"^(user|group|servicePrincipal):[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")


def _aws_principal(value: str) -> str:
    if value.startswith("arn:") and ":sts::" in value:
        raise ValueError(f"{value!r} is a session (assumed-role) ARN; EKS access entries take the role's own ARN, arn:aws:iam::<account>:role/<name>")
    if "/aws-service-role/" in value:
        raise ValueError(f"{value!r} is a service-linked role; EKS access entries do not take them")
    if not _AWS_PRINCIPAL.fullmatch(value):
        raise ValueError(f"{value!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def _gcp_member(value: str) -> str:
    if _GCP_MEMBER.fullmatch(value.lower()) and value != value.lower():
        raise ValueError(f"{value!r}: write the address in lower case (Kubernetes RBAC compares names exactly)")
    if not _GCP_MEMBER.fullmatch(value):
        raise ValueError(f"{value!r} is not an IAM member: write user:<email>, group:<email> or serviceAccount:<email>")
    return value


def _azure_principal(value: str) -> str:
    if not _AZURE_PRINCIPAL.fullmatch(value):
        raise ValueError(f"{value!r} is not an Entra ID principal: write user:, group: or servicePrincipal: and the object ID (a GUID)")
    return value


def _one_per_object(admins: list[str]) -> list[str]:
    ids = [a.partition(":")[2].lower() for a in admins]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"object ID {twice[0]} is listed twice; an Entra ID object is one user, group or service principal, so name it once")
    return admins


Name = Annotated[str, AfterValidator(_name)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Cidr = Annotated[str, AfterValidator(_cidr)]
IPv4Address = Annotated[str, AfterValidator(_ipv4)]
Domain = Annotated[str, AfterValidator(_domain)]
KubernetesVersion = Annotated[str, BeforeValidator(_k8s_version), AfterValidator(_version)]
Labels = Annotated[dict[str, str], AfterValidator(_labels)]
KubeLabels = Annotated[dict[str, str], AfterValidator(_kube_labels)]
MAX_COUNT = 100_000
"""More than any cloud allows in one pool or quota; the bound keeps cost arithmetic finite."""
PositiveInt = Annotated[int, Field(gt=0, le=MAX_COUNT, strict=True)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]
Api = Literal["private", "public"]
Access = Literal["read", "write", "admin"]
Cloud = Literal["aws", "gcp", "azure"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, use_attribute_docstrings=True)


# --------------------------------------------------------------------------- sites


class SiteNetwork(_Frozen):
    """The network a site's clusters live in: created from ``cidr``, or ``existing``."""

    cidr: Cidr = "10.0.0.0/16"
    """The network's IPv4 range (AWS: private subnets per zone and public ones from it; GCP: the node subnet; Azure: the node subnet and the API server's /28)."""
    pods_cidr: Cidr = "10.244.0.0/14"
    """The pods' range (GKE secondary range; AKS overlay); must not overlap cidr or services_cidr."""
    services_cidr: Cidr = "172.20.0.0/16"
    """The Kubernetes services' range (the cluster DNS takes its tenth address on AKS)."""
    zones: Annotated[int | list[str], BeforeValidator(_zones)] = 3
    """How many zones the network spans (2 to 6), or, on AWS, which ones: Availability Zone IDs
    such as ``use1-az1``, the same physical zone in every account (the names ``us-east-1a``... are
    mapped per account). Unpinned, AWS takes the region's lowest zone IDs that EKS accepts."""
    nat: Literal["single", "per_zone"] = "single"
    """AWS: one NAT gateway for the network (single), or one per zone (per_zone: no cross-zone dependency, a gateway's cost each)."""
    backup_zones: list[str] = []
    """AWS: the zone IDs of standby clusters' network in the backup region, as many as ``zones``
    (default: that region's lowest zone IDs EKS accepts)."""
    backup_cidr: Cidr | None = None
    """The address range of standby clusters' network in the backup region (default: the private
    block of ``cidr``'s size that follows it), so the two networks can be joined later. ``cidr``
    itself is accepted when written out: a standby made by an earlier topoform has it."""
    existing: ExistingNetwork | None = None
    """IDs of a network to reuse instead of creating one; topoform then makes no subnets, NAT or endpoints in it."""

    @property
    def zone_count(self) -> int:
        """How many zones the network spans, pinned or not."""
        return len(self.zones) if isinstance(self.zones, list) else self.zones


class ExistingNetwork(_Frozen):
    """IDs of a network to reuse instead of creating one (per cloud, the IDs it needs)."""

    vpc_id: str | None = None
    """AWS: the VPC's ID (vpc-...)."""
    subnet_ids: list[str] = []
    """AWS: at least two private subnets in different zones, for the cluster and its node groups."""
    network: str | None = None
    """GCP: the VPC network's name."""
    subnetwork: str | None = None
    """GCP: the node subnet's name."""
    pods_range: str | None = None
    """GCP: the node subnet's secondary range name for pods."""
    services_range: str | None = None
    """GCP: the node subnet's secondary range name for services."""
    subnet_id: str | None = None
    """Azure: the node subnet's resource ID."""
    apiserver_subnet_id: str | None = None
    """Azure: a subnet delegated to Microsoft.ContainerService/managedClusters (/28 or larger) for
    API Server VNet Integration."""


SiteNetwork.model_rebuild()


class _CloudSite(_Frozen):
    region: str
    """The cloud region the site's clusters and stores live in (aws us-east-1, gcp us-central1, azure eastus2); `validate` checks it against the catalog."""
    backup_region: str | None = None
    """Where stores with backup replicate and standby clusters run; the same jurisdiction as region (rule TF-P08)."""
    network: SiteNetwork = SiteNetwork()
    """The network the site's clusters live in."""
    jurisdiction: str | None = None
    """The legal jurisdiction of the site's data (us, eu, ...), when the catalog's for the region does not fit."""


class AwsSite(_CloudSite):
    """An AWS account and region."""

    provider: Literal["aws"]
    """The kind of site."""
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    """The AWS account (12 digits): the provider refuses to act in any other."""
    admins: list[Annotated[str, AfterValidator(_aws_principal)]] = []
    """IAM role or user ARNs (a role's path included) that get an EKS access entry with
    AmazonEKSClusterAdminPolicy on every cluster of the site; the identity `pulumi up` runs as
    must be one of them (nobody else gets in)."""


class GcpSite(_CloudSite):
    """A GCP project and region."""

    provider: Literal["gcp"]
    """The kind of site."""
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
    """The GCP project ID everything of the site is created in."""
    admins: list[Annotated[str, AfterValidator(_gcp_member)]] = []
    """IAM members (user:, group:, serviceAccount:) bound to cluster-admin in every cluster of
    the site, and given roles/container.clusterViewer on the project to reach it."""


class AzureSite(_CloudSite):
    """An Azure subscription and region."""

    provider: Literal["azure"]
    """The kind of site."""
    subscription_id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")] | None = None
    """The Azure subscription (a GUID); default: the one the CLI or environment selects."""
    resource_group: str | None = None
    """An existing resource group for the site's resources (default: topoform creates one per cluster and store)."""
    admins: Annotated[list[Annotated[str, AfterValidator(_azure_principal)]], AfterValidator(_one_per_object)] = []
    """Entra ID principals (user:, group: or servicePrincipal: and the object ID) given Azure
    Kubernetes Service RBAC Cluster Admin on every cluster of the site; the identity `pulumi up`
    signs in as must be one of them, or in one of the groups."""


class KubeconfigRef(_Frozen):
    """Where an existing cluster's kubeconfig comes from: a Pulumi config secret."""

    secret: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
    """The Pulumi config secret holding the kubeconfig (`pulumi config set --secret <name> < kubeconfig`)."""
    context: str | None = None
    """The kubeconfig context to use (default: its current context)."""


class OnPremSite(_Frozen):
    """An existing Kubernetes cluster in a data centre, reached through a kubeconfig."""

    provider: Literal["onprem"]
    """The kind of site."""
    kubeconfig: KubeconfigRef
    """How to reach the existing cluster."""
    storage_class: DnsLabel
    """The encrypted StorageClass stores claim their volumes from."""
    jurisdiction: str | None = None
    """The legal jurisdiction of the site's data (us, eu, ...)."""
    backup_target: Name | None = None
    """A cloud store (its key) that Velero backs this site's stores up to."""


Site = Annotated[AwsSite | GcpSite | AzureSite | OnPremSite, Field(discriminator="provider")]


# --------------------------------------------------------------------------- clusters


class Gpu(_Frozen):
    """A logical GPU type from the catalog and how many per node."""

    type: str
    """A logical GPU type: T4, L4, A10, A10G, L40S, A100-40GB, A100-80GB, H100, H200, B200."""
    count: PositiveInt = 1
    """GPUs per node."""


class Taint(_Frozen):
    value: str = ""
    """The taint's value."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    """NoSchedule, PreferNoSchedule or NoExecute."""


GCP_RESERVATION = r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?(/reservationBlocks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?)?$"
"""A Compute Engine reservation: its name, or a shared one's path, either with a block of it."""


class PoolOverride(_Frozen):
    """Escape hatch: the cloud's own machine vocabulary for one pool."""

    machine_type: str | None = None
    """The cloud's machine type instead of the catalog's choice (p5.48xlarge, a3-highgpu-8g, Standard_ND96isr_H100_v5)."""
    accelerator: str | None = None
    """GCP: the accelerator type for a machine_type outside the catalog (nvidia-h100-80gb)."""
    zones: list[str] = []
    """The zones this pool runs in (AWS: zone IDs such as use1-az4, among the site's; GCP: us-central1-a, among those offering the GPU; Azure: 1, 2 or 3)."""
    standby_zones: list[str] = []
    """Zones of the backup region for this pool in the standby cluster (default: the cloud's)."""
    disk_type: str | None = None
    """The node boot disk type (AWS: an EBS volume type such as ``gp3``; GCP: ``pd-balanced``,
    ``hyperdisk-balanced``...); default: the catalog's for the machine."""
    reservation: Annotated[str, Field(pattern=GCP_RESERVATION)] | None = None
    """GCP: the Compute Engine reservation the pool's on-demand nodes consume (its name,
    ``projects/<project>/reservations/<name>`` for a shared one, with ``/reservationBlocks/<block>``
    for one block of it); name its zone in ``zones``."""


class ClusterOverride(_Frozen):
    """Escape hatch: cloud-specific cluster settings."""

    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] | None = None
    """GCP: the GKE release channel (default REGULAR)."""
    security_group: Annotated[str, Field(pattern=r"^gke-security-groups@[a-z0-9.-]+$")] | None = None
    """GCP: the gke-security-groups@<domain> group that turns on Google Groups for RBAC (needed for teams)."""
    sku_tier: Literal["Free", "Standard", "Premium"] | None = None
    """Azure: the AKS tier (default Standard, with the uptime SLA)."""
    support_type: Literal["STANDARD", "EXTENDED"] | None = None
    """AWS: STANDARD (default) or EXTENDED support, which costs six times as much."""
    log_retention_days: PositiveInt | None = None
    """How long control-plane and flow logs are kept (default 365)."""
    encryption_at_host: bool = True
    """Azure: encrypt the nodes' temporary disks and caches at the VM host (the subscription's
    ``Microsoft.Compute/EncryptionAtHost`` feature registered); ``false`` where a VM size lacks it."""
    read_buckets: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]] = []
    """AWS: buckets outside the topology (open datasets, say) the cluster's workloads may read.
    In the cluster's region, S3 is reached through the VPC's gateway endpoint, whose policy
    admits only the topology's stores (as the identities are granted), ECR's image layers and
    these; reads of other buckets in that region are refused there."""
    api_endpoint: Literal["dns", "ip"] | None = None
    """GCP: how `pulumi up` and kubectl reach the API. ``dns`` (default): the DNS-based endpoint,
    which admits IAM-authorized callers from anywhere; ``ip``: the IP endpoint only (private: from
    the VPC or a connected network), the DNS endpoint closed to outside traffic."""


class Autoscaling(_Frozen):
    """How the cluster's autoscaler shrinks and grows its autoscaled pools (``min`` < ``max``),
    described once for every cloud: Cluster Autoscaler flags on EKS (topoform installs it), the
    cluster autoscaler profile on AKS, the autoscaling profile on GKE (two presets, not numbers)."""

    scale_down_utilization: Annotated[float, Field(gt=0, le=1)] = 0.5
    """A node whose pods request less than this share of its CPU and memory (of its GPUs, on a
    GPU node) is a candidate for removal. GKE: above 0.5 takes its optimize-utilization profile."""
    scale_down_after_minutes: Annotated[int, Field(ge=1, le=1440, strict=True)] = 10
    """How long a node stays a candidate before it is removed. GKE: below 10 takes its
    optimize-utilization profile."""
    expander: Literal["least-waste", "most-pods", "random"] | None = None
    """Which pool grows when several could take the pending pods (default least-waste, the
    cheapest fit; GKE chooses for itself, so it cannot be set there)."""


PLAIN_CAPACITY = ("on-demand", "spot", "flex-start")
"""The capacity steps that name no reservation."""


class Reserved(_Frozen):
    """A step of capacity held for the pool: a reservation, or an AWS Capacity Block."""

    model_config = ConfigDict(**{**_Frozen.model_config, "json_schema_extra": {"oneOf": [{"required": ["reservation"]}, {"required": ["capacity_block"]}]}})

    reservation: Annotated[str, Field(min_length=1)] | None = None
    """The reservation the step's nodes consume: AWS an On-Demand Capacity Reservation
    (``cr-`` and 17 hex digits) or a capacity reservation group's ARN; GCP a reservation's name
    (``projects/<project>/reservations/<name>`` for a shared one); Azure a capacity reservation
    group's resource ID (the cluster's identity gets a role of its own to deploy into it)."""
    capacity_block: Annotated[str, Field(pattern=r"^cr-[0-9a-f]{17}$")] | None = None
    """AWS: a Capacity Block for ML (its reservation ID, ``cr-`` and 17 hex digits)."""
    zone: Annotated[str, Field(min_length=1)] | None = None
    """The zone the reservation is in (AWS: its Availability Zone ID such as use1-az4; GCP:
    us-central1-a; Azure: 1, 2 or 3): the step's nodes run there. Required on AWS and GCP; on
    Azure left out for a capacity reservation group made without zones (Azure then places the
    nodes in the zone it chose for the group)."""
    nodes: PositiveInt
    """How many of the pool's machines it holds, the most the step adds. A reservation's run all
    the time (it is billed whether they run or not, and `topoform cost` bills them all); a Capacity
    Block's, paid when bought, come as the autoscaler asks while the block is active."""

    def kind(self) -> str:
        return "capacity-block" if self.capacity_block is not None else "reservation"

    def ref(self) -> str:
        return self.capacity_block or self.reservation or ""


def _exactly_one(step: Reserved) -> Reserved:
    if (step.reservation is None) == (step.capacity_block is None):
        raise ValueError("give exactly one of reservation or capacity_block")
    return step


class SpotAlternatives(_Frozen):
    """The other GPU types a spot step may take, each with the pool's GPUs per node."""

    also: Annotated[list[str], Field(min_length=1)]
    """Logical GPU types besides the pool's own (A10G beside L4, say), none with less memory: one
    spot pool of each, taken after the pool's own in the order written, so the autoscaler turns
    to another machine when one runs out (GKE picks among them itself)."""


class SpotStep(_Frozen):
    """A spot step spread across GPU types: ``{spot: {also: [A10G]}}``."""

    spot: SpotAlternatives
    """The GPU types the step takes besides the pool's own."""

    def kind(self) -> str:
        return "spot"

    def ref(self) -> str:
        return ""


def _step_tag(value: Any) -> str:
    if isinstance(value, SpotStep) or (isinstance(value, dict) and "spot" in value):
        return "spread"
    return "reserved" if isinstance(value, (dict, Reserved)) else "plain"


def _plain_step(value: Any) -> Any:
    if isinstance(value, str) and value not in PLAIN_CAPACITY:
        raise ValueError(f"unknown capacity {value!r}; use one of: {', '.join(PLAIN_CAPACITY)}, or a mapping with reservation or capacity_block")
    return value


CapacityStep = Annotated[
    Annotated[Literal["on-demand", "spot", "flex-start"], BeforeValidator(_plain_step), Tag("plain")]
    | Annotated[Reserved, AfterValidator(_exactly_one), Tag("reserved")]
    | Annotated[SpotStep, Tag("spread")],
    Discriminator(_step_tag),
]
"""One step of a pool's capacity list: ``on-demand``, ``spot``, ``flex-start`` (GCP's Dynamic
Workload Scheduler), a :class:`Reserved` mapping, or a :class:`SpotStep` across GPU types."""

CAPACITY_TAGS = ("plain", "reserved", "spread")
"""The capacity union's tags (not document keys)."""


def step_kind(step: str | Reserved | SpotStep) -> str:
    """``on-demand``, ``spot``, ``flex-start``, ``reservation`` or ``capacity-block``."""
    return step if isinstance(step, str) else step.kind()


class NodePool(_Frozen):
    """A set of identical nodes: CPU (``instance``) or GPU (``gpu``), autoscaled or fixed."""

    gpu: Gpu | None = None
    """GPU nodes: a logical GPU type and how many per node."""
    instance: str | None = None
    """CPU nodes: a logical size (cpu-2x8, cpu-4x16, cpu-8x32, cpu-16x64, cpu-32x128)."""
    min: Count | None = None
    """The fewest nodes the autoscaler keeps."""
    max: Count | None = None
    """The most nodes the autoscaler adds (what cost maxima and budgets count)."""
    nodes: PositiveInt | None = None
    """A fixed node count instead of min/max (on-prem pools: the existing nodes)."""
    spot: bool = False
    """Spot (preemptible) capacity (the same as ``capacity: [spot]``)."""
    capacity: list[CapacityStep] = []
    """Where the pool's nodes come from, in order: the autoscaler takes the first step that can
    give a node (reserved capacity first: it is billed whether used or not), then the next.
    A spot step may spread across GPU types, one spot pool each: ``{spot: {also: [A10G]}}``.
    Default: on-demand (spot with ``spot: true``)."""
    interconnect: Literal["standard", "fast"] = "standard"
    """fast: join the nodes with the machine's fabric for multi-node training, in one zone (AWS:
    EFA interfaces and a cluster placement group; GCP: GPUDirect-RDMA NICs on A3 Ultra and A4
    through GKE's accelerator network profile; Azure: InfiniBand on ND-series, pods asking for
    rdma/ib); the catalog says which machines have one."""
    scratch: Literal["disk", "local-nvme"] = "disk"
    """Where pods' scratch space (emptyDir, images, logs) lives: the node disk (disk_gb), or the
    machine's local NVMe disks, fast and gone with the node (AWS instance store, GCP local SSD)."""
    disk_gb: Annotated[int, Field(ge=20, le=16384, strict=True)] | None = None
    """The node disk in GB (default 200 for GPU pools, 100 for CPU pools)."""
    labels: KubeLabels = {}
    """Extra Kubernetes labels on the pool's nodes (topoform.io/* is reserved)."""
    taints: Annotated[dict[str, Taint], AfterValidator(_taints)] = {}
    """Extra taints {key: {value, effect}} (nvidia.com/gpu is set on every GPU pool)."""
    node_selector: KubeLabels = {}
    """On-prem: labels that select the existing nodes of this pool."""
    node_names: list[Annotated[str, AfterValidator(_node_name)]] = []
    """On-prem: existing nodes that get the platform label and taint."""
    overrides: dict[Cloud, PoolOverride] = {}
    """Per cloud, the cloud's own vocabulary for this pool."""


class Cluster(_Frozen):
    """A Kubernetes cluster on a site: created on a cloud, existing on-prem."""

    site: Name
    """The site (its key) the cluster runs on."""
    kubernetes_version: KubernetesVersion | None = None
    """A minor version the cloud supports, as a string ("1.35"); default: the catalog's."""
    api: Api = "private"
    """private (default): the API admits the cluster's network and deployer.networks alone; public requires allowed_cidrs."""
    allowed_cidrs: list[Annotated[str, AfterValidator(_ipv4_cidr)]] = []
    """IPv4 networks that may reach a public API (besides the deployer's)."""
    node_pools: dict[Name, NodePool]
    """The cluster's pools by key; a cloud cluster needs a CPU pool with min 1 or more for system pods."""
    autoscaling: Autoscaling = Autoscaling()
    """How the autoscaler scales the cluster's autoscaled pools (every cloud runs one; on-prem
    clusters keep their nodes)."""
    standby: bool = False
    """Also run this cluster in the site's backup region, GPU pools at 0 until needed."""
    previous_names: list[Name] = []
    """Former keys of this cluster: its resources keep their URNs through a rename."""
    labels: Labels = {}
    """Extra tags or labels for this cluster's resources."""
    overrides: dict[Cloud, ClusterOverride] = {}
    """Per cloud, settings only that cloud has."""


# --------------------------------------------------------------------------- storage


class Backup(_Frozen):
    """Where a store is replicated: the site's ``backup_region`` unless ``region`` is given."""

    region: str | None = None
    """The region replicas go to (default: the site's backup_region)."""


def _backup(value: Any) -> Any:
    if value is True:
        return {}
    if value is False:
        return None
    return value


class Store(_Frozen):
    """An object store (bucket / storage account / PVC on-prem)."""

    site: Name
    """The site (its key) the store lives on."""
    size_gb: Annotated[int, Field(gt=0, le=10**9, strict=True)] | None = None
    """How much data it holds, in GB: what `topoform cost` prices (on-prem: the claim's size)."""
    backup: Annotated[Backup | None, BeforeValidator(_backup, json_schema_input_type=Backup | bool | None)] = None
    """true, or {region}: replicate to the backup region with a key of its own there (on-prem: back up to the site's backup_target)."""
    retention_days: Annotated[int, Field(ge=1, le=3650, strict=True)] | None = None
    """How long old object versions are kept (default 30)."""
    monthly_change_percent: Annotated[float, Field(ge=0, le=100)] = 10.0
    """How much of the data changes a month: what replication transfers, for `topoform cost`."""
    access: Literal["private", "public"] = "private"
    """private (default), or public: readable by anyone, which the policy pack flags (spelled out on purpose)."""
    encryption: Literal["customer-managed", "provider-managed"] = "customer-managed"
    """customer-managed (default: a key of the store's own) or provider-managed."""
    namespace: DnsLabel | None = None
    """On-prem: the namespace of the store's claim (default storage)."""
    previous_names: list[Name] = []
    """Former keys of this store: its resources keep their URNs through a rename."""


# --------------------------------------------------------------------------- access


class Identity(_Frozen):
    """A workload identity: a Kubernetes service account that gets cloud access to stores."""

    cluster: Name
    """The cluster (its key) the workload runs in."""
    namespace: DnsLabel
    """The workload's namespace."""
    service_account: DnsLabel
    """The Kubernetes service account the workload runs as."""
    access: dict[Name, Access] = {}
    """Stores (their keys) and what the workload may do with each: read, write or admin."""
    previous_names: list[Name] = []
    """Former keys of this identity: its resources keep their URNs through a rename."""


_GUID = r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$"


class TeamOverride(_Frozen):
    """How a team's group is known on one cloud."""

    group: str | None = None
    """The group as that cloud's Kubernetes sees it (Azure: the Entra ID group's object ID)."""
    principal_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] | None = None
    """AWS: the IAM role the team assumes; EKS maps it to the team's group (an access entry)."""


class Team(_Frozen):
    """A group of people bound to a built-in Kubernetes role in namespaces of clusters."""

    group: Annotated[str, Field(min_length=1)]
    """The team's group as the clouds' Kubernetes RBAC sees it (an e-mail; on Azure see overrides.azure.group)."""
    role: Literal["view", "edit", "admin"] = "view"
    """The built-in Kubernetes role the team gets in its namespaces: view (default), edit or admin."""
    namespaces: dict[Name, list[DnsLabel]] = {}
    """Per cluster (its key), the namespaces the team works in."""
    gpu_quota: Count | None = None
    """The most GPUs the team's pods may request in each of its namespaces."""
    overrides: dict[Cloud, TeamOverride] = {}
    """Per cloud, how the team's group is known there."""


class Service(_Frozen):
    """The workload behind an endpoint: its namespace, its pods' selector and port."""

    namespace: DnsLabel
    """The namespace of the workload's pods."""
    name: DnsLabel
    """The workload's name: pods labelled app.kubernetes.io/name=<name> are selected unless selector says otherwise."""
    port: Annotated[int, Field(ge=1, le=65535, strict=True)]
    """The port the workload listens on."""
    selector: KubeLabels = {}
    """Pod labels; default ``app.kubernetes.io/name: <name>``."""


class EndpointOverride(_Frozen):
    dns_resource_group: str | None = None
    """Azure: the resource group of the DNS zone."""


class HealthCheck(_Frozen):
    path: Annotated[str, AfterValidator(_health_path)] = "/healthz"
    """A path without query or fragment: load balancers probe it, and Cloud Armor matches it."""
    interval_seconds: Annotated[int, Field(ge=5, le=300, strict=True)] = 30
    """Seconds between health probes (5 to 300)."""


class Endpoint(_Frozen):
    """A load balancer in front of a cluster service."""

    cluster: Name
    """The cluster (its key) the workload runs in."""
    service: Service
    """The workload behind the endpoint."""
    exposure: Literal["public", "internal"] = "internal"
    """internal (default): a private load balancer; public: TLS on the domain, only allowed_cidrs admitted."""
    domain: Domain | None = None
    """The public endpoint's host name (a certificate and a DNS record are made for it)."""
    allowed_cidrs: list[Cidr] = []
    """Networks a public endpoint admits; [0.0.0.0/0] admits everyone (spelled out on purpose)."""
    failover: Name | None = None
    """A second cluster (its key) that serves the endpoint when this one is unhealthy."""
    health_check: HealthCheck = HealthCheck()
    """The path and interval load balancers and DNS failover probe."""
    dns_zone: Domain | None = None
    """The DNS zone holding ``domain`` (default: ``domain`` without its first label)."""
    failover_address: IPv4Address | None = None
    """The address the internet reaches the failover target at, where its own load balancer's
    address is private (an on-prem cluster behind NAT)."""
    failover_tls: Literal["load-balancer", "workload"] | None = None
    """Who serves the domain's certificate on the failover target: its cloud load balancer
    (AWS) or the workload itself on port 443 (``workload``: what every other target needs)."""
    overrides: dict[Cloud, EndpointOverride] = {}
    """Per cloud, settings only that cloud has (Azure: the DNS zone's resource group)."""


# --------------------------------------------------------------------------- environment


class Deployer(_Frozen):
    """Where `pulumi up` runs: private cluster APIs answer these networks and no one else's."""

    networks: list[Annotated[str, AfterValidator(_ipv4_cidr)]] = []
    """The deployer's IPv4 networks. Public CIDRs (a CI runner's or a VPN's egress): EKS and AKS
    open their API endpoint to these only. Private CIDRs (a VPN or peering into the cluster's
    network): admitted on port 443 of the private endpoint. GKE needs none: its DNS endpoint
    admits callers by IAM. Who the deployer is, is each site's ``admins``."""


class Budget(_Frozen):
    monthly_usd: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)]
    """The monthly budget in USD: the maximum estimate above it is a violation (rule budget-within-limit)."""


class Placement(_Frozen):
    """Where GPU capacity may go when comparing offerings (``topoform place``)."""

    clouds: list[Literal["aws", "gcp", "azure", "onprem"]] = []
    """Clouds `topoform place` may propose for GPU pools (default: all)."""
    regions: list[str] = []
    """Regions `topoform place` may propose (default: any in the catalog)."""
    jurisdictions: list[str] = []
    """Jurisdictions `topoform place` may propose (default: any)."""
    spot: bool = True
    """Whether `topoform place` may propose spot capacity."""


class Topology(_Frozen):
    """One environment's AI infrastructure."""

    name: Name
    """The system's short name: the first part of every resource name."""
    environment: Name
    """The environment (a Pulumi stack): dev, staging, prod..."""
    extends: str | None = None
    """A base topology file this one extends (maps merge by key; this file wins)."""
    labels: Labels = {}
    """Labels (tags) on every resource; keys and values that every cloud accepts."""
    budget: Budget | None = None
    """The monthly budget the maximum cost estimate must fit (`topoform check`)."""
    protect: bool | None = None
    """Protect stateful resources and keep them on delete (default: true for prod environments)."""
    placement: Placement = Placement()
    """Where GPU capacity may go when `topoform place` compares offerings."""
    deployer: Deployer = Deployer()
    """Where `pulumi up` runs, so private cluster APIs can admit it (and no one else)."""
    sites: dict[Name, Site]
    """Where things run: a cloud account and region, or an existing on-prem cluster, by key."""
    clusters: dict[Name, Cluster] = {}
    """Kubernetes clusters with GPU node pools, by key."""
    storage: dict[Name, Store] = {}
    """Encrypted object stores, by key."""
    identities: dict[Name, Identity] = {}
    """Workload identities: service accounts with cloud access to stores, by key."""
    teams: dict[Name, Team] = {}
    """Teams: a group bound to a role in namespaces, with a GPU quota, by key."""
    endpoints: dict[Name, Endpoint] = {}
    """Load balancers in front of cluster services, by key."""

    @field_validator("sites")
    @classmethod
    def _some_site(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("define at least one site")
        return value

    @property
    def protected(self) -> bool:
        """Stateful resources are protected: ``protect:`` if set, else true for prod environments."""
        if self.protect is not None:
            return self.protect
        return self.environment.startswith("prod")


# --------------------------------------------------------------------------- references


BACKUP_RULE = "backup-region-same-jurisdiction"
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")


def _backup_rule(t: Topology) -> str | None:
    """The policy that judges a backup in the primary region, where it judges this topology: it
    looks at protected stores only, so elsewhere the choice stays invalid input."""
    return BACKUP_RULE if t.protected else None


def check_references(t: Topology) -> list[Problem]:
    """Cross-section checks the field types cannot express; every problem names its path."""
    return list(_references(t))


def _known(kind: str, names: dict[str, Any]) -> str:
    return f"known {kind}: {', '.join(sorted(names)) or '(none)'}"


def _references(t: Topology) -> Iterator[Problem]:
    for section in ("clusters", "storage", "identities"):
        claimed: dict[str, str] = {}
        for key, entry in getattr(t, section).items():
            for i, old in enumerate(entry.previous_names):
                if old in claimed:
                    yield Problem((section, key, "previous_names", i), f"'{old}' is already a previous name of '{claimed[old]}'")
                claimed[old] = key
    yield from _site_refs(t)
    yield from _deployer_refs(t)
    yield from _cluster_refs(t)
    yield from _store_refs(t)
    yield from _access_refs(t)
    yield from _endpoint_refs(t)
    yield from _shared_keys(t)


def _shared_keys(t: Topology) -> Iterator[Problem]:
    """Component names derive from keys, so a key names one entry across these sections."""
    seen: dict[str, str] = {}
    for section in ("clusters", "storage", "identities", "teams", "endpoints"):
        for key in getattr(t, section):
            if key in seen:
                yield Problem((section, key), f"'{key}' is already the key of an entry in {seen[key]}; resource names derive from keys, so use another")
            else:
                seen[key] = section


def _site_refs(t: Topology) -> Iterator[Problem]:
    hosting = {c.site for c in t.clusters.values()}
    for key, site in t.sites.items():
        why = _ADMINS_REQUIRED.get(site.provider)
        if why and key in hosting and not getattr(site, "admins", None):
            yield Problem(
                ("sites", key, "admins"),
                f"{why}: name who may manage the site's clusters, the identity `pulumi up` runs as among them",
            )
        if isinstance(site, (AwsSite, GcpSite, AzureSite)) and site.backup_region == site.region:
            yield Problem(
                ("sites", key, "backup_region"), f"'{site.backup_region}' is the primary region; a backup region must differ", rule=_backup_rule(t)
            )
        if isinstance(site, OnPremSite) and site.backup_target is not None:
            target = t.storage.get(site.backup_target)
            if target is None:
                yield Problem(("sites", key, "backup_target"), f"unknown store '{site.backup_target}'; {_known('stores', t.storage)}")
            elif isinstance(t.sites.get(target.site), OnPremSite):
                yield Problem(("sites", key, "backup_target"), f"store '{site.backup_target}' is on-prem; back up to a cloud store")


def _deployer_refs(t: Topology) -> Iterator[Problem]:
    networks = t.deployer.networks
    for i, cidr in enumerate(networks):
        if is_unroutable(cidr):
            yield Problem(("deployer", "networks", i), f"{cidr} is not a network `pulumi up` can run from (loopback, link-local, multicast or reserved)")
    if networks and covers_world(networks):
        yield Problem(
            ("deployer", "networks"),
            "these networks cover the whole internet, which would open every private cluster API to everyone; "
            "list the deployer's own egress ranges",
            rule="cluster-api-not-public",
        )


# What a private API needs from `deployer.networks`, per cloud: EKS and AKS admit callers by
# network; GKE's DNS-based endpoint admits them by IAM from anywhere.
_PRIVATE_API_BY_NETWORK = {
    "aws": "a private EKS API answers only inside its VPC",
    "azure": "a private AKS API answers only inside its VNet",
    "gcp": "with overrides.gcp.api_endpoint: ip, a private GKE API answers only inside its VPC",
}
# Who may manage a cluster is named, on the clouds where nobody else may (EKS access entries,
# Azure RBAC for Kubernetes): the identity `pulumi up` runs as must be among them.
_ADMINS_REQUIRED = {
    "aws": "EKS admits only principals with an access entry",
    "azure": "with Azure RBAC for Kubernetes, not even a subscription Owner may write into an AKS cluster",
}


def _reached_by_network(cluster: Cluster, provider: str) -> bool:
    """Whether the deployer reaches this cluster's private API by network (not by IAM)."""
    if provider == "gcp":
        o = cluster.overrides.get("gcp")
        return o is not None and o.api_endpoint == "ip"
    return provider in ("aws", "azure")


def _cluster_refs(t: Topology) -> Iterator[Problem]:
    onprem_clusters: dict[str, str] = {}
    for key, cluster in t.clusters.items():
        if isinstance(t.sites.get(cluster.site), OnPremSite):
            if cluster.site in onprem_clusters:
                yield Problem(
                    ("clusters", key, "site"),
                    f"on-prem site '{cluster.site}' is one existing cluster, already described by cluster '{onprem_clusters[cluster.site]}'; "
                    "add your pools there",
                )
            onprem_clusters.setdefault(cluster.site, key)
    for key, cluster in t.clusters.items():
        base: Path = ("clusters", key)
        site = t.sites.get(cluster.site)
        if site is None:
            yield Problem((*base, "site"), f"unknown site '{cluster.site}'; {_known('sites', t.sites)}")
        if cluster.api == "public" and not cluster.allowed_cidrs:
            yield Problem((*base, "allowed_cidrs"), "a public API needs allowed_cidrs (the networks that may reach it); or use api: private")
        if cluster.api == "private" and cluster.allowed_cidrs and not isinstance(site, OnPremSite):
            yield Problem((*base, "allowed_cidrs"), "only used with api: public; remove it or set api: public")
        by_network = site is not None and not isinstance(site, OnPremSite) and _reached_by_network(cluster, site.provider)
        if by_network and cluster.api == "private" and not t.deployer.networks:
            assert site is not None
            yield Problem(
                (*base, "api"),
                f"{_PRIVATE_API_BY_NETWORK[site.provider]}, and `pulumi up` writes into it: list where `pulumi up` runs in deployer.networks "
                "(public egress CIDRs get the API endpoint opened to them alone; private CIDRs reach it over a VPN or peering)",
            )
        elif (
            by_network and cluster.api == "private" and site is not None and site.provider == "gcp"
            and not any(is_private(c) for c in t.deployer.networks)
        ):
            # GKE has no public IP endpoint for a private API: only a VPN or peering reaches it.
            yield Problem(
                (*base, "api"),
                f"{_PRIVATE_API_BY_NETWORK['gcp']}, and deployer.networks has no private network (a VPN or peering into the VPC): "
                "add it, or leave api_endpoint at dns (reached by IAM from anywhere)",
            )
        if not cluster.node_pools:
            yield Problem((*base, "node_pools"), "define at least one node pool")
        yield from _previous_names(base, key, cluster.previous_names, t.clusters)
        for pool_key, pool in cluster.node_pools.items():
            yield from _pool(("clusters", key, "node_pools", pool_key), pool)
        if cluster.standby and site is not None and not getattr(site, "backup_region", None):
            yield Problem((*base, "standby"), f"site '{cluster.site}' has no backup_region for the standby cluster")
        if cluster.standby and f"{key}-standby" in t.clusters:
            yield Problem((*base, "standby"), f"the standby of '{key}' is named '{key}-standby', which is another cluster's key; rename that one")


def _store_refs(t: Topology) -> Iterator[Problem]:
    for key, store in t.storage.items():
        base: Path = ("storage", key)
        site = t.sites.get(store.site)
        if site is None:
            yield Problem((*base, "site"), f"unknown site '{store.site}'; {_known('sites', t.sites)}")
        elif store.backup is not None:
            region = store.backup.region or getattr(site, "backup_region", None)
            if isinstance(site, OnPremSite):
                if site.backup_target is None:
                    yield Problem((*base, "backup"), f"on-prem site '{store.site}' has no backup_target (a cloud store to back up to)")
            elif region is None:
                yield Problem((*base, "backup"), f"site '{store.site}' has no backup_region; set it or write backup: {{region: ...}}")
            elif region == site.region:
                yield Problem((*base, "backup", "region"), f"'{region}' is the store's own region; a backup region must differ", rule=_backup_rule(t))
        yield from _previous_names(base, key, store.previous_names, t.storage)
        if store.namespace is not None and site is not None and not isinstance(site, OnPremSite):
            yield Problem((*base, "namespace"), "only on-prem stores live in a namespace (as a PersistentVolumeClaim); remove it")


def _access_refs(t: Topology) -> Iterator[Problem]:
    for key, ident in t.identities.items():
        base: Path = ("identities", key)
        if ident.cluster not in t.clusters:
            yield Problem((*base, "cluster"), f"unknown cluster '{ident.cluster}'; {_known('clusters', t.clusters)}")
        for store_key in ident.access:
            if store_key not in t.storage:
                yield Problem((*base, "access", store_key), f"unknown store '{store_key}'; {_known('stores', t.storage)}")
        yield from _previous_names(base, key, ident.previous_names, t.identities)
    for key, team in t.teams.items():
        for cluster_key, namespaces in team.namespaces.items():
            if cluster_key not in t.clusters:
                yield Problem(("teams", key, "namespaces", cluster_key), f"unknown cluster '{cluster_key}'; {_known('clusters', t.clusters)}")
            for i, ns in enumerate(namespaces):
                if ns in SYSTEM_NAMESPACES:
                    yield Problem(("teams", key, "namespaces", cluster_key, i), f"'{ns}' belongs to the cluster's system; a team's role there reaches every workload's secrets")
        if not team.namespaces:
            yield Problem(("teams", key, "namespaces"), "name at least one cluster and its namespaces, e.g. {train: [training]}")


def _endpoint_refs(t: Topology) -> Iterator[Problem]:
    for key, ep in t.endpoints.items():
        base: Path = ("endpoints", key)
        if ep.cluster not in t.clusters:
            yield Problem((*base, "cluster"), f"unknown cluster '{ep.cluster}'; {_known('clusters', t.clusters)}")
        if ep.failover is not None:
            if ep.failover not in t.clusters:
                yield Problem((*base, "failover"), f"unknown cluster '{ep.failover}'; {_known('clusters', t.clusters)}")
            elif ep.failover == ep.cluster:
                yield Problem((*base, "failover"), "must name another cluster than the endpoint's own")
        if ep.dns_zone and ep.domain and not (ep.domain == ep.dns_zone or ep.domain.endswith("." + ep.dns_zone)):
            yield Problem((*base, "dns_zone"), f"'{ep.dns_zone}' does not hold '{ep.domain}': name the zone the domain is in")
        if ep.exposure == "public":
            if ep.domain is None:
                yield Problem((*base, "domain"), "a public endpoint needs a domain (its TLS certificate is issued for it)")
            if not ep.allowed_cidrs:
                yield Problem(
                    (*base, "allowed_cidrs"),
                    "a public endpoint needs allowed_cidrs; write [0.0.0.0/0] to open it to everyone",
                )
        yield from _failover_refs(t, key, ep)


def _provider_of(t: Topology, cluster: str | None) -> str | None:
    c = t.clusters.get(cluster or "")
    site = t.sites.get(c.site) if c is not None else None
    return site.provider if site is not None else None


def _failover_refs(t: Topology, key: str, ep: Endpoint) -> Iterator[Problem]:
    """How clients reach the failover target, and whether they can: the target is reached the way
    the primary's front end calls it (DNS answers the client directly, Front Door forwards over
    HTTP), from the internet, with TLS for the domain."""
    base: Path = ("endpoints", key)
    primary, target = _provider_of(t, ep.cluster), _provider_of(t, ep.failover)
    public = ep.exposure == "public"
    if not public or ep.failover is None or primary is None or target is None:
        for field in ("failover_address", "failover_tls"):
            if getattr(ep, field) is not None:
                yield Problem((*base, field), "only used by a public endpoint with a failover")
        return
    if primary == "azure":
        if target != "azure":
            yield Problem(
                (*base, "failover"),
                f"an Azure endpoint fails over through Front Door, which forwards to its origins over HTTP from AzureFrontDoor.Backend "
                f"addresses; '{ep.failover}' is on {target}: fail over to an AKS cluster",
            )
        if ep.failover_tls is not None:
            yield Problem((*base, "failover_tls"), "Front Door serves the domain's certificate for every origin; remove it")
    else:
        # DNS failover: clients connect to the target directly, over HTTPS for the domain.
        if target != "aws" and ep.failover_tls != "workload":
            yield Problem(
                (*base, "failover_tls"),
                f"DNS failover sends clients straight to '{ep.failover}', whose {target} load balancer passes port 443 through: "
                "write failover_tls: workload once its workload serves the domain's certificate",
            )
    if target == "onprem":
        if ep.failover_address is None:
            yield Problem(
                (*base, "failover_address"),
                f"'{ep.failover}' is on-prem: its load balancer's address is not known in advance and is usually private; "
                "give the public address the internet reaches it at",
            )
    elif ep.failover_address is not None:
        yield Problem((*base, "failover_address"), f"'{ep.failover}' is on {target}: its load balancer's public address is used; remove it")
    if ep.failover_address is not None and (is_private(ep.failover_address) or is_unroutable(ep.failover_address)):
        yield Problem((*base, "failover_address"), f"{ep.failover_address} is not reachable from the internet; give the public address")


def _pool(base: Path, pool: NodePool) -> Iterator[Problem]:
    if (pool.gpu is None) == (pool.instance is None):
        yield Problem(base, "give exactly one of gpu: {type: ..., count: ...} or instance: cpu-<vcpus>x<GiB>")
    if pool.nodes is not None and (pool.min is not None or pool.max is not None):
        yield Problem((*base, "nodes"), "give either nodes (a fixed size) or min/max (autoscaling), not both")
    elif pool.nodes is None:
        if pool.min is None or pool.max is None:
            missing = "min" if pool.min is None else "max"
            yield Problem((*base, missing), "autoscaling pools need both min and max (or give nodes: N for a fixed size)")
        elif pool.min > pool.max:
            yield Problem((*base, "min"), f"min ({pool.min}) is greater than max ({pool.max})")
        elif pool.max == 0:
            yield Problem((*base, "max"), "max must be at least 1")


def _previous_names(base: Path, key: str, previous: list[str], siblings: dict[str, Any]) -> Iterator[Problem]:
    for i, old in enumerate(previous):
        if old == key or old in siblings:
            yield Problem((*base, "previous_names", i), f"'{old}' is the name of a current entry; previous names must be free")

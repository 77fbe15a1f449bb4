"""The interface every kind of site implements for planning (pure: no Pulumi).

One stateless profile class per provider (``aws``, ``gcp``, ``azure``,
``onprem``) subclasses :class:`CloudProfile`. What a provider cannot do is
data: :attr:`CloudProfile.unsupported` maps a :class:`Capability` to the
reason, and the planner turns every request for a missing capability into a
problem naming the field. The profile resolves the neutral topology into the
provider's spec (machine types from the catalog, node images, pool names,
network address plan); the planner owns everything that is the same
everywhere (labels, taints, names, protection).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..catalog import Catalog, Offering
from ..errors import Path, Problem
from ..model import Autoscaling, Cluster, NodePool, OnPremSite, SiteNetwork, is_private, step_kind
from ..specs import AutoscalerSpec, GpuClusterSpec, NetworkSpec, NodePoolSpec

__all__ = ["ApiNetworks", "Capability", "CloudProfile", "PoolChoice", "api_networks"]


class Capability(StrEnum):
    """Things a topology can ask of a site that not every kind of site can do."""

    CREATE_CLUSTER = "create a cluster"
    AUTOSCALE = "autoscale node pools (min/max)"
    SPOT = "use spot capacity"
    CHOOSE_VERSION = "choose the Kubernetes version"
    API_ACCESS = "choose API endpoint access"
    STANDBY = "run a standby cluster in the backup region"
    SIZE_NODES = "size node disks"
    CATALOG_MACHINES = "choose machine types from the catalog"
    LABEL_EXISTING_NODES = "label and taint existing nodes (node_names, node_selector)"
    PUBLIC_STORE = "serve a store publicly"
    CHOOSE_STORE_ENCRYPTION = "choose a store's encryption keys"
    REPLICATE_STORE = "replicate a store to a backup region"
    RESERVATION = "consume a named capacity reservation"
    CAPACITY_BLOCK = "use a Capacity Block for ML (capacity_block)"
    FLEX_START = "use flex-start capacity (GCP's Dynamic Workload Scheduler)"
    CAPACITY_ORDER = "obtain a pool's capacity in a stated order (a capacity list of two or more steps)"
    CHOOSE_CAPACITY = "choose where a pool's nodes come from (capacity)"
    CHOOSE_DISK_TYPE = "choose a node pool's disk type"
    FABRIC = "join a pool's nodes with the machine's fabric (interconnect: fast)"
    LOCAL_NVME = "put pods' scratch space on the machine's local NVMe (scratch: local-nvme)"


_STEP_CAPABILITY = {
    "reservation": Capability.RESERVATION,
    "capacity-block": Capability.CAPACITY_BLOCK,
    "flex-start": Capability.FLEX_START,
    "spot": Capability.SPOT,
}


@dataclass(frozen=True)
class PoolChoice:
    """The machine picked for a pool and why."""

    machine_type: str
    accelerator: str | None
    offering: Offering | None


class CloudProfile:
    """How one kind of site turns the neutral topology into its resolved spec."""

    name: ClassVar[str]
    unsupported: ClassVar[Mapping[Capability, str]] = {}
    """Capability -> why this kind of site cannot do it (shown to the user)."""
    cluster_name_limit: ClassVar[int] = 63
    api_cidr_limit: ClassVar[int | None] = None
    """How many CIDR blocks the cluster's public API endpoint admits at most."""
    pool_limit: ClassVar[int | None] = None
    """How many node pools a cluster may have at most (a limit the cloud does not raise)."""
    device_plugin: ClassVar[bool] = False
    """Whether GPU nodes need our NVIDIA device plugin DaemonSet (no managed one)."""
    scratch_bundled: ClassVar[bool] = False
    """Whether machines that come with local disks keep pods' scratch space on them whatever the
    pool says (GKE's own default on A3 and A2 Ultra), so the pool states their count always."""
    default_disk_gb: ClassVar[dict[bool, int]] = {True: 200, False: 100}
    chains_expanders: ClassVar[bool] = True
    """Whether the autoscaler takes a chain of expanders (``priority,least-waste``); else the
    priority expander alone orders capacity lists (AKS takes one)."""
    sees_failed_launches: ClassVar[bool] = True
    """Whether the autoscaler learns at once that a pool cannot get a machine (EKS: from the Auto
    Scaling group's scaling activities). Where it waits out its node provision time first (AKS:
    15 minutes, then back to the first choice when the back-off ends), a spread spot step must be
    the last of its list, or a later step would be reached late or never."""
    regional_reservations: ClassVar[bool] = False
    """Whether a reservation step may name no zone (a reservation made for the whole region)."""
    fabric_gaps: ClassVar[Mapping[str, str]] = {}
    """Fabric kind (the catalog's) -> why topoform does not build it on this cloud, where the
    cloud builds others (``interconnect: fast`` on such a machine is refused with the reason)."""
    fabric_cidrs: ClassVar[Mapping[str, tuple[str, str]]] = {}
    """Fabric kind -> the address range its network holds on each node, and whose word that is:
    a site network, pod or service range overlapping it is refused where a pool has that fabric."""
    cloud_unsupported: ClassVar[Mapping[Capability, str]] = {
        Capability.LABEL_EXISTING_NODES: "cloud node pools get their labels and taints when they are created",
        Capability.RESERVATION: "topoform does not yet place its pools in this cloud's reservations",
        Capability.CAPACITY_BLOCK: "Capacity Blocks for ML are AWS's; reserve capacity here with a reservation step",
        Capability.FLEX_START: "flex-start is GCP's Dynamic Workload Scheduler; on AWS a Capacity Block holds GPUs for a planned run",
    }

    def supports(self, capability: Capability) -> bool:
        return capability not in self.unsupported

    def builds_fabric(self, offering: Offering) -> bool:
        """Whether ``interconnect: fast`` on this machine gets its fabric here: the machine has
        one (the catalog's), and topoform builds that kind on this cloud."""
        return self.supports(Capability.FABRIC) and offering.fabric is not None and offering.fabric.kind not in self.fabric_gaps

    def capability_problems(self, base: Path, cluster: Cluster) -> Iterator[Problem]:
        """One problem per field that asks for a capability this site lacks."""
        asks: list[tuple[Capability, Path, bool]] = [
            (Capability.CHOOSE_VERSION, (*base, "kubernetes_version"), cluster.kubernetes_version is not None),
            (Capability.API_ACCESS, (*base, "api"), cluster.api != "private" or bool(cluster.allowed_cidrs)),
            (Capability.STANDBY, (*base, "standby"), cluster.standby),
            (Capability.AUTOSCALE, (*base, "autoscaling"), "autoscaling" in cluster.model_fields_set),
        ]
        for key, pool in cluster.node_pools.items():
            p = (*base, "node_pools", key)
            asks += [
                (Capability.AUTOSCALE, (*p, "min"), pool.min is not None or pool.max is not None),
                (Capability.SPOT, (*p, "spot"), pool.spot),
                (Capability.FABRIC, (*p, "interconnect"), pool.interconnect == "fast"),
                (Capability.LOCAL_NVME, (*p, "scratch"), pool.scratch == "local-nvme"),
                (Capability.SIZE_NODES, (*p, "disk_gb"), pool.disk_gb is not None),
                (Capability.LABEL_EXISTING_NODES, (*p, "node_names"), bool(pool.node_names or pool.node_selector)),
                (Capability.CHOOSE_CAPACITY, (*p, "capacity"), bool(pool.capacity)),
                (Capability.CAPACITY_ORDER, (*p, "capacity"), len(pool.capacity) > 1),
            ]
            asks += [(_STEP_CAPABILITY[kind], (*p, "capacity", i), True) for i, kind in enumerate(map(step_kind, pool.capacity)) if kind in _STEP_CAPABILITY]
            own = pool.overrides.get(self.name)  # type: ignore[call-overload]
            if own is not None:
                asks += [
                    (Capability.RESERVATION, (*p, "overrides", self.name, "reservation"), own.reservation is not None),
                    (Capability.CHOOSE_DISK_TYPE, (*p, "overrides", self.name, "disk_type"), own.disk_type is not None),
                ]
            for cloud in pool.overrides:
                if cloud != self.name:
                    yield Problem((*p, "overrides", cloud), f"does not apply to a {self.name} site; remove it")
        for cloud in cluster.overrides:
            if cloud != self.name:
                yield Problem((*base, "overrides", cloud), f"does not apply to a {self.name} site; remove it")
        for capability, path, asked in asks:
            if asked and capability in self.unsupported:
                yield Problem(path, f"{self.name} sites cannot {capability.value}: {self.unsupported[capability]}")

    # -- hooks a provider overrides --------------------------------------------------

    def cluster_problems(self, base: Path, cluster: Cluster) -> Iterator[Problem]:
        """What this kind of site refuses in a cluster, beyond the capabilities it lacks."""
        return iter(())

    def network(self, base: Path, net: SiteNetwork) -> tuple[NetworkSpec | None, list[Problem]]:
        """The address plan of a new network, or the existing network's IDs."""
        return None, []

    def autoscaler(self, base: Path, asked: Autoscaling, version: str, catalog: Catalog) -> tuple[AutoscalerSpec | None, list[Problem]]:
        """The cluster autoscaler's settings on this kind of site (``base`` is the
        ``autoscaling`` field's path); clouds take the numbers as given, least-waste by default."""
        return {
            "scale_down_utilization": asked.scale_down_utilization,
            "scale_down_after_minutes": asked.scale_down_after_minutes,
            "expander": asked.expander or "least-waste",
        }, []

    def reservation_problem(self, kind: str, ref: str, machine: str) -> str | None:
        """What is wrong with a reservation (or Capacity Block) of ``machine`` named ``ref`` on
        this cloud, if anything."""
        return None

    def pool_image(self, gpu: bool) -> str | None:
        """The node image family for a CPU or GPU pool."""
        return None

    def pool_name(self, key: str) -> str | None:
        """The physical pool name, where the cloud restricts it (else Pulumi auto-names)."""
        return None

    def gpu_zones(self, base: Path, accelerator: str | None, region: str, asked: list[str], catalog: Catalog) -> tuple[list[str] | None, list[Problem]]:
        """The zones a GPU pool runs in: the ones it names (checked against the catalog where the
        catalog knows where the GPU is offered), else those, else the cloud's choice (None)."""
        return (list(asked) or None), []

    def zone_pattern(self, region: str) -> tuple[str, str] | None:
        """How a zone of ``region`` is written on this cloud (a regular expression and an
        example), or None where pools cannot be placed in zones."""
        return None

    def pins_network_zones(self) -> bool:
        """Whether a site's network may name its zones (else it spans a number of them)."""
        return False

    def cluster_extras(self, cluster: Cluster) -> dict[str, Any]:
        """Cloud-only cluster settings (from ``overrides.<cloud>``)."""
        return {}

    def deployer_access(self, spec: GpuClusterSpec) -> str:
        """How `pulumi up` reaches and is authorized in a cluster of this kind (one line)."""
        return "through the site's kubeconfig"

    def admin_subject(self, admin: str) -> tuple[str, str] | None:
        """The Kubernetes RBAC subject (kind, name) that a site admin is bound as in the cluster
        (clouds whose IAM cannot grant per-cluster admin rights), else ``None``."""
        return None

    def store_name(self, system: str, environment: str, key: str, suffix: str = "") -> str:
        """A store's physical name where the cloud needs one; empty means Pulumi auto-names it."""
        return ""

    # -- shared resolution -----------------------------------------------------------

    def choose_machine(
        self, base: Path, pool: NodePool, region: str, catalog: Catalog
    ) -> tuple[PoolChoice | None, list[Problem]]:
        """Pick the catalog machine for a pool in ``region`` (or honour ``overrides``)."""
        override = pool.overrides.get(self.name)  # type: ignore[call-overload]
        if pool.gpu is not None:
            return self._choose_gpu(base, pool, region, catalog, override.machine_type if override else None, override.accelerator if override else None)
        assert pool.instance is not None
        if override and override.machine_type:
            return PoolChoice(override.machine_type, None, None), []
        if pool.instance not in catalog.logical.cpus:
            known = ", ".join(catalog.logical.cpus)
            return None, [Problem((*base, "instance"), f"unknown CPU size '{pool.instance}'; known: {known}")]
        offering = catalog.cpu_offering(self.name, pool.instance)
        if offering is None:
            return None, [Problem((*base, "instance"), f"'{pool.instance}' has no {self.name} machine in the catalog")]
        return PoolChoice(offering.machine, None, offering), []

    def _choose_gpu(
        self, base: Path, pool: NodePool, region: str, catalog: Catalog, machine: str | None, accelerator: str | None
    ) -> tuple[PoolChoice | None, list[Problem]]:
        assert pool.gpu is not None
        gpu, count = pool.gpu.type, pool.gpu.count
        if gpu not in catalog.logical.gpus:
            known = ", ".join(catalog.logical.gpus)
            return None, [Problem((*base, "gpu", "type"), f"unknown GPU '{gpu}'; known: {known}")]
        offerings = catalog.gpu_offerings(self.name, gpu)
        if machine is not None:
            same = next((o for o in offerings if o.machine == machine), None)
            return PoolChoice(machine, accelerator or (same.accelerator if same else None), same), []
        if not offerings:
            return None, [Problem((*base, "gpu", "type"), f"{gpu} is not offered on {self.name}; {_offered(catalog, gpu, None)}")]
        sized = [o for o in offerings if o.gpus == count]
        if not sized:
            counts = " or ".join(str(c) for c in sorted({o.gpus for o in offerings}))
            return None, [Problem((*base, "gpu", "count"), f"{gpu} on {self.name} comes with {counts} per node, not {count}")]
        here = [o for o in sized if region in catalog.clouds[self.name].region_names(o)]
        if not here:
            return None, [
                Problem(
                    (*base, "gpu", "type"),
                    f"{gpu} x{count} is not offered in {self.name} {region}; {_offered(catalog, gpu, count)}",
                )
            ]
        spot = pool.spot or "spot" in map(step_kind, pool.capacity)
        usable = [o for o in here if spot or not o.spot_only]
        if not usable:
            machines = ", ".join(o.machine for o in here)
            return None, [Problem((*base, "spot"), f"{machines} ({gpu} x{count}) is sold only as spot capacity on {self.name}; set spot: true")]
        choice = usable[0]
        override = pool.overrides.get(self.name)  # type: ignore[call-overload]
        reservation = override.reservation if override is not None else None
        if choice.reservation_only and not pool.spot and reservation is None and not pool.capacity:
            return None, [
                Problem(
                    (*base, "overrides", self.name, "reservation"),
                    f"{choice.machine} ({gpu} x{count}) is sold on {self.name} only reserved or as spot: name the reservation its nodes consume here, or set spot: true",
                )
            ]
        if reservation is not None and pool.spot:
            return None, [Problem((*base, "overrides", self.name, "reservation"), "spot nodes consume no reservation: remove it, or set spot: false")]
        return PoolChoice(choice.machine, choice.accelerator, choice), []


def _offered(catalog: Catalog, gpu: str, count: int | None) -> str:
    where = catalog.where_offered(gpu, count)
    if not where:
        return "it is not offered anywhere in the catalog" + (f" with {count} per node" if count else "")
    return "offered in: " + "; ".join(f"{cloud}: {', '.join(regions)}" for cloud, regions in where.items())


def split_cidr(base: Path, net: SiteNetwork, zones: int) -> tuple[list[str], list[str], list[Problem]]:
    """Private per-zone subnets from the first blocks of the CIDR, public ones from the last block."""
    network = ipaddress.ip_network(net.cidr)
    blocks = 1
    while blocks < zones + 1:
        blocks *= 2
    extra = blocks.bit_length() - 1
    if network.prefixlen + extra > 22 or network.version != 4:
        return [], [], [Problem((*base, "cidr"), f"{net.cidr} is too small for {zones} zones; use an IPv4 /20 or larger")]
    parts = list(network.subnets(prefixlen_diff=extra))
    private = [str(p) for p in parts[:zones]]
    pub_blocks = 1
    while pub_blocks < zones:
        pub_blocks *= 2
    public = [str(p) for p in list(parts[-1].subnets(prefixlen_diff=pub_blocks.bit_length() - 1))[:zones]]
    return private, public, []


def overlap_problems(base: Path, net: SiteNetwork, pods: str | None, services: str) -> list[Problem]:
    """Pod and service ranges must not overlap the node network or each other."""
    problems = []
    node = ipaddress.ip_network(net.cidr)
    svc = ipaddress.ip_network(services)
    if svc.overlaps(node):
        problems.append(Problem((*base, "services_cidr"), f"{services} overlaps the network {net.cidr}; choose another range"))
    if pods is not None:
        pod = ipaddress.ip_network(pods)
        if pod.overlaps(node):
            problems.append(Problem((*base, "pods_cidr"), f"{pods} overlaps the network {net.cidr}; choose another range"))
        if pod.overlaps(svc):
            problems.append(Problem((*base, "pods_cidr"), f"{pods} overlaps services_cidr {services}"))
    return problems


@dataclass(frozen=True)
class ApiNetworks:
    """Who may reach a cluster's API by network from outside it, split by how they get there."""

    public: list[str]
    """Internet CIDRs the API endpoint admits: a public API's ``allowed_cidrs`` and the deployer's
    public egress."""
    private: list[str]
    """Private CIDRs (a VPN or peering into the cluster's network) the private endpoint admits."""


def api_networks(spec: GpuClusterSpec) -> ApiNetworks:
    """Split ``allowed_cidrs`` (public APIs only) and ``deployer_networks`` by reachability."""
    allowed = spec["allowed_cidrs"] if spec["api_access"] == "public" else []
    cidrs = list(dict.fromkeys([*allowed, *spec.get("deployer_networks", [])]))
    return ApiNetworks([c for c in cidrs if not is_private(c)], [c for c in cidrs if is_private(c)])


def is_onprem(site: object) -> bool:
    return isinstance(site, OnPremSite)

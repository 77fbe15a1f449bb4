"""The machine catalog: logical GPU types and CPU sizes -> each cloud's offerings.

Data, not code: one YAML file per cloud beside this module (``aws.yaml``,
``gcp.yaml``, ``azure.yaml``) plus ``logical.yaml`` for the logical types.
Every offering names its machine type, accelerator (where the cloud needs
one), GPUs per node, the regions it is offered in, and on-demand and spot
hourly prices; every price cites its source and the date it was read.
The files are validated on load, so a typo in the data fails every test.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..source import LOADER

__all__ = ["Catalog", "CloudCatalog", "Offering", "Price", "RegionalPrice", "ServicePrice", "Source", "load_catalog"]

_DIR = Path(__file__).parent


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Data):
    """Where figures come from; ``date`` is the date the source states, ``read`` when we read it."""

    url: str
    date: str | None = None
    read: str
    note: str = ""

    def cite(self) -> str:
        """The source as reports quote it: its URL, the date it states and when it was read."""
        return f"{self.url} ({self.date or 'undated'}, read {self.read})"


class Price(_Data):
    """Hourly USD prices for one machine in ``region``; ``None`` where no source gave one."""

    on_demand: float | None
    spot: float | None = None
    region: str
    source: str
    note: str = ""


class RegionalPrice(_Data):
    """Hourly USD prices of one machine in a region other than its ``price.region``."""

    on_demand: float | None
    spot: float | None = None
    source: str


class Fabric(_Data):
    """A machine's network for multi-node training: what joins its GPUs to other nodes'."""

    kind: Literal["efa", "gpudirect-tcpx", "gpudirect-tcpxo", "gpudirect-rdma", "infiniband"]
    interfaces: int
    """How many fabric interfaces a node has (AWS: EFA interfaces, its maximumEfaInterfaces)."""
    source: str


class LocalNvme(_Data):
    """A machine's local NVMe disks (instance store, local SSD): fast, and gone with the node."""

    disks: int | None = None
    """How many (GKE attaches them by count); None where only the total is known."""
    gb: int | None = None
    """Their total size in GB, where the source gives it."""
    source: str

    @model_validator(mode="after")
    def _known(self) -> LocalNvme:
        if self.disks is None and self.gb is None:
            raise ValueError("local_nvme needs its disk count or its size in GB")
        return self


class Offering(_Data):
    """One machine type: a GPU offering (``gpu``/``gpus``) or a CPU size (``cpu``)."""

    machine: str
    gpu: str | None = None
    gpus: int = 0
    accelerator: str | None = None
    spot_only: bool = False
    reservation_only: bool = False
    """On-demand capacity only through a reservation (the machine is also sold as spot)."""
    boot_disk: str | None = None
    """The boot disk type this machine needs, where the cloud's default does not fit it."""
    fabric: Fabric | None = None
    """Its fabric for multi-node training, where it has one (``interconnect: fast``)."""
    local_nvme: LocalNvme | None = None
    """Its local NVMe disks, where it has them (``scratch: local-nvme``)."""
    cpu: str | None = None
    vcpus: int
    memory_gib: float
    regions: list[str] | Literal["all"] = "all"
    price: Price
    prices: dict[str, RegionalPrice] = {}
    """Prices in further regions, where a source gave them (placement compares regions by these)."""
    note: str = ""

    def hourly(self, region: str | None, spot: bool) -> tuple[float | None, str, str]:
        """``(USD per hour, the region the price is for, its source)``: the region's own price
        where the catalog has one of that kind, else the reference region's."""
        regional = self.prices.get(region or "")
        usd = None if regional is None else regional.spot if spot else regional.on_demand
        if regional is not None and usd is not None:
            return usd, region or "", regional.source
        return (self.price.spot if spot else self.price.on_demand), self.price.region, self.price.source

    def priced_regions(self, spot: bool) -> dict[str, float]:
        """``{region: USD per hour}`` for every region with its own price of that kind."""
        out = {}
        reference = self.price.spot if spot else self.price.on_demand
        if reference is not None:
            out[self.price.region] = reference
        for region, p in self.prices.items():
            usd = p.spot if spot else p.on_demand
            if usd is not None:
                out[region] = usd
        return dict(sorted(out.items()))

    @model_validator(mode="after")
    def _kind(self) -> Offering:
        if (self.gpu is None) == (self.cpu is None):
            raise ValueError(f"{self.machine}: give exactly one of gpu or cpu")
        if self.gpu is not None and self.gpus < 1:
            raise ValueError(f"{self.machine}: a GPU offering needs gpus >= 1")
        return self


class Region(_Data):
    jurisdiction: str
    name: str = ""


class Kubernetes(_Data):
    versions: list[str]
    default: str
    source: str


class ClusterAutoscaler(_Data):
    """The Cluster Autoscaler release topoform installs, per Kubernetes minor (its versions
    follow Kubernetes': "use the latest Cluster Autoscaler release that corresponds to the minor
    version of Kubernetes")."""

    images: dict[str, str]
    source: str


class ControlPlane(_Data):
    usd_per_hour: float
    source: str
    note: str = ""


ServiceName = Literal[
    "nat_gateway", "load_balancer", "internal_load_balancer", "object_storage", "inter_region_transfer", "interface_endpoint", "gateway_endpoint",
    "container_networking",
]


class ServicePrice(_Data):
    """A list price of a managed service in the cloud's reference region."""

    usd: float
    per: Literal["hour", "month", "GB-month", "GB", "node-hour"]
    source: str
    cap_usd_per_hour: float | None = None
    """A ceiling on the hourly charge (GCP Cloud NAT is billed per VM up to a cap)."""
    what: str = ""
    """What is billed, as the cost report names it."""
    note: str = ""


class CloudCatalog(_Data):
    """Everything the catalog knows about one cloud."""

    cloud: Literal["aws", "gcp", "azure"]
    reference_region: str
    """The region service prices (and offerings' ``price``) are for."""
    sources: dict[str, Source]
    regions: dict[str, Region]
    kubernetes: Kubernetes
    control_plane: ControlPlane
    services: dict[ServiceName, ServicePrice] = {}
    offerings: list[Offering]
    boot_disk: str | None = None
    """The boot disk type node pools get unless a machine needs another (GCP ``pd-balanced``)."""
    cluster_autoscaler: ClusterAutoscaler | None = None
    """Where topoform installs the autoscaler itself (EKS): its image per Kubernetes minor."""
    gpu_zones: dict[str, dict[str, list[str]]] = {}
    """Accelerator -> region -> the zones (GCP: their letters) that offer it."""
    gpu_zones_source: str | None = None

    def zones_offering(self, accelerator: str | None, region: str) -> list[str] | None:
        """The zones of ``region`` with ``accelerator`` (full names), or None where the catalog does not know."""
        letters = self.gpu_zones.get(accelerator or "", {}).get(region)
        return None if letters is None else [f"{region}-{z}" for z in letters]

    @model_validator(mode="after")
    def _consistent(self) -> CloudCatalog:
        known = set(self.sources)
        refs = [
            self.kubernetes.source,
            self.control_plane.source,
            *(p.source for p in self.services.values()),
            *(o.price.source for o in self.offerings),
            *(p.source for o in self.offerings for p in o.prices.values()),
            *([self.gpu_zones_source] if self.gpu_zones_source else []),
            *([self.cluster_autoscaler.source] if self.cluster_autoscaler else []),
            *(o.fabric.source for o in self.offerings if o.fabric is not None),
            *(o.local_nvme.source for o in self.offerings if o.local_nvme is not None),
        ]
        for ref in refs:
            if ref not in known:
                raise ValueError(f"{self.cloud}: source '{ref}' is not defined under sources")
        if self.kubernetes.default not in self.kubernetes.versions:
            raise ValueError(f"{self.cloud}: default Kubernetes version is not in versions")
        if self.cluster_autoscaler is not None:
            missing = sorted(set(self.kubernetes.versions) - set(self.cluster_autoscaler.images))
            if missing:
                raise ValueError(f"{self.cloud}: no Cluster Autoscaler image for Kubernetes {', '.join(missing)}")
        for o in self.offerings:
            if o.regions != "all":
                unknown = sorted(set(o.regions) - set(self.regions))
                if unknown:
                    raise ValueError(f"{self.cloud}: {o.machine} lists unknown regions {unknown}")
            unpriced = sorted(set(o.prices) - set(self.region_names(o)))
            if unpriced:
                raise ValueError(f"{self.cloud}: {o.machine} has prices for regions it is not offered in: {unpriced}")
        return self

    def region_names(self, offering: Offering) -> list[str]:
        return sorted(self.regions) if offering.regions == "all" else list(offering.regions)


class LogicalGpu(_Data):
    memory_gb: int
    note: str = ""


class LogicalCpu(_Data):
    vcpus: int
    memory_gib: int


class Logical(_Data):
    gpus: dict[str, LogicalGpu]
    cpus: dict[str, LogicalCpu]


class Catalog(_Data):
    """The whole catalog: logical types and every cloud's offerings."""

    logical: Logical
    clouds: dict[str, CloudCatalog] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _logical_refs(self) -> Catalog:
        for cloud in self.clouds.values():
            for o in cloud.offerings:
                if o.gpu is not None and o.gpu not in self.logical.gpus:
                    raise ValueError(f"{cloud.cloud}: {o.machine} names unknown logical GPU '{o.gpu}'")
                if o.cpu is not None and o.cpu not in self.logical.cpus:
                    raise ValueError(f"{cloud.cloud}: {o.machine} names unknown CPU size '{o.cpu}'")
        return self

    # -- lookups ---------------------------------------------------------------------

    def gpu_offerings(self, cloud: str, gpu: str) -> list[Offering]:
        """Offerings of ``gpu`` on ``cloud``, fewest GPUs first."""
        return sorted(
            (o for o in self.clouds[cloud].offerings if o.gpu == gpu),
            key=lambda o: (o.gpus, o.price.on_demand if o.price.on_demand is not None else float("inf"), o.machine),
        )

    def offering(self, cloud: str, machine: str) -> Offering | None:
        """The offering of machine type ``machine`` on ``cloud``."""
        for o in self.clouds[cloud].offerings:
            if o.machine == machine:
                return o
        return None

    def cpu_offering(self, cloud: str, cpu: str) -> Offering | None:
        for o in self.clouds[cloud].offerings:
            if o.cpu == cpu:
                return o
        return None

    def where_offered(self, gpu: str, count: int | None = None, clouds: Iterable[str] | None = None) -> dict[str, list[str]]:
        """``{cloud: [regions]}`` where ``gpu`` (with exactly ``count`` per node, if given) is offered."""
        out: dict[str, list[str]] = {}
        for name in sorted(clouds if clouds is not None else self.clouds):
            cloud = self.clouds[name]
            regions: set[str] = set()
            for o in cloud.offerings:
                if o.gpu == gpu and (count is None or o.gpus == count):
                    regions.update(cloud.region_names(o))
            if regions:
                out[name] = sorted(regions)
        return out


@functools.cache
def load_catalog(directory: str | None = None) -> Catalog:
    """Load and validate the catalog files (cached: the data never changes at run time)."""
    base = Path(directory) if directory else _DIR
    with open(base / "logical.yaml", encoding="utf-8") as fh:
        logical = yaml.load(fh, Loader=LOADER)
    clouds = {}
    for name in ("aws", "gcp", "azure"):
        with open(base / f"{name}.yaml", encoding="utf-8") as fh:
            clouds[name] = yaml.load(fh, Loader=LOADER)
    return Catalog.model_validate({"logical": logical, "clouds": clouds})

"""Where each GPU pool would be cheapest: SkyPilot's optimizer, applied to infrastructure.

Pure: reads a :class:`~topoform.planner.Plan`, the topology's ``placement`` constraint and the
catalog. For every GPU pool it prices the same GPU type with the same GPUs per node on every
cloud and in every region the catalog has a price for, keeps the offerings the constraint
allows (clouds, regions, jurisdictions, spot), ranks them by hourly price, and says why each
other offering loses. The pool keeps its capacity type: an on-demand pool is compared with
on-demand prices, a spot pool with spot prices (on-demand where ``placement.spot`` is false).

A pool with a capacity list is weighed step by step: its reserved nodes are billed wherever the
rest run, so only the nodes beyond them are compared, at the price of the first step after the
reservations; every step is listed with its price.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from .catalog import Catalog, load_catalog
from .cost import HOURS_PER_MONTH, STEP_NOTES, cents
from .model import Placement
from .planner import Plan
from .providers import profile
from .specs import NodePoolSpec, reservation_of, topology_pool

__all__ = ["Constraints", "Offer", "PoolPlacement", "Rejected", "Step", "constraints", "place", "to_json"]

CLOUDS = ("aws", "gcp", "azure")
"""Where new capacity can be bought (on-prem sites cannot create nodes)."""


@dataclass(frozen=True)
class Offer:
    """One priced way to run the pool: a machine type in a region."""

    cloud: str
    region: str
    jurisdiction: str
    machine: str
    hourly_usd: Decimal
    monthly_max_usd: Decimal
    """The pool at its maximum node count for a month."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hourly_usd"], d["monthly_max_usd"] = float(self.hourly_usd), float(self.monthly_max_usd)
        return d


@dataclass(frozen=True)
class Rejected:
    """An offering the constraint rules out (or that is not offered at all), and why."""

    cloud: str
    region: str
    machine: str
    reason: str


@dataclass(frozen=True)
class Step:
    """One step of a pool's capacity list where the pool is now, priced."""

    kind: str
    ref: str
    nodes: int
    """The nodes it holds (reserved) or may add at most."""
    hourly_usd: Decimal | None
    """Per node; ``None`` where the catalog has no price (a Capacity Block is priced when bought)."""
    monthly_usd: Decimal | None
    """Reserved: what it bills every month; otherwise its nodes at most, for a month."""
    note: str = ""
    source: str = ""
    """Where the price comes from, with its date (the catalog's source)."""
    instead: str = ""
    """A spot step's other machine and GPU type, priced beside the pool's own (empty for the step itself)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("hourly_usd", "monthly_usd"):
            d[k] = None if d[k] is None else float(d[k])
        return d


@dataclass(frozen=True)
class PoolPlacement:
    """The comparison for one GPU pool."""

    path: str
    gpu: str
    gpus_per_node: int
    max_nodes: int
    capacity: str
    current: Offer | None
    """The pool's own cloud and region, priced (``None``: on-prem, or no price)."""
    ranked: list[Offer]
    """Allowed offerings, cheapest first; the first is the pick."""
    rejected: list[Rejected] = field(default_factory=list)
    unpriced_regions: dict[str, list[str]] = field(default_factory=dict)
    """Per cloud: regions where the machine is offered but the catalog has no price."""
    steps: list[Step] = field(default_factory=list)
    """The pool's capacity list where it is now, priced (empty without one)."""
    held: int = 0
    """Nodes its reservations hold: billed wherever the others run, so not compared."""
    where: str = ""
    """The pool's own cloud and region (``onprem`` for owned nodes), priced or not."""

    @property
    def best(self) -> Offer | None:
        return self.ranked[0] if self.ranked else None

    @property
    def saving_monthly_usd(self) -> Decimal:
        """What the pick saves a month at maximum scale (0 when the pool is already there)."""
        if self.current is None or self.best is None:
            return Decimal(0)
        return max(self.current.monthly_max_usd - self.best.monthly_max_usd, Decimal(0))

    def why_not(self, offer: Offer) -> str:
        best = self.best
        if best is None or offer == best:
            return "the pick"
        gap = offer.hourly_usd - best.hourly_usd
        return f"${gap:,.4f}/h more than {best.cloud} {best.region}" if gap else f"ties with {best.cloud} {best.region}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "gpu": self.gpu,
            "gpus_per_node": self.gpus_per_node,
            "max_nodes": self.max_nodes,
            "capacity": self.capacity,
            "current": self.current.to_dict() if self.current else None,
            "best": self.best.to_dict() if self.best else None,
            "saving_monthly_usd": float(self.saving_monthly_usd),
            "ranked": [{**o.to_dict(), "why_not": self.why_not(o)} for o in self.ranked],
            "rejected": [asdict(r) for r in self.rejected],
            "unpriced_regions": self.unpriced_regions,
            "held": self.held,
            "where": self.where,
            "steps": [step.to_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class Constraints:
    """The topology's ``placement``, defaults resolved."""

    clouds: tuple[str, ...]
    regions: tuple[str, ...]
    """Empty: any region."""
    jurisdictions: tuple[str, ...]
    spot: bool

    def why_not(self, cloud: str, region: str, jurisdiction: str) -> str | None:
        """Why ``cloud``/``region`` is ruled out, or ``None``."""
        if cloud not in self.clouds:
            return f"placement.clouds allows only {', '.join(self.clouds)}"
        if self.regions and region not in self.regions:
            return "not in placement.regions"
        if jurisdiction not in self.jurisdictions:
            return f"jurisdiction {jurisdiction}, not {', '.join(self.jurisdictions)}"
        return None


def constraints(plan: Plan, placement: Placement) -> Constraints:
    """Jurisdictions default to those of the topology's sites, so data does not move abroad
    unless ``placement.jurisdictions`` says it may; clouds default to every cloud."""
    clouds = tuple(c for c in CLOUDS if not placement.clouds or c in placement.clouds)
    jurisdictions = tuple(sorted(set(placement.jurisdictions) or {s.jurisdiction for s in plan.sites.values() if s.jurisdiction}))
    return Constraints(clouds, tuple(placement.regions), jurisdictions, placement.spot)


def _pools(plan: Plan) -> Iterator[tuple[str, str, str, NodePoolSpec, list[NodePoolSpec]]]:
    """Each GPU pool of the topology (a capacity list's steps together, in order)."""
    for key in sorted(plan.clusters):
        cluster = plan.clusters[key]
        if key.endswith(".standby"):
            continue  # a standby follows its primary
        steps: dict[str, list[NodePoolSpec]] = {}
        for pool_key, pool in cluster.spec["node_pools"].items():
            if "gpu_type" in pool:
                steps.setdefault(topology_pool(pool_key, pool), []).append(pool)
        for pool_key in sorted(steps):
            ordered = sorted(steps[pool_key], key=lambda p: p["capacity"]["step"] if "capacity" in p else 0)
            # the pool as compared: its first step after the reservations (the first, without any)
            compared = next((p for p in ordered if reservation_of(p) is None), ordered[0])
            yield f"clusters.{key}.node_pools.{pool_key}", cluster.provider, cluster.spec.get("region", ""), compared, ordered if "capacity" in ordered[0] else []


def _steps(cat: Catalog, provider: str, region: str, ordered: list[NodePoolSpec], extra: int) -> list[Step]:
    """The capacity list where the pool is, each step at its price: reserved steps billed for
    every node they hold, the others for the ``extra`` nodes beyond them at most."""
    out = []
    for pool in ordered:
        step = pool["capacity"]
        offering = cat.offering(provider, pool["machine_type"]) if provider in CLOUDS else None
        held = "ref" in step
        nodes = step.get("nodes", 0) if held else extra
        usd, _, ref = (None, "", "") if offering is None or step["kind"] == "capacity-block" else offering.hourly(region, step["kind"] == "spot")
        hourly = None if usd is None else Decimal(str(usd))
        src = cat.clouds[provider].sources.get(ref) if usd is not None else None
        source = src.cite() if src is not None else ""
        note = STEP_NOTES.get(step["kind"], "")
        monthly = None if hourly is None else cents(hourly * nodes * HOURS_PER_MONTH)
        out.append(Step(step["kind"], step.get("ref", ""), nodes, hourly, monthly, note, source, f"{pool['machine_type']} ({pool['gpu_count']}x {pool['gpu_type']})" if "also" in step else ""))
    return out


def _current(cat: Catalog, provider: str, region: str, machine: str, spot: bool, nodes: int) -> Offer | None:
    """The pool where it is now, priced (``None``: on-prem, or the catalog has no price)."""
    offering = cat.offering(provider, machine) if provider in CLOUDS else None
    if offering is None:
        return None
    usd, _, _ = offering.hourly(region, spot)
    if usd is None:
        return None
    regions = cat.clouds[provider].regions
    hourly = Decimal(str(usd))
    return Offer(provider, region, regions[region].jurisdiction if region in regions else "", machine, hourly, cents(hourly * nodes * HOURS_PER_MONTH))


def place(plan: Plan, allowed: Constraints, catalog: Catalog | None = None) -> list[PoolPlacement]:
    """Compare every GPU pool of ``plan`` across the clouds and regions ``allowed``."""
    cat = catalog or load_catalog()
    out = []
    for path, provider, region, pool, ordered in _pools(plan):
        spot = bool(pool["spot"]) and allowed.spot
        capacity = "spot" if spot else "on-demand"
        held = sum(int(p["capacity"].get("nodes", 0)) for p in ordered if reservation_of(p) is not None)
        # the nodes compared: those beyond the reservations (none if the list holds nothing else)
        nodes = 0 if reservation_of(pool) is not None else int(pool["max_nodes"])
        ranked: list[Offer] = []
        rejected: list[Rejected] = []
        unpriced: dict[str, list[str]] = {}
        for cloud in CLOUDS:
            cc = cat.clouds[cloud]
            offerings = [o for o in cat.gpu_offerings(cloud, pool["gpu_type"]) if o.gpus == pool["gpu_count"]]
            if not offerings:
                rejected.append(Rejected(cloud, "", "", f"no machine with {pool['gpu_count']}x {pool['gpu_type']}"))
                continue
            builds = profile(cloud)
            for o in offerings:
                if "fabric" in pool and not builds.builds_fabric(o):
                    # interconnect: fast asks for the machine's fabric, which only some machines have (and topoform builds)
                    rejected.append(Rejected(cloud, "", o.machine, "no fabric topoform builds (interconnect: fast)"))
                    continue
                if o.spot_only and not spot:
                    rejected.append(Rejected(cloud, "", o.machine, "sold only as spot capacity"))
                    continue
                prices = o.priced_regions(spot)
                missing = sorted(set(cc.region_names(o)) - set(prices))
                if missing:
                    unpriced[cloud] = sorted(set(unpriced.get(cloud, [])) | set(missing))
                if not prices:
                    rejected.append(Rejected(cloud, "", o.machine, f"no {capacity} price in the catalog"))
                for r, usd in prices.items():
                    jurisdiction = cc.regions[r].jurisdiction
                    reason = allowed.why_not(cloud, r, jurisdiction)
                    if reason:
                        rejected.append(Rejected(cloud, r, o.machine, reason))
                        continue
                    hourly = Decimal(str(usd))
                    ranked.append(Offer(cloud, r, jurisdiction, o.machine, hourly, cents(hourly * nodes * HOURS_PER_MONTH)))
        current = _current(cat, provider, region, str(pool["machine_type"]), spot, nodes)
        # cheapest first; on a tie the pool stays where it is, then by cloud, region and machine
        here = (current.cloud, current.region, current.machine) if current else None
        ranked.sort(key=lambda o: (o.hourly_usd, (o.cloud, o.region, o.machine) != here, o.cloud, o.region, o.machine))
        out.append(PoolPlacement(path, pool["gpu_type"], int(pool["gpu_count"]), nodes + held, capacity, current, ranked, rejected, unpriced, _steps(cat, provider, region, ordered, nodes), held, f"{provider} {region}".strip()))
    return out


def to_json(placements: list[PoolPlacement], allowed: Constraints) -> str:
    return json.dumps({"constraints": asdict(allowed), "pools": [p.to_dict() for p in placements]}, indent=2) + "\n"

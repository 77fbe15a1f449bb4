"""What an environment costs per month, as a range: every pool at its minimum and at its maximum.

Pure: reads a :class:`~topoform.planner.Plan` and the catalog, imports no Pulumi. Every figure is
a catalog price (which cites its source and the date it was read) times a quantity times
:data:`HOURS_PER_MONTH`; each line is rounded to the cent, and totals add the rounded lines.

Priced: node pools (on-demand and spot apart), control planes, NAT gateways, load balancers,
object storage by ``size_gb`` (primary and replica), and replication transfer by each store's
``monthly_change_percent``. Not priced, and said so in every report (:data:`NOT_PRICED`):
traffic-dependent charges, keys, logs, DNS, and on-prem hardware.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .catalog import Catalog, CloudCatalog, load_catalog
from .planner import ClusterPlan, Plan
from .specs import NodePoolSpec, capacity_kind, step_path

__all__ = ["HOURS_PER_MONTH", "NOT_PRICED", "Change", "Estimate", "Line", "Range", "cents", "diff", "estimate", "pool_path", "totals"]

HOURS_PER_MONTH = 730
"""The hours in an average month (8 760 / 12), the convention of the clouds' own calculators."""

NOT_PRICED = (
    "data transfer to the internet, load-balancer data processing and VPC flow-log volume (they depend on traffic)",
    "KMS keys and key operations, control-plane logs, DNS zones, health checks and Cloud Armor rules (a few dollars a month)",
    "on-prem hardware (already owned)",
)

_CENT = Decimal("0.01")
_NAT_CLOUDS = ("aws", "gcp")
"""Clouds where a created network gets a NAT gateway (AKS sends egress through its own load balancer)."""
_CONTROL_PLANE = {"aws": "EKS control plane", "gcp": "GKE cluster management fee", "azure": "AKS Standard tier"}


def cents(value: Decimal) -> Decimal:
    """Rounded half up to the cent (how every line is rounded)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Range:
    """Monthly USD at the minimum and at the maximum scale."""

    min: Decimal
    max: Decimal

    def __add__(self, other: Range) -> Range:
        return Range(self.min + other.min, self.max + other.max)

    def to_dict(self) -> dict[str, float]:
        return {"min": float(self.min), "max": float(self.max)}


ZERO = Range(Decimal(0), Decimal(0))


@dataclass(frozen=True)
class Line:
    """One priced thing: ``unit_usd`` per ``unit`` times a quantity range."""

    path: str
    """Where it comes from in the topology (``clusters.train.node_pools.h100``): stable across edits."""
    kind: str
    site: str
    cloud: str
    region: str
    description: str
    unit_usd: Decimal
    unit: str
    quantity_min: Decimal
    quantity_max: Decimal
    pricing: str
    """``on-demand``, ``spot``, a capacity step's kind (``reservation``, ``capacity-block``,
    ``flex-start``) or ``list`` (a service's list price); ``not priced`` on-prem."""
    source: str
    """The source's URL (and its date) the unit price comes from."""
    note: str = ""

    @property
    def monthly(self) -> Range:
        hours = HOURS_PER_MONTH if self.unit.endswith("hour") else 1
        return Range(cents(self.unit_usd * self.quantity_min * hours), cents(self.unit_usd * self.quantity_max * hours))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("unit_usd", "quantity_min", "quantity_max"):
            d[k] = float(d[k])
        d["monthly_usd"] = self.monthly.to_dict()
        return d


@dataclass(frozen=True)
class Estimate:
    """An environment's monthly cost, line by line."""

    name: str
    environment: str
    lines: list[Line]
    prices_read: str
    """The date the catalog's prices were read (each line cites its own source)."""
    budget: Decimal | None = None
    not_priced: tuple[str, ...] = NOT_PRICED
    unpriced: list[str] = field(default_factory=list)
    """Lines the catalog has no price for (counted as zero), e.g. a spot price no source gave."""

    @property
    def total(self) -> Range:
        return sum((line.monthly for line in self.lines), ZERO)

    def by(self, attribute: str) -> dict[str, Range]:
        out: dict[str, Range] = {}
        for line in self.lines:
            key = getattr(line, attribute)
            out[key] = out.get(key, ZERO) + line.monthly
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "currency": "USD",
            "hours_per_month": HOURS_PER_MONTH,
            "prices_read": self.prices_read,
            "monthly_usd": self.total.to_dict(),
            "budget_usd": float(self.budget) if self.budget is not None else None,
            "by_cloud": {k: v.to_dict() for k, v in self.by("cloud").items()},
            "by_site": {k: v.to_dict() for k, v in self.by("site").items()},
            "items": [line.to_dict() for line in self.lines],
            "unpriced": self.unpriced,
            "not_priced": list(self.not_priced),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    def policy_config(self) -> dict[str, dict[str, Any]]:
        """The budget rules' settings for this estimate (what `topoform check` passes, and what
        `pulumi preview --policy-pack-config` needs to judge the same budget)."""
        settings = {"monthly_usd": float(self.budget) if self.budget is not None else None, "planned_max_usd": float(self.total.max)}
        return {"budget-within-limit": dict(settings), "budget-headroom": dict(settings)}


# --------------------------------------------------------------------------- estimating


class _Pricer:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.unpriced: list[str] = []

    def cloud(self, name: str) -> CloudCatalog:
        return self.catalog.clouds[name]

    def source(self, cloud: str, ref: str) -> str:
        return self.cloud(cloud).sources[ref].cite()

    def service(self, cloud: str, service: str, path: str) -> tuple[Decimal, str, str, Decimal | None] | None:
        price = self.cloud(cloud).services.get(service)  # type: ignore[call-overload]
        if price is None:
            self.unpriced.append(f"{path}: no {service} price for {cloud} in the catalog")
            return None
        cap = Decimal(str(price.cap_usd_per_hour)) if price.cap_usd_per_hour is not None else None
        return Decimal(str(price.usd)), price.per, self.source(cloud, price.source), cap


def _where(p: _Pricer, cloud: str, region: str) -> str:
    """A note when a service price is for another region than the one priced."""
    ref = p.cloud(cloud).reference_region
    return f"{ref} price" if region and region != ref else ""


def pool_path(cluster: str, key: str, pool: NodePoolSpec) -> str:
    """Where a pool's cost line comes from in the topology: the pool, or its capacity step."""
    step = pool.get("capacity")
    if step is None:
        return f"clusters.{cluster}.node_pools.{key}"
    return ".".join(map(str, step_path(("clusters", cluster, "node_pools", step["pool"]), step)))


FLEX_START_NOTE = "the on-demand price as a ceiling: flex-start is discounted (GKE: up to 53%)"
"""GKE's Dynamic Workload Scheduler page gives its discount as a ceiling, no price to multiply."""
RESERVED_NOTE = "billed whether its nodes run or not"
CAPACITY_BLOCK_NOTE = "priced when bought"
STEP_NOTES = {"reservation": RESERVED_NOTE, "capacity-block": CAPACITY_BLOCK_NOTE, "flex-start": FLEX_START_NOTE}
"""What a capacity step's price means, by kind (``cost`` and ``place`` say the same)."""


def _pool_line(p: _Pricer, cluster: ClusterPlan, site: str, key: str, pool: NodePoolSpec) -> Line:
    """A pool's (or capacity step's) nodes at their price. Reserved capacity is billed for all
    the nodes it holds whether they run or not; flex-start at most at the on-demand price; a
    Capacity Block is priced when bought, so the catalog has no price for it."""
    path = pool_path(cluster.key, key, pool)
    region = cluster.spec.get("region", "")
    gpus = f" ({pool['gpu_count']}x {pool['gpu_type']})" if "gpu_type" in pool else ""
    what = f"{pool['machine_type']}{gpus}"
    step = pool.get("capacity")
    capacity = capacity_kind(pool)
    lo, hi = Decimal(pool["min_nodes"]), Decimal(pool["max_nodes"])
    if cluster.provider == "onprem":
        what = f"{pool['gpu_count']}x {pool['gpu_type']} per node" if "gpu_type" in pool else "CPU nodes"
        return Line(path, "pool", site, "onprem", "", f"{what}, existing nodes", Decimal(0), "node-hour", lo, hi, "not priced", "", "owned hardware")
    note = ""
    if step is not None and "ref" in step:
        what += f", {capacity} {step['ref']}"
        lo = hi = Decimal(step.get("nodes", pool["max_nodes"]))  # billed whether they run or not
        note = RESERVED_NOTE
    if capacity == "capacity-block":
        p.unpriced.append(f"{path}: a Capacity Block is priced when it is bought (AWS sets the price by supply and demand); not counted")
        return Line(path, "pool", site, cluster.provider, region, what, Decimal(0), "node-hour", lo, hi, capacity, "", CAPACITY_BLOCK_NOTE)
    offering = p.catalog.offering(cluster.provider, pool["machine_type"])
    usd, priced_region, ref = offering.hourly(region, pool["spot"]) if offering else (None, "", "")
    where = "" if not offering or priced_region == region else f"{priced_region} price"
    note = "; ".join(n for n in (note, FLEX_START_NOTE if capacity == "flex-start" else "", where) if n)
    if usd is None:
        p.unpriced.append(f"{path}: no {'spot' if pool['spot'] else 'on-demand'} price for {pool['machine_type']} in the catalog")
        return Line(path, "pool", site, cluster.provider, region, what, Decimal(0), "node-hour", lo, hi, capacity, "", "unpriced")
    return Line(path, "pool", site, cluster.provider, region, what, Decimal(str(usd)), "node-hour", lo, hi, capacity, p.source(cluster.provider, ref), note)


def _pool_lines(p: _Pricer, cluster: ClusterPlan, site: str, pools: dict[str, NodePoolSpec]) -> Iterator[Line]:
    """Every pool's line, capacity steps in their order. The steps after the reserved ones are
    alternatives for the same nodes (the autoscaler turns to one when the one before has none),
    and so are a spot step's GPU types: the dearest of them counts at the maximum, the others at
    their minimum."""
    lines = [(pools[key], _pool_line(p, cluster, site, key, pools[key])) for key in sorted(pools)]
    lines.sort(key=lambda pl: pl[1].path)
    dearest: dict[str, tuple[Line, str]] = {}
    for pool, line in lines:
        step = pool.get("capacity")
        if step is not None and "ref" not in step:
            best = dearest.get(step["pool"])
            if best is None or line.unit_usd > best[0].unit_usd:
                dearest[step["pool"]] = line, f"step {step['step'] + 1}" + (f"'s {pool['gpu_type']}" if "also" in step else "")
    for pool, line in lines:
        step = pool.get("capacity")
        best = dearest.get(step["pool"]) if step is not None and "ref" not in step else None
        if best is not None and best[0] is not line:
            line = replace(line, quantity_max=line.quantity_min, note="; ".join(n for n in (line.note, f"its maximum counted at {best[1]}, the dearer") if n))
        yield line


def _cluster_lines(p: _Pricer, plan: Plan, cluster: ClusterPlan) -> Iterator[Line]:
    site = cluster.site
    cloud = cluster.provider
    spec = cluster.spec
    region = spec.get("region", "")
    pools = spec["node_pools"]
    yield from _pool_lines(p, cluster, site, pools)
    if cloud == "onprem":
        return
    base = f"clusters.{cluster.key}"
    one = Decimal(1)
    tier = spec.get("sku_tier", "Standard")
    cp = p.cloud(cloud).control_plane
    cp_usd = Decimal(0) if cloud == "azure" and tier == "Free" else Decimal(str(cp.usd_per_hour))
    yield Line(f"{base}.control_plane", "control plane", site, cloud, region, _CONTROL_PLANE[cloud] if cp_usd else "AKS Free tier", cp_usd, "hour", one, one, "list", p.source(cloud, cp.source))

    if spec.get("front_door_origins"):
        # Advanced Container Networking Services (layer-7 policy for Front Door origins): billed per node.
        p.service(cloud, "container_networking", f"{base}.front_door_origins")
    network = spec.get("network")
    if not network or network.get("existing") or cloud not in _NAT_CLOUDS:
        return
    yield from _vpc_endpoint_lines(p, cluster, site, network)
    nat = p.service(cloud, "nat_gateway", f"{base}.network")
    if nat is None:
        return
    usd, per, source, cap = nat
    if per == "node-hour":
        # billed per VM using the gateway, up to a cap per hour: nodes at min and at max
        nodes_min = sum((Decimal(pool["min_nodes"]) for pool in pools.values()), Decimal(0))
        nodes_max = sum((Decimal(pool["max_nodes"]) for pool in pools.values()), Decimal(0))
        what = "NAT per node using it"
        if cap is not None:
            ceiling = cap / usd
            nodes_min, nodes_max = min(nodes_min, ceiling), min(nodes_max, ceiling)
            what += f" (at most ${cap} an hour)"
        yield Line(f"{base}.network.nat", "nat", site, cloud, region, what, usd, per, nodes_min, nodes_max, "list", source, _where(p, cloud, region))
        return
    gateways = Decimal(network.get("zones", 1) if network.get("nat") == "per_zone" else 1)
    yield Line(f"{base}.network.nat", "nat", site, cloud, region, "NAT gateway" if gateways == 1 else f"NAT gateway per zone", usd, per, gateways, gateways, "list", source, _where(p, cloud, region))


def _vpc_endpoint_lines(p: _Pricer, cluster: ClusterPlan, site: str, network: Any) -> Iterator[Line]:
    """A created VPC's private paths to the cloud's services: the S3 gateway endpoint (free)
    and, for a private AWS cluster, its interface endpoints in every zone."""
    if cluster.provider != "aws":
        return
    base, region = f"clusters.{cluster.key}.network", cluster.spec.get("region", "")
    gateway = p.service("aws", "gateway_endpoint", base)
    if gateway is not None:
        usd, per, source, _ = gateway
        yield Line(f"{base}.s3_endpoint", "endpoint", site, "aws", region, "S3 gateway endpoint", usd, per, Decimal(1), Decimal(1), "list", source)
    services = cluster.spec.get("vpc_endpoints", [])
    price = p.service("aws", "interface_endpoint", base) if services else None
    if price is not None:
        usd, per, source, _ = price
        count = Decimal(len(services) * network["zones"])
        what = f"interface endpoints ({', '.join(services)}) x {network['zones']} zones"
        yield Line(f"{base}.endpoints", "endpoint", site, "aws", region, what, usd, per, count, count, "list", source, _where(p, "aws", region))


def _store_lines(p: _Pricer, plan: Plan) -> Iterator[Line]:
    for key, store in sorted(plan.stores.items()):
        spec = store.spec
        base = f"storage.{key}"
        cloud = store.provider
        size = spec.get("size_gb")
        if cloud == "onprem":
            yield Line(base, "storage", store.site, "onprem", "", f"claim of {size:,} GB on the site's storage class" if size else "claim on the site's storage class", Decimal(0), "GB-month", Decimal(size or 0), Decimal(size or 0), "not priced", "", "owned storage")
            continue
        if size is None:
            p.unpriced.append(f"{base}: no size_gb, so its storage is not priced")
            continue
        gb = Decimal(size)
        price = p.service(cloud, "object_storage", base)
        if price is None:
            continue
        usd, per, source, _ = price
        region = spec.get("region", "")
        what = p.cloud(cloud).services["object_storage"].what
        yield Line(base, "storage", store.site, cloud, region, what, usd, per, gb, gb, "list", source, _where(p, cloud, region))
        replica = spec.get("replica")
        if replica:
            yield Line(f"{base}.replica", "replica", store.site, cloud, replica["region"], f"{what}, copy in {replica['region']}", usd, per, gb, gb, "list", source, _where(p, cloud, replica["region"]))
            transfer = p.service(cloud, "inter_region_transfer", f"{base}.replication")
            if transfer is not None:
                t_usd, t_per, t_source, _ = transfer
                percent = Decimal(str(store.monthly_change_percent))
                changed = cents(gb * percent / 100)
                yield Line(
                    f"{base}.replication", "replication", store.site, cloud, region,
                    f"changes copied to {replica['region']} ({percent.normalize():f}% of the data a month)",
                    t_usd, t_per, changed, changed, "list", t_source,
                )


def _endpoint_lines(p: _Pricer, plan: Plan) -> Iterator[Line]:
    for key, ep in sorted(plan.endpoints.items()):
        cluster = plan.clusters[ep.cluster]
        cloud = ep.provider
        if cloud == "onprem":
            continue
        spec = ep.spec
        service = "load_balancer" if spec["public"] else "internal_load_balancer"
        price = p.service(cloud, service, f"endpoints.{key}")
        if price is None:
            continue
        usd, per, source, _ = price
        what = p.cloud(cloud).services[service].what or service.replace("_", " ")  # type: ignore[index]
        one = Decimal(1)
        region = spec.get("region", "")
        yield Line(f"endpoints.{key}", "endpoint", cluster.site, cloud, region, what, usd, per, one, one, "list", source, _where(p, cloud, region) if per != "month" else "")


def estimate(plan: Plan, budget: float | None = None, catalog: Catalog | None = None) -> Estimate:
    """Price ``plan``: the same plan always gives the same lines in the same order."""
    p = _Pricer(catalog or load_catalog())
    lines: list[Line] = []
    for key in sorted(plan.clusters):
        lines.extend(_cluster_lines(p, plan, plan.clusters[key]))
    lines.extend(_store_lines(p, plan))
    lines.extend(_endpoint_lines(p, plan))
    lines.sort(key=lambda line: line.site)  # stable: per site, clusters, then stores, then endpoints
    reads = sorted({s.read for c in p.catalog.clouds.values() for s in c.sources.values()})
    return Estimate(plan.name, plan.environment, lines, reads[-1] if reads else "", Decimal(str(budget)) if budget is not None else None, unpriced=p.unpriced)


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class Change:
    """One line's monthly cost in two estimates (``None``: absent there)."""

    path: str
    kind: str
    description: str
    before: Range | None
    after: Range | None

    @property
    def delta(self) -> Range:
        return (self.after or ZERO) + Range(-(self.before or ZERO).min, -(self.before or ZERO).max)

    @property
    def status(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "changed"

    @property
    def impact(self) -> Decimal:
        """How large the change is at either end of the range (what the diff sorts by)."""
        return max(abs(self.delta.min), abs(self.delta.max))

    @property
    def percent(self) -> Decimal | None:
        """The change at maximum scale relative to before (None where there was nothing before)."""
        if self.before is None or not self.before.max:
            return None
        return (self.delta.max / self.before.max * 100).quantize(Decimal("1"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
            "description": self.description,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "delta": self.delta.to_dict(),
            "percent": float(self.percent) if self.percent is not None else None,
        }


def diff(before: Estimate, after: Estimate) -> list[Change]:
    """Lines whose cost differs, keyed by topology path (so reordering a file changes nothing)."""
    old = {line.path: line for line in before.lines}
    new = {line.path: line for line in after.lines}
    out = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is not None and b is not None and a.monthly == b.monthly:
            continue
        ref = b or a
        assert ref is not None
        desc = ref.description if a is None or b is None or a.description == b.description else f"{a.description} -> {b.description}"
        out.append(Change(path, ref.kind, desc, a.monthly if a else None, b.monthly if b else None))
    # The largest changes first (at either end of the range), then by path: what a reviewer reads first.
    return sorted(out, key=lambda c: (-c.impact, c.path))


def totals(changes: Iterable[Change]) -> Range:
    return sum((c.delta for c in changes), ZERO)

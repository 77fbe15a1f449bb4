"""Capacity planning by concept (pure): where a pool's nodes come from, in the order asked.

A pool's ``capacity`` list (a reservation or Capacity Block, flex-start, on-demand, spot)
becomes one pool of the cloud per step, each keyed by what it is (``h100`` for on-demand,
``h100-spot``, ``h100-reserved``...; a spot step spread across GPU types adds ``h100-spot-h200``
and the like), so reordering the list renames nothing; the cluster's autoscaler takes them in
the stated order (:func:`priorities`). The
same file name as each provider folder's ``cluster.py`` builds from these specs; what a cloud
cannot do is its profile's capability data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from ..errors import Path, Problem
from ..model import NodePool, Reserved, SpotStep, step_kind
from ..providers.base import CloudProfile, PoolChoice
from ..specs import PLATFORM_CAPACITY_LABEL, CapacityKind as Kind, CapacitySpec, NodePoolSpec

__all__ = ["RESERVED_KINDS", "SUFFIX", "Respec", "priorities", "spread_key", "steps"]

SUFFIX = {"on-demand": "", "spot": "spot", "flex-start": "flex", "reservation": "reserved", "capacity-block": "block"}
"""What a step's pool key adds to the pool's key (on-demand keeps the pool's own)."""

RESERVED_KINDS = ("reservation", "capacity-block")
"""Steps that hold capacity for the pool, billed whether their nodes run or not."""

ZERO_FLOOR = ("capacity-block", "flex-start")
"""Steps that keep no minimum: a Capacity Block's nodes exist only while it is active (EKS
scales its group to zero before it ends), and flex-start nodes come when pods wait for them."""

ZoneCheck = Callable[[Path, list[str]], list[Problem]]
"""Checks a step's zone against the pool's region (and the zones offering its GPU)."""

Respec = Callable[[Path, str], "tuple[NodePoolSpec | None, list[Problem]]"]
"""Plans the pool again with another GPU type (a spot step's ``also``), reporting at the path."""


def step_key(key: str, kind: str, nth: int) -> str:
    """The key of a step's pool: the pool's own for on-demand, else the pool's and the kind's
    (``-2`` and on for a second reservation or block)."""
    suffix = SUFFIX[kind]
    if not suffix:
        return key
    return f"{key}-{suffix}" + (f"-{nth}" if nth > 1 else "")


def spread_key(key: str, gpu: str) -> str:
    """The key of a spot step's pool of another GPU type: the step's, and the type's."""
    return f"{key}-{gpu.lower()}"


def _spread(here: Path, step: SpotStep, pool: NodePool, spec: NodePoolSpec, prof: CloudProfile, respec: Respec) -> tuple[list[tuple[str, NodePoolSpec]], list[Problem]]:
    """The pools of a spot step's other GPU types, each planned as the pool with that type."""
    also: Path = (*here, "spot", "also")
    if pool.gpu is None:
        return [], [Problem(also, "spreads a GPU pool across GPU types; a CPU pool keeps its one machine")]
    if "fabric" in spec:
        return [], [Problem(also, "a fast interconnect joins machines of one type in one zone: leave the fabric pool's spot step on its own GPU")]
    own = pool.overrides.get(prof.name)  # type: ignore[call-overload]
    if own is not None and own.machine_type:
        return [], [Problem(also, f"overrides.{prof.name}.machine_type pins the pool to one machine; remove one or the other")]
    out: list[tuple[str, NodePoolSpec]] = []
    problems: list[Problem] = []
    for j, gpu in enumerate(step.spot.also):
        if gpu == pool.gpu.type:
            problems.append(Problem((*also, j), f"{gpu} is the pool's own GPU; list only the others it may take"))
        elif gpu in step.spot.also[:j]:
            problems.append(Problem((*also, j), f"{gpu} is listed twice"))
        else:
            other, wrong = respec((*also, j), gpu)
            problems.extend(wrong)
            if other is not None:
                out.append((gpu, other))
    return out, problems


def steps(
    base: Path, key: str, pool: NodePool, spec: NodePoolSpec, choice: PoolChoice | None, prof: CloudProfile, zone_check: ZoneCheck, respec: Respec
) -> tuple[dict[str, NodePoolSpec], list[Problem]]:
    """The cloud pools of one topology pool: itself without a capacity list, else one per step
    (a spot step spread across GPU types: one per type, ranked in its order). A reservation's
    ``nodes`` always run (they are billed anyway); the rest of the minimum fills the later steps
    that keep one, in order; each step after the reserved ones grows to the rest of ``max``."""
    if not pool.capacity:
        return {key: spec}, []
    path: Path = (*base, "capacity")
    problems: list[Problem] = []
    kinds = [cast(Kind, step_kind(s)) for s in pool.capacity]
    if pool.spot:
        problems.append(Problem((*base, "spot"), "spot: true is the same as capacity: [spot]; list spot among the steps instead"))
    override = pool.overrides.get(prof.name)  # type: ignore[call-overload]
    if override is not None and override.reservation:
        problems.append(Problem((*base, "overrides", prof.name, "reservation"), "with a capacity list, name the reservation as one of its steps ({reservation: ..., zone: ..., nodes: ...})"))
    if len(kinds) > 1 and pool.nodes is not None:
        problems.append(Problem((*base, "nodes"), "a later capacity step serves only nodes the autoscaler adds: give the pool min and max instead of nodes"))
    offering = choice.offering if choice is not None else None
    machine = choice.machine_type if choice is not None else "its machine"
    seen: dict[str, int] = {}
    spread: dict[int, list[tuple[str, NodePoolSpec]]] = {}
    for i, (step, kind) in enumerate(zip(pool.capacity, kinds)):
        here: Path = (*path, i)
        if isinstance(step, SpotStep):
            spread[i], spread_problems = _spread(here, step, pool, spec, prof, respec)
            problems.extend(spread_problems)
            if i < len(kinds) - 1 and not prof.sees_failed_launches:
                problems.append(
                    Problem(
                        here,
                        f"{prof.name}'s autoscaler sees a failed spot allocation only after its node provision time (15 minutes) and then "
                        "returns to the first type when the back-off ends, so the steps after a spread step would be reached late or never: make it the last step",
                    )
                )
        # an Azure reservation group may hold reservations in several zones: one step per zone
        ref = (f"{step.ref()}@{step.zone or ''}" if prof.regional_reservations else step.ref()).lower() if isinstance(step, Reserved) else kind
        if ref in seen:
            problems.append(Problem(here, f"the same step as capacity[{seen[ref]}]; name each once"))
        seen.setdefault(ref, i)
        if kind in RESERVED_KINDS and any(k not in RESERVED_KINDS for k in kinds[:i]):
            problems.append(Problem(here, "reserved capacity is billed whether its nodes run or not: list it before on-demand, spot and flex-start"))
        if offering is not None and offering.spot_only and kind != "spot":
            problems.append(Problem(here, f"{machine} is sold only as spot capacity on {prof.name}"))
        if offering is not None and offering.reservation_only and kind == "on-demand":
            problems.append(Problem(here, f"{machine} is sold on {prof.name} only reserved, as spot or through flex-start, not on demand"))
        if kind == "flex-start" and pool.gpu is None:
            problems.append(Problem(here, "flex-start obtains GPUs for jobs that wait for them; this is a CPU pool"))
        if isinstance(step, Reserved):
            field = "capacity_block" if step.capacity_block is not None else "reservation"
            wrong = prof.reservation_problem(kind, step.ref(), machine)
            if wrong:
                problems.append(Problem((*here, field), wrong))
            if step.zone is not None:
                problems.extend(zone_check((*here, "zone"), [step.zone]))
            elif not prof.regional_reservations:
                problems.append(Problem((*here, "zone"), f"a reservation lives in one zone on {prof.name}: name it"))
    if problems:
        return {}, problems

    lo, hi = spec["min_nodes"], spec["max_nodes"]
    held = [(i, s) for i, s in enumerate(pool.capacity) if isinstance(s, Reserved)]
    reserved = sum(s.nodes for _, s in held)
    if "fabric" in spec and held:
        # The fabric reaches no further than a zone: every step runs where the reservations are.
        first, zone = held[0][0], held[0][1].zone
        problems.extend(
            Problem((*path, i, "zone"), f"a fast interconnect reaches only nodes in one zone: reserve in {zone}, as capacity[{first}] does")
            for i, s in held
            if s.zone != zone
        )
        if problems:
            return {}, problems
    if any(k not in RESERVED_KINDS for k in kinds) and reserved >= hi:
        problems.append(Problem((*base, "max" if pool.max is not None else "nodes"), f"the reserved steps hold {reserved} nodes, all the pool may have ({hi}): raise it, or drop the steps after them"))
        return {}, problems
    out: dict[str, NodePoolSpec] = {}
    counts: dict[str, int] = {}
    left = lo
    for i, (step, kind) in enumerate(zip(pool.capacity, kinds)):
        counts[kind] = counts.get(kind, 0) + 1
        top = min(step.nodes, hi) if isinstance(step, Reserved) else hi - reserved
        # A reservation's nodes are billed whether they run or not: they run (the autoscaler
        # would otherwise remove them before the on-demand ones it pays for by the hour).
        floor = top if kind == "reservation" else 0 if kind in ZERO_FLOOR else min(left, top)
        left = max(left - floor, 0)
        capacity: CapacitySpec = {"kind": kind, "pool": key, "step": i}
        one: NodePoolSpec = {**spec, "min_nodes": floor, "max_nodes": top, "spot": kind == "spot", "capacity": capacity}
        one["labels"] = dict(sorted({**spec["labels"], PLATFORM_CAPACITY_LABEL: kind}.items()))
        if isinstance(step, Reserved):
            capacity["ref"] = step.ref()
            capacity["nodes"] = step.nodes
            if step.zone is not None:
                one["zones"] = [step.zone]
            else:
                one.pop("zones", None)  # the group's own zone (Azure places a regional group's VMs)
        elif "fabric" in spec and held and held[0][1].zone is not None:
            one["zones"] = [held[0][1].zone]
        name_key = step_key(key, kind, counts[kind])
        name = prof.pool_name(name_key)
        if name:
            one["name"] = name
        out[name_key] = one
        for j, (gpu, other) in enumerate(spread.get(i, [])):
            # The step's other GPU types: nodes only when the autoscaler adds them (the step's
            # minimum stays on the pool's own type), up to the same maximum.
            alike: NodePoolSpec = {**other, "min_nodes": 0, "max_nodes": top, "spot": True, "capacity": {**capacity, "also": j}}
            alike["labels"] = dict(sorted({**other["labels"], PLATFORM_CAPACITY_LABEL: kind}.items()))
            alike_key = spread_key(name_key, gpu)
            alike_name = prof.pool_name(alike_key)
            if alike_name:
                alike["name"] = alike_name
            out[alike_key] = alike
    if left > 0:
        field = "nodes" if pool.nodes is not None else "min"
        problems.append(Problem((*base, field), f"the steps that keep nodes hold {lo - left} of the {lo} asked: lower {field}, or add a step that keeps nodes"))
    return out, problems


def _place(step: CapacitySpec) -> tuple[int, int]:
    """Where a cloud pool stands in its list: its step, then its GPU type within a spread spot
    step (the pool's own first, then ``also`` in order)."""
    return step["step"], step.get("also", -1)


def priorities(pools: dict[str, NodePoolSpec]) -> dict[str, int]:
    """The priority of every pool of a cluster where a capacity list gives two or more pools (by
    pool key, higher first; empty when there is nothing to order). A pool ranks by its place in
    its list (a spread spot step's types one after another, in the order written), a pool
    without a list with the first ones, so a pod that several pools could take goes to a first
    choice (the expander after priority picks among equals). Lists of different lengths do not
    line up: the second pool of one ranks with the second of another, whatever their steps."""
    places: dict[str, list[tuple[int, int]]] = {}
    for p in pools.values():
        if "capacity" in p:
            places.setdefault(p["capacity"]["pool"], []).append(_place(p["capacity"]))
    if all(len(ordered) < 2 for ordered in places.values()):
        return {}
    rank = {pool: sorted(ordered) for pool, ordered in places.items()}
    top = max(len(ordered) for ordered in rank.values())
    return {
        k: top - rank[p["capacity"]["pool"]].index(_place(p["capacity"])) if "capacity" in p else top
        for k, p in sorted(pools.items())
    }

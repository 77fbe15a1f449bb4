"""Budget rules: the maximum monthly estimate must fit the budget, with headroom.

A policy sees resources, not the topology, so the rules price what resources show — every node
pool at its maximum size (on-demand or spot, from the catalog) and every managed control plane —
and take the larger of that and ``planned_max_usd``, topoform's full estimate (`topoform cost`,
which adds storage, replication, NAT and load balancers). `topoform check` fills ``monthly_usd``
from the topology's ``budget`` and ``planned_max_usd`` from its estimate; for `pulumi preview
--policy-pack`, `topoform cost <env> --policy-config` prints the same settings as a config file.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .base import Fact, Finding, Rule, StackRule, Subject
from .readers import stack_facts

__all__ = ["BUDGET", "HOURS_PER_MONTH", "seen_monthly_max"]

HOURS_PER_MONTH = 730

BUDGET_SCHEMA: dict[str, dict[str, Any]] = {
    "monthly_usd": {
        "type": ["number", "null"],
        "default": None,
        "description": "The monthly budget in USD (the topology's budget.monthly_usd); null: no budget, the rule passes.",
    },
    "planned_max_usd": {
        "type": "number",
        "default": 0,
        "description": "topoform's maximum monthly estimate for the stack (`topoform cost`); the rule uses the larger of it and what the resources show.",
    },
}
HEADROOM_SCHEMA: dict[str, dict[str, Any]] = {
    **BUDGET_SCHEMA,
    "headroom_ratio": {"type": "number", "default": 0.8, "description": "Report when the maximum estimate passes this share of the budget."},
}


@functools.cache
def _catalog() -> Any:
    from topoform.catalog import load_catalog

    return load_catalog()


def _hourly(cloud: str, machine: str, region: str, spot: bool) -> Decimal:
    catalog = _catalog()
    if cloud not in catalog.clouds:
        return Decimal(0)
    offering = catalog.offering(cloud, machine)
    if offering is None:
        return Decimal(0)
    usd, _, _ = offering.hourly(region or None, spot)
    if usd is None and spot:  # no spot price known: the on-demand price bounds it
        usd, _, _ = offering.hourly(region or None, False)
    return Decimal(str(usd or 0))


def seen_monthly_max(subjects: Sequence[Subject]) -> tuple[Decimal, list[str]]:
    """The maximum monthly cost the resources show (node pools at maximum, control planes), and
    the machine types the catalog could not price."""
    cent = Decimal("0.01")
    total = Decimal(0)
    unknown: list[str] = []
    for _, fact in stack_facts(subjects):
        v = fact.value
        if fact.topic == "capacity":
            hourly = _hourly(v["cloud"], v["machine"], v["region"], v["spot"])
            if not hourly and v["max"]:
                unknown.append(f"{v['cloud']} {v['machine'] or '?'}")
            total += (hourly * v["max"] * HOURS_PER_MONTH).quantize(cent, rounding=ROUND_HALF_UP)  # each line to the cent, as `topoform cost`
        elif fact.topic == "control_plane" and v["paid"] and v["cloud"] in _catalog().clouds:
            total += (Decimal(str(_catalog().clouds[v["cloud"]].control_plane.usd_per_hour)) * HOURS_PER_MONTH).quantize(cent, rounding=ROUND_HALF_UP)
    return total, sorted(set(unknown))


def _estimate(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> tuple[Decimal, str, list[str]]:
    """The estimate the rules judge, what it rests on, and the machines it could not price."""
    seen, unknown = seen_monthly_max(subjects)
    planned = Decimal(str(cfg.get("planned_max_usd") or 0))
    basis = "topoform's estimate" if planned >= seen else "node pools at maximum and control planes"
    if unknown:
        basis += f"; not priced: {', '.join(unknown)}"
    return max(seen, planned), basis, unknown


def _stack_urn(subjects: Sequence[Subject]) -> str:
    """Budget findings are about the whole stack: reported on its root."""
    for s in subjects:
        if s.type == "pulumi:pulumi:Stack":
            return s.urn
    return ""


def _over_budget(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    if cfg.get("monthly_usd") is None:
        return
    budget = Decimal(str(cfg["monthly_usd"]))
    estimate, basis, _ = _estimate(subjects, cfg)
    if estimate > budget:
        yield Finding(_stack_urn(subjects), f"the maximum monthly estimate ${estimate:,.2f} exceeds the budget ${budget:,.2f} ({basis})")


def _near_budget(subjects: Sequence[Subject], cfg: Mapping[str, Any]) -> Iterator[Finding]:
    if cfg.get("monthly_usd") is None:
        return
    budget = Decimal(str(cfg["monthly_usd"]))
    ratio = Decimal(str(cfg.get("headroom_ratio", 0.8)))
    estimate, basis, unknown = _estimate(subjects, cfg)
    if budget * ratio < estimate <= budget:
        yield Finding(_stack_urn(subjects), f"the maximum monthly estimate ${estimate:,.2f} is {estimate / budget:.0%} of the budget ${budget:,.2f} ({basis})")
    elif estimate <= budget * ratio and unknown:
        # a node pool the catalog cannot price counts as nothing: the budget cannot be judged
        yield Finding(_stack_urn(subjects), f"the maximum monthly estimate ${estimate:,.2f} leaves out node pools the catalog cannot price ({', '.join(unknown)}): check their price before trusting the budget ${budget:,.2f}")


def _fabric_unused(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    return None if f.value else f"a multi-node GPU pool without its fabric: {f.where}; its GPUs wait on the network (interconnect: fast)"


BUDGET: list[Rule | StackRule] = [
    StackRule(
        "TF-C01", "budget-within-limit", "cost",
        "The maximum monthly estimate (every pool at its maximum) fits the budget.",
        "high", "mandatory",
        "Lower node pools' max, use spot capacity, or raise budget.monthly_usd; `topoform cost <env>` shows the lines and `topoform place <env>` cheaper offerings.",
        (), ("aws", "gcp", "azure"), _over_budget, BUDGET_SCHEMA,
    ),
    StackRule(
        "TF-C02", "budget-headroom", "cost",
        "The maximum monthly estimate stays under 80% of the budget (configurable), and prices every node pool.",
        "medium", "advisory",
        "Plan for growth: review `topoform cost <env>` before the budget is reached, and price what the catalog cannot (machines sold only reserved) before trusting it.",
        (), ("aws", "gcp", "azure"), _near_budget, HEADROOM_SCHEMA,
    ),
    Rule(
        "TF-C03", "gpu-pools-use-their-fabric", "cost",
        "A GPU pool of two or more nodes on machines with a fabric for multi-node training uses it, in one zone (EKS: EFA interfaces in the launch template, one subnet; GKE: the accelerator network profile on RDMA machines, one node location; AKS: NVIDIA's Network Operator for ND pools' InfiniBand, one zone or none).",
        "medium", "advisory",
        "Set interconnect: fast on the pool (one zone comes with it, and on AWS a cluster placement group), or exempt pools that never run multi-node jobs.",
        (), ("aws", "gcp", "azure"), "pool.fabric", _fabric_unused, scope="stack",
    ),
]

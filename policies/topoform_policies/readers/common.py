"""Helpers every reader shares: labels, GPU pools, world-open ports."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..base import Fact

__all__ = ["GPU_LABEL", "GPU_TAINT", "capacity", "control_plane", "gpu_labels_and_taints", "is_gpu_machine", "labels_fact", "world_open_ports"]

GPU_LABEL = "topoform.io/accelerator"
GPU_TAINT = ("nvidia.com/gpu", "present", "NoSchedule")
WORLD = {"0.0.0.0/0", "::/0", "*", "Internet", "any", "Any"}


@functools.cache
def _gpu_machines() -> dict[str, frozenset[str]]:
    from topoform.catalog import load_catalog

    catalog = load_catalog()
    return {name: frozenset(o.machine for o in c.offerings if o.gpu) for name, c in catalog.clouds.items()}


def fabric_of(cloud: str, machine: str) -> str | None:
    """The fabric a machine has for multi-node training (``efa``...), per the catalog."""
    from topoform.catalog import load_catalog

    offering = next((o for o in load_catalog().clouds[cloud].offerings if o.machine == machine), None) if cloud in load_catalog().clouds else None
    return offering.fabric.kind if offering is not None and offering.fabric is not None else None


def is_gpu_machine(cloud: str, machine: str) -> bool:
    """A GPU machine type: in the catalog, or of a GPU family the catalog has not priced."""
    if machine in _gpu_machines().get(cloud, frozenset()):
        return True
    if cloud == "aws":
        return re.match(r"^(g|gr|p)\d+[a-z]*\.", machine) is not None
    if cloud == "gcp":
        return machine.startswith(("a2-", "a3-", "a4-", "g2-", "g4-"))
    if cloud == "azure":
        return machine.lower().startswith(("standard_nc", "standard_nd", "standard_nv"))
    return False


def _count(value: Any) -> int:
    try:
        return max(int(float(value)), 0)
    except (TypeError, ValueError):
        return 0


def capacity(cloud: str, machine: Any, region: Any, low: Any, high: Any, spot: bool, where: str) -> Fact:
    """Nodes someone pays for: a machine type, a region (``""``: unknown), at least ``low`` and
    at most ``high`` of them (the budget rules price them from the catalog)."""
    lo = _count(low)
    return Fact("capacity", {"cloud": cloud, "machine": str(machine or ""), "region": str(region or ""), "min": lo, "max": max(_count(high), lo), "spot": spot}, where)


def control_plane(cloud: str, region: Any, paid: bool = True) -> Fact:
    """A managed control plane billed by the hour (``paid`` false: a free tier)."""
    return Fact("control_plane", {"cloud": cloud, "region": str(region or ""), "paid": paid}, "control plane")


def labels_fact(labels: Mapping[str, Any], where: str) -> Fact:
    return Fact("labels", dict(labels), where)


def gpu_labels_and_taints(labels: Mapping[str, Any], taints: Iterable[tuple[Any, Any, Any]], effects: Mapping[str, str] | None = None) -> Fact:
    """A GPU pool's platform label and taint, taint effects in Kubernetes' spelling."""
    spelled = [(k, v, (effects or {}).get(str(e), e)) for k, v, e in taints]
    return Fact("nodes.gpu", {"label": labels.get(GPU_LABEL), "tainted": GPU_TAINT in spelled}, "labels/taints")


def covers_world(sources: Iterable[Any]) -> bool:
    """The sources admit every address: 0.0.0.0/0 (or a name for it), or ranges that add up to it
    (0.0.0.0/1 and 128.0.0.0/1)."""
    names = [str(c) for c in sources or []]
    if any(c in WORLD for c in names):
        return True
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for c in names:
        try:
            net = ipaddress.ip_network(c, strict=False)
        except ValueError:
            continue
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
        else:
            v6.append(net)
    return ipaddress.IPv4Network("0.0.0.0/0") in ipaddress.collapse_addresses(v4) or ipaddress.IPv6Network("::/0") in ipaddress.collapse_addresses(v6)


def world_open_ports(rules: Sequence[tuple[Any, Any, Any, Sequence[str]]]) -> list[int | str]:
    """Ports open to the whole internet: (from, to, protocol, sources) -> ports (or "all")."""
    open_: list[int | str] = []
    for low, high, protocol, sources in rules:
        if not covers_world(sources):
            continue
        if str(protocol) in ("-1", "all", "*", "Any") or low is None or high is None:
            open_.append("all")
            continue
        lo, hi = int(float(low)), int(float(high))
        open_.extend(range(lo, hi + 1) if hi - lo < 64 else ["all"])
    return open_

"""Cluster planning by concept: how a cluster's pools scale (pure).

The same file name as each provider folder's ``cluster.py``: what is planned here, the
cloud's cluster component builds. Each cloud's own vocabulary comes from its profile
(:meth:`~topoform.providers.base.CloudProfile.autoscaler`).
"""

from __future__ import annotations

from ..catalog import Catalog
from ..errors import Path, Problem
from ..model import Cluster
from ..providers.base import Capability, CloudProfile
from ..specs import AutoscalerSpec, NodePoolSpec

__all__ = ["autoscaled", "autoscaler"]


def autoscaled(pools: dict[str, NodePoolSpec]) -> list[str]:
    """The pools an autoscaler scales: those that may grow (``min`` < ``max``)."""
    return [key for key, pool in pools.items() if pool["min_nodes"] < pool["max_nodes"]]


def autoscaler(base: Path, cluster: Cluster, pools: dict[str, NodePoolSpec], prof: CloudProfile, version: str, catalog: Catalog) -> tuple[AutoscalerSpec | None, list[Problem]]:
    """The autoscaler a cluster needs, in its cloud's terms: none when no pool may grow (a pool
    at ``min: 0`` must be able to get its first node, so every cloud that can scale gets one)."""
    if not autoscaled(pools) or not prof.supports(Capability.AUTOSCALE):
        return None, []
    return prof.autoscaler((*base, "autoscaling"), cluster.autoscaling, version, catalog)

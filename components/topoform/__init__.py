"""topoform: one topology description per environment -> GPU infrastructure on every cloud.

The public API is small. The pure layers (no Pulumi imported):

- :func:`load`, :func:`load_plan` -- read and validate a topology file;
- :class:`Topology`, :func:`plan`, :class:`Plan` -- the model and the planner;
- :class:`GpuClusterSpec`, :class:`NodePoolSpec` -- the components' ``args``.

The components (importing one loads its cloud's Pulumi SDK, on first use):
``AwsGpuCluster``, ``GcpGpuCluster``, ``AzureGpuCluster``, ``OnPremGpuCluster``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import Problem, TopologyError
from .loader import load, load_plan
from .model import Topology
from .planner import Plan, plan
from .specs import GpuClusterSpec, NodePoolSpec

if TYPE_CHECKING:
    from .providers.aws.cluster import AwsGpuCluster
    from .providers.azure.cluster import AzureGpuCluster
    from .providers.gcp.cluster import GcpGpuCluster
    from .providers.onprem.cluster import OnPremGpuCluster

__all__ = [
    "AwsGpuCluster",
    "AzureGpuCluster",
    "GcpGpuCluster",
    "GpuClusterSpec",
    "NodePoolSpec",
    "OnPremGpuCluster",
    "Plan",
    "Problem",
    "Topology",
    "TopologyError",
    "load",
    "load_plan",
    "plan",
]

_LAZY = {
    "AwsGpuCluster": "topoform.providers.aws.cluster",
    "GcpGpuCluster": "topoform.providers.gcp.cluster",
    "AzureGpuCluster": "topoform.providers.azure.cluster",
    "OnPremGpuCluster": "topoform.providers.onprem.cluster",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'topoform' has no attribute {name!r}")

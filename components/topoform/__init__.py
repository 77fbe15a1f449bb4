"""topoform: one topology description per environment -> GPU infrastructure on every cloud.

The public API is small. The pure layers (no Pulumi imported):

- :func:`load`, :func:`load_plan` -- read and validate a topology file;
- :class:`Topology`, :func:`plan`, :class:`Plan` -- the model and the planner (a topology can be
  a dict in your program: ``plan(Topology.model_validate({...}))``);
- :class:`GpuClusterSpec`, :class:`StoreSpec`, :class:`IdentitySpec`, :class:`EndpointSpec` -- the
  cloud components' ``args``, as the planner resolves them.

The components (importing one loads its cloud's Pulumi SDK, on first use):

- ``GpuCluster``, ``EncryptedStore``, ``WorkloadIdentity`` and ``Endpoint``: any cloud, described like a topology entry (cloud,
  region, logical GPU types, node counts), planned with topoform's defaults, using your providers;
  the same classes the component package offers other languages;
- one class per cloud and concept, taking a resolved spec: ``AwsGpuCluster``, ``GcpGpuCluster``,
  ``AzureGpuCluster``, ``OnPremGpuCluster``, ``AwsEncryptedStore`` ..., ``AwsWorkloadIdentity``
  ..., ``AwsEndpoint`` ... (``Gcp``, ``Azure`` and ``OnPrem`` likewise).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import Problem, TopologyError
from .loader import load, load_plan
from .model import Topology
from .planner import Plan, plan
from .specs import EndpointSpec, GpuClusterSpec, IdentitySpec, NodePoolSpec, StoreSpec

if TYPE_CHECKING:
    from .package import (
        EncryptedStore,
        EncryptedStoreArgs,
        Endpoint,
        EndpointArgs,
        GpuCluster,
        GpuClusterArgs,
        NodePoolArgs,
        StoreGrantArgs,
        WorkloadIdentity,
        WorkloadIdentityArgs,
    )
    from .providers.aws.cluster import AwsGpuCluster
    from .providers.aws.endpoint import AwsEndpoint
    from .providers.aws.identity import AwsWorkloadIdentity
    from .providers.aws.store import AwsEncryptedStore
    from .providers.azure.cluster import AzureGpuCluster
    from .providers.azure.endpoint import AzureEndpoint
    from .providers.azure.identity import AzureWorkloadIdentity
    from .providers.azure.store import AzureEncryptedStore
    from .providers.gcp.cluster import GcpGpuCluster
    from .providers.gcp.endpoint import GcpEndpoint
    from .providers.gcp.identity import GcpWorkloadIdentity
    from .providers.gcp.store import GcpEncryptedStore
    from .providers.onprem.cluster import OnPremGpuCluster
    from .providers.onprem.endpoint import OnPremEndpoint
    from .providers.onprem.identity import OnPremWorkloadIdentity
    from .providers.onprem.store import OnPremEncryptedStore

__all__ = [
    "AwsEncryptedStore",
    "AwsEndpoint",
    "AwsGpuCluster",
    "AwsWorkloadIdentity",
    "AzureEncryptedStore",
    "AzureEndpoint",
    "AzureGpuCluster",
    "AzureWorkloadIdentity",
    "EncryptedStore",
    "EncryptedStoreArgs",
    "Endpoint",
    "EndpointArgs",
    "EndpointSpec",
    "GcpEncryptedStore",
    "GcpEndpoint",
    "GcpGpuCluster",
    "GcpWorkloadIdentity",
    "GpuCluster",
    "GpuClusterArgs",
    "GpuClusterSpec",
    "IdentitySpec",
    "NodePoolArgs",
    "NodePoolSpec",
    "OnPremEncryptedStore",
    "OnPremEndpoint",
    "OnPremGpuCluster",
    "OnPremWorkloadIdentity",
    "Plan",
    "Problem",
    "StoreGrantArgs",
    "StoreSpec",
    "Topology",
    "TopologyError",
    "WorkloadIdentity",
    "WorkloadIdentityArgs",
    "load",
    "load_plan",
    "plan",
]

_LAZY = {
    "AwsEncryptedStore": "topoform.providers.aws.store",
    "AwsEndpoint": "topoform.providers.aws.endpoint",
    "AwsGpuCluster": "topoform.providers.aws.cluster",
    "AwsWorkloadIdentity": "topoform.providers.aws.identity",
    "AzureEncryptedStore": "topoform.providers.azure.store",
    "AzureEndpoint": "topoform.providers.azure.endpoint",
    "AzureGpuCluster": "topoform.providers.azure.cluster",
    "AzureWorkloadIdentity": "topoform.providers.azure.identity",
    "EncryptedStore": "topoform.package",
    "EncryptedStoreArgs": "topoform.package",
    "Endpoint": "topoform.package",
    "EndpointArgs": "topoform.package",
    "GcpEncryptedStore": "topoform.providers.gcp.store",
    "GcpEndpoint": "topoform.providers.gcp.endpoint",
    "GcpGpuCluster": "topoform.providers.gcp.cluster",
    "GcpWorkloadIdentity": "topoform.providers.gcp.identity",
    "GpuCluster": "topoform.package",
    "GpuClusterArgs": "topoform.package",
    "NodePoolArgs": "topoform.package",
    "WorkloadIdentityArgs": "topoform.package",
    "WorkloadIdentity": "topoform.package",
    "StoreGrantArgs": "topoform.package",
    "OnPremEncryptedStore": "topoform.providers.onprem.store",
    "OnPremEndpoint": "topoform.providers.onprem.endpoint",
    "OnPremGpuCluster": "topoform.providers.onprem.cluster",
    "OnPremWorkloadIdentity": "topoform.providers.onprem.identity",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from .providers import sdk

        sdk.install()  # the component's SDK loads only the modules it uses
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'topoform' has no attribute {name!r}")

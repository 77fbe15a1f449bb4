"""The registry of site kinds: one profile class per provider, components loaded lazily.

``profile("aws")`` returns the pure planning profile; ``cluster_component``
and ``site_provider`` import the provider's Pulumi SDK only when called, so
``topoform validate`` never loads an SDK.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from .aws.profile import AwsProfile
from .azure.profile import AzureProfile
from .base import Capability, CloudProfile
from .gcp.profile import GcpProfile
from .onprem.profile import OnPremProfile

__all__ = ["PROFILES", "Capability", "CloudProfile", "capability_table", "module", "profile"]

PROFILES: dict[str, CloudProfile] = {p.name: p for p in (AwsProfile(), GcpProfile(), AzureProfile(), OnPremProfile())}


def profile(provider: str) -> CloudProfile:
    """The planning profile of a provider (``aws``, ``gcp``, ``azure``, ``onprem``)."""
    return PROFILES[provider]


def module(provider: str, name: str) -> ModuleType:
    """A provider's module by file name (``cluster``, ``site``): the same names in every folder."""
    return importlib.import_module(f"{__name__}.{provider}.{name}")


def capability_table() -> list[dict[str, Any]]:
    """Every capability and, per provider, ``None`` (supported) or the reason it is not."""
    return [
        {"capability": cap.value, **{name: p.unsupported.get(cap) for name, p in PROFILES.items()}}
        for cap in Capability
    ]

"""The explicit Azure provider of a site and region."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure

from ...planner import SitePlan
from ...resources import SiteConnection, Utilities

__all__ = ["connect"]


def connect(
    site: SitePlan, region: str, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None,
    *,
    utilities: Utilities | None = None,
    shared: dict[Any, Any] | None = None,
) -> SiteConnection:
    """An Azure provider pinned to the site's subscription (if given) and default location."""
    return SiteConnection(azure.Provider(name, location=region, subscription_id=site.subscription_id, opts=opts))

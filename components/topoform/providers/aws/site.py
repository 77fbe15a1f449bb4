"""The explicit AWS provider of a site and region."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ...planner import SitePlan
from ...resources import SiteConnection, Utilities

__all__ = ["connect"]


def connect(
    site: SitePlan, region: str, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None,
    *,
    utilities: Utilities | None = None,
    shared: dict[Any, Any] | None = None,
) -> SiteConnection:
    """An AWS provider pinned to ``region`` (and to the site's account, if given), tagging everything."""
    return SiteConnection(aws.Provider(
        name,
        region=region,
        allowed_account_ids=[site.account_id] if site.account_id else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=opts,
    ))

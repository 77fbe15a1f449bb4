"""The explicit Azure provider of a site and region, and who may run `pulumi up` there."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure

from ...planner import SitePlan
from ...program import offline
from ...resources import SiteConnection, Utilities

__all__ = ["connect"]


def connect(
    site: SitePlan,
    region: str,
    name: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions | None = None,
    *,
    utilities: Utilities | None = None,
    shared: dict[Any, Any] | None = None,
) -> SiteConnection:
    """An Azure provider pinned to the site's subscription (if given) and default location. In
    the site's own region, `pulumi up` stops at once unless it signs in as one of the site's
    admins (or an admin group is named, whose members ARM cannot list): with Azure RBAC for
    Kubernetes nobody else may write into its AKS clusters."""
    provider = azure.Provider(name, location=region, subscription_id=site.subscription_id, opts=opts)
    if region == site.region and site.admins and not offline():
        me = azure.authorization.get_client_config(opts=pulumi.InvokeOptions(provider=provider)).object_id
        ids = {a.partition(":")[2] for a in site.admins}
        # Membership of an admin group is Microsoft Graph's to tell, not ARM's: trusted as named.
        if me not in ids and not any(a.startswith("group:") for a in site.admins):
            raise pulumi.RunError(
                f"site {site.key}: `pulumi up` signs in as object ID {me}, which is not among sites.{site.key}.admins, so it could "
                f"not write into the site's AKS clusters: add it there (user:{me} or servicePrincipal:{me}), or sign in as one of them"
            )
    return SiteConnection(provider)

"""The explicit AWS provider of a site and region, and who may run `pulumi up` there."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from ...planner import SitePlan
from ...program import offline
from ...resources import SiteConnection, Utilities

__all__ = ["connect", "deployer"]


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
    """An AWS provider pinned to ``region`` (and to the site's account, if given), tagging
    everything. In the site's own region, `pulumi up` stops at once unless it runs as one of the
    site's admins: nobody else can write into its EKS clusters (access entries admit no one else)."""
    provider = aws.Provider(
        name,
        region=region,
        allowed_account_ids=[site.account_id] if site.account_id else None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=opts,
    )
    if region == site.region and site.admins and not offline():
        me = deployer(provider)
        if me not in site.admins:
            raise pulumi.RunError(
                f"site {site.key}: `pulumi up` runs as {me}, which is not among sites.{site.key}.admins, so it could not write "
                f"into the site's EKS clusters: add it there (it becomes cluster-admin), or run as one of {', '.join(site.admins)}"
            )
    return SiteConnection(provider)


def deployer(provider: pulumi.ProviderResource) -> str:
    """The IAM principal running `pulumi up`, as access entries name it: a role's own ARN (with
    its path) rather than the session's ``assumed-role`` ARN (needs ``iam:GetRole``)."""
    opts = pulumi.InvokeOptions(provider=provider)
    caller = aws.get_caller_identity(opts=opts)
    return aws.iam.get_session_context(arn=caller.arn, opts=opts).issuer_arn

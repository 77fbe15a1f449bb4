"""The explicit GCP provider of a site and region."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ...planner import SitePlan
from ...resources import SiteConnection

__all__ = ["connect"]


def connect(site: SitePlan, region: str, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None) -> SiteConnection:
    """A GCP provider pinned to the site's project and ``region``, labelling everything."""
    return SiteConnection(gcp.Provider(name, project=site.project, region=region, default_labels=tags, opts=opts))

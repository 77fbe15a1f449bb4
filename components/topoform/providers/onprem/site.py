"""The Kubernetes provider of an on-prem site, from a kubeconfig kept as a Pulumi secret."""

from __future__ import annotations

from typing import Any

import json

import pulumi
import pulumi_kubernetes as k8s

from ...planner import SitePlan
from ...program import offline
from ...resources import SiteConnection, Utilities

__all__ = ["PLACEHOLDER_SERVER", "connect"]

PLACEHOLDER_SERVER = "https://placeholder.invalid:6443"


def _placeholder(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": PLACEHOLDER_SERVER}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": {}}],
        },
        sort_keys=True,
    )


def connect(
    site: SitePlan, region: str | None, name: str, tags: dict[str, str], opts: pulumi.ResourceOptions | None = None,
    *,
    utilities: Utilities | None = None,
    shared: dict[Any, Any] | None = None,
) -> SiteConnection:
    """A Kubernetes provider for the existing cluster: kubeconfig from config secret ``topoform:<secret>``."""
    assert site.kubeconfig_secret is not None
    config = pulumi.Config("topoform")
    kubeconfig: pulumi.Input[str] | None = config.get_secret(site.kubeconfig_secret)
    if kubeconfig is None:
        if offline():
            pulumi.log.warn(
                f"site {site.key}: secret 'topoform:{site.kubeconfig_secret}' is not set; the offline preview uses a "
                f"placeholder kubeconfig (set it with: pulumi config set --secret {site.kubeconfig_secret} \"$(cat kubeconfig)\")"
            )
            kubeconfig = pulumi.Output.secret(_placeholder(site.key))
        else:
            raise pulumi.RunError(
                f"site {site.key}: the kubeconfig secret 'topoform:{site.kubeconfig_secret}' is not set; run "
                f"`pulumi config set --secret {site.kubeconfig_secret} \"$(cat kubeconfig)\"` for this stack"
            )
    provider = k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        context=site.kubeconfig_context,
        enable_server_side_apply=True,
        opts=opts,
    )
    return SiteConnection(provider, {"kubeconfig": kubeconfig})

"""OnPremWorkloadIdentity: the Kubernetes ServiceAccount alone (no cloud identity on-prem)."""

from __future__ import annotations

import pulumi

from ...resources import IdentityArgs, WorkloadIdentity

__all__ = ["OnPremWorkloadIdentity"]


class OnPremWorkloadIdentity(WorkloadIdentity):
    """A ServiceAccount in the existing cluster; on-prem workloads reach their claims by
    mounting them, so there is no cloud identity and no grant."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OnPremWorkloadIdentity", name, args, opts)
        sa = self.service_account()
        self.finish(sa.metadata.name.apply(lambda n: n or ""), sa)

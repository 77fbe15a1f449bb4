"""TeamAccess: a team's role bindings, the same Kubernetes objects on every cluster.

A team gets the built-in ``view``, ``edit`` or ``admin`` ClusterRole in each of its namespaces
through a RoleBinding (namespace-scoped: never ``cluster-admin``, never a ClusterRoleBinding).
The namespaces themselves, with their quota, limit range and namespace-isolation policy, are the
cluster's (:func:`topoform.kube.namespace_guardrails`): a namespace may serve several teams.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .kube import MANAGED_BY
from .resources import Component
from .specs import TeamSpec

__all__ = ["TeamAccess", "TeamArgs"]


class TeamArgs(TeamSpec, total=False):
    """A team spec plus each cluster's Kubernetes provider, by cluster key."""

    providers: dict[str, k8s.Provider]


class TeamAccess(Component):
    """RoleBindings of the team's group to a built-in role, one per cluster and namespace."""

    bindings: pulumi.Output[list[str]]
    """``<cluster>/<namespace>`` for every binding."""

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("TeamAccess", name, False, opts)
        team = name.rsplit("-team-", 1)[-1]
        for b in args["bindings"]:
            k8s.rbac.v1.RoleBinding(
                self.child(b["cluster"], b["namespace"]),
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"topoform-team-{team}", namespace=b["namespace"], labels=MANAGED_BY),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=b["role"]),
                subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=b["group"])],
                opts=self.opts(provider=args["providers"][b["cluster"]]),
            )
        self.bindings = pulumi.Output.from_input([f"{b['cluster']}/{b['namespace']}" for b in args["bindings"]])
        self.register_outputs({"bindings": self.bindings})

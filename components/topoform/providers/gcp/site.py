"""The explicit GCP provider of a site and region, and what its project needs first.

A new project has few APIs on (Service Usage, Cloud Storage, Logging, Monitoring, ...: not
Compute, GKE, IAM or Cloud Resource Manager). Before anything of the site is
created, the APIs its resources need are enabled (and left on when the stack goes: topoform does
not own the project), the service agents that are granted keys exist, and the administrators
may reach the site's clusters. Project-wide resources are made once per project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from ...naming import digest
from ...planner import SitePlan
from ...resources import SiteConnection, Utilities

__all__ = ["ADMIN_ROLE", "AGENTS", "API_WAIT", "GKE_AGENT_ROLE", "connect"]

AGENTS = ("container.googleapis.com", "storagetransfer.googleapis.com")
"""Services whose agents are granted something (the GKE agent a key, the transfer agent two
buckets): generateServiceIdentity creates them now rather than 'at some point after you activate
and use the API' (cloud.google.com/iam/docs/service-agents)."""
API_WAIT = "60s"
"""Enabling a service 'is eventually consistent' (the provider's google_project_service guide,
which waits with time_sleep): one wait after the project's services and agents."""
GKE_AGENT_ROLE = "roles/container.serviceAgent"
"""What GKE's service agent holds when the API creates it; one created on request gets nothing
("After you trigger service agent creation, you must grant the service agents the roles that they
are typically granted automatically", cloud.google.com/iam/docs/create-service-agents)."""
ADMIN_ROLE = "roles/container.clusterViewer"
"""What administrators need of IAM to reach a cluster's DNS endpoint (container.clusters.connect)
and read it; their rights inside come from each cluster's cluster-admin binding."""


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
    """A GCP provider pinned to the site's project and ``region``, labelling everything; in the
    site's own region, also the project's services, agents and administrators' access."""
    provider = gcp.Provider(name, project=site.project, region=region, default_labels=tags, opts=opts)
    ready: list[pulumi.Resource] = []
    if site.project and (site.services or site.admins):
        # A project is set up once for every site and region in it: each project-wide resource is
        # made by the first connection that needs it (a site's own region before its backup
        # region), and each site waits for everything made so far.
        state = _ProjectState() if shared is None else shared.setdefault(("gcp-project", site.project), _ProjectState())
        ready = _project(site, name, provider, utilities, state)
    return SiteConnection(provider, ready=ready)


@dataclass
class _ProjectState:
    """What one program has made in a project so far."""

    services: dict[str, pulumi.Resource] = field(default_factory=dict)
    agents: dict[str, pulumi.Resource] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    agent_role: bool = False
    ready: list[pulumi.Resource] = field(default_factory=list)


def _project(site: SitePlan, name: str, provider: gcp.Provider, utilities: Utilities | None, state: _ProjectState) -> list[pulumi.Resource]:
    project = str(site.project)
    opts = pulumi.ResourceOptions(provider=provider)
    made: list[pulumi.Resource] = []
    for api in site.services:
        if api not in state.services:
            state.services[api] = gcp.projects.Service(
                f"{name}-api-{api.split('.')[0]}",
                project=project,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=opts,
            )
            made.append(state.services[api])
    for api in AGENTS:
        if api in state.services and api not in state.agents:
            state.agents[api] = gcp.projects.ServiceIdentity(
                f"{name}-agent-{api.split('.')[0]}",
                project=project,
                service=api,
                opts=pulumi.ResourceOptions(provider=provider, depends_on=[state.services[api]]),
            )
            made.append(state.agents[api])
    if "container.googleapis.com" in state.agents and not state.agent_role:
        # Agents made on request "aren't automatically granted roles": the GKE agent's own role,
        # kept when the stack goes (it is the role GKE's agent holds in any project using GKE).
        state.agent_role = True
        number = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(provider=provider, depends_on=[*state.services.values()])
        ).number
        made.append(
            gcp.projects.IAMMember(
                f"{name}-agent-container-role",
                project=project,
                role=GKE_AGENT_ROLE,
                member=number.apply(lambda n: f"serviceAccount:service-{n}@container-engine-robot.iam.gserviceaccount.com"),
                opts=pulumi.ResourceOptions(provider=provider, depends_on=[state.agents["container.googleapis.com"]], retain_on_delete=True),
            )
        )
    if made:
        if utilities is not None:
            import pulumiverse_time as time

            made = [
                time.Sleep(
                    f"{name}-api-wait",
                    create_duration=API_WAIT,
                    triggers={"services": ",".join(site.services)},
                    opts=pulumi.ResourceOptions(provider=utilities.time, depends_on=made),
                )
            ]
        state.ready.extend(made)
    ready = list(state.ready)
    for member in site.admins:
        if member in state.admins:
            continue
        state.admins.add(member)
        gcp.projects.IAMMember(
            f"{name}-admin-{member.split(':', 1)[1].split('@')[0]}-{digest(member)}",
            project=project,
            role=ADMIN_ROLE,
            member=member,
            opts=pulumi.ResourceOptions(provider=provider, depends_on=ready),
        )
    return ready

"""The Pulumi program behind `pulumi up -s <env>` and `topoform preview <env>`.

It reads the ``topoform:topology`` config (the environment's topology file),
validates and plans it, refuses to run with default providers enabled, and
assembles the resources. Invalid topologies stop the program with the same
``file:line: field: message`` lines the CLI prints, and no resource is created.
"""

from __future__ import annotations

import json
import os

import pulumi

from .providers import sdk

sdk.install()  # before the first provider SDK is imported: load only the modules used

from .assemble import Assembly, assemble  # noqa: E402
from .errors import TopologyError
from .loader import load_plan

__all__ = ["DEFER_KEY", "OFFLINE_KEY", "offline", "run"]

OFFLINE_KEY = "offline-preview"
DEFER_KEY = "defer-to-policies"
"""Config (JSON list of policy names) under which the offline check plans topologies whose only
problems are unsafe choices those policies judge (set by `topoform check`, never by users)."""
"""Config ``topoform:offline-preview``: set by `topoform preview`; secrets may then be placeholders."""


def offline() -> bool:
    """Whether this run is topoform's offline preview (no cloud to ask, secrets may be missing)."""
    return bool(pulumi.Config("topoform").get_bool(OFFLINE_KEY))


def run(topology: str | None = None, base_dir: str | None = None) -> Assembly:
    """Deploy the topology named by config ``topoform:topology`` (or ``topology``)."""
    config = pulumi.Config("topoform")
    file = topology or config.require("topology")
    if not os.path.isabs(file):
        file = os.path.join(base_dir or os.getcwd(), file)
    disabled = pulumi.Config("pulumi").get("disable-default-providers")
    if disabled is None or "*" not in json.loads(disabled):
        raise pulumi.RunError(
            "default providers must be disabled so nothing lands in an implicit region or account: "
            'set `pulumi:disable-default-providers: ["*"]` in Pulumi.yaml or the stack config'
        )
    # `topoform check` leaves unsafe choices to the policies that name them, offline only;
    # `pulumi up` and `pulumi preview` always refuse them.
    defer = json.loads(config.get(DEFER_KEY) or "[]") if offline() else []
    try:
        _, plan = load_plan(file, defer=defer)
    except TopologyError as exc:
        raise pulumi.RunError("invalid topology:\n" + "\n".join(p.format() for p in exc.problems)) from None
    deployed = assemble(plan)
    pulumi.export(
        "clusters",
        {
            key: {"name": c.cluster_name, "endpoint": c.endpoint, "site": plan.clusters[key].site}
            for key, c in deployed.clusters.items()
        },
    )
    pulumi.export(
        "stores",
        {key: {"name": s.store_name, "replica": s.replica_name, "site": plan.stores[key].site} for key, s in deployed.stores.items()},
    )
    return deployed

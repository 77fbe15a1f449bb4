"""Where in the topology files a policy finding comes from: the file, line and field the user
wrote, beside the resource's URN (what pull-request annotations and SARIF need).

A recorded resource belongs to the topoform component it was created under (a cluster, store,
identity, team or endpoint, named ``<system>-<key>``) or, for a provider, to its site; a
stack-level finding (a budget rule's) belongs to ``budget``. Some rules point at one field of
the entry (a public store at ``access``). Pure: no Pulumi SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import Location, Path
from .planner import Plan

__all__ = ["RULE_FIELDS", "Place", "locate"]

RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "storage-no-public-access": ("access",),
    "storage-customer-managed-key": ("encryption",),
    "storage-versioning": ("backup",),
    "backup-region-same-jurisdiction": ("backup",),
    "cluster-api-not-public": ("allowed_cidrs",),
    "cluster-supported-version": ("kubernetes_version",),
    "firewall-no-world-open-ports": ("allowed_cidrs",),
    "budget-within-limit": ("monthly_usd",),
    "budget-headroom": ("monthly_usd",),
}
"""The field of its entry a rule's finding is about, where one field decides it."""


class Place(dict[str, Any]):
    """``{"file", "line", "field"}``: a finding's place in the topology files."""


def _entries(plan: Plan) -> dict[str, Path]:
    """Component names -> the topology path of the entry they were made from."""
    out: dict[str, Path] = {}
    for kind, entries in (("clusters", plan.clusters), ("storage", plan.stores), ("identities", plan.identities), ("teams", plan.teams), ("endpoints", plan.endpoints)):
        for key, entry in entries.items():
            out[entry.name] = (kind, *key.split("."))
    return out


def _best(path: Path, locations: Mapping[Path, Location]) -> tuple[Path, Location] | None:
    """The longest prefix of ``path`` the files say where it is."""
    for n in range(len(path), -1, -1):
        if path[:n] in locations:
            return path[:n], locations[path[:n]]
    return None


def locate(urns: list[str], resources: list[dict[str, Any]], plan: Plan, locations: Mapping[Path, Location], rules: list[str]) -> list[Place | None]:
    """For each finding (its URN, empty for a stack-level one, and its rule), its place."""
    by_urn = {r["urn"]: r for r in resources}
    entries = _entries(plan)
    sites = {s.provider_name: ("sites", key) for key, s in plan.sites.items()}

    def entry_of(urn: str) -> Path:
        if not urn:
            return ("budget",)
        seen = 0
        while urn and seen < 64:
            seen += 1
            name = urn.rsplit("::", 1)[-1]
            kind = urn.split("::")[2].split("$")[-1] if urn.count("::") >= 3 else ""
            if kind.startswith("topoform:") and name in entries:
                return entries[name]
            if kind.startswith("pulumi:providers:"):
                site = next((path for prefix, path in sites.items() if name == prefix or name.startswith(prefix + "-")), None)
                if site is not None:
                    return site
            resource = by_urn.get(urn)
            urn = resource["parent"] if resource else ""
        return ()

    out: list[Place | None] = []
    for urn, rule in zip(urns, rules, strict=True):
        entry = entry_of(urn)
        found = _best((*entry, *RULE_FIELDS.get(rule, ())), locations)
        if found is None:
            out.append(None)
            continue
        path, where = found
        out.append(Place(file=where.file, line=where.line, field=".".join(str(p) for p in path) or "(document)"))
    return out

"""Write what the program would create as plain manifests, for independent scanners (Checkov).

``kubernetes(rec)`` turns every recorded Kubernetes object into its manifest (``apiVersion``,
``kind``, ``metadata``, ``spec`` ...), grouped by the cluster's provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml

from .preview import Recording

__all__ = ["kubernetes", "write_kubernetes"]


def _api_version(type_: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:DaemonSet`` -> (``apps/v1``, ``DaemonSet``); core is plain ``v1``."""
    _, module, kind = type_.split(":", 2)
    return (module.split("/", 1)[1] if module.startswith("core/") else module), kind


def kubernetes(rec: Recording) -> dict[str, list[dict[str, Any]]]:
    """Per cluster (named after its Kubernetes provider): the manifests, in a stable order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rec.resources:
        if not r["type"].startswith("kubernetes:") or not r["custom"]:
            continue
        api, kind = _api_version(r["type"])
        if kind.endswith("Patch"):
            continue  # patches of existing objects are not manifests
        manifest = {"apiVersion": api, "kind": kind, **{k: v for k, v in r["inputs"].items() if k not in ("apiVersion", "kind")}}
        cluster = r["provider"].split("::")[-1] or "default"
        out.setdefault(cluster, []).append(manifest)
    for manifests in out.values():
        manifests.sort(key=lambda m: (m["kind"], str(_meta(m, "namespace")), str(_meta(m, "name"))))
    return dict(sorted(out.items()))


def _meta(manifest: Mapping[str, Any], field: str) -> Any:
    metadata = manifest.get("metadata") or {}
    return metadata.get(field, "") if isinstance(metadata, Mapping) else ""


def write_kubernetes(rec: Recording, directory: str) -> list[str]:
    """One multi-document YAML file per cluster; returns the files written."""
    os.makedirs(directory, exist_ok=True)
    files = []
    for cluster, manifests in kubernetes(rec).items():
        path = os.path.join(directory, f"{cluster}.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump_all(manifests, fh, sort_keys=True)
        files.append(path)
    return files

"""The topology's JSON Schema, for editors (`topoform schema`).

Generated from the pydantic model, then made fit for files that merge through ``extends:``: a
file may hold only part of a topology (an environment that resizes one pool names neither the
pool's site nor the system's name), so the editor schema requires nothing; `topoform validate`
checks what is required once files are merged. Unknown keys, types, ranges and the catalog's
GPU types, CPU sizes and regions are all checked (and completed) as you type, and every field
has a description to show on hover.
"""

from __future__ import annotations

import json
from typing import Any

from .catalog import load_catalog
from .model import Topology

__all__ = ["editor_schema", "schema_text"]


def _relax(node: Any) -> Any:
    """Drop ``required`` everywhere and turn the sites' discriminated ``oneOf`` into ``anyOf``
    (a partial site need not name its provider)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("required", "discriminator"):
                continue
            out["anyOf" if key == "oneOf" else key] = _relax(value)
        return out
    if isinstance(node, list):
        return [_relax(v) for v in node]
    return node


def editor_schema() -> dict[str, Any]:
    """The JSON Schema editors use for ``*.topology.yaml`` files."""
    schema = _relax(Topology.model_json_schema())
    catalog = load_catalog()
    defs = schema["$defs"]
    gpu_type = defs["Gpu"]["properties"]["type"]
    gpu_type["enum"] = sorted(catalog.logical.gpus)
    defs["SpotAlternatives"]["properties"]["also"]["items"] = {"type": "string", "enum": sorted(catalog.logical.gpus)}
    instance = defs["NodePool"]["properties"]["instance"]
    instance["anyOf"] = [{"type": "string", "enum": sorted(catalog.logical.cpus)}, {"type": "null"}]
    # Regions complete from the catalog, per cloud (validate refuses the others too).
    for site, cloud in (("AwsSite", "aws"), ("GcpSite", "gcp"), ("AzureSite", "azure")):
        regions = sorted(catalog.clouds[cloud].regions)
        props = defs[site]["properties"]
        props["region"] = {**props["region"], "enum": regions}
        props["backup_region"] = {**props["backup_region"], "anyOf": [{"type": "string", "enum": regions}, {"type": "null"}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **{k: v for k, v in schema.items() if k != "$schema"},
        "title": "topoform topology",
    }


def schema_text() -> str:
    return json.dumps(editor_schema(), indent=2) + "\n"

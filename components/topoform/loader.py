"""Load a topology file: YAML -> model -> references -> plan, every problem located.

:func:`load` returns the validated :class:`~topoform.model.Topology` and the
:class:`~topoform.source.Source` it came from; :func:`load_plan` also runs the
planner. Both raise :class:`~topoform.errors.TopologyError` whose problems
carry ``file:line`` for their field path. Nothing here imports Pulumi.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from .catalog import Catalog
from .errors import Path, Problem, TopologyError
from .lock import check_lock
from .model import CAPACITY_TAGS, Topology, check_references
from .planner import Plan, plan
from .source import Source, read_source

__all__ = ["Loaded", "load", "load_plan"]


@dataclass(frozen=True)
class Loaded:
    """A valid topology and where it came from."""

    topology: Topology
    source: Source
    deferred: tuple[Problem, ...] = ()
    """Problems left to the policies that judge them (``defer``), located."""


def load(file: str, *, lock: bool = True, defer: Collection[str] = ()) -> Loaded:
    """Read, merge (``extends:``), validate and cross-check a topology file (and its lock).

    Problems whose ``rule`` is in ``defer`` are left to that policy (`topoform check`)."""
    source = read_source(file)
    blanks = list(_placeholders(source.data, ()))
    if blanks:
        raise TopologyError(_locate(blanks, source))
    try:
        topology = Topology.model_validate(source.data)
    except ValidationError as exc:
        problems = _one_per_misindent([_from_pydantic(err, source.data) for err in exc.errors()], source.data)
        raise TopologyError(_locate(problems, source)) from None
    found = _locate(check_references(topology), source)
    deferred = tuple(p for p in found if p.rule is not None and p.rule in defer)
    problems = [p for p in found if p not in deferred]
    # The lock's problems first: a vanished entry explains the dangling references after it.
    problems = (check_lock(topology, source.main_file, topology.environment) if lock else []) + problems
    if problems:
        raise TopologyError(problems)
    return Loaded(topology, source, deferred)


def load_plan(file: str, catalog: Catalog | None = None, *, lock: bool = True, defer: Collection[str] = ()) -> tuple[Loaded, Plan]:
    """:func:`load`, then plan against the catalog; planner problems are located too."""
    loaded = load(file, lock=lock, defer=defer)
    try:
        return loaded, plan(loaded.topology, catalog)
    except TopologyError as exc:
        raise TopologyError(_locate(exc.problems, loaded.source)) from None


PLACEHOLDER = re.compile(r"^<fill in: (?P<note>.*)>$")
"""What `topoform new` writes for a value the source environment should not lend the new one."""


def _placeholders(data: Any, path: Path) -> Iterator[Problem]:
    """One problem per value `topoform new` left for the user to fill in, naming the field."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _placeholders(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _placeholders(value, (*path, i))
    elif isinstance(data, str) and (m := PLACEHOLDER.match(data)):
        yield Problem(path, f"fill in this environment's own value ({m.group('note')}; write the same value again to share it)")


def _locate(problems: list[Problem], source: Source) -> list[Problem]:
    default = source.locations.get(())
    located = [p.locate(source.locations, default) for p in problems]
    # Deterministic order: by file, line, then path.
    return sorted(
        located,
        key=lambda p: (p.location.file if p.location else "", p.location.line if p.location else 0, str(p.path)),
    )


# --------------------------------------------------------------------------- pydantic


def _from_pydantic(err: Any, data: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    path, is_key = _doc_path(loc, data)
    kind = err["type"]
    if is_key:
        return Problem(path, f"key {_clean(err['msg'])}")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], data)
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return Problem(path, f"unknown key '{path[-1]}'{hint}")
    if kind == "missing":
        return Problem(path, "required field is missing")
    if kind == "union_tag_invalid":
        return Problem((*path, "provider"), f"unknown provider {err['input'].get('provider')!r}; use one of: aws, gcp, azure, onprem")
    if kind == "union_tag_not_found":
        return Problem(path, "missing 'provider' (one of: aws, gcp, azure, onprem)")
    if kind in ("model_type", "dict_type") and isinstance(err.get("input"), (str, int, float, bool, list)) or kind == "model_attributes_type":
        return Problem(path, f"expected a mapping of fields, got {type(err['input']).__name__} {err['input']!r}")
    if kind == "string_pattern_mismatch":
        rule = PATTERN_RULES.get(str(err.get("ctx", {}).get("pattern", "")))
        if rule is not None:
            return Problem(path, f"{err['input']!r} is not {rule}")
    return Problem(path, _clean(err["msg"]))


PATTERN_RULES = {
    r"^\d{12}$": "an AWS account ID (12 digits)",
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$": "a GCP project ID (6-30 lowercase letters, digits and '-', a letter first, no '-' last)",
    r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$": "an Azure ID (a lowercase GUID: 8-4-4-4-12 hex digits)",
    r"^[A-Za-z][A-Za-z0-9_-]*$": "a Pulumi config key (letters, digits, '_' and '-', a letter first)",
    r"^gke-security-groups@[a-z0-9.-]+$": "the gke-security-groups@<your domain> group",
    r"^cr-[0-9a-f]{17}$": "a Capacity Block's reservation ID (cr- and 17 hex digits)",
    r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$": "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')",
    r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?(/reservationBlocks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?)?$": (
        "a reservation: its name, projects/<project>/reservations/<name>, or either with /reservationBlocks/<block>"
    ),
}
"""Patterns of the model's fields, in words: a message names the rule, never the regex."""


def _entry_model(container: Path) -> type[BaseModel] | None:
    """The model of the entries of a map at ``container`` (``("clusters",)`` -> Cluster)."""
    from .model import Cluster, Endpoint, Identity, NodePool, Store, Team

    models: dict[tuple[str, ...], type[BaseModel]] = {
        ("clusters",): Cluster, ("storage",): Store, ("identities",): Identity, ("teams",): Team, ("endpoints",): Endpoint,
        ("clusters", "*", "node_pools"): NodePool,
    }
    shape = tuple("*" if i % 2 and len(container) > 1 else str(p) for i, p in enumerate(container))
    return models.get(shape)


def _one_per_misindent(problems: list[Problem], data: dict[str, Any]) -> list[Problem]:
    """A field indented one level too far left (``node_pools:`` under ``clusters:``) reads as an
    entry named after the field, and as the field missing from the entry above: say that once."""
    misindented: list[tuple[Path, str]] = []
    for p in problems:
        if len(p.path) < 2:
            continue
        container, key = p.path[:-1], p.path[-1]
        for n in range(len(p.path) - 1, 0, -1):
            container, key = p.path[:n], p.path[n]
            model = _entry_model(container)
            if model is not None and isinstance(key, str) and key in model.model_fields and (container, key) not in misindented:
                misindented.append((container, key))
                break
    if not misindented:
        return problems
    out: list[Problem] = []
    for container, key in misindented:
        out.append(Problem((*container, key), f"'{key}' is a field of each entry here, not an entry: indent it under the entry above"))
    for p in problems:
        inside = any(p.path[: len(c) + 1] == (*c, k) for c, k in misindented)
        lost = any(p.path[: len(c)] == c and len(p.path) == len(c) + 2 and p.path[-1] == k and p.message == "required field is missing" for c, k in misindented)
        if not inside and not lost:
            out.append(p)
    return out


def _clean(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg


def _doc_path(loc: tuple[Any, ...], data: Any) -> tuple[Path, bool]:
    """Pydantic's ``loc`` -> the document's path (drop union tags, mark key errors)."""
    path: list[str | int] = []
    node = data
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
            break
        if isinstance(node, dict) and isinstance(part, str) and part not in node and node.get("provider") == part:
            continue  # a discriminated union's tag, not a document key
        if part in CAPACITY_TAGS and not (isinstance(node, dict) and part in node):
            continue  # a capacity step's tag (plain, reserved or spread)
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path), is_key


def _allowed_keys(path: Path, data: dict[str, Any]) -> list[str]:
    """The field names the model accepts at ``path`` (for 'unknown key' messages)."""
    model: Any = Topology
    node: Any = data
    for part in path:
        model = _unwrap(model, node)
        if isinstance(model, type) and issubclass(model, BaseModel) and isinstance(part, str):
            info = model.model_fields.get(part)
            if info is None:
                return []
            model = info.annotation
        elif typing.get_origin(model) is dict:
            model = typing.get_args(model)[1]
        elif typing.get_origin(model) is list:
            model = typing.get_args(model)[0]
        else:
            return []
        node = node.get(part) if isinstance(node, dict) else node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
    model = _unwrap(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(tp: Any, node: Any) -> Any:
    """Strip Annotated/Optional; pick a union member by the node's ``provider`` tag."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            tag = node.get("provider") if isinstance(node, dict) else None
            for m in members:
                if isinstance(m, type) and issubclass(m, BaseModel):
                    field = m.model_fields.get("provider")
                    if field is not None and typing.get_args(field.annotation) == (tag,):
                        return m
            bare = [typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m for m in members]
            models = [m for m in bare if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(models) > 1 and isinstance(node, dict):
                # a union told apart by its keys (a capacity step): the model that knows most of them
                models = [max(models, key=lambda m: len(set(node) & set(m.model_fields)))]
            return models[0] if len(models) == 1 else tp
        return tp


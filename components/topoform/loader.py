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
from .model import Topology, check_references
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
        problems = [_from_pydantic(err, source.data) for err in exc.errors()]
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
    return Problem(path, _clean(err["msg"]))


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
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            return models[0] if len(models) == 1 else tp
        return tp


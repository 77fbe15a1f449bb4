"""`topoform new <env> --from <env>`: a new environment that extends the same base.

Writes ``Pulumi.<env>.yaml`` (the stack's config: its topology file, default providers off) and
``<env>.topology.yaml`` from jinja2 templates. The new topology extends what the source extends
(or the source itself, when it extends nothing) and carries the source's own part, comments
included, with its ``environment`` changed. Nothing is overwritten; secrets are not copied.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import jinja2
import yaml
from pydantic import TypeAdapter, ValidationError

from .errors import Location, Problem, TopologyError
from .loader import load
from .model import Name, OnPremSite, covers_world
from .project import layout, resolve

__all__ = ["IDENTITY", "NewEnvironment", "new_environment"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("topoform", "templates"), autoescape=False, keep_trailing_newline=True)
_TOP_LEVEL = re.compile(r"^(extends|environment)\s*:.*(\n|$)", re.M)


@dataclass(frozen=True)
class NewEnvironment:
    """What `topoform new` wrote, and the values of the source it left for the user to fill in."""

    files: list[str]
    blanked: list[tuple[str, str]]
    """(field path, the source's value) of each identity value not copied."""


IDENTITY = [
    ("sites", "*", "project"), ("sites", "*", "account_id"), ("sites", "*", "subscription_id"), ("sites", "*", "resource_group"),
    ("endpoints", "*", "domain"), ("endpoints", "*", "dns_zone"), ("endpoints", "*", "overrides", "*", "dns_resource_group"),
    ("teams", "*", "group"), ("teams", "*", "overrides", "*", "group"), ("teams", "*", "overrides", "*", "principal_arn"),
    ("budget", "monthly_usd"),
    ("clusters", "*", "node_pools", "*", "capacity", "*", "reservation"), ("clusters", "*", "node_pools", "*", "capacity", "*", "capacity_block"),
    ("clusters", "*", "node_pools", "*", "overrides", "*", "reservation"),
]
"""Fields that name an environment's public identity (its projects and accounts, domains and DNS
zones, groups, budget) or what it holds (its capacity reservations): another environment must not
inherit them without its author writing them."""
WORLD_OPEN = [("endpoints", "*", "allowed_cidrs", "*"), ("clusters", "*", "allowed_cidrs", "*")]
"""Lists whose world-open entries are not lent either (an open door is always written out)."""


def new_environment(env: str, source: str, project_dir: str | None = None) -> NewEnvironment:
    """Create environment ``env`` from environment ``source``: the files written, and the
    identity values of the source's own file left for the user to fill in."""
    try:
        TypeAdapter(Name).validate_python(env)
    except ValidationError as exc:
        raise TopologyError([Problem(("environment",), exc.errors()[0]["msg"].removeprefix("Value error, "))]) from None
    target = resolve(source, project_dir)
    if target.project_dir is None or target.stack is None:
        raise TopologyError([Problem(("from",), f"'{source}' must be an environment (a stack) of a Pulumi project")])
    lay = layout(target.project_dir)
    loaded = load(target.topology, lock=False)  # the source must itself be valid
    src_dir = os.path.dirname(target.topology)
    stack_file = lay.stack_file(env)
    topology_file = os.path.join(src_dir, f"{env}.topology.yaml")
    for path in (stack_file, topology_file):
        if os.path.exists(path):
            raise TopologyError([Problem(("environment",), f"{os.path.relpath(path)} already exists; topoform new does not overwrite", Location(os.path.relpath(path), 1))])

    with open(target.topology, encoding="utf-8") as fh:
        text = fh.read()
    text, blanked = _blank_identity(text, source)
    extends = loaded.topology.extends or os.path.basename(target.topology)
    body = _TOP_LEVEL.sub("", _without_header(text)).strip("\n") + "\n"
    secrets = sorted({s.kubeconfig.secret for s in loaded.topology.sites.values() if isinstance(s, OnPremSite)})

    schema_file = os.path.join(lay.root, "schema", "topology.schema.json")
    schema = os.path.relpath(schema_file, src_dir) if os.path.isfile(schema_file) else None
    files = {
        topology_file: _ENV.get_template("topology.yaml.j2").render(env=env, source=source, extends=extends, body=body, schema=schema),
        stack_file: _ENV.get_template("Pulumi.stack.yaml.j2").render(
            env=env, source=source, topology=os.path.relpath(topology_file, lay.main_dir), secrets=secrets
        ),
    }
    for path, content in files.items():
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(content)
    return NewEnvironment(list(files), blanked)


def _blank_identity(text: str, source: str) -> tuple[str, list[tuple[str, str]]]:
    """The source's text with each identity value (and world-open CIDR) replaced by a
    placeholder `validate` refuses by name, comments and layout kept."""
    spans: list[tuple[int, int, str, str]] = []

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, f"[{i}]"))
        elif isinstance(node, yaml.ScalarNode):
            identity = any(_matches(path, p) for p in IDENTITY)
            world = any(_matches(path, p) for p in WORLD_OPEN) and _world(str(node.value))
            if identity or world:
                spans.append((node.start_mark.index, node.end_mark.index, ".".join(path).replace(".[", "["), str(node.value)))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    blanked = []
    for start, end, path, value in sorted(spans, reverse=True):
        note = f"{source} has {value}"
        text = text[:start] + f'"<fill in: {note}>"' + text[end:]
        blanked.append((path, value))
    return text, sorted(blanked)


def _world(cidr: str) -> bool:
    try:
        return covers_world([cidr])
    except ValueError:
        return False


def _matches(path: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """``*`` stands for any key or list index."""
    return len(path) == len(pattern) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True))


def _without_header(text: str) -> str:
    """The source file minus its leading comment block and modeline (the new file writes its own)."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "".join(lines[i:])

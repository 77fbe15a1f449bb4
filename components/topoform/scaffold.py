"""`topoform new <env> --from <env>`: a new environment that extends the same base.

Writes ``Pulumi.<env>.yaml`` (the stack's config: its topology file, default providers off) and
``<env>.topology.yaml`` from jinja2 templates. The new topology extends what the source extends
(or the source itself, when it extends nothing) and carries the source's own part, comments
included, with its ``environment`` changed. Nothing is overwritten; secrets are not copied.
"""

from __future__ import annotations

import os
import re

import jinja2
from pydantic import TypeAdapter, ValidationError

from .errors import Location, Problem, TopologyError
from .loader import load
from .model import Name, OnPremSite
from .project import layout, resolve

__all__ = ["new_environment"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("topoform", "templates"), autoescape=False, keep_trailing_newline=True)
_TOP_LEVEL = re.compile(r"^(extends|environment)\s*:.*(\n|$)", re.M)


def new_environment(env: str, source: str, project_dir: str | None = None) -> list[str]:
    """Create environment ``env`` from environment ``source``; return the files written."""
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
    return list(files)


def _without_header(text: str) -> str:
    """The source file minus its leading comment block and modeline (the new file writes its own)."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    return "".join(lines[i:])

"""Find the Pulumi project and resolve ``<env>`` to its topology file.

``topoform preview prod`` reads ``Pulumi.yaml`` (``main``, ``stackConfigDir``),
then ``<stackConfigDir>/Pulumi.prod.yaml`` and its ``topoform:topology``
config, which is relative to the program directory (``main``). An argument
that names an existing file is used as the topology file directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import yaml

from .errors import Location, Problem, TopologyError

__all__ = ["Layout", "Target", "find_project", "layout", "resolve"]

CONFIG_KEY = "topoform:topology"


@dataclass(frozen=True)
class Target:
    """What to preview: the topology file, the stack name, and the program to run."""

    topology: str
    stack: str | None
    """The stack (environment) name; ``None`` when a file was given (the topology's environment is used)."""
    program: str | None
    """The project's program (``<main>/__main__.py``) if there is a project."""
    project: str
    project_dir: str | None


def find_project(start: str | None = None) -> str | None:
    """The nearest directory at or above ``start`` holding a ``Pulumi.yaml``."""
    d = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(d, "Pulumi.yaml")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _read_yaml(path: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TopologyError([Problem(("yaml",), f"not valid YAML: {getattr(exc, 'problem', exc)}", Location(path, mark.line + 1 if mark else 1))]) from None
    if not isinstance(data, dict):
        raise TopologyError([Problem((), "expected a YAML mapping", Location(path, 1))])
    return data


@dataclass(frozen=True)
class Layout:
    """Where a Pulumi project keeps its program and its stack files."""

    root: str
    name: str
    main_dir: str
    """The program's directory (``main``); ``topoform:topology`` is relative to it."""
    stack_dir: str
    """Where ``Pulumi.<stack>.yaml`` files live (``stackConfigDir``)."""

    def stack_file(self, stack: str) -> str:
        return os.path.join(self.stack_dir, f"Pulumi.{stack}.yaml")


def layout(root: str) -> Layout:
    """Read ``Pulumi.yaml`` in ``root``."""
    meta = _read_yaml(os.path.join(root, "Pulumi.yaml"))
    main = meta.get("main")
    main_dir = os.path.join(root, str(main)) if main else root
    stack_dir = os.path.join(root, str(meta["stackConfigDir"])) if meta.get("stackConfigDir") else root
    return Layout(root, str(meta.get("name", "topoform")), main_dir, stack_dir)


def resolve(arg: str, project_dir: str | None = None) -> Target:
    """``<env>`` (a stack of the project) or a topology file -> :class:`Target`."""
    root = project_dir or find_project()
    project_name = "topoform"
    main_dir = stack_dir = root
    if root is not None:
        lay = layout(root)
        project_name, main_dir, stack_dir = lay.name, lay.main_dir, lay.stack_dir
    program = os.path.join(main_dir, "__main__.py") if main_dir and os.path.isfile(os.path.join(main_dir, "__main__.py")) else None

    if os.path.isfile(arg) or arg.endswith((".yaml", ".yml")):
        return Target(os.path.abspath(arg), None, program, project_name, root)
    if root is None or stack_dir is None or main_dir is None:
        raise TopologyError([Problem(("environment",), f"'{arg}' is not a file and no Pulumi.yaml was found above {os.getcwd()}")])
    stack_file = os.path.join(stack_dir, f"Pulumi.{arg}.yaml")
    if not os.path.isfile(stack_file):
        known = sorted(f[len("Pulumi."):-len(".yaml")] for f in os.listdir(stack_dir) if f.startswith("Pulumi.") and f.endswith(".yaml"))
        raise TopologyError(
            [Problem(("environment",), f"no stack '{arg}': {os.path.relpath(stack_file)} does not exist; known: {', '.join(known) or '(none)'}")]
        )
    config = _read_yaml(stack_file).get("config") or {}
    value = config.get(CONFIG_KEY) if isinstance(config, dict) else None
    if not isinstance(value, str) or not value:
        raise TopologyError([Problem(("config", CONFIG_KEY), "not set: name the environment's topology file", Location(os.path.relpath(stack_file), 1))])
    return Target(os.path.normpath(os.path.join(main_dir, value)), arg, program, project_name, root)

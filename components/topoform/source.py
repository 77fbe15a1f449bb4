"""Read topology YAML into plain data plus the file and line of every field.

PyYAML's composer gives each node its position; this module builds plain
``dict``/``list``/scalar data from the node tree and records, for every field
path, where it was written. Duplicate keys are an error (PyYAML would keep the
last silently). ``extends:`` files are deep-merged here: maps merge by key,
the extending file wins, anything else is replaced whole; the locations merge
the same way, so a problem is reported in the file that set the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Location, Path, Problem, TopologyError

LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (five times faster on large files), else
the pure-Python one; both give the nodes' line numbers."""

__all__ = ["Source", "parse", "read_source"]


@dataclass
class Source:
    """A topology document after ``extends:`` merging, with field locations."""

    data: dict[str, Any]
    locations: dict[Path, Location] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def main_file(self) -> str:
        return self.files[-1]


class _Constructor(yaml.constructor.SafeConstructor):
    """Scalars only: we walk mappings and sequences ourselves."""


MAX_DEPTH = 32
"""No topology nests deeper than a dozen levels; deeper is a mistake or an attack."""
MAX_VALUES = 500_000
"""A topology of 5,000 resources has about 20,000 values; aliases must not expand past this."""


class _TooLarge(Exception):
    """The document nests too deeply or expands to too many values (YAML aliases)."""


def _build(node: yaml.Node, path: Path, file: str, locs: dict[Path, Location], problems: list[Problem]) -> Any:
    if len(path) > MAX_DEPTH:
        raise _TooLarge(f"nested more than {MAX_DEPTH} levels deep", node.start_mark.line + 1)
    if len(locs) >= MAX_VALUES:
        raise _TooLarge(f"expands to more than {MAX_VALUES:,} values (YAML aliases repeating each other?)", node.start_mark.line + 1)
    locs[path] = Location(file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(path, "keys must be plain names, not lists or maps", Location(file, key_node.start_mark.line + 1))
                )
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(
                    Problem(path, "YAML merge keys ('<<') are not supported; use 'extends:'", Location(file, key_node.start_mark.line + 1))
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out:
                first = locs.get(child)
                at = f" (first set on line {first.line})" if first else ""
                problems.append(
                    Problem(child, f"duplicate key '{key}'{at}; each key may appear once", Location(file, key_node.start_mark.line + 1))
                )
                continue
            out[key] = _build(value_node, child, file, locs, problems)
            # A key's own line is more useful than its value's (for `key:\n  nested`).
            locs[child] = Location(file, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), file, locs, problems) for i, item in enumerate(node.value)]
    try:
        return _Constructor().construct_object(node, deep=True)
    except yaml.constructor.ConstructorError:
        raise
    except Exception:  # noqa: BLE001 - an explicit tag the value does not fit (!!int "12abc")
        tag = str(node.tag).rsplit(":", 1)[-1]
        problems.append(Problem(path, f"'{str(node.value)[:40]}' is not a valid !!{tag}", Location(file, node.start_mark.line + 1)))
        return None


def _compose(text: str) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=LOADER))
    except yaml.YAMLError:
        if LOADER is yaml.SafeLoader:
            raise
        # The pure-Python parser says what it found, not only what it expected: the user reads that.
        return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


_PLAINLY = (
    ("found character '\\t' that cannot start any token", "a tab: YAML indents with spaces only"),
    ("expected <block end>, but found", "this line is indented differently from the lines it belongs with: line it up with them"),
    ("mapping values are not allowed here", "a ':' where none can be: quote a value that holds ': ', or check this line's indentation"),
    ("could not find expected ':'", "a key without ':' (or a line indented into the one above)"),
)


def _plainly(problem: str) -> str:
    """The parser's words for the mistakes people make, in a sentence."""
    return next((said for found, said in _PLAINLY if problem.startswith(found)), "")


def parse(file: str) -> tuple[dict[str, Any], dict[Path, Location]]:
    """One YAML mapping file -> (data, field locations); duplicate keys are errors."""
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise TopologyError([Problem((), "file not found", Location(file, 1))]) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise TopologyError([Problem((), f"cannot read file: {exc}", Location(file.replace(chr(0), "\\0"), 1))]) from None
    try:
        nodes = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = str(exc.problem or exc.context)
        if exc.context and exc.problem and exc.context_mark is not None:
            reason += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        column = f" at column {mark.column + 1}" if mark else ""
        plain = _plainly(str(exc.problem or ""))
        said = f"{plain} (YAML: {reason})" if plain else reason
        raise TopologyError([Problem(("yaml",), f"not valid YAML{column}: {said}", Location(file, line))]) from None
    except yaml.YAMLError as exc:
        raise TopologyError([Problem(("yaml",), f"not valid YAML: {exc}", Location(file, 1))]) from None
    if len(nodes) != 1:
        what = "is empty" if not nodes else f"holds {len(nodes)} YAML documents; expected one"
        raise TopologyError([Problem((), f"the file {what}", Location(file, 1))])
    root = nodes[0]
    if not isinstance(root, yaml.MappingNode):
        raise TopologyError(
            [Problem((), "a topology must be a mapping (name:, sites:, clusters:, ...)", Location(file, root.start_mark.line + 1))]
        )
    locs: dict[Path, Location] = {}
    problems: list[Problem] = []
    try:
        data = _build(root, (), file, locs, problems)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise TopologyError([Problem(("yaml",), f"not valid YAML: {exc.problem}", Location(file, line))]) from None
    except _TooLarge as exc:
        raise TopologyError([Problem(("yaml",), f"refused: the document {exc.args[0]}", Location(file, exc.args[1]))]) from None
    except RecursionError:  # an alias that contains itself
        raise TopologyError([Problem(("yaml",), "refused: an alias refers to itself", Location(file, 1))]) from None
    if problems:
        raise TopologyError(problems)
    assert isinstance(data, dict)
    return data, locs


def _merge(base: Any, over: Any, path: Path, base_locs: dict[Path, Location], over_locs: dict[Path, Location]) -> Any:
    """Deep-merge ``over`` onto ``base``; locations of ``over`` win where it sets a value."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            child = (*path, key)
            if key in base:
                merged[key] = _merge(base[key], value, child, base_locs, over_locs)
            else:
                merged[key] = value
                _copy_locations(child, over_locs, base_locs)
        if path in over_locs:
            base_locs[path] = over_locs[path]
        return merged
    # Replace whole: drop the base's locations below this path, take over's.
    for stale in [p for p in base_locs if p[: len(path)] == path]:
        del base_locs[stale]
    _copy_locations(path, over_locs, base_locs)
    return over


def _copy_locations(prefix: Path, src: dict[Path, Location], dst: dict[Path, Location]) -> None:
    for p, loc in src.items():
        if p[: len(prefix)] == prefix:
            dst[p] = loc


def read_source(file: str, _chain: tuple[str, ...] = ()) -> Source:
    """Parse ``file``, following ``extends:`` (relative to the extending file)."""
    real = os.path.realpath(file)
    if real in _chain:
        cycle = " -> ".join(os.path.basename(f) for f in (*_chain, real))
        raise TopologyError([Problem(("extends",), f"'extends' forms a cycle: {cycle}", Location(file, 1))])
    data, locs = parse(file)
    parent = data.get("extends")
    if parent is None:
        return Source(data, locs, [file])
    if not isinstance(parent, str) or not parent:
        raise TopologyError([Problem(("extends",), "must be the path of a base topology file", locs.get(("extends",)))])
    if not parent.endswith((".yaml", ".yml")) or "\0" in parent:
        # Only YAML files: another file's lines (/etc/passwd) would be echoed back as unknown keys.
        raise TopologyError([Problem(("extends",), "must name a YAML topology file (.yaml or .yml), such as base.topology.yaml", locs.get(("extends",)))])
    base_file = os.path.normpath(os.path.join(os.path.dirname(file), parent))
    try:
        base = read_source(base_file, (*_chain, real))
    except TopologyError as exc:
        # A missing base is the extending file's fault: point at its `extends:` line.
        if len(exc.problems) == 1 and exc.problems[0].path == () and exc.problems[0].message == "file not found":
            raise TopologyError(
                [Problem(("extends",), f"base file '{parent}' not found (looked in {base_file})", locs.get(("extends",)))]
            ) from None
        raise
    merged_locs = dict(base.locations)
    merged = _merge(base.data, data, (), merged_locs, locs)
    return Source(merged, merged_locs, [*base.files, file])

"""Problems found in a topology, reported as ``file:line: field.path: message``.

Every stage that can reject input (YAML parsing, the model, cross-references,
the planner's catalog and capability checks) reports :class:`Problem` values
carrying the field path; :class:`TopologyError` collects them. The loader
attaches the file and line of each path, so the CLI can print one line per
problem and exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

__all__ = ["Location", "Path", "Problem", "TopologyError", "format_path"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file and a 1-based line."""

    file: str
    line: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a topology: the field path and what to do about it."""

    path: Path
    message: str
    location: Location | None = None
    rule: str | None = None
    """The policy that judges the same unsafe choice: `topoform check` defers the problem to it
    (exit 1 naming the rule) where `validate`, `preview` and `pulumi up` refuse it (exit 2)."""

    def format(self) -> str:
        where = f"{self.location.file}:{self.location.line}: " if self.location else ""
        return f"{where}{format_path(self.path)}: {self.message}"

    def locate(self, locations: Mapping[Path, Location], default: Location | None) -> Problem:
        """Attach the location of this problem's path (or of its nearest ancestor)."""
        if self.location is not None:
            return self
        path = self.path
        while True:
            if path in locations:
                return replace(self, location=locations[path])
            if not path:
                return replace(self, location=default)
            path = path[:-1]


def format_path(path: Sequence[str | int]) -> str:
    """``("clusters", "train", "node_pools", 0)`` -> ``clusters.train.node_pools[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


class TopologyError(Exception):
    """The topology cannot be used; ``problems`` says why, one entry per fault."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

"""Lean provider SDKs: a subpackage loads only the modules of the names asked of it.

Every Pulumi provider SDK exposes its subpackages (``pulumi_gcp.compute``,
``pulumi_azure_native.network``, ...) through ``pulumi._utils.lazy_import``: the first attribute
asked of ``gcp.compute`` runs ``compute/__init__.py``, which imports each of its ~290 resource
modules (``from .network import *`` ...). A topology that creates a network, a router and a NAT
pays for all of them: about 2 s for ``pulumi_gcp.compute`` alone.

:func:`install` replaces that lazy import with a lean one. A lean subpackage answers
``gcp.compute.Network`` by importing ``compute/network.py`` alone (and ``compute/_inputs.py``
for ``gcp.compute.RouterNatLogConfigArgs``), the module the generated ``__init__`` takes that
name from. A name it cannot place, a dunder (``__all__`` for ``import *``) or ``dir()`` runs the
package's own ``__init__`` in full, so every name still resolves to the object the SDK
exports; only the cost changes. Packages whose ``__init__`` does more than re-export modules
(``config``) are left to the SDK's own lazy import.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from functools import cache
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

__all__ = ["install", "resolve"]

_STAR = re.compile(r"from \.(\w+) import \*")
_PLAIN = {"import builtins as _builtins", "from .. import _utilities", "from ... import _utilities", "from .... import _utilities", "import typing", "from . import outputs"}
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_MISSING = object()
_STEM = re.compile(r"^Awaitable|(InitArgs|ArgsDict|Args|Result)$|_output$")
"""What the generator adds to a module's name to name what it defines: ``NetworkArgs``,
``GetNetworkResult``, ``AwaitableGetNetworkResult`` and ``get_network_output``."""


@cache
def _exports(init: str) -> tuple[str, ...] | None:
    """The modules a generated ``__init__.py`` star-imports, in order (``.outputs`` for the one it
    binds by name); None if the file does anything else."""
    found = []
    for line in Path(init).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line == "from . import outputs":
            found.append(".outputs")  # a module bound by name, not star-imported
            continue
        if not line or line.startswith("#") or line in _PLAIN:
            continue
        match = _STAR.fullmatch(line)
        if match is None:
            return None
        found.append(match.group(1))
    return tuple(found)


def _snake(name: str) -> str:
    return _WORD.sub("_", name).lower()


def resolve(module: types.ModuleType, name: str) -> Any:
    """What ``from .<m> import *`` binds to ``name`` in ``module``'s generated ``__init__``,
    importing only the module(s) that can define it; ``_MISSING`` when it cannot tell."""
    spec = module.__spec__
    exports = _exports(spec.origin) if spec is not None and spec.origin else None
    if not exports:
        return _MISSING
    stems = {name, _snake(name), _snake(_STEM.sub("", name))}
    # Later lines win in the real __init__, so look from the last candidate back.
    candidates = [m for m in exports if m in stems or m in ("_inputs", "_enums")]
    for candidate in reversed(candidates):
        sub = importlib.import_module(f"{module.__name__}.{candidate}")
        _bind(module, exports.index(candidate), sub)
        if _ORDER_KEY in vars(module) and name in vars(module)[_ORDER_KEY]:
            return vars(module)[name]
    if name in exports or f".{name}" in exports:
        return importlib.import_module(f"{module.__name__}.{name}")
    return _MISSING


_ORDER_KEY = "_lean_bound_from"


def _bind(module: types.ModuleType, index: int, sub: types.ModuleType) -> None:
    """What ``from .<sub> import *`` on line ``index`` does: bind each name ``sub`` exports,
    unless a later line's module has bound it already. (Importing ``sub`` also bound its own name
    to the module object, as in the real ``__init__``, where a class of the same name then wins.)"""
    bound: dict[str, int] = vars(module).setdefault(_ORDER_KEY, {})
    public = getattr(sub, "__all__", None)
    names = public if public is not None else [n for n in vars(sub) if not n.startswith("_")]
    for export in names:
        if bound.get(export, -1) <= index and export in vars(sub):
            setattr(module, export, vars(sub)[export])
            bound[export] = index


class _Lean(types.ModuleType):
    """A subpackage that imports its modules name by name (see the module's docstring)."""

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("__"):
            value = resolve(self, name)
            if value is not _MISSING:
                setattr(self, name, value)
                return value
        _load(self)
        try:
            return vars(self)[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None

    def __dir__(self) -> list[str]:
        _load(self)
        return list(vars(self))


def _load(module: types.ModuleType) -> None:
    """Run the package's own ``__init__`` in full (once)."""
    if type(module) is not _Lean:
        return
    module.__class__ = types.ModuleType  # type: ignore[assignment]  # a plain module from now on
    spec = module.__spec__
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(module)


def _lean_import(fullname: str) -> types.ModuleType:
    found = sys.modules.get(fullname)
    if found is not None:
        return found
    spec = importlib.util.find_spec(fullname)
    found = sys.modules.get(fullname)
    if found is not None:
        return found
    if not _leanable(spec):
        return _ORIGINAL(fullname)  # type: ignore[no-any-return]
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Lean
    sys.modules[fullname] = module
    return module


def _leanable(spec: ModuleSpec | None) -> bool:
    return spec is not None and spec.submodule_search_locations is not None and bool(spec.origin) and _exports(str(spec.origin)) is not None


_ORIGINAL: Any = None


def install() -> None:
    """Make the provider SDKs imported from now on lean (idempotent). SDKs already imported keep
    the subpackages they have."""
    global _ORIGINAL
    import pulumi._utils as utils

    if _ORIGINAL is None:
        _ORIGINAL = utils.lazy_import
        utils.lazy_import = _lean_import

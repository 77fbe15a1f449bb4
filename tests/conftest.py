"""Shared fixtures: the repository's paths, a CLI runner, and recordings of the example stacks."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str, cwd: Path = ROOT) -> Result:
    """Run `topoform <args>` in-process (the same `main` the console script calls)."""
    from topoform.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A throwaway copy of the project's Pulumi files and stacks, to edit freely."""
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", dst / "Pulumi.yaml")
    shutil.copytree(STACKS, dst / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schema", dst / "schema")
    yield dst


@pytest.fixture(scope="session")
def prod_recording():  # type: ignore[no-untyped-def]
    from topoform.preview import record

    return record(str(STACKS / "prod.topology.yaml"), stack="prod", program=str(STACKS / "__main__.py"))


@pytest.fixture(scope="session")
def dev_recording():  # type: ignore[no-untyped-def]
    from topoform.preview import record

    return record(str(STACKS / "dev.topology.yaml"), stack="dev", program=str(STACKS / "__main__.py"))

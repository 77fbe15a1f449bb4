"""The command line as a new user meets it: the README's commands, exit codes, lazy imports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

SDKS = ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_kubernetes", "pulumi_policy")


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    commands = _readme_commands()
    assert len(commands) >= 2
    preview, tests = commands[0], commands[1]
    assert "pip install" in preview and "topoform preview dev" in preview
    assert "pip install" in tests and "pytest" in tests and "mypy" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


@pytest.mark.parametrize("command", [["validate", "prod"], ["cost", "prod"], ["cost", "prod", "--diff", "dev"], ["place", "prod"], ["report", "prod", "--no-check"]])
def test_planning_commands_import_no_pulumi_sdk(command: list[str]) -> None:
    """Commands that only plan stay fast: no Pulumi SDK is imported."""
    code = (
        "import sys, io, contextlib\n"
        "from topoform.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): rc = main({command!r})\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {SDKS!r} or m == 'pulumi')\n"
        "print(rc, loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0 []"), proc.stdout


def test_preview_imports_only_the_sdks_the_topology_uses(tmp_path: Path) -> None:
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "name: s\nenvironment: dev\nsites:\n  dc1: {provider: onprem, kubeconfig: {secret: k}, storage_class: c}\n"
        "clusters:\n  lab: {site: dc1, node_pools: {a: {gpu: {type: H100, count: 8}, nodes: 1}}}\n"
    )
    code = (
        "import sys\n"
        "from topoform.cli import main\n"
        f"rc = main(['preview', {str(topo)!r}])\n"
        f"print(rc, sorted(m for m in sys.modules if m in {SDKS!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 ['pulumi_kubernetes']"


def test_validate_reports_counts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("validate", "prod")
    assert result.code == 0
    assert result.out == "stacks/prod.topology.yaml: valid (vision/prod: 4 sites, 5 clusters, 9 node pools, 4 stores)\n"


def test_a_file_outside_the_project_previews_under_its_environment_name(tmp_path: Path) -> None:
    topo = tmp_path / "t.yaml"
    topo.write_text(
        "name: s\nenvironment: qa\nsites:\n  dc1: {provider: onprem, kubeconfig: {secret: k}, storage_class: c}\n"
        "clusters:\n  lab: {site: dc1, node_pools: {a: {gpu: {type: H100, count: 8}, nodes: 1}}}\n"
    )
    result = run_cli("preview", str(topo), "--json", cwd=tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["stack"] == "qa"
    assert any(r["urn"] == "urn:pulumi:qa::topoform::topoform:index:OnPremGpuCluster::s-lab" for r in doc["resources"])


def test_the_console_script_runs_the_first_readme_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "topoform", "preview", "dev"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("topoform preview: vision / dev (stack dev): ")
    assert "cluster train: AwsGpuCluster" in proc.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["schema", "-o", "{missing}/schema.json"],
        ["report", "dev", "--no-check", "-o", "{missing}/report.html"],
        ["render", "dev", "--terraform-plan", "{missing}/plan.json"],
        ["render", "dev"],
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    result = run_cli(*[part.format(missing=missing) for part in command])
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("topoform: ") and "Traceback" not in result.err
    assert not missing.exists()


# --------------------------------------------------------------------------- the pull-request gate (issue 15, F1 and F2)


def test_every_renderer_handles_a_stack_level_finding(project_copy: Path) -> None:
    """F1: the budget rules judge the whole stack (their finding has no URN); the markdown
    renderer indexed into the URN and crashed, so the PR gate failed without a violation."""
    base = project_copy / "stacks" / "base.topology.yaml"
    base.write_text(base.read_text().replace("min: 0, max: 16}", "min: 0, max: 18}"))  # the maximum passes 80% of the budget
    for fmt in (["--format", "markdown"], ["--format", "text"], ["--json"]):
        result = run_cli("check", "prod", *fmt, cwd=project_copy)
        assert result.code == 0, (fmt, result.err)  # an advisory finding keeps the gate green
        assert "budget-headroom" in result.out and "internal error" not in result.err
    markdown = run_cli("check", "prod", "--format", "markdown", cwd=project_copy).out
    assert "| `the stack` (stack) |" in markdown
    report = run_cli("report", "prod", "--format", "markdown", "-o", str(project_copy / "r.md"), cwd=project_copy)
    assert report.code == 0, report.err
    assert "`the stack`" in (project_copy / "r.md").read_text()
    prod = project_copy / "stacks" / "prod.topology.yaml"
    prod.write_text(prod.read_text().replace("budget: {monthly_usd: 1700000}", "budget: {monthly_usd: 50000}"))
    over = run_cli("check", "prod", "--format", "markdown", cwd=project_copy)
    assert over.code == 1 and "budget-within-limit" in over.out and ":x: **" in over.out


def test_an_internal_error_has_its_own_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """F2: exit 1 meant both a mandatory violation and a crash; an internal error is now 3."""
    import topoform.cli as cli

    def boom(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cmd_validate", boom)
    result = run_cli("validate", "dev")
    assert result.code == cli.INTERNAL_ERROR == 3
    assert result.err.startswith("topoform: internal error: RuntimeError: a bug")
    assert "3 an internal error" in cli._parser().format_help()  # --help says so

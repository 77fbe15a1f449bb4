"""The policy pack as the Pulumi CLI runs it, and its documentation.

`pulumi preview --policy-pack policies` starts ``policies/__main__.py``, reads the port it
prints and talks gRPC to it. These tests do the same: they start the pack in a subprocess,
ask for its analyzer info (names, severities, levels, config schemas) and push a recording
through it, and the answer must match `topoform check` in-process.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from conftest import ROOT, STACKS
from topoform.check import check
from topoform.preview import record
from topoform_policies import RETAIN_RULE, RULES, Rule, schema
from topoform_policies.docs import BEGIN, END, rules_table

POLICIES = ROOT / "policies"
SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
LEVEL = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.DISABLED: "disabled"}


class _Remote:
    """A gRPC stub shaped like the in-process servicer `topoform.check` drives."""

    def __init__(self, stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
        self.stub = stub

    def Configure(self, request: Any, _context: Any) -> Any:
        return self.stub.Configure(request, timeout=30)

    def Analyze(self, request: Any, _context: Any) -> Any:
        return self.stub.Analyze(request, timeout=30)

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:
        return self.stub.AnalyzeStack(request, timeout=60)


@pytest.fixture(scope="module")
def pack() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started the way the CLI starts it: its program, in its directory; it prints a port."""
    proc = subprocess.Popen([sys.executable, "-u", "__main__.py"], cwd=POLICIES, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the pack printed {port!r}; stderr: {proc.stderr.read() if proc.poll() is not None and proc.stderr else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait()


def test_the_rules_package_imports_without_starting_a_server() -> None:
    """Importing the rules (what `topoform check` and other programs do) returns at once and
    prints nothing; only the pack's __main__.py serves."""
    proc = subprocess.run(
        [sys.executable, "-c", "import topoform_policies as p; print(len(p.policies()))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(len(RULES))


def test_the_pack_describes_every_rule_with_its_severity_level_and_config_schema(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "topoform"
    assert info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert list(by_name) == [r.name for r in RULES]
    for rule in RULES:
        p = by_name[rule.name]
        assert SEVERITY[p.severity] == rule.severity, rule.name
        assert LEVEL[p.enforcementLevel] == rule.enforcement, rule.name
        assert p.displayName.startswith(rule.id)
        assert p.remediation_steps == rule.remediation
        resource_scoped = isinstance(rule, Rule) and rule.scope == "resource"
        assert p.policy_type == (analyzer_pb2.POLICY_TYPE_RESOURCE if resource_scoped else analyzer_pb2.POLICY_TYPE_STACK), rule.name
        properties = json_format.MessageToDict(p.configSchema.properties)
        assert properties == schema(rule), rule.name
        assert "exemptions" in properties  # every rule can be exempted, with a reason
        assert {t for t in p.tags if t.startswith("mirrors:")} == {f"mirrors:{m}" for m in rule.mirrors}


def test_the_running_pack_judges_a_recording_as_topoform_check_does(pack: analyzer_pb2_grpc.AnalyzerStub, tmp_path: Path) -> None:
    """End to end through gRPC: an insecure store and a world-open API are reported by the
    pack the CLI would load exactly as `topoform check` reports them in-process."""
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: e2e\nenvironment: prod\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "clusters:\n  c: {site: a, api: public, allowed_cidrs: [0.0.0.0/0], node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "storage:\n  s: {site: a, backup: true, access: public}\n"
    )
    rec = record(str(topo), stack="prod")
    remote = check(rec, analyzer=_Remote(pack))
    local = check(rec)
    assert remote.violations == local.violations
    assert {v.policy for v in remote.mandatory} == {"cluster-api-not-public", "storage-no-public-access"}
    # the same connection, reconfigured: the user's config reaches the running pack
    relaxed = check(rec, {"storage-no-public-access": "advisory", "cluster-api-not-public": "disabled"}, analyzer=_Remote(pack))
    assert {v.policy for v in relaxed.mandatory} == set()
    assert {v.policy for v in relaxed.violations} == {"storage-no-public-access"}


def test_the_running_pack_passes_the_example_stacks(pack: analyzer_pb2_grpc.AnalyzerStub) -> None:
    for env in ("dev", "prod"):
        rec = record(str(STACKS / f"{env}.topology.yaml"), stack=env, program=str(STACKS / "__main__.py"))
        assert check(rec, analyzer=_Remote(pack)).mandatory == [], env


def test_the_rules_table_in_the_policies_readme_is_current() -> None:
    """Regenerate with `python -m topoform_policies` and paste between the markers."""
    readme = (POLICIES / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END)
    assert readme[start + len(BEGIN) + 1 : end] == rules_table()
    printed = subprocess.run([sys.executable, "-m", "topoform_policies"], capture_output=True, text=True, check=True, timeout=120).stdout
    assert printed == f"{BEGIN}\n{rules_table()}{END}\n"
    rows = rules_table().splitlines()[2:]
    assert len(rows) == len(RULES) + 1  # and the reliability rule only `topoform check` sees
    assert RETAIN_RULE.id in rows[-1]


def test_the_pack_runs_in_the_environment_the_project_installs() -> None:
    """The CLI starts the pack in PulumiPolicy.yaml's virtualenv: it must be the project's, where
    `pip install -e .` put topoform_policies and pulumi-policy."""
    pack = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert pack["runtime"]["name"] == project["runtime"]["name"] == "python"
    assert (POLICIES / pack["runtime"]["options"]["virtualenv"]).resolve() == (ROOT / project["runtime"]["options"]["virtualenv"]).resolve()

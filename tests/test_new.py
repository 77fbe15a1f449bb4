"""`topoform new <env> --from <env>`: the files it writes are a valid environment of the project."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import run_cli
from topoform.loader import load_plan


def test_new_staging_from_prod_validates_and_matches_prods_shape(project_copy: Path) -> None:
    result = run_cli("new", "staging", "--from", "prod", cwd=project_copy)
    assert result.code == 0, result.err
    stack = yaml.safe_load((project_copy / "stacks" / "Pulumi.staging.yaml").read_text())
    assert stack["config"]["topoform:topology"] == "staging.topology.yaml"
    assert stack["config"]["pulumi:disable-default-providers"] == ["*"]
    topo = yaml.safe_load((project_copy / "stacks" / "staging.topology.yaml").read_text())
    assert topo["extends"] == "base.topology.yaml" and topo["environment"] == "staging"

    # prod's identity is not lent: each value is left for the author, and validate names it
    assert "left for you to fill in" in result.out and "sites.gcp-central.project (prod: acme-ml-prod)" in result.out
    validate = run_cli("validate", "staging", cwd=project_copy)
    assert validate.code == 2
    refused = {line.split(": ")[1] for line in validate.err.splitlines()}
    assert refused == {
        "budget.monthly_usd", "sites.gcp-central.project", "endpoints.inference.domain", "endpoints.inference.allowed_cidrs[0]",
        "teams.inference-ops.group", "teams.tuning.group", "teams.tuning.overrides.azure.group",
        "clusters.train.node_pools.h100.capacity[0].reservation",  # prod's reserved p5s are prod's
        "clusters.finetune.node_pools.a100.capacity[0].reservation",  # and so is its reservation group
    }
    path = project_copy / "stacks" / "staging.topology.yaml"
    text = path.read_text()
    for placeholder, value in (
        ("prod has 2000000", "900000"), ("prod has acme-ml-prod", "acme-ml-staging"), ("prod has infer.acme.example", "infer.staging.acme.example"),
        ("prod has 0.0.0.0/0", "0.0.0.0/0"), ("prod has inference-ops@acme.example", "inference-ops@acme.example"),
        ("prod has tuning@acme.example", "tuning@acme.example"), ("prod has 6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c", "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"),
        ("prod has cr-0a1b2c3d4e5f67890", "cr-0a1b2c3d4e5f67891"),
        (
            "prod has /subscriptions/7d1c5e2a-3b4f-4a6e-9c8d-0e1f2a3b4c5d/resourceGroups/acme-capacity/providers/Microsoft.Compute/capacityReservationGroups/finetune-a100",
            "/subscriptions/7d1c5e2a-3b4f-4a6e-9c8d-0e1f2a3b4c5d/resourceGroups/acme-capacity/providers/Microsoft.Compute/capacityReservationGroups/staging-a100",
        ),
    ):
        text = text.replace(f'"<fill in: {placeholder}>"', value)
    path.write_text(text)
    validate = run_cli("validate", "staging", cwd=project_copy)
    assert validate.code == 0, validate.err
    assert "vision/staging" in validate.out
    # nothing of prod's public identity unless written: its own project, domain and record
    staging_records = [r for r in json.loads(run_cli("preview", "staging", "--json", cwd=project_copy).out)["resources"] if r["type"] == "gcp:dns/recordSet:RecordSet"]
    assert staging_records and all(r["inputs"]["project"] == "acme-ml-staging" and r["inputs"]["managedZone"] == "staging-acme-example" for r in staging_records)
    assert {r["inputs"]["name"] for r in staging_records} >= {"infer.staging.acme.example."}

    # the same capacity as prod: the same lines and the same cost
    prod = json.loads(run_cli("cost", "prod", "--json", cwd=project_copy).out)
    staging = json.loads(run_cli("cost", "staging", "--json", cwd=project_copy).out)
    assert staging["environment"] == "staging"
    assert [i["path"] for i in staging["items"]] == [i["path"] for i in prod["items"]]
    assert staging["monthly_usd"] == prod["monthly_usd"] and staging["budget_usd"] == 900000
    # and its own names: nothing collides with prod's resources
    _, plan = load_plan(str(project_copy / "stacks" / "staging.topology.yaml"))
    assert all("staging" in c.spec["cluster_name"] for c in plan.clusters.values() if "cluster_name" in c.spec)


def test_new_keeps_comments_and_tells_which_secrets_to_set(project_copy: Path) -> None:
    assert run_cli("new", "qa", "--from", "dev", cwd=project_copy).code == 0
    text = (project_copy / "stacks" / "qa.topology.yaml").read_text()
    first, second = text.splitlines()[:2]
    assert first == "# yaml-language-server: $schema=../schema/topology.schema.json"  # editors check it as you type
    assert second.startswith("# qa: created by `topoform new qa --from dev`")
    assert "environment: dev" not in text and text.count("extends:") == 1
    stack_text = (project_copy / "stacks" / "Pulumi.qa.yaml").read_text()
    assert "pulumi config set --secret dc1-kubeconfig" in stack_text
    assert "secure:" not in stack_text  # no secret is ever copied


def test_new_never_overwrites_and_rejects_bad_names(project_copy: Path) -> None:
    before = (project_copy / "stacks" / "Pulumi.dev.yaml").read_text()
    again = run_cli("new", "dev", "--from", "prod", cwd=project_copy)
    assert again.code == 2 and "already exists" in again.err
    assert (project_copy / "stacks" / "Pulumi.dev.yaml").read_text() == before
    assert not (project_copy / "stacks" / "Pulumi.Staging.yaml").exists()
    bad = run_cli("new", "Staging", "--from", "prod", cwd=project_copy)
    assert bad.code == 2 and "is not a valid name" in bad.err
    unknown = run_cli("new", "qa", "--from", "nope", cwd=project_copy)
    assert unknown.code == 2 and "no stack 'nope'" in unknown.err
    assert sorted(p.name for p in (project_copy / "stacks").glob("Pulumi.*.yaml")) == ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]

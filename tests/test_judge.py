"""The independent judge: Checkov over what topoform creates, offline.

Checkov pins a `packaging` older than pytest's, so it lives in its own virtual environment,
`.judge-venv`, installed from `tests/judge/requirements.txt` on first use. Every failed check
must be waived in `tests/judge/waivers.yaml` with a reason, and every waiver must still match a
failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, STACKS

JUDGE = ROOT / "tests" / "judge"
VENV = ROOT / ".judge-venv"
CHECKOV = VENV / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov() -> Path:
    if not CHECKOV.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "-r", str(JUDGE / "requirements.txt")], check=True)
    return CHECKOV


def _run(checkov: Path, directory: Path, framework: str) -> list[dict[str, Any]]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [str(checkov), "-d", str(directory), "--framework", framework, "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    assert sum(r["summary"]["resource_count"] for r in reports) > 0, "checkov read nothing"
    return [f for r in reports for f in r["results"]["failed_checks"]]


def _waivers(framework: str) -> list[dict[str, str]]:
    entries = yaml.safe_load((JUDGE / "waivers.yaml").read_text())[framework]
    for entry in entries:
        assert entry.get("reason", "").strip(), f"{entry.get('check') or entry.get('input')} is waived without a reason"
    return entries  # type: ignore[no-any-return]


def test_checkov_passes_the_kubernetes_objects_of_every_stack_save_the_waived(checkov: Path, tmp_path: Path) -> None:
    from topoform.preview import record
    from topoform.render import write_kubernetes

    for env in ("dev", "prod"):
        rec = record(str(STACKS / f"{env}.topology.yaml"), stack=env, program=str(STACKS / "__main__.py"))
        files = write_kubernetes(rec, str(tmp_path / env))
        assert files
    failures = {(f["check_id"], f["resource"]) for f in _run(checkov, tmp_path, "kubernetes")}
    waived = {(w["check"], w["resource"]) for w in _waivers("kubernetes")}
    assert failures - waived == set(), f"unwaived Checkov failures: {sorted(failures - waived)}"
    assert waived - failures == set(), f"stale waivers (no longer failing): {sorted(waived - failures)}"


def test_checkov_catches_an_insecure_object_we_render(checkov: Path, tmp_path: Path) -> None:
    """The judge is live: a privileged container in the rendered YAML fails its check."""
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "work"},
        "spec": {
            "selector": {"matchLabels": {"app": "bad"}},
            "template": {"metadata": {"labels": {"app": "bad"}}, "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": True}}]}},
        },
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(manifest))
    failures = {f["check_id"] for f in _run(checkov, tmp_path, "kubernetes")}
    assert "CKV_K8S_16" in failures  # "Container should not be privileged"


# --------------------------------------------------------------------------- AWS and GCP, as a Terraform plan

PLAN_TOPOLOGIES = {"dev": STACKS / "dev.topology.yaml", "prod": STACKS / "prod.topology.yaml", "judge": JUDGE / "endpoints.topology.yaml"}


def _plans(tmp_path: Path, mutate: Any = None) -> list[str]:
    """Render each topology's AWS and GCP resources as a plan; returns what was left out."""
    from topoform.preview import record
    from topoform.render import terraform_plan

    left_out = []
    for env, topology in PLAN_TOPOLOGIES.items():
        rec = record(str(topology), stack=env if env != "judge" else "dev", program=str(STACKS / "__main__.py"))
        if mutate:
            mutate(rec)
        tf = terraform_plan(rec)
        (tmp_path / f"{env}.json").write_text(tf.to_json())
        left_out += tf.skipped
    return left_out


def test_checkov_passes_the_aws_and_gcp_resources_save_the_waived(checkov: Path, tmp_path: Path) -> None:
    left_out = _plans(tmp_path)
    # Every input found its Terraform argument, save those the waiver file names (newer than the schema).
    known = {w["input"] for w in _waivers("terraform_plan_left_out")}
    # "<type>.<name>.<input path>: not an argument in ..." -> "<type>.<input path>"
    seen = {"{0}.{2}".format(*line.split(":")[0].split(".", 2)) for line in left_out if ": not an argument in " in line}
    assert seen == known, f"inputs without a Terraform argument: {left_out}"
    # the rest are values the preview cannot know (a DNS record's name from its certificate's challenge)
    assert all(
        ": not an argument in " in line or line.endswith((": known only once deployed, left out of the plan", " exists only in the google-beta provider, left out of the plan"))
        for line in left_out
    ), left_out
    failures = {(f["check_id"], f["resource"]) for f in _run(checkov, tmp_path, "terraform_plan")}
    waived = {(w["check"], r) for w in _waivers("terraform_plan") for r in w["resources"]}
    assert failures - waived == set(), f"unwaived Checkov failures: {sorted(failures - waived)}"
    assert waived - failures == set(), f"stale waivers (no longer failing): {sorted(waived - failures)}"


def test_checkov_catches_an_insecure_aws_and_gcp_resource_in_the_plan(checkov: Path, tmp_path: Path) -> None:
    """The judge reads what we render: one public-access flag on S3, uniform access on GCS and
    the nodes' metadata hop limit are each caught by Checkov's own check."""

    def weaken(rec: Any) -> None:
        for r in rec.resources:
            if r["type"] == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
                r["inputs"]["ignorePublicAcls"] = False
            if r["type"] == "gcp:storage/bucket:Bucket":
                r["inputs"]["uniformBucketLevelAccess"] = False
            if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate":
                r["inputs"]["metadataOptions"]["httpPutResponseHopLimit"] = 2

    _plans(tmp_path, weaken)
    failures = {(f["check_id"], f["resource"].split(".")[0]) for f in _run(checkov, tmp_path, "terraform_plan")}
    assert ("CKV_AWS_55", "aws_s3_bucket_public_access_block") in failures  # "S3 bucket has ignore public ACLs enabled"
    assert ("CKV_GCP_29", "google_storage_bucket") in failures  # "uniform bucket-level access"
    assert ("CKV_AWS_341", "aws_launch_template") in failures  # "metadata response hop limit greater than 1"


def test_the_plan_speaks_terraform(prod_recording: Any) -> None:
    """Pulumi's names become Terraform's: camelCase to snake_case, single blocks back into
    one-element lists, pluralised repeated blocks singular again, inputs taken from other
    resources as configuration references."""
    from topoform.render import terraform_plan

    tf = terraform_plan(prod_recording)
    planned = {r["address"]: r for r in tf.plan["planned_values"]["root_module"]["resources"]}
    eks = planned["aws_eks_cluster.vision-train-eks"]["values"]
    assert eks["vpc_config"][0]["endpoint_private_access"] is True
    assert eks["vpc_config"][0]["public_access_cidrs"] == ["198.51.100.10/32"]
    assert eks["encryption_config"][0]["resources"] == ["secrets"]
    pool = planned["google_container_node_pool.vision-serve-pool-l4"]["values"]
    assert pool["node_config"][0]["guest_accelerator"][0]["type"] == "nvidia-l4"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in pool["node_config"][0]["taint"]
    assert pool["autoscaling"][0]["total_max_node_count"] >= 1
    rule = planned["aws_s3_bucket_lifecycle_configuration.vision-datasets-lifecycle"]["values"]["rule"][0]
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] > 0
    # every address is unique and typed as Terraform knows it
    assert len(planned) == len(tf.plan["planned_values"]["root_module"]["resources"])
    config = {r["address"]: r for r in tf.plan["configuration"]["root_module"]["resources"]}
    refs = config["aws_s3_bucket_versioning.vision-datasets-versioning"]["expressions"]["bucket"]["references"]
    assert "aws_s3_bucket.vision-datasets-bucket" in refs
    # the same recording gives the same plan
    assert terraform_plan(prod_recording).to_json() == tf.to_json()


def test_the_plan_names_what_it_cannot_translate(prod_recording: Any) -> None:
    import copy

    from topoform.render import terraform_plan

    rec = copy.deepcopy(prod_recording)
    eks = next(r for r in rec.resources if r["type"] == "aws:eks/cluster:Cluster")
    eks["inputs"]["vpcConfig"]["madeUpSetting"] = True
    eks["inputs"]["nameWo"] = "x"  # a near miss of `name` is not `name`
    eks["inputs"]["roleArn"] = "[unknown]"
    eks["inputs"]["encryptionConfig"] = "[secret]"
    rec.resources.append({**eks, "urn": eks["urn"] + "-x", "type": "aws:eks/madeUp:MadeUp"})
    tf = terraform_plan(rec)
    skipped = tf.skipped
    assert any(line.startswith("aws_eks_cluster.vision-train-eks.vpcConfig.madeUpSetting: not an argument in") for line in skipped)
    assert any(line.startswith("aws_eks_cluster.vision-train-eks.nameWo: not an argument in") for line in skipped)
    assert "aws_eks_cluster.vision-train-eks.roleArn: known only once deployed, left out of the plan" in skipped
    assert "aws_eks_cluster.vision-train-eks.encryptionConfig: a secret, left out of the plan" in skipped
    assert any("aws:eks/madeUp:MadeUp has no Terraform type" in line for line in skipped)
    values = next(r for r in tf.plan["planned_values"]["root_module"]["resources"] if r["address"] == "aws_eks_cluster.vision-train-eks")["values"]
    assert "role_arn" not in values and "encryption_config" not in values and values["name"] == "vision-prod-train"

"""GPU pools that scale from zero and back on every cloud: the autoscaler each cloud gets, read
from what `topoform preview prod` records, and what each cloud's autoscaler cannot be told."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from topoform.check import check
from topoform.preview import record

EKS = ("vision-prod-train", "us-east-1"), ("vision-prod-train-standby", "us-west-2")


def _by_name(rec: Any, type_: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rec.by_type(type_)}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]  # type: ignore[no-any-return]


def test_each_eks_cluster_runs_a_cluster_autoscaler_for_its_own_node_groups(prod_recording: Any) -> None:
    """EKS scales nothing itself: per cluster (the standby too) a Cluster Autoscaler of the
    cluster's Kubernetes minor, discovering that cluster's node groups, told the topology's
    scale-down delay and the region it cannot read from the metadata service (hop limit 1)."""
    deployments = _by_name(prod_recording, "kubernetes:apps/v1:Deployment")
    clusters = {r["inputs"]["name"]: r for r in prod_recording.by_type("aws:eks/cluster:Cluster")}
    for (name, region), prefix in zip(EKS, ("vision-train", "vision-train-standby"), strict=True):
        container = _container(deployments[f"{prefix}-autoscaler-deployment"])
        flags = container["command"]
        assert flags[0] == "./cluster-autoscaler"
        assert "--cloud-provider=aws" in flags
        assert f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{name}" in flags
        assert "--scale-down-unneeded-time=5m" in flags  # prod's autoscaling.scale_down_after_minutes
        # eval's capacity list (and the primary's H100 one) is taken in order: priority first
        assert {"--scale-down-utilization-threshold=0.5", "--scale-down-gpu-utilization-threshold=0.5", "--expander=priority,least-waste"} <= set(flags)
        assert container["image"] == f"registry.k8s.io/autoscaling/cluster-autoscaler:v{clusters[name]['inputs']['version']}.2"
        assert container["env"] == [{"name": "AWS_REGION", "value": region}]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        # It runs where system pods run: nothing lets it past the GPU taint.
        pod = deployments[f"{prefix}-autoscaler-deployment"]["inputs"]["spec"]["template"]
        assert "tolerations" not in pod["spec"]
        # it starts after its Pod Identity association is in effect, and restarts with a new one
        assert "topoform.io/pod-identity-association" in pod["metadata"]["annotations"]
        waits = [r for r in prod_recording.by_type("time:index/sleep:Sleep") if r["name"] == f"{prefix}-autoscaler-wait"]
        assert len(waits) == 1 and waits[0]["urn"] in deployments[f"{prefix}-autoscaler-deployment"]["options"]["dependsOn"]


def test_the_eks_autoscaler_may_change_only_its_own_clusters_groups(prod_recording: Any) -> None:
    associations = _by_name(prod_recording, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    policies = _by_name(prod_recording, "aws:iam/rolePolicy:RolePolicy")
    for (name, region), prefix in zip(EKS, ("vision-train", "vision-train-standby"), strict=True):
        association = associations[f"{prefix}-autoscaler"]["inputs"]
        assert (association["clusterName"], association["namespace"], association["serviceAccount"]) == (name, "kube-system", "cluster-autoscaler")
        assert association["roleArn"].endswith(f"role/{prefix}-autoscaler-role")
        statements = {s["Sid"]: s for s in json.loads(policies[f"{prefix}-autoscaler-role"]["inputs"]["policy"])["Statement"]}
        writes = statements["ScaleThisClustersGroups"]
        assert writes["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
        assert writes["Condition"] == {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{name}": "owned"}}
        assert writes["Resource"].startswith(f"arn:aws:autoscaling:{region}:123456789012:autoScalingGroup:")
        assert statements["ReadThisClustersNodeGroups"]["Resource"] == f"arn:aws:eks:{region}:123456789012:nodegroup/{name}/*"
        assert all(not a.endswith("*") for s in statements.values() for a in s["Action"])


def test_eks_gpu_nodes_are_labelled_for_the_autoscaler_and_pools_at_zero_can_grow(prod_recording: Any) -> None:
    for group in prod_recording.by_type("aws:eks/nodeGroup:NodeGroup"):
        labels, scaling = group["inputs"]["labels"], group["inputs"]["scalingConfig"]
        gpu = labels.get("topoform.io/accelerator")
        assert labels.get("k8s.amazonaws.com/accelerator") == gpu  # both or neither
        if gpu and scaling["minSize"] == 0:
            assert scaling["maxSize"] > 0
            # what a node of the empty pool would offer pods that ask for local disk
            assert group["inputs"]["tags"]["k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage"].endswith("G")
            assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in group["inputs"]["taints"]


def test_gke_and_aks_clusters_get_their_own_autoscaler_settings(prod_recording: Any) -> None:
    (gke,) = prod_recording.by_type("gcp:container/cluster:Cluster")
    # serving keeps GKE's balanced profile (optimize-utilization is meant for batch work)
    assert gke["inputs"]["clusterAutoscaling"] == {"enabled": False, "autoscalingProfile": "BALANCED"}
    (aks,) = prod_recording.by_type("azure-native:containerservice:ManagedCluster")
    # finetune's A100 pool lists its capacity (reserved, then on demand): AKS's one expander is priority
    assert aks["inputs"]["autoScalerProfile"] == {"scaleDownUtilizationThreshold": "0.5", "scaleDownUnneededTime": "10m", "expander": "priority"}
    for pool in prod_recording.by_type("azure-native:containerservice:AgentPool"):
        assert pool["inputs"]["enableAutoScaling"] is True
    for pool in prod_recording.by_type("gcp:container/nodePool:NodePool"):
        limits = pool["inputs"]["autoscaling"]
        assert limits["totalMinNodeCount"] <= limits["totalMaxNodeCount"]


TOPOLOGY = """\
name: s
environment: dev
labels: {owner: ml-platform}
deployer: {networks: [198.51.100.10/32]}
sites:
  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}
  g: {provider: gcp, project: acme-ml, region: us-central1}
  z: {provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}
clusters:
  eks:
    site: a
    AUTOSCALING
    node_pools: {system: {instance: cpu-4x16, min: 1, max: 3}, gpu: {gpu: {type: L4, count: 1}, min: 0, max: 4}}
  gke:
    site: g
    GKE_AUTOSCALING
    node_pools: {system: {instance: cpu-4x16, min: 1, max: 3}, gpu: {gpu: {type: L4, count: 1}, min: 0, max: 4}}
  aks:
    site: z
    AUTOSCALING
    node_pools: {system: {instance: cpu-4x16, min: 1, max: 3}, gpu: {gpu: {type: A100-80GB, count: 1}, min: 0, max: 4}}
"""


def _topology(tmp_path: Path, autoscaling: str, gke: str | None = None) -> Path:
    path = tmp_path / "t.topology.yaml"
    path.write_text(TOPOLOGY.replace("GKE_AUTOSCALING", gke if gke is not None else autoscaling).replace("AUTOSCALING", autoscaling))
    return path


def test_one_description_becomes_each_clouds_settings(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, "autoscaling: {scale_down_utilization: 0.7, scale_down_after_minutes: 3, expander: most-pods}", gke="autoscaling: {scale_down_utilization: 0.7}")), stack="dev")
    flags = _container(_by_name(rec, "kubernetes:apps/v1:Deployment")["s-eks-autoscaler-deployment"])["command"]
    assert {"--scale-down-utilization-threshold=0.7", "--scale-down-gpu-utilization-threshold=0.7", "--scale-down-unneeded-time=3m", "--expander=most-pods"} <= set(flags)
    (aks,) = rec.by_type("azure-native:containerservice:ManagedCluster")
    assert aks["inputs"]["autoScalerProfile"] == {"scaleDownUtilizationThreshold": "0.7", "scaleDownUnneededTime": "3m", "expander": "most-pods"}
    (gke,) = rec.by_type("gcp:container/cluster:Cluster")
    assert gke["inputs"]["clusterAutoscaling"]["autoscalingProfile"] == "OPTIMIZE_UTILIZATION"
    assert check(rec).mandatory == []


@pytest.mark.parametrize(
    ("gke", "field", "fragment"),
    [
        ("autoscaling: {expander: most-pods}", "expander", "GKE chooses which pool grows itself"),
        ("autoscaling: {scale_down_after_minutes: 30}", "scale_down_after_minutes", "it cannot keep them longer than balanced does"),
        ("autoscaling: {scale_down_utilization: 0.3}", "scale_down_utilization", "GKE offers two autoscaling profiles, not numbers"),
    ],
)
def test_gke_refuses_what_its_two_profiles_cannot_do(tmp_path: Path, gke: str, field: str, fragment: str) -> None:
    path = _topology(tmp_path, "", gke=gke)
    result = run_cli("validate", str(path))
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{path}:16: clusters.gke.autoscaling.{field}: " in result.err and fragment in result.err, result.err


def test_a_cluster_whose_pools_cannot_grow_gets_no_autoscaler(tmp_path: Path) -> None:
    path = tmp_path / "t.topology.yaml"
    path.write_text(TOPOLOGY.replace("AUTOSCALING", "").replace("GKE_", "").replace("min: 0, max: 4", "min: 2, max: 2").replace("min: 1, max: 3", "min: 2, max: 2"))
    rec = record(str(path), stack="dev")
    assert not [r for r in rec.by_type("kubernetes:apps/v1:Deployment") if "autoscaler" in r["name"]]
    assert "clusterAutoscaling" not in rec.by_type("gcp:container/cluster:Cluster")[0]["inputs"]
    assert "autoScalerProfile" not in rec.by_type("azure-native:containerservice:ManagedCluster")[0]["inputs"]
    assert check(rec).mandatory == []

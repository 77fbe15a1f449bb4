"""The example stacks under the recording mocks: what the program really registers.

These read the recorded inputs and options (the wire names the providers
receive), not the planner's intentions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import STACKS, run_cli

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present"}
ACCEL_LABEL = "topoform.io/accelerator"


def _one(rec: Any, type_: str, name: str) -> dict[str, Any]:
    found = [r for r in rec.resources if r["type"] == type_ and r["name"] == name]
    assert len(found) == 1, f"expected one {type_} named {name}, found {[r['name'] for r in rec.by_type(type_)]}"
    return found[0]


# --------------------------------------------------------------------------- per cloud


def test_aws_cluster_is_private_with_kms_encrypted_secrets_and_logging(prod_recording: Any) -> None:
    eks = _one(prod_recording, "aws:eks/cluster:Cluster", "vision-train-eks")
    inputs = eks["inputs"]
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    # Public only to the deployer's egress (deployer.networks), which must reach it from outside.
    assert inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert inputs["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.10/32"]
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    key = _one(prod_recording, "aws:kms/key:Key", "vision-train-secrets-key")
    assert key["urn"] in eks["options"]["dependsOn"]
    assert inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:")
    assert key["inputs"]["enableKeyRotation"] is True
    assert set(inputs["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["name"] == "vision-prod-train"
    assert inputs["version"] == "1.35"


def test_aws_gpu_node_group_has_nvidia_ami_taint_and_label(prod_recording: Any) -> None:
    ng = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-h100")["inputs"]
    assert ng["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    assert ng["instanceTypes"] == ["p5.48xlarge"]
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in ng["taints"]
    assert ng["labels"][ACCEL_LABEL] == "H100"
    assert ng["scalingConfig"] == {"minSize": 0, "maxSize": 12, "desiredSize": 0}  # 16 less the 4 reserved
    assert ng["capacityType"] == "ON_DEMAND"
    system = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-system")["inputs"]
    assert system["amiType"] == "BOTTLEROCKET_x86_64"
    assert "taints" not in system or system["taints"] == []


def test_aws_nodes_require_imdsv2_and_encrypted_volumes(prod_recording: Any) -> None:
    for lt in prod_recording.by_type("aws:ec2/launchTemplate:LaunchTemplate"):
        meta = lt["inputs"]["metadataOptions"]
        assert meta["httpTokens"] == "required"
        assert meta["httpPutResponseHopLimit"] == 1  # the node answers, its pods (a hop further) do not
        ebs = lt["inputs"]["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true"


def test_every_created_aws_vpc_logs_its_flows_through_a_role_that_writes_only_there(prod_recording: Any) -> None:
    vpcs = prod_recording.by_type("aws:ec2/vpc:Vpc")
    flows = prod_recording.by_type("aws:ec2/flowLog:FlowLog")
    assert vpcs and len(flows) == len(vpcs)
    groups = {g["inputs"]["name"]: g for g in prod_recording.by_type("aws:cloudwatch/logGroup:LogGroup")}
    for flow in flows:
        inputs = flow["inputs"]
        assert inputs["trafficType"] == "ALL" and inputs["logDestinationType"] == "cloud-watch-logs"
        group_name = inputs["logDestination"].split(":log-group:")[1]
        # kept as long as the cluster's control-plane logs
        control_plane = next(g for g in groups.values() if g["parent"] == flow["parent"] and g["inputs"]["name"].endswith("/cluster"))
        assert groups[group_name]["inputs"]["retentionInDays"] == control_plane["inputs"]["retentionInDays"]
        role = next(r for r in prod_recording.by_type("aws:iam/role:Role") if inputs["iamRoleArn"].endswith("/" + r["name"]))
        (trust,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"].isdigit()  # no confused deputy
        policies = [p for p in prod_recording.by_type("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"].startswith(role["name"] + "-")]
        statement, listing = [s for p in policies for s in json.loads(p["inputs"]["policy"])["Statement"]]
        assert statement["Resource"] == [inputs["logDestination"], inputs["logDestination"] + ":*"]
        assert all(a.startswith("logs:") and "*" not in a for a in statement["Action"])
        assert listing["Action"] == "logs:DescribeLogGroups"  # a list action: no group ARN scopes it
        assert not [a for a in prod_recording.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a["inputs"]["role"].startswith(role["name"] + "-")]
    # one per VPC (the mocks make a VPC's ID from its name)
    assert sorted(f["inputs"]["vpcId"].rsplit("-", 1)[0] for f in flows) == sorted(v["name"] for v in vpcs)


def test_aws_spot_pool_in_dev_uses_spot_capacity(dev_recording: Any) -> None:
    ng = _one(dev_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-h100")["inputs"]
    assert ng["capacityType"] == "SPOT"
    assert ng["labels"]["topoform.io/capacity"] == "spot"


def test_gcp_cluster_is_private_with_database_encryption(prod_recording: Any) -> None:
    gke = _one(prod_recording, "gcp:container/cluster:Cluster", "vision-serve-gke")["inputs"]
    # no IP endpoint outside the VPC's region: the deployer is public and comes by the DNS endpoint
    assert gke["privateClusterConfig"] == {"enablePrivateEndpoint": True, "enablePrivateNodes": True, "masterGlobalAccessConfig": {"enabled": False}}
    assert gke["databaseEncryption"]["state"] == "ENCRYPTED"
    key = _one(prod_recording, "gcp:kms/cryptoKey:CryptoKey", "vision-serve-secrets-key")
    assert gke["databaseEncryption"]["keyName"].endswith("/cryptoKeys/kubernetes-secrets")
    assert key["inputs"]["rotationPeriod"] == "7776000s"
    assert gke["workloadIdentityConfig"]["workloadPool"] == "acme-ml-prod.svc.id.goog"
    assert gke["deletionProtection"] is True
    assert gke["removeDefaultNodePool"] is True
    assert "APISERVER" in gke["loggingConfig"]["enableComponents"]
    assert gke["datapathProvider"] == "ADVANCED_DATAPATH"
    grant = _one(prod_recording, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "vision-serve-secrets-key-agent")["inputs"]
    assert grant["member"] == "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com"


def test_gcp_gpu_pool_has_guest_accelerators_taint_and_label(prod_recording: Any) -> None:
    pool = _one(prod_recording, "gcp:container/nodePool:NodePool", "vision-serve-pool-l4")["inputs"]
    cfg = pool["nodeConfig"]
    assert cfg["machineType"] == "g2-standard-4"
    acc = cfg["guestAccelerators"][0]
    assert acc["type"] == "nvidia-l4" and acc["count"] == 1
    assert acc["gpuDriverInstallationConfig"]["gpuDriverVersion"] == "LATEST"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in cfg["taints"]
    assert cfg["labels"][ACCEL_LABEL] == "L4"
    assert cfg["spot"] is True
    assert cfg["workloadMetadataConfig"]["mode"] == "GKE_METADATA"
    assert pool["autoscaling"]["totalMinNodeCount"] == 1 and pool["autoscaling"]["totalMaxNodeCount"] == 24


def test_azure_cluster_is_private_with_entra_rbac_kms_and_workload_identity(prod_recording: Any) -> None:
    aks = _one(prod_recording, "azure-native:containerservice:ManagedCluster", "vision-finetune-aks")["inputs"]
    access = aks["apiServerAccessProfile"]
    # API Server VNet Integration: nodes reach the API privately; the endpoint admits the deployer only.
    assert access["enableVnetIntegration"] is True and access["subnetId"].endswith("/apiserver")
    assert access["enablePrivateCluster"] is False and access["authorizedIPRanges"] == ["198.51.100.10/32"]
    assert aks["disableLocalAccounts"] is True
    assert aks["aadProfile"] == {"enableAzureRBAC": True, "managed": True}
    assert aks["securityProfile"]["workloadIdentity"]["enabled"] is True
    kms = aks["securityProfile"]["azureKeyVaultKms"]
    assert kms["enabled"] is True and kms["keyId"].startswith("https://")
    assert aks["oidcIssuerProfile"]["enabled"] is True
    assert aks["networkProfile"]["networkPolicy"] == "cilium"
    vault = _one(prod_recording, "azure-native:keyvault:Vault", "vision-finetune-secrets-kv")["inputs"]["properties"]
    assert vault["enablePurgeProtection"] is True and vault["enableRbacAuthorization"] is True
    logs = _one(prod_recording, "azure-native:monitor:DiagnosticSetting", "vision-finetune-control-plane-logs")["inputs"]
    assert {"kube-apiserver", "kube-audit-admin"} <= {entry["category"] for entry in logs["logs"]}


def test_azure_gpu_agent_pool_carries_taint_label_and_driver(prod_recording: Any) -> None:
    pool = _one(prod_recording, "azure-native:containerservice:AgentPool", "vision-finetune-pool-a100")
    inputs = pool["inputs"]
    assert inputs["vmSize"] == "Standard_NC24ads_A100_v4"
    assert "nvidia.com/gpu=present:NoSchedule" in inputs["nodeTaints"]
    assert inputs["nodeLabels"][ACCEL_LABEL] == "A100-80GB"
    # the on-demand step of a list whose reservation holds 2 of the 8: it grows to the other 6
    assert inputs["enableAutoScaling"] is True and inputs["minCount"] == 0 and inputs["maxCount"] == 6
    assert inputs["gpuProfile"] == {"driver": "Install"}
    assert inputs["enableNodePublicIP"] is False
    assert pool["options"]["deleteBeforeReplace"] is True  # the pool name is fixed (AKS: 12 characters)


def test_azure_and_onprem_gpu_clusters_run_the_device_plugin(prod_recording: Any) -> None:
    # NVIDIA's plugin where the nodes carry none (EKS Bottlerocket and GKE nodes do; EKS's EFA
    # plugin is another DaemonSet, tests/test_fabric.py)
    plugins = [p for p in prod_recording.by_type("kubernetes:apps/v1:DaemonSet") if "nvidia" in p["name"]]
    assert {p["name"] for p in plugins} == {"vision-finetune-nvidia-device-plugin", "vision-lab-nvidia-device-plugin"}
    for plugin in plugins:
        pod = plugin["inputs"]["spec"]["template"]["spec"]
        # past every taint of a GPU node (the GPU taint, a cloud's, the pool's own); only GPU nodes, by the label
        assert pod["tolerations"] == [{"operator": "Exists"}]
        term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
        assert term["matchExpressions"] == [{"key": ACCEL_LABEL, "operator": "Exists"}]
        container = pod["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_onprem_provider_reads_the_kubeconfig_secret_or_says_it_used_a_placeholder(dev_recording: Any) -> None:
    provider = _one(dev_recording, "pulumi:providers:kubernetes", "vision-dc1")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert any("dc1-kubeconfig" in n and "placeholder" in n for n in dev_recording.notices)
    plugin = _one(dev_recording, "kubernetes:apps/v1:DaemonSet", "vision-lab-nvidia-device-plugin")
    assert plugin["provider"].endswith("::pulumi:providers:kubernetes::vision-dc1")


# --------------------------------------------------------------------------- house rules


@pytest.mark.parametrize("rec_name", ["dev_recording", "prod_recording"])
def test_no_resource_uses_a_default_provider(request: pytest.FixtureRequest, rec_name: str) -> None:
    rec = request.getfixturevalue(rec_name)
    providers = {r["urn"] for r in rec.resources if r["type"].startswith("pulumi:providers:")}
    for r in rec.resources:
        if r["custom"] and not r["type"].startswith("pulumi:providers:"):
            assert r["provider"] in providers, f"{r['urn']} uses provider {r['provider']!r}"
            assert "::default" not in r["provider"]


def test_every_child_is_parented_and_named_after_its_component(prod_recording: Any) -> None:
    components = {r["urn"]: r for r in prod_recording.resources}
    site_providers = [r["name"] for r in prod_recording.resources if r["type"].startswith("pulumi:providers:")]
    for r in prod_recording.resources:
        parent = components.get(r["parent"])
        if parent is None:
            assert r["parent"].endswith("pulumi:pulumi:Stack::topoform-prod"), r["urn"]
            # Top level: providers, components, and objects a site shares (named after the site's provider).
            # (waits use the program's own time provider)
            shared = any(r["name"].startswith(p + "-") and (r["provider"].endswith("::" + p) or r["type"].startswith("time:")) for p in site_providers)
            assert r["type"].startswith(("pulumi:providers:", "topoform:index:")) or shared, f"{r['urn']} is not inside a component"
        else:
            assert r["name"].startswith(parent["name"] + "-"), f"{r['name']} does not derive from {parent['name']}"


STATEFUL = [
    "aws:eks/cluster:Cluster",
    "aws:kms/key:Key",
    "gcp:container/cluster:Cluster",
    "gcp:kms/keyRing:KeyRing",
    "gcp:kms/cryptoKey:CryptoKey",
    "azure-native:containerservice:ManagedCluster",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:resources:ResourceGroup",
]


@pytest.mark.parametrize("type_", STATEFUL)
def test_stateful_resources_are_protected_in_prod_and_not_in_dev(prod_recording: Any, dev_recording: Any, type_: str) -> None:
    prod = prod_recording.by_type(type_)
    assert prod, f"prod records no {type_}"
    for r in prod:
        assert r["options"]["protect"] is True and r["options"]["retainOnDelete"] is True, r["urn"]
    for r in dev_recording.by_type(type_):
        assert r["options"]["protect"] is False and r["options"]["retainOnDelete"] is False, r["urn"]


def test_provider_side_deletion_protection_follows_protect(prod_recording: Any, dev_recording: Any) -> None:
    assert _one(prod_recording, "aws:eks/cluster:Cluster", "vision-train-eks")["inputs"]["deletionProtection"] is True
    assert _one(dev_recording, "aws:eks/cluster:Cluster", "vision-train-eks")["inputs"]["deletionProtection"] is False


def test_every_site_gets_an_explicit_provider_in_its_region(prod_recording: Any) -> None:
    aws = _one(prod_recording, "pulumi:providers:aws", "vision-aws-east")["inputs"]
    assert aws["region"] == "us-east-1"
    assert json.loads(aws["defaultTags"])["tags"]["topoform-environment"] == "prod"
    gcp = _one(prod_recording, "pulumi:providers:gcp", "vision-gcp-central")["inputs"]
    assert gcp["project"] == "acme-ml-prod" and gcp["region"] == "us-central1"
    azure = _one(prod_recording, "pulumi:providers:azure-native", "vision-azure-east")["inputs"]
    assert azure["location"] == "eastus2"


# --------------------------------------------------------------------------- determinism and stability


def test_two_runs_give_byte_identical_json(cli) -> None:  # type: ignore[no-untyped-def]
    first = cli("preview", "prod", "--json")
    second = cli("preview", "prod", "--json")
    assert first.code == 0 and second.code == 0, first.err
    assert first.out == second.out
    doc = json.loads(first.out)
    assert doc["resources"] == sorted(doc["resources"], key=lambda r: r["urn"])
    assert {"urn", "type", "name", "parent", "provider", "inputs", "options"} <= set(doc["resources"][0])
    assert {"protect", "retainOnDelete", "aliases", "dependsOn", "deleteBeforeReplace"} <= set(doc["resources"][0]["options"])


def _reverse_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_maps(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_reverse_maps(v) for v in value]
    return value


def test_reordering_keys_leaves_every_urn_unchanged(project_copy: Path, prod_recording: Any) -> None:
    for name in ("base.topology.yaml", "prod.topology.yaml"):
        path = project_copy / "stacks" / name
        path.write_text(yaml.safe_dump(_reverse_maps(yaml.safe_load(path.read_text())), sort_keys=False))
    assert (project_copy / "stacks" / "prod.topology.yaml").read_text() != (STACKS / "prod.topology.yaml").read_text()
    result = run_cli("preview", "prod", "--json", cwd=project_copy)
    assert result.code == 0, result.err
    reordered = json.loads(result.out)["resources"]
    assert [r["urn"] for r in reordered] == [r["urn"] for r in prod_recording.resources]
    assert reordered == prod_recording.resources


def test_readable_preview_shows_a_tree_per_site_and_cluster(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("preview", "prod")
    assert result.code == 0, result.err
    out = result.out
    assert "site aws-east (aws us-east-1, backup us-west-2)" in out
    assert "  cluster train: AwsGpuCluster vision-train," in out
    assert "pool h100: p5.48xlarge (8x H100), 0..12 nodes, on-demand, capacity step 2, fabric efa x32, taint nvidia.com/gpu=present:NoSchedule" in out
    assert "pool h100-reserved: p5.48xlarge (8x H100), 4 nodes, reservation cr-0a1b2c3d4e5f67890 (4 held), capacity step 1, fabric efa x32, taint nvidia.com/gpu=present:NoSchedule" in out
    assert "site dc1 (onprem)" in out and "notice: site dc1:" in out


def test_invalid_topology_stops_preview_before_any_resource(project_copy: Path) -> None:
    path = project_copy / "stacks" / "dev.topology.yaml"
    path.write_text(path.read_text().replace("type: H100", "type: H1000"))
    result = run_cli("preview", "dev", cwd=project_copy)
    assert result.code == 2
    assert result.out == ""
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "H1000" in text)
    assert f"stacks/dev.topology.yaml:{line}: clusters.train.node_pools.h100.gpu.type: unknown GPU 'H1000'" in result.err
    assert (STACKS / "dev.topology.yaml").exists()


def test_the_preview_records_what_the_sdk_registers_without_its_shortcuts(prod_recording: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline preview skips work whose result it never records: the SDK's type aliases
    turned into URNs through outputs (recorded from the specs instead) and the declaring code's
    stack. Without those shortcuts the SDK registers everything itself, and the preview must be
    byte-identical (prod has resources of every cloud, azure-native's aliases among them)."""
    import contextlib

    from topoform import preview

    aliases = [a for r in prod_recording.resources for a in r["options"]["aliases"]]
    assert any("azure-native:containerservice/v20" in a for a in aliases)  # the SDK's type aliases are recorded
    monkeypatch.setattr(preview.RecordingMonitor, "strip_type_aliases", lambda self, args: None)
    monkeypatch.setattr(preview, "_no_source_positions", contextlib.nullcontext)
    full = preview.record(str(STACKS / "prod.topology.yaml"), stack="prod", program=str(STACKS / "__main__.py"))
    assert full.to_json() == prod_recording.to_json()


def test_the_collector_runs_less_often_while_a_program_registers_and_as_before_afterwards(tmp_path: Path) -> None:
    """The SDK allocates tens of thousands of short-lived objects per resource: the preview
    raises the collector's thresholds for the program's run (half the CPU time at 6,456
    resources, see the README's performance notes) and gives the caller's back."""
    import gc

    from topoform.preview import GC_THRESHOLDS, record_program

    program = tmp_path / "__main__.py"
    program.write_text("import gc\nimport pulumi\npulumi.CustomResource('x:index:Seen', 'seen', {'threshold': list(gc.get_threshold())})\n")
    before = gc.get_threshold()
    gc.set_threshold(1000, 11, 12)
    try:
        rec = record_program(str(program), stack="dev", project="x")
        assert gc.get_threshold() == (1000, 11, 12)
    finally:
        gc.set_threshold(*before)
    (seen,) = [r for r in rec.resources if r["type"] == "x:index:Seen"]
    assert tuple(seen["inputs"]["threshold"]) == GC_THRESHOLDS

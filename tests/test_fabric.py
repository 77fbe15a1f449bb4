"""Fabrics for multi-node training: `interconnect: fast` on a pool, read from what `topoform
preview prod` records (prod's H100 training pool on AWS, its H200 pool on GKE), and refused
where it cannot be built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from topoform.catalog import load_catalog
from topoform.providers.aws.cluster import efa_interfaces


def _one(rec: Any, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in rec.by_type(type_) if r["name"] == name]
    return found  # type: ignore[no-any-return]


def test_every_efa_interface_of_the_machine_is_laid_out_as_ec2_and_eks_say() -> None:
    for count in (4, 16, 32):
        layout = efa_interfaces(count)
        assert layout[0] == (0, 0, "interface")  # the primary carries IP traffic
        assert layout[1] == (0, 1, "efa-only")  # an EFA-only interface beside it on card 0
        assert [card for card, device, _ in layout[2:]] == list(range(1, count))
        assert sum(kind == "efa-only" for _, _, kind in layout) == count
        assert len({(card, device) for card, device, _ in layout}) == len(layout)


@pytest.mark.parametrize("prefix", ["vision-train", "vision-train-standby"])
def test_the_h100_training_pool_gets_efa_one_zone_and_a_placement_group(prod_recording: Any, prefix: str) -> None:
    template = _one(prod_recording, "aws:ec2/launchTemplate:LaunchTemplate", f"{prefix}-pool-h100")["inputs"]
    group = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", f"{prefix}-pool-h100")["inputs"]
    efa = load_catalog().clouds["aws"]
    p5 = next(o for o in efa.offerings if o.machine == group["instanceTypes"][0])
    assert p5.fabric is not None and p5.fabric.kind == "efa"
    interfaces = template["networkInterfaces"]
    assert [(i["networkCardIndex"], i["deviceIndex"], i["interfaceType"]) for i in interfaces] == efa_interfaces(p5.fabric.interfaces)
    cluster = _one(prod_recording, "aws:eks/cluster:Cluster", f"{prefix}-eks")
    fabric_sg = _one(prod_recording, "aws:ec2/securityGroup:SecurityGroup", f"{prefix}-fabric")
    for i in interfaces:
        # EKS adds no group once interfaces name some: the cluster's, and the fabric's own
        assert len(i["securityGroups"]) == 2 and i["securityGroups"][0].startswith("sg-"), i
        assert i["deleteOnTermination"] == "true" and "subnetId" not in i
    assert "vpcSecurityGroupIds" not in template and cluster["type"] == "aws:eks/cluster:Cluster"
    rules = [r for r in prod_recording.resources if r["name"] in (f"{prefix}-fabric-in", f"{prefix}-fabric-out")]
    assert {r["type"].split(":")[-1] for r in rules} == {"SecurityGroupIngressRule", "SecurityGroupEgressRule"}
    for rule in rules:  # all traffic, between the fabric's interfaces only
        assert rule["inputs"]["ipProtocol"] == "-1"
        assert rule["inputs"]["securityGroupId"] == rule["inputs"]["referencedSecurityGroupId"]
    placement = _one(prod_recording, "aws:ec2/placementGroup:PlacementGroup", f"{prefix}-pool-h100")["inputs"]
    assert placement["strategy"] == "cluster"
    assert template["placement"]["groupName"].startswith(f"{prefix}-pool-h100")
    assert len(group["subnetIds"]) == 1  # one zone: EFA reaches no further
    # ... the first zone (by ID) where EC2 offers the machine: the fake account has no p5 in az1
    subnets = {r["name"]: r["inputs"] for r in prod_recording.by_type("aws:ec2/subnet:Subnet")}
    (subnet,) = [s for name, s in subnets.items() if name.startswith(f"{prefix}-private-") and f"{prefix}-private-" in group["subnetIds"][0] and group["subnetIds"][0].startswith(name)]
    assert subnet["availabilityZoneId"].endswith("-az2")
    assert group["labels"]["topoform.io/fabric"] == "efa"
    # a pending pod asking for EFA and huge pages can make the empty pool grow
    resources = "k8s.io/cluster-autoscaler/node-template/resources/"
    assert group["tags"][f"{resources}vpc.amazonaws.com/efa"] == str(p5.fabric.interfaces)
    assert group["tags"][f"{resources}hugepages-2Mi"] == f"{110 * 2 * p5.vcpus}Mi"


def test_the_efa_device_plugin_runs_on_fabric_nodes_past_the_gpu_taint(prod_recording: Any) -> None:
    for prefix, region in (("vision-train", "us-east-1"), ("vision-train-standby", "us-west-2")):
        pod = _one(prod_recording, "kubernetes:apps/v1:DaemonSet", f"{prefix}-efa-device-plugin")["inputs"]["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"topoform.io/fabric": "efa"}
        assert pod["tolerations"] == [{"operator": "Exists"}]  # the GPU taint and any the pool adds
        (container,) = pod["containers"]
        assert container["image"] == f"602401143452.dkr.ecr.{region}.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.20"
        assert {v["hostPath"]["path"] for v in pod["volumes"]} == {"/var/lib/kubelet/device-plugins", "/dev/infiniband/"}
    # only clusters with a fabric pool run it
    assert {r["name"] for r in prod_recording.by_type("kubernetes:apps/v1:DaemonSet") if "efa" in r["name"]} == {"vision-train-efa-device-plugin", "vision-train-standby-efa-device-plugin"}


def test_the_h200_pool_on_gke_gets_its_rdma_nics_from_the_accelerator_network_profile(prod_recording: Any) -> None:
    pools = {r["name"]: r["inputs"] for r in prod_recording.by_type("gcp:container/nodePool:NodePool")}
    h200 = pools["vision-serve-pool-h200-flex"]
    a3u = next(o for o in load_catalog().clouds["gcp"].offerings if o.machine == h200["nodeConfig"]["machineType"])
    assert a3u.fabric is not None and a3u.fabric.kind == "gpudirect-rdma"
    # GKE makes the RDMA VPC, its subnets and the NICs; its DRA driver offers them to pods
    assert h200["networkConfig"] == {"acceleratorNetworkProfile": "auto"}
    config = h200["nodeConfig"]
    assert config["labels"]["cloud.google.com/gke-networking-dra-driver"] == "true"
    assert config["labels"]["topoform.io/fabric"] == "gpudirect-rdma"
    assert config["gvnic"] == {"enabled": True} and config["imageType"] == "COS_CONTAINERD"
    # RDMA reaches one zone: the one of us-central1 with H200s (the catalog's)
    assert h200["nodeLocations"] == load_catalog().clouds["gcp"].zones_offering("nvidia-h200-141gb", "us-central1") == ["us-central1-b"]
    assert config["flexStart"] is True and h200["autoscaling"]["totalMinNodeCount"] == 0
    # pools without the fabric stay as they were
    for name, pool in pools.items():
        if name != "vision-serve-pool-h200-flex":
            assert "networkConfig" not in pool and "gvnic" not in pool["nodeConfig"], name
            assert "cloud.google.com/gke-networking-dra-driver" not in pool["nodeConfig"]["labels"], name


def test_gke_rdma_nodes_get_the_gib_plugin_and_every_namespace_a_claim_on_the_nics(prod_recording: Any) -> None:
    installer = _one(prod_recording, "kubernetes:apps/v1:DaemonSet", "vision-serve-nccl-rdma-installer")["inputs"]
    pod = installer["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"topoform.io/fabric": "gpudirect-rdma"} and pod["tolerations"] == [{"operator": "Exists"}]
    (init,) = pod["initContainers"]
    assert init["image"] == "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib:v1.1.1"
    assert installer["metadata"] == {"name": "topoform-nccl-rdma-installer", "namespace": "kube-system", "labels": installer["metadata"]["labels"]}
    # copying over libraries a running job has loaded would break it: a new version waits for a new pod
    assert installer["spec"]["updateStrategy"] == {"type": "OnDelete"}
    # the plugin's libraries, and its settings script and tuner files, land under the directory GKE
    # mounts into GPU containers (/usr/local/nvidia): pods under baseline Pod Security take no hostPath
    assert {v["hostPath"]["path"] for v in pod["volumes"]} == {"/home/kubernetes/bin/nvidia/lib64", "/home/kubernetes/bin/gib", "/home/kubernetes/bin/nvidia/gib"}
    script = init["args"][0]
    assert "/scripts/container_entry.sh install" in script
    assert "cp -r /var/lib/gib/scripts /var/lib/gib/configs /usr/local/home/kubernetes/bin/nvidia/gib/" in script
    (pause,) = pod["containers"]
    assert "privileged" not in pause["securityContext"] and pause["securityContext"]["allowPrivilegeEscalation"] is False
    templates = [r for r in prod_recording.by_type("kubernetes:resource.k8s.io/v1:ResourceClaimTemplate")]
    assert {r["inputs"]["metadata"]["namespace"] for r in templates} == {"serving"}  # the serve cluster's namespaces only
    for r in templates:
        (request,) = r["inputs"]["spec"]["spec"]["devices"]["requests"]
        assert r["inputs"]["metadata"]["name"] == "topoform-fabric"
        assert request["exactly"] == {"deviceClassName": "mrdma.google.com", "allocationMode": "ExactCount", "count": 8}
        # its spec cannot change in place: a change replaces it
        assert r["options"]["replaceOnChanges"] == ["spec"] and r["options"]["deleteBeforeReplace"] is True
    # only the cluster with an RDMA pool runs the installer
    assert [r["name"] for r in prod_recording.by_type("kubernetes:apps/v1:DaemonSet") if "nccl" in r["name"]] == ["vision-serve-nccl-rdma-installer"]


def test_the_aks_training_pool_gets_its_infiniband_nics_and_can_start_from_zero(prod_recording: Any) -> None:
    pools = {r["name"]: r["inputs"] for r in prod_recording.by_type("azure-native:containerservice:AgentPool")}
    pool = pools["vision-finetune-pool-multinode"]
    nd = next(o for o in load_catalog().clouds["azure"].offerings if o.machine == pool["vmSize"])
    assert nd.fabric is not None and nd.fabric.kind == "infiniband" and nd.gpus == 8
    # one scale set (AKS keeps an InfiniBand size's in one placement group): no zones to split it,
    # no proximity placement group or capacity reservation group (neither takes such a scale set)
    assert pool["type"] == "VirtualMachineScaleSets" and "availabilityZones" not in pool
    assert "proximityPlacementGroupID" not in pool and "capacityReservationGroupID" not in pool
    assert pool["osSKU"] == "Ubuntu" and pool["scaleSetPriority"] == "Regular"
    assert pool["nodeLabels"]["topoform.io/fabric"] == "infiniband"
    # a pod asking for rdma/ib can start the empty pool: the autoscaler reads "_" as "/" in the tag
    assert (pool["minCount"], pool["maxCount"]) == (0, 4)
    assert pool["tags"]["k8s.io_cluster-autoscaler_node-template_resources_rdma_ib"] == str(nd.fabric.interfaces) == "8"
    # an upgrade replaces a node at a time, never growing the scale set past its size
    assert pool["upgradeSettings"] == {"maxSurge": "0", "maxUnavailable": "1"}
    for name, other in pools.items():
        if name != "vision-finetune-pool-multinode":
            assert not any(t.startswith("k8s.io_cluster-autoscaler_node-template_resources") for t in other["tags"]), name
            assert "topoform.io/fabric" not in other["nodeLabels"], name


def test_the_network_operator_builds_ofed_and_offers_the_nics_on_infiniband_nodes_only(prod_recording: Any) -> None:
    release = _one(prod_recording, "kubernetes:helm.sh/v3:Release", "vision-finetune-network-operator")["inputs"]
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == ("network-operator", "26.4.0", "https://helm.ngc.nvidia.com/nvidia")
    assert release["namespace"] == "network-operator" and release["values"]["nfd"] == {"enabled": True, "deployNodeFeatureRules": False}
    # NFD's worker labels every node, whatever its taints (the chart's default tolerates the GPU taint only)
    assert release["values"]["node-feature-discovery"]["worker"]["tolerations"] == [{"operator": "Exists"}]
    ns = _one(prod_recording, "kubernetes:core/v1:Namespace", "vision-finetune-network-operator-namespace")
    assert ns["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns["options"]["protect"] is True  # as every namespace of a protected environment
    policy = _one(prod_recording, "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy", "vision-finetune-network-operator-policy")
    spec = policy["inputs"]["spec"]
    assert policy["inputs"]["metadata"]["name"] == "nic-cluster-policy"  # the one name the operator reconciles
    (term,) = spec["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {e["key"]: e["values"] for e in term["matchExpressions"]} == {"feature.node.kubernetes.io/pci-15b3.present": ["true"], "topoform.io/fabric": ["infiniband"]}
    assert spec["tolerations"] == [{"operator": "Exists"}]  # past the GPU taint and the pool's own
    assert spec["ofedDriver"]["image"] == "doca-driver" and spec["ofedDriver"]["upgradePolicy"]["maxParallelUpgrades"] == 1
    config = json.loads(spec["sriovDevicePlugin"]["config"])
    assert config == {"resourceList": [{"resourcePrefix": "rdma", "resourceName": "ib", "selectors": {"vendors": ["15b3"], "linkTypes": ["infiniband"], "isRdma": True}}]}
    rule = _one(prod_recording, "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule", "vision-finetune-network-operator-nfd-rule")["inputs"]["spec"]
    (match,) = rule["rules"][0]["matchFeatures"]
    assert match["matchExpressions"] == {"vendor": {"op": "In", "value": ["15b3"]}, "device": {"op": "In", "value": ["101c", "101e"]}}
    # the custom resources wait for the chart that brings their definitions
    release_urn = _one(prod_recording, "kubernetes:helm.sh/v3:Release", "vision-finetune-network-operator")["urn"]
    assert all(release_urn in r["options"]["dependsOn"] for r in (policy, _one(prod_recording, "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule", "vision-finetune-network-operator-nfd-rule")))
    # only the cluster with an InfiniBand pool runs the operator
    assert [r["name"] for r in prod_recording.by_type("kubernetes:helm.sh/v3:Release")] == ["vision-finetune-network-operator"]


def test_infiniband_nodes_raise_the_locked_memory_limit_so_team_namespaces_stay_baseline(prod_recording: Any) -> None:
    node = _one(prod_recording, "kubernetes:apps/v1:DaemonSet", "vision-finetune-network-operator-node")["inputs"]
    pod = node["spec"]["template"]["spec"]
    assert node["metadata"]["namespace"] == "kube-system" and pod["nodeSelector"] == {"topoform.io/fabric": "infiniband"}
    assert pod["hostPID"] is True and not pod.get("hostNetwork") and pod["tolerations"] == [{"operator": "Exists"}]
    (init,) = pod["initContainers"]
    (loader,) = pod["containers"]
    script = init["command"][2]
    assert "LimitMEMLOCK=infinity" in script and "systemctl restart containerd" in script
    # only when the limit is not yet raised: a restarted pod does not restart the runtime again
    assert script.index("!= infinity") < script.index("systemctl restart containerd")
    loop = loader["command"][2]
    # only once the OFED driver says it is up: never while it reloads its modules
    assert loop.index("test -e /run/mellanox/drivers/.driver-ready") < loop.index("modprobe nvidia-peermem")
    # `pulumi up` waits for a DaemonSet's pods to be ready: nothing that waits on OFED may hold it
    assert "readinessProbe" not in loader and "readinessProbe" not in init
    # training pods then need no IPC_LOCK: the team's namespace keeps baseline Pod Security
    tuning = _one(prod_recording, "kubernetes:core/v1:Namespace", "vision-finetune-ns-tuning")["inputs"]["metadata"]["labels"]
    assert tuning["pod-security.kubernetes.io/enforce"] == "baseline"


_AZURE_FAST = (
    "name: s\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
    "sites:\n  x: {provider: azure, region: eastus2, backup_region: westus2, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a], network: {cidr: 10.30.0.0/16}}\n"
    "clusters:\n  c:\n    site: x\n    node_pools:\n      system: {instance: cpu-4x16, min: 1, max: 2}\n"
    "      train: {gpu: {type: A100-80GB, count: 8}, min: 0, max: 4, interconnect: fast}\n"
)


def test_an_aks_infiniband_pool_that_is_valid_as_written(tmp_path: Path) -> None:
    path = tmp_path / "t.topology.yaml"
    path.write_text(_AZURE_FAST)
    assert run_cli("validate", str(path)).code == 0


def test_a_spot_infiniband_pool_takes_no_upgrade_settings_and_its_nodes_are_still_labelled(tmp_path: Path) -> None:
    """AKS refuses upgrade settings on a spot pool ("Spot pools can't set max surge"), and its
    nodes carry AKS's spot taint: NFD's worker and the operator's DaemonSets must tolerate it."""
    from topoform.preview import record

    path = tmp_path / "t.topology.yaml"
    path.write_text(_AZURE_FAST.replace("interconnect: fast}", "interconnect: fast, capacity: [spot]}"))
    rec = record(str(path), stack="dev")
    pools = {r["name"]: r["inputs"] for r in rec.by_type("azure-native:containerservice:AgentPool")}
    (spot,) = [p for name, p in pools.items() if name.startswith("s-c-pool-train")]
    assert spot["scaleSetPriority"] == "Spot" and "upgradeSettings" not in spot
    assert spot["tags"]["k8s.io_cluster-autoscaler_node-template_resources_rdma_ib"] == "8"
    (release,) = rec.by_type("kubernetes:helm.sh/v3:Release")
    assert release["inputs"]["values"]["node-feature-discovery"]["worker"]["tolerations"] == [{"operator": "Exists"}]
    (policy,) = rec.by_type("kubernetes:mellanox.com/v1alpha1:NicClusterPolicy")
    assert policy["inputs"]["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_a_site_range_in_azures_infiniband_network_is_one_problem_however_many_clusters_share_it(tmp_path: Path) -> None:
    path = tmp_path / "t.topology.yaml"
    second = "  d:\n    site: x\n    node_pools:\n      system: {instance: cpu-4x16, min: 1, max: 2}\n      train: {gpu: {type: A100-80GB, count: 8}, min: 0, max: 4, interconnect: fast}\n"
    path.write_text(_AZURE_FAST.replace("cidr: 10.30.0.0/16", "cidr: 172.16.0.0/16") + second)
    result = run_cli("validate", str(path))
    assert result.code == 2
    assert result.err.count("sites.x.network.cidr: 172.16.0.0/16 overlaps 172.16.0.0/16") == 1, result.err


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "fragment"),
    [
        # each step's pool is a scale set of its own, and each scale set its own InfiniBand network
        ("interconnect: fast}", "interconnect: fast, capacity: [spot, on-demand]}", 11, "clusters.c.node_pools.train.capacity", "each pool's scale set is a separate InfiniBand network"),
        ("max: 4, interconnect", "max: 101, interconnect", 11, "clusters.c.node_pools.train.max", "which Azure caps at 100 VMs"),
        ("min: 0, max: 4, interconnect", "nodes: 120, interconnect", 11, "clusters.c.node_pools.train.nodes", "give nodes 100 or less"),
        ("interconnect: fast}", "interconnect: fast, overrides: {azure: {zones: ['1', '2']}}}", 11, "clusters.c.node_pools.train.overrides.azure.zones", "a fast interconnect reaches only nodes in its own zone"),
        ("type: A100-80GB, count: 8", "type: A100-80GB, count: 1", 11, "clusters.c.node_pools.train.interconnect", "Standard_NC24ads_A100_v4 has no fabric in the catalog; on azure these do: Standard_ND96asr_v4 (A100-40GB x8, infiniband x8)"),
        # Azure's InfiniBand network holds 172.16.0.0/16 on every ND VM
        ("cidr: 10.30.0.0/16", "cidr: 172.16.0.0/20", 5, "sites.x.network.cidr", "172.16.0.0/20 overlaps 172.16.0.0/16, which Azure's InfiniBand network holds"),
        ("cidr: 10.30.0.0/16", "cidr: 10.30.0.0/16, pods_cidr: 172.16.0.0/14", 5, "sites.x.network.pods_cidr", "172.16.0.0/14 overlaps 172.16.0.0/16"),
        # ... and the standby's network in the backup region too
        ("cidr: 10.30.0.0/16", "cidr: 10.30.0.0/16, backup_cidr: 172.16.0.0/16", 5, "sites.x.network.backup_cidr", "172.16.0.0/16 overlaps 172.16.0.0/16, which Azure's InfiniBand network holds"),
    ],
)
def test_what_an_aks_infiniband_pool_cannot_be_is_refused_naming_the_field(tmp_path: Path, old: str, new: str, line: int, field: str, fragment: str) -> None:
    text = _AZURE_FAST.replace(old, new, 1)
    if "backup_cidr" in field:
        text = text.replace("    site: x\n", "    site: x\n    standby: true\n", 1)
    assert text != _AZURE_FAST
    path = tmp_path / "t.topology.yaml"
    path.write_text(text)
    result = run_cli("validate", str(path))
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{path}:{line}: {field}: " in result.err and fragment in result.err, result.err


# --------------------------------------------------------------------------- scratch: local-nvme


def test_the_training_pool_keeps_pod_scratch_on_the_instance_store(prod_recording: Any) -> None:
    """prod's p5 pool: Bottlerocket puts the kubelet's, the runtime's and pod logs' directories
    on a RAID 0 of the instance-store NVMe (merged into EKS's user data), and the autoscaler's
    template of the empty pool offers that much ephemeral storage."""
    import base64

    for prefix in ("vision-train", "vision-train-standby"):
        template = _one(prod_recording, "aws:ec2/launchTemplate:LaunchTemplate", f"{prefix}-pool-h100")["inputs"]
        toml = base64.b64decode(template["userData"]).decode()
        assert '[settings.bootstrap-commands.000-local-nvme-scratch]' in toml
        assert '["apiclient", "ephemeral-storage", "init"]' in toml
        assert '"/var/lib/kubelet"' in toml and '"/var/lib/containerd"' in toml and "essential = true" in toml
        group = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", f"{prefix}-pool-h100")["inputs"]
        # 30,400 GB of instance store, less the kubelet's 10% eviction margin and 1 GiB reserved
        assert group["tags"]["k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage"] == "27359G"
    # the CPU pool keeps its disk
    system = _one(prod_recording, "aws:ec2/launchTemplate:LaunchTemplate", "vision-train-pool-system")["inputs"]
    assert "userData" not in system


def test_an_a4_pool_gets_the_same_rdma_fabric_as_a3_ultra_from_its_reservation(tmp_path: Path) -> None:
    from topoform.cost import estimate
    from topoform.loader import load_plan
    from topoform.preview import record

    path = tmp_path / "t.topology.yaml"
    path.write_text(
        "name: s\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  g: {provider: gcp, project: acme-ml, region: us-central1}\n"
        "clusters:\n  c:\n    site: g\n    node_pools:\n      system: {instance: cpu-4x16, min: 1, max: 2}\n"
        "      b200: {gpu: {type: B200, count: 8}, min: 0, max: 4, interconnect: fast, capacity: [{reservation: a4-block, zone: us-central1-b, nodes: 2}]}\n"
    )
    rec = record(str(path), stack="dev")
    pools = {r["name"]: r["inputs"] for r in rec.by_type("gcp:container/nodePool:NodePool")}
    pool = pools["s-c-pool-b200-reserved"]
    config = pool["nodeConfig"]
    assert (config["machineType"], config["guestAccelerators"][0]["type"], config["diskType"]) == ("a4-highgpu-8g", "nvidia-b200", "hyperdisk-balanced")
    assert pool["networkConfig"] == {"acceleratorNetworkProfile": "auto"} and config["gvnic"] == {"enabled": True}
    assert config["labels"]["cloud.google.com/gke-networking-dra-driver"] == "true" and config["labels"]["topoform.io/fabric"] == "gpudirect-rdma"
    assert pool["nodeLocations"] == ["us-central1-b"] and config["reservationAffinity"]["values"] == ["a4-block"]
    assert config["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 32}  # A4's own SSDs, stated so the pool is never replaced
    (installer,) = rec.by_type("kubernetes:apps/v1:DaemonSet")
    assert installer["inputs"]["spec"]["template"]["spec"]["nodeSelector"] == {"topoform.io/fabric": "gpudirect-rdma"}
    # A4 is not sold on demand: a reservation goes unpriced, spot has the catalog's one price
    lines = {line.path: line for line in estimate(load_plan(str(path))[1]).lines}
    assert lines["clusters.c.node_pools.b200.capacity.0"].note == "unpriced"
    reserved = path.read_text()
    path.write_text(reserved.replace("capacity: [{reservation: a4-block, zone: us-central1-b, nodes: 2}]", "capacity: [spot]"))
    lines = {line.path: line for line in estimate(load_plan(str(path))[1]).lines}
    assert lines["clusters.c.node_pools.b200.capacity.0"].unit_usd > 0
    path.write_text(reserved.replace("capacity: [{reservation: a4-block, zone: us-central1-b, nodes: 2}]", "capacity: [on-demand]"))
    result = run_cli("validate", str(path))
    assert result.code == 2 and "capacity[0]: a4-highgpu-8g is sold on gcp only reserved, as spot or through flex-start, not on demand" in result.err


def test_a_gke_pool_takes_its_machines_local_ssds_for_scratch(tmp_path: Path) -> None:
    from topoform.preview import record

    path = tmp_path / "t.topology.yaml"
    path.write_text(
        "name: s\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  g: {provider: gcp, project: acme-ml, region: us-central1}\n"
        "clusters:\n  c:\n    site: g\n    node_pools:\n      system: {instance: cpu-4x16, min: 1, max: 2}\n"
        "      h100: {gpu: {type: H100, count: 8}, min: 0, max: 4, scratch: local-nvme}\n"
        "      plain: {gpu: {type: H100, count: 8}, min: 0, max: 4}\n"
    )
    rec = record(str(path), stack="dev")
    pools = {r["name"]: r["inputs"]["nodeConfig"] for r in rec.by_type("gcp:container/nodePool:NodePool")}
    assert pools["s-c-pool-h100"]["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 16}  # a3-highgpu-8g's
    # GKE keeps scratch on an A3's own SSDs anyway; the pool states their count so that an
    # update never finds the create-only field changed (and replaces the pool)
    assert pools["s-c-pool-plain"]["ephemeralStorageLocalSsdConfig"] == {"localSsdCount": 16}
    assert "ephemeralStorageLocalSsdConfig" not in pools["s-c-pool-system"]


@pytest.mark.parametrize(
    ("site", "pool", "field", "fragment"),
    [
        # A3 High's GPUDirect-TCPX lives in every workload pod: refused, naming what is built instead
        ("{provider: gcp, project: acme-ml, region: us-central1}", "{gpu: {type: H100, count: 8}, min: 0, max: 4, interconnect: fast}", "interconnect", "topoform does not build a3-highgpu-8g's fabric (gpudirect-tcpx): GPUDirect-TCPX works only when every workload pod carries a receive-data-path sidecar"),
        ("{provider: gcp, project: acme-ml, region: us-central1}", "{gpu: {type: L4, count: 1}, min: 0, max: 4, interconnect: fast}", "interconnect", "g2-standard-4 has no fabric in the catalog; on gcp these do: a3-ultragpu-8g (H200 x8, gpudirect-rdma x8)"),
        ("{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}", "{instance: cpu-8x32, min: 0, max: 4, scratch: local-nvme}", "scratch", "m7i.2xlarge has no local NVMe in the catalog; on aws these do: g4dn.xlarge"),
        ("{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}", "{gpu: {type: H100, count: 8}, min: 0, max: 4, scratch: local-nvme}", "scratch", "azure sites cannot put pods' scratch space on the machine's local NVMe (scratch: local-nvme): AKS has no pool setting that puts pods' scratch on the local NVMe drives"),
    ],
)
def test_what_a_cloud_or_machine_cannot_have_is_refused_naming_the_field(tmp_path: Path, site: str, pool: str, field: str, fragment: str) -> None:
    path = tmp_path / "t.topology.yaml"
    path.write_text(
        "name: s\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  x: {site}\n"
        f"clusters:\n  c:\n    site: x\n    node_pools:\n      system: {{instance: cpu-4x16, min: 1, max: 2}}\n      gpu: {pool}\n"
    )
    result = run_cli("validate", str(path))
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{path}:11: clusters.c.node_pools.gpu.{field}: {fragment}" in result.err, result.err

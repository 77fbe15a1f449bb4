"""Fabrics for multi-node training: `interconnect: fast` on a pool, read from what `topoform
preview prod` records (prod's H100 training pool on AWS, its H200 pool on GKE), and refused
where it cannot be built."""

from __future__ import annotations

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
        ("{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}", "{gpu: {type: H100, count: 8}, min: 0, max: 4, interconnect: fast}", "interconnect", "azure sites cannot join a pool's nodes with the machine's fabric (interconnect: fast): InfiniBand on ND-series pools needs"),
        ("{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}", "{instance: cpu-8x32, min: 0, max: 4, scratch: local-nvme}", "scratch", "m7i.2xlarge has no local NVMe in the catalog; on aws these do: g4dn.xlarge"),
        ("{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}", "{gpu: {type: H100, count: 8}, min: 0, max: 4, scratch: local-nvme}", "scratch", "azure sites cannot put pods' scratch space on the machine's local NVMe (scratch: local-nvme): AKS puts kubelet storage on the NVMe disks only through Azure Container Storage"),
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

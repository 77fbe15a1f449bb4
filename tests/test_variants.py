"""Topology variants the examples do not exercise: existing networks, public APIs, fixed pools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from topoform.preview import record

SYSTEM = "system: {instance: cpu-4x16, min: 1, max: 2}"


def _record(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "t.topology.yaml"
    path.write_text("name: var\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n" + body)
    return record(str(path), stack="dev")


def _only(rec: Any, type_: str) -> dict[str, Any]:
    found = rec.by_type(type_)
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]["inputs"]  # type: ignore[no-any-return]


def test_aws_existing_network_creates_no_vpc_and_uses_the_given_subnets(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  a: {{provider: aws, region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci], network: {{existing: {{vpc_id: vpc-123, subnet_ids: [subnet-a, subnet-b]}}}}}}
clusters:
  c: {{site: a, node_pools: {{{SYSTEM}}}}}
""",
    )
    assert rec.by_type("aws:ec2/vpc:Vpc") == [] and rec.by_type("aws:ec2/subnet:Subnet") == []
    assert _only(rec, "aws:eks/cluster:Cluster")["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    assert _only(rec, "aws:eks/nodeGroup:NodeGroup")["subnetIds"] == ["subnet-a", "subnet-b"]


def test_aws_per_zone_nat_and_zone_count(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  a: {{provider: aws, region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci], network: {{cidr: 10.1.0.0/16, zones: 2, nat: per_zone}}}}
clusters:
  c: {{site: a, node_pools: {{{SYSTEM}}}}}
""",
    )
    subnets = {r["name"]: r["inputs"] for r in rec.by_type("aws:ec2/subnet:Subnet")}
    assert {s["availabilityZoneId"] for s in subnets.values()} == {"usw2-az1", "usw2-az2"}
    assert subnets["var-c-private-1"]["cidrBlock"] == "10.1.0.0/18"
    assert subnets["var-c-private-2"]["cidrBlock"] == "10.1.64.0/18"
    assert len(rec.by_type("aws:ec2/natGateway:NatGateway")) == 2


def test_public_api_is_restricted_to_allowed_cidrs_on_every_cloud(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  a: {{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}}
  g: {{provider: gcp, project: acme-ml-dev, region: us-central1}}
  z: {{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
clusters:
  ca: {{site: a, api: public, allowed_cidrs: [203.0.113.0/24], node_pools: {{{SYSTEM}}}}}
  cg: {{site: g, api: public, allowed_cidrs: [203.0.113.0/24], node_pools: {{{SYSTEM}}}}}
  cz: {{site: z, api: public, allowed_cidrs: [203.0.113.0/24], node_pools: {{{SYSTEM}}}}}
""",
    )
    eks = _only(rec, "aws:eks/cluster:Cluster")["vpcConfig"]
    # The allow-list, and the deployer's egress (deployer.networks), which must reach the API too.
    assert eks["endpointPublicAccess"] is True and eks["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.10/32"]
    gke = _only(rec, "gcp:container/cluster:Cluster")
    assert gke["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert [b["cidrBlock"] for b in gke["masterAuthorizedNetworksConfig"]["cidrBlocks"]] == ["203.0.113.0/24", "198.51.100.10/32"]
    aks = _only(rec, "azure-native:containerservice:ManagedCluster")["apiServerAccessProfile"]
    assert aks["authorizedIPRanges"] == ["203.0.113.0/24", "198.51.100.10/32"] and aks["enablePrivateCluster"] is False


def test_gcp_and_azure_existing_networks(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  g: {{provider: gcp, project: acme-ml-dev, region: us-central1, network: {{existing: {{network: net, subnetwork: sub, pods_range: p, services_range: s}}}}}}
  z: {{provider: azure, region: eastus, resource_group: rg-existing, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a], network: {{existing: {{subnet_id: /subscriptions/x/sub, apiserver_subnet_id: /subscriptions/x/api}}}}}}
clusters:
  cg: {{site: g, node_pools: {{{SYSTEM}}}}}
  cz: {{site: z, node_pools: {{{SYSTEM}}}}}
""",
    )
    assert rec.by_type("gcp:compute/network:Network") == []
    gke = _only(rec, "gcp:container/cluster:Cluster")
    assert (gke["network"], gke["subnetwork"]) == ("net", "sub")
    assert gke["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "p", "servicesSecondaryRangeName": "s"}
    assert rec.by_type("azure-native:network:VirtualNetwork") == [] and rec.by_type("azure-native:resources:ResourceGroup") == []
    aks = _only(rec, "azure-native:containerservice:ManagedCluster")
    assert aks["resourceGroupName"] == "rg-existing"
    assert aks["agentPoolProfiles"][0]["vnetSubnetID"] == "/subscriptions/x/sub"
    assert aks["apiServerAccessProfile"]["subnetId"] == "/subscriptions/x/api"
    # the cluster identity joins both subnets it is given (Network Contributor), created or not
    network_contributor = "4d97b98b-1d4f-4787-a291-c67834d212e7"
    grants = {g["inputs"]["scope"] for g in rec.by_type("azure-native:authorization:RoleAssignment") if g["inputs"]["roleDefinitionId"].endswith(network_contributor)}
    assert grants == {"/subscriptions/x/sub", "/subscriptions/x/api"}


def test_onprem_named_nodes_get_the_platform_label_and_taint(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        """sites:
  dc: {provider: onprem, kubeconfig: {secret: dc-kube}, storage_class: ceph}
clusters:
  lab: {site: dc, node_pools: {a100: {gpu: {type: A100-80GB, count: 8}, nodes: 2, node_names: [gpu-01, gpu-02]}}}
""",
    )
    patches = {r["name"]: r["inputs"] for r in rec.by_type("kubernetes:core/v1:NodePatch")}
    assert set(patches) == {"var-lab-node-a100-gpu-01", "var-lab-node-a100-gpu-02"}
    patch = patches["var-lab-node-a100-gpu-01"]
    assert patch["metadata"]["name"] == "gpu-01"
    assert patch["metadata"]["labels"]["topoform.io/accelerator"] == "A100-80GB"
    assert patch["spec"]["taints"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "present"}]


@pytest.mark.parametrize(("cloud", "site"), [("aws", "{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}"), ("gcp", "{provider: gcp, project: acme-ml-dev, region: us-central1}")])
def test_clusters_without_gpu_pools_need_no_device_plugin(tmp_path: Path, cloud: str, site: str) -> None:
    rec = _record(tmp_path, f"sites:\n  s: {site}\nclusters:\n  c: {{site: s, node_pools: {{{SYSTEM}}}}}\n")
    assert rec.by_type("kubernetes:apps/v1:DaemonSet") == []


def test_two_environments_of_one_system_never_share_a_physical_name(tmp_path: Path) -> None:
    """dev and prod may share an account, project or subscription: every name a cloud makes
    unique (cluster, key ring, key vault, storage account) must differ between them."""
    body = f"""sites:
  a: {{provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}}
  g: {{provider: gcp, project: acme-ml, region: us-central1, backup_region: us-east4}}
  z: {{provider: azure, region: eastus, backup_region: centralus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
clusters:
  ca: {{site: a, node_pools: {{{SYSTEM}}}}}
  cg: {{site: g, node_pools: {{{SYSTEM}}}}}
  cz: {{site: z, node_pools: {{{SYSTEM}}}}}
storage:
  sa: {{site: a, backup: true}}
  sg: {{site: g, backup: true}}
  sz: {{site: z, backup: true}}
"""
    names = {}
    for env in ("dev", "prod"):
        path = tmp_path / f"{env}.topology.yaml"
        path.write_text(f"name: var\nenvironment: {env}\ndeployer: {{networks: [198.51.100.10/32]}}\n" + body)
        rec = record(str(path), stack=env)
        explicit = set()
        for r in rec.resources:
            for field in ("vaultName", "accountName", "resourceName", "clusterName"):
                if field in r["inputs"] and r["custom"]:
                    explicit.add((r["type"], r["inputs"][field]))
            if r["type"] in ("gcp:kms/keyRing:KeyRing", "gcp:container/cluster:Cluster", "aws:eks/cluster:Cluster", "aws:kms/alias:Alias"):
                explicit.add((r["type"], r["inputs"]["name"]))
        names[env] = explicit
    assert len(names["dev"]) >= 12
    assert not names["dev"] & names["prod"], names["dev"] & names["prod"]

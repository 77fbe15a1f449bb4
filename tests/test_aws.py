"""What AWS receives, finding by finding of ../shared/reviews/aws.md (issue 12): each test reads
the recorded resources of a preview (or the validator's answer) and names the finding it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from conftest import run_cli
from topoform.preview import ACCOUNT, Recording, record
from topoform.providers.aws.cluster import desired_size
from topoform.providers.aws.profile import EKS_EXCLUDED_ZONE_IDS, zone_id_prefix

ME = f"arn:aws:iam::{ACCOUNT}:role/deployer"
"""Who the preview's fake AWS says `pulumi up` runs as."""


def _topology(tmp_path: Path, *, network: str = "", pools: str = "", site: str = "") -> Path:
    pools = pools or "system: {instance: cpu-4x16, min: 1, max: 2}"
    text = (
        "name: rt\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  a: {{provider: aws, region: us-east-1, admins: ['{ME}']{site}{network}}}\n"
        f"clusters:\n  c: {{site: a, node_pools: {{{pools}}}}}\n"
    )
    path = tmp_path / "t.topology.yaml"
    path.write_text(text)
    return path


def _one(rec: Recording, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in rec.by_type(type_) if r["name"] == name]
    return found


def _subnets(rec: Recording) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rec.by_type("aws:ec2/subnet:Subnet")}


def _named(ids: list[str]) -> list[str]:
    """The resource names behind IDs the fake cloud gave (``<name>-<10 hex>``)."""
    return [i.rsplit("-", 1)[0] for i in ids]


# ------------------------------------------------------------------ #2 the size a node group keeps


@pytest.mark.parametrize(("current", "lo", "hi", "sent"), [(None, 2, 6, 2), (1, 2, 6, 2), (4, 2, 6, 4), (9, 2, 6, 6), (0, 0, 16, 0)])
def test_a_node_group_keeps_its_size_within_new_bounds(current: int | None, lo: int, hi: int, sent: int) -> None:
    assert desired_size(current, lo, hi) == sent


def test_raising_min_raises_the_desired_size_and_a_scaled_pool_keeps_its_size(tmp_path: Path) -> None:
    """Finding #2: EKS refuses a minimum above the desired size; with ``desiredSize`` ignored,
    raising ``min`` failed. Against the cloud, the program reads each group's size first."""
    topo = _topology(tmp_path, pools="system: {instance: cpu-4x16, min: 2, max: 6}, batch: {instance: cpu-8x32, min: 1, max: 8}")
    online = {"topoform:offline-preview": "false"}
    # the system group was left at 1 (min was 1), the batch group scaled out to 5
    rec = record(str(topo), stack="dev", config=online, node_groups={"rt-dev-c": {"system": 1, "batch": 5}})
    groups = {g["name"]: g for g in rec.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups["rt-c-pool-system"]["inputs"]["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 6}
    assert groups["rt-c-pool-batch"]["inputs"]["scalingConfig"] == {"minSize": 1, "desiredSize": 5, "maxSize": 8}
    for group in groups.values():
        assert "scalingConfig.desiredSize" not in (group["options"].get("ignoreChanges") or [])
    # a first `pulumi up` (no cluster yet): every group starts at its minimum
    fresh = record(str(topo), stack="dev", config=online)
    assert {g["name"]: g["inputs"]["scalingConfig"]["desiredSize"] for g in fresh.by_type("aws:eks/nodeGroup:NodeGroup")} == {
        "rt-c-pool-system": 2,
        "rt-c-pool-batch": 1,
    }


# ------------------------------------------------------------------ #3 zones EKS can use, by ID


def test_zone_ids_of_regions() -> None:
    assert [zone_id_prefix(r) for r in ("us-east-1", "ap-northeast-1", "ca-central-1", "us-gov-west-1", "eu-south-2", "moon-base")] == [
        "use1", "apne1", "cac1", "usgw1", "eus2", None,
    ]


def test_subnets_go_to_zone_ids_eks_accepts_never_by_list_position(prod_recording: Recording) -> None:
    """Finding #3: the fake account maps us-east-1a to use1-az3 (which EKS refuses) and lists an
    opted-in Local Zone first, as real accounts can; subnets take the lowest zone IDs EKS accepts."""
    subnets = _subnets(prod_recording)
    zones = {name: s["inputs"].get("availabilityZoneId") for name, s in subnets.items()}
    assert all("availabilityZone" not in s["inputs"] for s in subnets.values())
    assert not set(zones.values()) & set(EKS_EXCLUDED_ZONE_IDS)
    assert [zones[f"vision-train-private-{i}"] for i in (1, 2, 3)] == ["use1-az1", "use1-az2", "use1-az4"]
    assert [zones[f"vision-train-standby-private-{i}"] for i in (1, 2, 3)] == ["usw2-az1", "usw2-az2", "usw2-az3"]
    assert all(zones[f"vision-train-public-{i}"] == zones[f"vision-train-private-{i}"] for i in (1, 2, 3))


def test_a_site_pins_its_zones(tmp_path: Path) -> None:
    topo = _topology(tmp_path, network=", network: {zones: [use1-az6, use1-az2]}")
    subnets = _subnets(record(str(topo), stack="dev"))
    assert [subnets[f"rt-c-private-{i}"]["inputs"]["availabilityZoneId"] for i in (1, 2)] == ["use1-az6", "use1-az2"]


def test_a_standby_network_pins_its_own_zones(tmp_path: Path) -> None:
    """A standby made by an earlier topoform has subnets in the zones it had: backup_zones keeps them."""
    topo = _topology(tmp_path, site=", backup_region: us-west-2", network=", network: {zones: 2, backup_zones: [usw2-az4, usw2-az2]}")
    topo.write_text(topo.read_text().replace("c: {site: a,", "c: {site: a, standby: true,"))
    subnets = _subnets(record(str(topo), stack="dev"))
    assert [subnets[f"rt-c-standby-private-{i}"]["inputs"]["availabilityZoneId"] for i in (1, 2)] == ["usw2-az4", "usw2-az2"]
    assert [subnets[f"rt-c-private-{i}"]["inputs"]["availabilityZoneId"] for i in (1, 2)] == ["use1-az1", "use1-az2"]


def test_a_pinned_zone_the_account_does_not_offer_stops_the_run(tmp_path: Path) -> None:
    topo = _topology(tmp_path, network=", network: {zones: [use1-az3, use1-az1]}")
    with pytest.raises(pulumi.RunError, match="zone use1-az3 of us-east-1 is not one EKS can use in this account"):
        record(str(topo), stack="dev")


def test_only_aws_sites_pin_network_zones(tmp_path: Path) -> None:
    topo = tmp_path / "g.topology.yaml"
    topo.write_text(
        "name: rt\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  g:\n    provider: gcp\n    project: rt-project-1\n    region: us-central1\n    network: {zones: [us-central1-a, us-central1-b]}\n"
        "clusters:\n  c: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    )
    result = run_cli("validate", str(topo))
    assert result.code == 2
    assert f"{topo}:9: sites.g.network.zones: a gcp network spans the region's zones" in result.err


# ------------------------------------------------------------------ #8 a pool's zones


def test_a_pool_runs_only_in_the_zones_it_names(tmp_path: Path) -> None:
    """Finding #8: ``overrides.aws.zones`` was validated, then every subnet was used."""
    topo = _topology(tmp_path, pools="system: {instance: cpu-4x16, min: 1, max: 2}, t4: {gpu: {type: T4}, min: 0, max: 2, overrides: {aws: {zones: [use1-az4]}}}")
    rec = record(str(topo), stack="dev")
    subnets = _subnets(rec)
    in_az4 = [s["name"] for s in subnets.values() if s["name"].startswith("rt-c-private-") and s["inputs"]["availabilityZoneId"] == "use1-az4"]
    assert len(in_az4) == 1
    assert _named(_one(rec, "aws:eks/nodeGroup:NodeGroup", "rt-c-pool-t4")["inputs"]["subnetIds"]) == in_az4
    assert _named(_one(rec, "aws:eks/nodeGroup:NodeGroup", "rt-c-pool-system")["inputs"]["subnetIds"]) == [f"rt-c-private-{i}" for i in (1, 2, 3)]


def test_a_pool_zone_outside_the_sites_pinned_zones_is_refused(tmp_path: Path) -> None:
    topo = _topology(
        tmp_path,
        network=", network: {zones: [use1-az1, use1-az2]}",
        pools="system: {instance: cpu-4x16, min: 1, max: 2}, t4: {gpu: {type: T4}, min: 0, max: 2, overrides: {aws: {zones: [use1-az4]}}}",
    )
    result = run_cli("validate", str(topo))
    assert result.code == 2
    assert "clusters.c.node_pools.t4.overrides.aws.zones[0]: 'use1-az4' is not one of the site's zones (use1-az1, use1-az2)" in result.err


def test_a_pool_zone_the_cluster_has_no_subnet_in_stops_the_run(tmp_path: Path) -> None:
    topo = _topology(tmp_path, pools="system: {instance: cpu-4x16, min: 1, max: 2}, t4: {gpu: {type: T4}, min: 0, max: 2, overrides: {aws: {zones: [use1-az6]}}}")
    with pytest.raises(pulumi.RunError, match="pool t4: no subnet of the cluster is in zone use1-az6"):
        record(str(topo), stack="dev")


# ------------------------------------------------------------------ #16 the flow-log role


def test_the_flow_log_role_lists_log_groups_where_that_action_has_a_resource(prod_recording: Recording) -> None:
    """Finding #16: DescribeLogGroups scoped to one group ARN could never match (a list action);
    AWS's flow-log role must include it, so it gets the resource it needs and nothing else does."""
    policy = json.loads(_one(prod_recording, "aws:iam/rolePolicy:RolePolicy", "vision-train-flow-logs-role")["inputs"]["policy"])
    scoped, listing = policy["Statement"]
    assert scoped["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    assert all(r.startswith("arn:aws:logs:us-east-1:") and ":log-group:/aws/vpc/" in r for r in scoped["Resource"])
    assert listing == {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}


# ------------------------------------------------------------------ #14 the replication role's trust


def test_only_this_accounts_s3_may_assume_the_replication_role(prod_recording: Recording) -> None:
    (role,) = [r for r in prod_recording.by_type("aws:iam/role:Role") if r["name"].endswith("replication-role")]
    (statement,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}


# ------------------------------------------------------------------ #12, #13 add-ons, CNI role


def _clusters(rec: Recording) -> list[dict[str, Any]]:
    return rec.by_type("aws:eks/cluster:Cluster")


def _owned_by(rec: Recording, type_: str, cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources of a type created by the same cluster component (the standby's are its own)."""
    return [r for r in rec.by_type(type_) if r["parent"] == cluster["parent"]]


def test_every_eks_cluster_manages_its_core_add_ons_and_enforces_network_policies(prod_recording: Recording) -> None:
    """Findings #12 and #13: the VPC CNI is a managed add-on with network policy on, and it
    gets AmazonEKS_CNI_Policy through its own Pod Identity role, not the node role."""
    clusters = _clusters(prod_recording)
    assert len(clusters) == 2  # the primary and its standby
    for cluster in clusters:
        addons = {a["inputs"]["addonName"]: a for a in _owned_by(prod_recording, "aws:eks/addon:Addon", cluster)}
        assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
        for addon in addons.values():
            assert addon["inputs"]["resolveConflictsOnCreate"] == "OVERWRITE" and addon["inputs"]["preserve"] is True
            assert addon["inputs"]["addonVersion"]  # EKS's default for the cluster's version
        cni = addons["vpc-cni"]["inputs"]
        assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}
        (association,) = cni["podIdentityAssociations"]
        assert association["serviceAccount"] == "aws-node"
        (cni_role,) = [r for r in _owned_by(prod_recording, "aws:iam/role:Role", cluster) if association["roleArn"].endswith("/" + r["name"])]
        assert json.loads(cni_role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        policies = {a["inputs"]["role"]: a["inputs"]["policyArn"] for a in _owned_by(prod_recording, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", cluster)}
        assert policies[cni_role["name"]] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
        node_policies = [arn for role, arn in policies.items() if role.endswith("node-role")]
        assert node_policies and not [arn for arn in node_policies if arn.endswith("AmazonEKS_CNI_Policy")]


def test_nodes_wait_for_the_cni_and_coredns_waits_for_a_cpu_node(prod_recording: Recording) -> None:
    for cluster in _clusters(prod_recording):
        addons = {a["inputs"]["addonName"]: a["urn"] for a in _owned_by(prod_recording, "aws:eks/addon:Addon", cluster)}
        groups = _owned_by(prod_recording, "aws:eks/nodeGroup:NodeGroup", cluster)
        for group in groups:
            assert {addons["vpc-cni"], addons["eks-pod-identity-agent"]} <= set(group["options"]["dependsOn"])
        cpu = [g["urn"] for g in groups if not g["inputs"].get("amiType", "").endswith("NVIDIA")]
        coredns = _one(prod_recording, "aws:eks/addon:Addon", cluster["name"].replace("-eks", "-coredns"))
        assert set(cpu) <= set(coredns["options"]["dependsOn"])
        cni = _one(prod_recording, "aws:eks/addon:Addon", cluster["name"].replace("-eks", "-vpc-cni"))
        assert addons["eks-pod-identity-agent"] in cni["options"]["dependsOn"]


def test_prods_eks_clusters_pass_the_network_policy_rule() -> None:
    """The rule now reads EKS too (its mutations are in test_policies.py: no add-on, or the
    add-on without enableNetworkPolicy, is a violation)."""
    result = run_cli("check", "prod", "--json")
    assert result.code == 0, result.err
    assert "cluster-network-policy" not in result.out and "TF-S09" not in result.out


# ------------------------------------------------------------------ data paths that skip the NAT


def test_every_created_vpc_reaches_s3_through_a_gateway_endpoint_scoped_to_the_granted_stores(prod_recording: Recording) -> None:
    vpcs = prod_recording.by_type("aws:ec2/vpc:Vpc")
    endpoints = [e for e in prod_recording.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e["inputs"]["serviceName"].endswith(".s3")]
    assert len(endpoints) == len(vpcs) == 2
    for endpoint in endpoints:
        (vpc,) = [v for v in vpcs if endpoint["inputs"]["vpcId"].startswith(v["name"] + "-")]
        assert endpoint["inputs"]["vpcEndpointType"] == "Gateway"
        private_tables = sorted(r["name"] for r in prod_recording.by_type("aws:ec2/routeTable:RouteTable") if r["parent"] == vpc["parent"] and "-private-" in r["name"])
        assert sorted(_named(endpoint["inputs"]["routeTableIds"])) == private_tables and len(private_tables) == 3
        statements = json.loads(endpoint["inputs"]["policy"])["Statement"]
        region = "us-west-2" if "standby" in endpoint["name"] else "us-east-1"
        # image layers: ECR's and registry.k8s.io's (it redirects AWS clients to its bucket in their region)
        assert statements[0]["Resource"] == [f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*", f"arn:aws:s3:::prod-registry-k8s-io-{region}/*"]
        assert statements[0]["Action"] == "s3:GetObject"
        buckets = {r for s in statements[1:] for r in s["Resource"]}
        # the trainer reads datasets: the primary's endpoint names the bucket, the standby's its replica
        kind = "replica-bucket" if "standby" in endpoint["name"] else "datasets-bucket"
        assert len(buckets) == 2 and all(kind in b for b in buckets)
        assert [s["Sid"] for s in statements] == ["ImageLayers", "ReadBuckets", "ReadObjects"]
        assert {a for s in statements[1:] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
            "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion",
        }


def test_a_private_clusters_nodes_reach_ecr_sts_and_pod_identity_inside_the_vpc(prod_recording: Recording, tmp_path: Path) -> None:
    interface = [e for e in prod_recording.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e["inputs"]["vpcEndpointType"] == "Interface"]
    services = sorted(e["inputs"]["serviceName"] for e in interface if "standby" not in e["name"])
    assert services == [f"com.amazonaws.us-east-1.{s}" for s in ("ecr.api", "ecr.dkr", "eks-auth", "sts")]
    for endpoint in interface:
        assert endpoint["inputs"]["privateDnsEnabled"] is True and len(endpoint["inputs"]["subnetIds"]) == 3
        if ".ecr." in endpoint["inputs"]["serviceName"]:
            (statement,) = json.loads(endpoint["inputs"]["policy"])["Statement"]
            assert not [a for a in statement["Action"] if not a.startswith(("ecr:Get", "ecr:Batch", "ecr:Describe", "ecr:List"))]  # pull only
    (sg,) = [g for g in prod_recording.by_type("aws:ec2/securityGroup:SecurityGroup") if g["name"] == "vision-train-endpoints-sg"]
    assert sg["inputs"]["ingress"] == [{"cidrBlocks": ["10.10.0.0/16"], "description": "HTTPS from the VPC", "fromPort": 443, "protocol": "tcp", "toPort": 443}]
    # a public API and extra buckets to read: no interface endpoints, the buckets in the S3 policy
    topo = _topology(tmp_path, site="")
    text = topo.read_text().replace("c: {site: a,", "c: {site: a, api: public, allowed_cidrs: [203.0.113.0/24], overrides: {aws: {read_buckets: [open-images-dataset]}},")
    topo.write_text(text)
    rec = record(str(topo), stack="dev")
    kinds = [e["inputs"]["vpcEndpointType"] for e in rec.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")]
    assert kinds == ["Gateway"]
    (gateway,) = rec.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {"arn:aws:s3:::open-images-dataset", "arn:aws:s3:::open-images-dataset/*"} <= {r for s in json.loads(gateway["inputs"]["policy"])["Statement"] for r in s["Resource"]}


def test_the_s3_endpoint_policy_stays_within_awss_limit() -> None:
    from topoform.providers.aws.cluster import ENDPOINT_POLICY_LIMIT, s3_endpoint_policy

    grants = [("admin", f"arn:aws:s3:::store-{i:03d}-bucket-abcdef0") for i in range(150)]
    assert len(s3_endpoint_policy("aws", "us-east-1", grants, [])) <= ENDPOINT_POLICY_LIMIT  # one statement per mode, not per store
    with pytest.raises(pulumi.RunError, match="more than AWS's 20480: name fewer read_buckets"):
        s3_endpoint_policy("aws", "us-east-1", grants, [f"an-open-dataset-with-a-long-name-{i:03d}" for i in range(400)])


def test_an_existing_vpc_gets_no_endpoints(tmp_path: Path) -> None:
    topo = _topology(tmp_path, network=", network: {existing: {vpc_id: vpc-0abc, subnet_ids: [subnet-1, subnet-2]}}")
    assert record(str(topo), stack="dev").by_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []


def test_cost_prices_the_endpoints(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("cost", "prod", "--json")
    assert result.code == 0, result.err
    lines = {line["path"]: line for line in json.loads(result.out)["items"]}
    endpoints = lines["clusters.train.network.endpoints"]
    assert float(endpoints["unit_usd"]) == 0.01 and float(endpoints["quantity_max"]) == 12  # 4 endpoints x 3 zones
    assert float(lines["clusters.train.network.s3_endpoint"]["unit_usd"]) == 0
    assert "(2026-05, read 2026-11-30)" in endpoints["source"] and "gateway-endpoints" in lines["clusters.train.network.s3_endpoint"]["source"]


# ------------------------------------------------------------------ #11 access entries


def test_access_entries_of_teams_whose_groups_share_a_local_part_do_not_collide(tmp_path: Path) -> None:
    """Finding #11 (fixed with the deploy path): entries were named after the group's local part,
    so research@a.example and research@b.example gave one URN twice."""
    topo = _topology(tmp_path)
    topo.write_text(
        topo.read_text()
        + "teams:\n"
        "  a: {group: research@a.example, namespaces: {c: [a]}, overrides: {aws: {principal_arn: 'arn:aws:iam::123456789012:role/research-a'}}}\n"
        "  b: {group: research@b.example, namespaces: {c: [b]}, overrides: {aws: {principal_arn: 'arn:aws:iam::123456789012:role/research-b'}}}\n"
        "  ops: {group: ops@b.example, namespaces: {c: [ops]}, overrides: {aws: {principal_arn: 'arn:aws:iam::123456789012:role/research-b'}}}\n"
    )
    entries = {e["inputs"]["principalArn"]: e for e in record(str(topo), stack="dev").by_type("aws:eks/accessEntry:AccessEntry")}
    assert entries["arn:aws:iam::123456789012:role/research-a"]["inputs"]["kubernetesGroups"] == ["research@a.example"]
    assert entries["arn:aws:iam::123456789012:role/research-b"]["inputs"]["kubernetesGroups"] == ["ops@b.example", "research@b.example"]
    assert len({e["name"] for e in entries.values()}) == len(entries) == 3  # the two roles and the deployer


def test_image_layers_come_through_the_s3_endpoint_from_the_bucket_registry_k8s_io_uses_in_the_region() -> None:
    """registry.k8s.io (the Cluster Autoscaler's image) redirects AWS clients to a regional S3
    bucket, named prod-registry-k8s-io-<region> except in eu-west-2; the endpoint must admit it."""
    from topoform.providers.aws.cluster import s3_endpoint_policy

    def layers(region: str) -> list[str]:
        return json.loads(s3_endpoint_policy("aws", region, [], []))["Statement"][0]["Resource"]  # type: ignore[no-any-return]

    assert "arn:aws:s3:::prod-registry-k8s-io-us-east-1/*" in layers("us-east-1")
    assert "arn:aws:s3:::767373bbdcb8270361b96548387bf2a9ad0d48758c35-eu-west-2/*" in layers("eu-west-2")
    assert not any("prod-registry-k8s-io" in r for r in layers("eu-west-2"))

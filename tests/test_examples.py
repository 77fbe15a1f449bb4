"""The reuse example (examples/reuse) and the cloud-neutral components, run under the mocks.

The example is a Pulumi program of its own: its own AWS provider, no topology file. What it
creates must be what topoform would create for the same description, with the caller's
providers, and pass topoform's policies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from topoform.check import check
from topoform.preview import Recording, record_program

EXAMPLE = ROOT / "examples" / "reuse" / "__main__.py"


@pytest.fixture(scope="module")
def example() -> Recording:
    return record_program(str(EXAMPLE), stack="dev", project="gpu-reuse")


def by_name(rec: Recording, name: str, kind: str = "") -> dict[str, Any]:
    (found,) = [r for r in rec.resources if r["name"] == name and r["type"].endswith(kind)]
    return found


def test_the_example_builds_on_the_components_with_its_own_providers(example: Recording) -> None:
    cluster = by_name(example, "train", "index:GpuCluster")
    inner = by_name(example, "train", "AwsGpuCluster")
    assert inner["parent"] == cluster["urn"]
    store = by_name(example, "datasets", "index:EncryptedStore")
    assert by_name(example, "datasets", "AwsEncryptedStore")["parent"] == store["urn"]

    east = by_name(example, "east")["urn"]
    replica_region = by_name(example, "datasets-us-west-2")
    assert replica_region["parent"] == store["urn"]  # the replica's provider belongs to the store
    aws_resources = [r for r in example.resources if r["type"].startswith("aws:")]
    assert aws_resources
    assert {r["provider"] for r in aws_resources} == {east, replica_region["urn"]}
    assert not any("default" in r["provider"] for r in example.resources)

    # the caller's own objects ride on the component's outputs
    assert by_name(example, "jobs", "Namespace")["provider"] == by_name(example, "train-k8s")["urn"]


def test_the_cloud_neutral_cluster_gets_the_planners_choices(example: Recording) -> None:
    pool = by_name(example, "train-pool-l4", "NodeGroup")["inputs"]
    assert pool["instanceTypes"] == ["g6.xlarge"]  # the catalog's machine for 1x L4 on AWS
    assert pool["capacityType"] == "SPOT"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in pool["taints"]
    assert pool["labels"]["topoform.io/accelerator"] == "L4"
    eks = by_name(example, "train-eks", "eks/cluster:Cluster")["inputs"]
    assert eks["name"] == "demo-dev-train"
    assert eks["vpcConfig"]["endpointPrivateAccess"] is True
    assert eks["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.10/32"]  # the deployer's egress alone
    assert by_name(example, "datasets-replica-bucket", "s3/bucket:Bucket")


def test_the_identity_reads_exactly_the_store_it_was_given(example: Recording) -> None:
    policy = json.loads(by_name(example, "trainer-access", "RolePolicy")["inputs"]["policy"])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    replication = json.loads(by_name(example, "datasets-replication-role-policy", "RolePolicy")["inputs"]["policy"])
    bucket_arn = replication["Statement"][0]["Resource"][0]  # the store's own bucket, as its replication names it
    assert bucket_arn.startswith("arn:aws:s3:::datasets-bucket")
    assert {bucket_arn, f"{bucket_arn}/*"} <= resources
    assert not any("replica" in r for r in resources)  # read access to the primary only
    assert any(":key/" in r for r in resources)
    assert all("*" not in r or r.endswith("/*") for r in resources)


def test_the_example_endpoint_stays_internal_in_the_callers_namespace(example: Recording) -> None:
    endpoint = by_name(example, "notebooks", "index:Endpoint")
    assert by_name(example, "notebooks", "AwsEndpoint")["parent"] == endpoint["urn"]
    svc = by_name(example, "notebooks-svc", "core/v1:Service")
    annotations = svc["inputs"]["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert svc["inputs"]["metadata"]["namespace"] == "jobs" and svc["inputs"]["spec"]["selector"] == {"app.kubernetes.io/name": "notebooks"}
    # internal endpoints admit only private networks unless told otherwise
    assert set(svc["inputs"]["spec"]["loadBalancerSourceRanges"]) == {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
    assert by_name(example, "jobs", "Namespace")["urn"] in endpoint["options"]["dependsOn"]


def test_the_example_passes_the_policy_pack(example: Recording) -> None:
    result = check(example)
    assert result.violations == []
    assert result.resources == len(example.resources)


def _program(tmp_path: Path, body: str) -> str:
    path = tmp_path / "__main__.py"
    path.write_text("import pulumi\nimport topoform\n" + body)
    return str(path)


@pytest.mark.parametrize(
    ("cloud", "provider", "extra", "child"),
    [
        ("gcp", "import pulumi_gcp as p\nprov = p.Provider('mine', project='acme-x', region='us-central1')\n", ', "project": "acme-x"', "GcpGpuCluster"),
        ("azure", "import pulumi_azure_native as p\nprov = p.Provider('mine', location='eastus')\n", ', "deployer_networks": ["198.51.100.10/32"], "admins": ["servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"]', "AzureGpuCluster"),
    ],
)
def test_the_same_description_on_another_cloud(tmp_path: Path, cloud: str, provider: str, extra: str, child: str) -> None:
    region = {"gcp": "us-central1", "azure": "eastus"}[cloud]
    program = _program(
        tmp_path,
        provider
        + f'c = topoform.GpuCluster("serve", {{"cloud": "{cloud}", "region": "{region}", "system": "demo", "environment": "prod"{extra}, '
        '"node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}, "gpu": {"gpu_type": "A100-80GB", "gpu_count": 1, "min": 0, "max": 2}}}, '
        "opts=pulumi.ResourceOptions(providers=[prov]))\n",
    )
    rec = record_program(program, stack="prod", project="x")
    inner = by_name(rec, "serve", child)
    assert inner["parent"] == by_name(rec, "serve", "index:GpuCluster")["urn"]
    mine = by_name(rec, "mine")["urn"]
    cloud_resources = [r for r in rec.resources if r["type"].split(":")[0] in ("gcp", "azure-native")]
    assert cloud_resources and {r["provider"] for r in cloud_resources} == {mine}
    # prod environments are protected by default, as with a topology file
    stateful = [r for r in cloud_resources if r["type"] in ("gcp:container/cluster:Cluster", "azure-native:containerservice:ManagedCluster")]
    assert stateful and all(r["options"]["protect"] and r["options"]["retainOnDelete"] for r in stateful)


def test_a_cluster_by_component_takes_capacity_lists_fabrics_scratch_and_autoscaling(tmp_path: Path) -> None:
    """Issue 17's pool fields reach component users as typed args (CapacityStepArgs and
    AutoscalingArgs in other languages), planned exactly as a topology file's."""
    program = _program(
        tmp_path,
        'topoform.GpuCluster("c", {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "deployer_networks": ["198.51.100.10/32"], '
        '"admins": ["arn:aws:iam::123456789012:role/ci"], "autoscaling": {"scale_down_after_minutes": 5}, "node_pools": {'
        '"system": {"instance": "cpu-4x16", "min": 1, "max": 2}, '
        '"eval": {"gpu_type": "L4", "min": 0, "max": 4, "capacity": [{"kind": "spot", "also": ["A10G"]}, {"kind": "on-demand"}]}, '
        '"h100": {"gpu_type": "H100", "gpu_count": 8, "min": 0, "max": 4, "interconnect": "fast", "scratch": "local-nvme", '
        '"capacity": [{"kind": "reservation", "reservation": "cr-0123456789abcdef0", "zone": "use1-az2", "nodes": 2}, {"kind": "on-demand"}]}}})\n',
    )
    rec = record_program(program, stack="dev", project="x")
    groups = {r["name"]: r["inputs"] for r in rec.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert {name: (g["instanceTypes"], g["capacityType"]) for name, g in groups.items() if "-eval" in name} == {
        "c-pool-eval-spot": (["g6.xlarge"], "SPOT"),
        "c-pool-eval-spot-a10g": (["g5.xlarge"], "SPOT"),
        "c-pool-eval": (["g6.xlarge"], "ON_DEMAND"),
    }
    templates = {r["name"]: r["inputs"] for r in rec.by_type("aws:ec2/launchTemplate:LaunchTemplate")}
    reserved = templates["c-pool-h100-reserved"]
    assert reserved["capacityReservationSpecification"]["capacityReservationTarget"] == {"capacityReservationId": "cr-0123456789abcdef0"}
    assert len(reserved["networkInterfaces"]) == 33 and "userData" in reserved  # EFA, and scratch on the instance store
    (scaler,) = [r for r in rec.by_type("kubernetes:apps/v1:Deployment") if r["name"].endswith("autoscaler-deployment")]
    flags = scaler["inputs"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--scale-down-unneeded-time=5m" in flags and "--expander=priority,least-waste" in flags
    bad = _program(
        tmp_path,
        'topoform.GpuCluster("c", {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "deployer_networks": ["198.51.100.10/32"], '
        '"admins": ["arn:aws:iam::123456789012:role/ci"], "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}, '
        '"g": {"gpu_type": "L4", "min": 0, "max": 2, "capacity": [{"kind": "spot", "zone": "use1-az2"}]}}})\n',
    )
    with pytest.raises(Exception, match=r"node_pools\.g\.capacity\[0\]: a spot step takes no zone"):
        record_program(bad, stack="dev", project="x")


def test_a_bad_description_fails_with_one_clear_message(tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        'topoform.GpuCluster("c", {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "deployer_networks": ["198.51.100.10/32"], "admins": ["arn:aws:iam::123456789012:role/ci"], '
        '"node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}, "g": {"gpu_type": "H1000", "min": 0, "max": 1}}})\n',
    )
    with pytest.raises(Exception, match=r"clusters\.c\.node_pools\.g\.gpu\.type: unknown GPU 'H1000'"):
        record_program(program, stack="dev", project="x")
    public = _program(
        tmp_path,
        'topoform.GpuCluster("c", {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "api": "public", '
        '"node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}}})\n',
    )
    with pytest.raises(Exception, match=r"clusters\.c\.allowed_cidrs: a public API needs allowed_cidrs"):
        record_program(public, stack="dev", project="x")  # the same checks as a topology file
    onprem = _program(tmp_path, 'topoform.EncryptedStore("s", {"cloud": "onprem", "region": "", "system": "demo", "environment": "dev"})\n')
    with pytest.raises(Exception, match="cloud: 'onprem' is not one of aws, gcp, azure"):
        record_program(onprem, stack="dev", project="x")


def test_the_cloud_neutral_identity_reaches_only_the_store_it_is_given(tmp_path: Path) -> None:
    """Cluster, store and identity wired by their outputs alone, as another language would."""
    program = _program(
        tmp_path,
        "import pulumi_gcp as gcp\n"
        "prov = gcp.Provider('mine', project='acme-x', region='us-central1')\n"
        "o = pulumi.ResourceOptions(providers=[prov])\n"
        'base = {"cloud": "gcp", "region": "us-central1", "system": "demo", "environment": "dev", "project": "acme-x", "labels": {"owner": "ml"}}\n'
        'c = topoform.GpuCluster("serve", {**base, "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}}}, opts=o)\n'
        's = topoform.EncryptedStore("models", {**base, "size_gb": 10}, opts=o)\n'
        'other = topoform.EncryptedStore("other", {**base, "size_gb": 10}, opts=o)\n'
        'i = topoform.WorkloadIdentity("server", {**base, "namespace": "serving", "service_account": "triton", '
        '"kubeconfig": c.kubeconfig, "cluster_name": c.cluster_name, "grants": [{"store_id": s.store_id, "key_id": s.key_id, "mode": "read"}]}, opts=o)\n'
        'pulumi.export("principal", i.principal)\n',
    )
    rec = record_program(program, stack="dev", project="x")
    identity = by_name(rec, "server", "index:WorkloadIdentity")
    inner = by_name(rec, "server", "GcpWorkloadIdentity")
    assert inner["parent"] == identity["urn"]
    # the mocks name a bucket after its logical name, so the grant shows which store it is on
    models, other = by_name(rec, "models-bucket", "storage/bucket:Bucket")["name"], by_name(rec, "other-bucket", "storage/bucket:Bucket")["name"]
    grants = [r for r in rec.resources if r["type"].startswith("gcp:storage/bucketIAMMember") and r["parent"] == inner["urn"]]
    assert grants and {g["inputs"]["bucket"] for g in grants} == {models} != {other}
    assert all(g["inputs"]["role"] in ("roles/storage.objectViewer", "roles/storage.legacyBucketReader") for g in grants)
    sa = by_name(rec, "server-sa", "ServiceAccount")
    assert sa["provider"] == by_name(rec, "server-k8s")["urn"] and sa["inputs"]["metadata"]["namespace"] == "serving"
    assert check(rec).mandatory == []


ADMINS = {"aws": '["arn:aws:iam::123456789012:role/ci"]', "gcp": "[]", "azure": '["servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"]'}
ENDPOINT_CLOUDS = {  # the caller's provider, the region, what the cloud adds to every description and to the endpoint
    "aws": ("import pulumi_aws as p\nprov = p.Provider('mine', region='us-east-1')\n", "us-east-1", "", ""),
    "gcp": ("import pulumi_gcp as p\nprov = p.Provider('mine', project='acme-x', region='us-central1')\n", "us-central1", ', "project": "acme-x"', ""),
    "azure": (
        "import pulumi_azure_native as p\nprov = p.Provider('mine', location='eastus')\n",
        "eastus",
        "",
        ', "dns_resource_group": "dns-rg", "resource_group": c.resource_group, "cluster_principal_id": c.principal_id',
    ),
}


@pytest.mark.parametrize("cloud", sorted(ENDPOINT_CLOUDS))
def test_the_cloud_neutral_endpoint_is_public_only_with_tls_and_the_allow_list(tmp_path: Path, cloud: str) -> None:
    provider, region, base_extra, endpoint_extra = ENDPOINT_CLOUDS[cloud]
    program = _program(
        tmp_path,
        provider + "o = pulumi.ResourceOptions(providers=[prov])\n"
        f'base = {{"cloud": "{cloud}", "region": "{region}", "system": "demo", "environment": "dev", "labels": {{"owner": "ml"}}{base_extra}}}\n'
        f'c = topoform.GpuCluster("serve", {{**base, "deployer_networks": ["198.51.100.10/32"], "admins": {ADMINS[cloud]}, "node_pools": {{"system": {{"instance": "cpu-4x16", "min": 1, "max": 2}}}}}}, opts=o)\n'
        'e = topoform.Endpoint("api", {**base, "kubeconfig": c.kubeconfig, "namespace": "web", "service": "api", "port": 8080, '
        f'"exposure": "public", "domain": "api.acme.example", "allowed_cidrs": ["203.0.113.0/24"]{endpoint_extra}}}, opts=o)\n'
        'pulumi.export("url", e.url)\n',
    )
    rec = record_program(program, stack="dev", project="x")
    endpoint = by_name(rec, "api", "index:Endpoint")
    inner = [r for r in rec.resources if r["parent"] == endpoint["urn"] and r["type"].startswith("topoform:")]
    assert [r["type"] for r in inner] == [f"topoform:index:{cloud.capitalize()}Endpoint"]
    # the Service lands in the caller's cluster through a provider made from its kubeconfig
    svc = next(r for r in rec.resources if r["type"] == "kubernetes:core/v1:Service" and r["name"] == "api-svc")
    assert svc["provider"] == by_name(rec, "api-k8s")["urn"] and svc["inputs"]["metadata"]["namespace"] == "web"
    assert svc["inputs"]["spec"]["selector"] == {"app.kubernetes.io/name": "api"}
    # every cloud resource uses the caller's provider
    mine = by_name(rec, "mine")["urn"]
    clouds = [r for r in rec.resources if r["custom"] and r["type"].split(":")[0] in ("aws", "gcp", "azure-native")]
    assert clouds and {r["provider"] for r in clouds} == {mine}
    # public: TLS 1.2 or newer with a certificate for the domain, and only the allow-list admitted
    annotations = svc["inputs"]["metadata"].get("annotations") or {}
    if cloud == "aws":
        assert "service.beta.kubernetes.io/aws-load-balancer-internal" not in annotations
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
        assert by_name(rec, "api-cert", "acm/certificate:Certificate")["inputs"]["domainName"] == "api.acme.example"
        assert svc["inputs"]["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    elif cloud == "gcp":
        assert by_name(rec, "api-tls", "sSLPolicy:SSLPolicy")["inputs"]["minTlsVersion"] == "TLS_1_2"
        assert by_name(rec, "api-cert", "certificatemanager/certificate:Certificate")["inputs"]["managed"]["domains"] == ["api.acme.example"]
        rules = by_name(rec, "api-allow-list", "securityPolicy:SecurityPolicy")["inputs"]["rules"]
        assert [r["match"]["config"]["srcIpRanges"] for r in rules if r["action"] == "allow"] == [["203.0.113.0/24"]]
    else:
        domain = by_name(rec, "api-afd-domain", "cdn:AFDCustomDomain")["inputs"]
        assert domain["hostName"] == "api.acme.example" and domain["tlsSettings"]["minimumTlsVersion"] == "TLS12"
        rule = by_name(rec, "api-waf", "frontdoor:Policy")["inputs"]["customRules"]["rules"][0]
        assert rule["action"] == "Block" and rule["matchConditions"][0]["matchValue"] == ["203.0.113.0/24"]
    # and the pack agrees
    assert check(rec).mandatory == []


def test_a_public_endpoint_without_its_allow_list_is_refused_as_in_a_topology(tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        'topoform.Endpoint("api", {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "kubeconfig": "{}", '
        '"namespace": "web", "service": "api", "port": 8080, "exposure": "public", "domain": "api.acme.example"})\n',
    )
    with pytest.raises(Exception, match=r"endpoints\.api\.allowed_cidrs: a public endpoint needs allowed_cidrs"):
        record_program(program, stack="dev", project="x")
    azure = _program(
        tmp_path,
        'topoform.Endpoint("api", {"cloud": "azure", "region": "eastus", "system": "demo", "environment": "dev", "kubeconfig": "{}", '
        '"namespace": "web", "service": "api", "port": 8080, "exposure": "public", "domain": "api.acme.example", "allowed_cidrs": ["0.0.0.0/0"], "dns_resource_group": "dns"})\n',
    )
    with pytest.raises(Exception, match=r"endpoints\.api\.resource_group: a public Azure endpoint needs the cluster's resourceGroup"):
        record_program(azure, stack="dev", project="x")

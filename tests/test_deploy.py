"""What the mocks cannot see: would the first `pulumi up` on fresh accounts get through?

Mocks accept anything, so these tests read the recorded resources for the conditions a real cloud
imposes (`../shared/reviews/{aws,gcp,azure}.md`): every cluster the program writes into is
reachable and authorized for the deployer; what must exist first (APIs, service agents, grants
and the time they take to apply) comes first; names the cloud keeps after deletion do not collide
on re-creation; a standby is the same cluster; failover fails over only when the primary is down.
Physical-name limits have their own file (test_names.py).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from conftest import ROOT, STACKS, run_cli
from topoform.model import is_private
from topoform.preview import ACCOUNT, Recording, record

JUDGE = ROOT / "tests" / "judge" / "endpoints.topology.yaml"
CI_ROLE = f"arn:aws:iam::{ACCOUNT}:role/platform-ci"
EKS_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
DEPLOYER_NETWORK = "198.51.100.10/32"


@pytest.fixture(scope="module")
def judge_recording() -> Recording:
    return record(str(JUDGE), stack="dev", program=str(STACKS / "__main__.py"))


def _named(rec: Recording, type_: str, name: str) -> dict[str, Any]:
    found = [r for r in rec.resources if r["type"] == type_ and r["name"] == name]
    assert len(found) == 1, (type_, name, [r["name"] for r in rec.by_type(type_)])
    return found[0]


def _children(rec: Recording, parent: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in rec.resources if r["parent"] == parent["urn"] and r["type"] == type_]


def _after(rec: Recording, resource: dict[str, Any]) -> set[str]:
    """Every URN ``resource`` waits for, directly or through what it waits for (its options'
    dependsOn and the resources whose outputs its inputs take)."""
    by_urn = {r["urn"]: r for r in rec.resources}
    seen: set[str] = set()
    todo = [resource["urn"]]
    while todo:
        urn = todo.pop()
        r = by_urn.get(urn)
        deps = set(r["options"]["dependsOn"]) if r else set()
        deps |= {u for us in rec.wire.get(urn, {}).get("property_dependencies", {}).values() for u in us}
        for d in deps - seen:
            seen.add(d)
            todo.append(d)
    return seen


def _secret(rec: Recording, resource: dict[str, Any], key: str) -> Any:
    """A secret input's value, as the engine receives it (the recording shows it masked)."""
    value = json_format.MessageToDict(rec.wire[resource["urn"]]["properties"])[key]
    return value.get("value", value) if isinstance(value, dict) else value


def _written_through(rec: Recording) -> dict[str, list[dict[str, Any]]]:
    """Kubernetes providers that objects are written through, and those objects."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rec.resources:
        if r["type"].startswith("kubernetes:") and r["custom"]:
            out.setdefault(r["provider"], []).append(r)
    return out


# --------------------------------------------------------------------------- reachability and authorization


@pytest.mark.parametrize("env", ["dev", "prod", "judge"])
def test_every_cluster_the_program_writes_into_is_reachable_and_authorized_for_the_deployer(
    env: str, dev_recording: Recording, prod_recording: Recording, judge_recording: Recording
) -> None:
    rec = {"dev": dev_recording, "prod": prod_recording, "judge": judge_recording}[env]
    by_urn = {r["urn"]: r for r in rec.resources}
    checked = set()
    for provider_urn, objects in _written_through(rec).items():
        provider = by_urn[provider_urn]
        cluster = by_urn.get(provider["parent"])
        if cluster is None:  # an on-prem site's own provider: the kubeconfig the user gives
            assert provider["type"] == "pulumi:providers:kubernetes" and provider["name"] in ("vision-dc1",), provider["name"]
            continue
        kind = cluster["type"].split(":")[-1]
        if kind == "OnPremGpuCluster":
            continue
        after = _after(rec, provider)
        if kind == "AwsGpuCluster":
            (eks,) = _children(rec, cluster, "aws:eks/cluster:Cluster")
            vpc = eks["inputs"]["vpcConfig"]
            # reachable: the deployer's egress is on the endpoint's allow-list (never 0.0.0.0/0)
            assert vpc["endpointPrivateAccess"] is True
            assert vpc["endpointPublicAccess"] is True and DEPLOYER_NETWORK in vpc["publicAccessCidrs"]
            assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]
            # authorized: a cluster-admin access entry for each of the site's admins (the CI role
            # `pulumi up` runs as among them), applied before any object
            assocs = _children(rec, cluster, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
            principals = {a["inputs"]["principalArn"] for a in assocs if a["inputs"]["policyArn"] == EKS_ADMIN}
            assert principals == ({CI_ROLE} if env == "judge" else {CI_ROLE, f"arn:aws:iam::{ACCOUNT}:role/platform-admin"})
            assert {a["urn"] for a in assocs} <= after
            assert all(a["inputs"]["accessScope"] == {"type": "cluster"} for a in assocs)
            (wait,) = [w for w in _children(rec, cluster, "time:index/sleep:Sleep") if {a["urn"] for a in assocs} <= set(w["options"]["dependsOn"])]
            assert wait["urn"] in after and wait["inputs"]["createDuration"] == "30s"  # entries take seconds to apply
            # no implicit creator entry to collide with them; a cluster made with one keeps it
            assert eks["inputs"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
            assert "accessConfig.bootstrapClusterCreatorAdminPermissions" in eks["options"]["ignoreChanges"]
        elif kind == "GcpGpuCluster":
            (gke,) = _children(rec, cluster, "gcp:container/cluster:Cluster")
            # reachable: the DNS-based endpoint admits the deployer by IAM from anywhere, while
            # the IP endpoint stays private; the kubeconfig speaks to the DNS endpoint
            assert gke["inputs"]["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is True
            assert gke["inputs"]["privateClusterConfig"]["enablePrivateEndpoint"] is True
            kubeconfig = json.loads(_secret(rec, provider, "kubeconfig"))
            server = kubeconfig["clusters"][0]["cluster"]
            assert server["server"].endswith(".gke.goog") and "certificate-authority-data" not in server  # a public CA
            assert kubeconfig["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
            # authorized: the site's admins are cluster-admin in this cluster, and may connect
            admins = _children(rec, cluster, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
            if env == "prod":
                (binding,) = admins
                assert binding["inputs"]["roleRef"]["name"] == "cluster-admin"
                assert binding["inputs"]["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "platform-admins@acme.example"}]
                viewers = [m for m in rec.by_type("gcp:projects/iAMMember:IAMMember") if m["inputs"]["member"] == "group:platform-admins@acme.example"]
                assert [m["inputs"]["role"] for m in viewers] == ["roles/container.clusterViewer"]
        elif kind == "AzureGpuCluster":
            (aks,) = _children(rec, cluster, "azure-native:containerservice:ManagedCluster")
            access = aks["inputs"]["apiServerAccessProfile"]
            # reachable: VNet integration keeps nodes on the private path; the endpoint admits the deployer alone
            assert access["enableVnetIntegration"] is True and access["enablePrivateCluster"] is False
            assert DEPLOYER_NETWORK in access["authorizedIPRanges"] and "0.0.0.0/0" not in access["authorizedIPRanges"]
            subnet = next(s for s in _children(rec, cluster, "azure-native:network:Subnet") if access["subnetId"].endswith("/" + s["inputs"]["subnetName"]))
            assert subnet["inputs"]["delegations"][0]["serviceName"] == "Microsoft.ContainerService/managedClusters"
            assert ipaddress.ip_network(subnet["inputs"]["addressPrefix"]).prefixlen <= 28
            # authorized: RBAC Cluster Admin on the cluster for the deployer and the site's admins,
            # then five minutes for AKS to apply them, before any object
            grants = [
                g for g in _children(rec, cluster, "azure-native:authorization:RoleAssignment")
                if g["inputs"]["roleDefinitionId"].endswith(AKS_RBAC_CLUSTER_ADMIN)
            ]
            assert {(g["inputs"]["principalId"], g["inputs"]["principalType"]) for g in grants} == {
                ("5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a", "ServicePrincipal"),  # the CI service principal
                ("0b7e3c1a-52d4-4e8f-9a6b-1c2d3e4f5a6b", "Group"),
            }
            (wait,) = [w for w in _children(rec, cluster, "time:index/sleep:Sleep") if {g["urn"] for g in grants} <= set(w["options"]["dependsOn"])]
            assert int(wait["inputs"]["createDuration"].rstrip("s")) >= 300
            assert wait["urn"] in after
        else:
            raise AssertionError(f"no reachability check for {kind}")
        checked.add(kind)
    assert checked == {"dev": {"AwsGpuCluster"}, "prod": {"AwsGpuCluster", "GcpGpuCluster", "AzureGpuCluster"}, "judge": {"AwsGpuCluster", "GcpGpuCluster"}}[env]


def test_prod_names_an_administrator_besides_the_deployer_on_every_cloud() -> None:
    from topoform.loader import load_plan

    _, plan = load_plan(str(STACKS / "prod.topology.yaml"))
    # AWS and Azure list the deployer too (nobody else gets in); GCP's deployer comes by IAM
    needed = {"aws": 2, "azure": 2, "gcp": 1}
    clouds = set()
    for key, site in plan.sites.items():
        if site.provider != "onprem":
            clouds.add(site.provider)
            assert len(site.admins) >= needed[site.provider], f"site {key} names no administrator besides the deployer"
    assert any(a.startswith("group:") for s in plan.sites.values() for a in s.admins)  # an admin group, as the README shows
    assert clouds == {"aws", "gcp", "azure"}


def test_private_deployer_networks_reach_the_private_endpoints_over_the_vpn(tmp_path: Path) -> None:
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: vpn\nenvironment: dev\ndeployer: {networks: [10.200.0.0/16]}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1}\n"
        "  z: {provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}\n"
        "clusters:\n  ca: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  cg: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  cz: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    )
    rec = record(str(topo), stack="dev")
    (eks,) = rec.by_type("aws:eks/cluster:Cluster")
    assert eks["inputs"]["vpcConfig"]["endpointPublicAccess"] is False  # no internet endpoint at all
    (rule,) = rec.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule["inputs"]["cidrIpv4"], rule["inputs"]["fromPort"], rule["inputs"]["toPort"]) == ("10.200.0.0/16", 443, 443)
    (gke,) = rec.by_type("gcp:container/cluster:Cluster")
    assert "10.200.0.0/16" in [b["cidrBlock"] for b in gke["inputs"]["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    assert gke["inputs"]["privateClusterConfig"]["masterGlobalAccessConfig"] == {"enabled": True}
    (aks,) = rec.by_type("azure-native:containerservice:ManagedCluster")
    assert aks["inputs"]["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert "authorizedIPRanges" not in aks["inputs"]["apiServerAccessProfile"]


@pytest.mark.parametrize(
    ("case", "change", "path", "fragment"),
    [
        ("no-deployer", ("deployer: {networks: [198.51.100.10/32]}\n", ""), "clusters.c.api", "list where `pulumi up` runs in deployer.networks"),
        ("world-open-deployer", ("[198.51.100.10/32]", "[0.0.0.0/1, 128.0.0.0/1]"), "deployer.networks", "cover the whole internet"),
        ("loopback-deployer", ("[198.51.100.10/32]", "[127.0.0.1/32]"), "deployer.networks[0]", "not a network `pulumi up` can run from"),
        ("session-arn-admin", ("arn:aws:iam::123456789012:role/platform-ci", "'arn:aws:sts::123456789012:assumed-role/ci/run-1'"), "sites.a.admins[0]", "a session (assumed-role) ARN"),
        ("aws-site-without-admins", ("admins: [arn:aws:iam::123456789012:role/platform-ci]", "admins: []"), "sites.a.admins", "the identity `pulumi up` runs as among them"),
        ("azure-site-without-admins", (", admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]", ""), "sites.z.admins", "not even a subscription Owner"),
        ("uppercase-gcp-member", ("provider: gcp, project: acme-ml-dev, region: us-central1", "provider: gcp, project: acme-ml-dev, region: us-central1, admins: ['user:Ops@acme.example']"), "sites.g.admins[0]", "in lower case"),
        ("ipv6-deployer", ("[198.51.100.10/32]", "['2001:db8::/48']"), "deployer.networks[0]", "IPv4"),
        ("azure-object-twice", ("servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]", "servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a, user:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]"), "sites.z.admins", "listed twice"),
        ("ipv6-public-api", ("  c: {site: a, node_pools", "  c: {site: a, api: public, allowed_cidrs: ['2001:db8::/48'], node_pools"), "clusters.c.allowed_cidrs[0]", "IPv4"),
        ("bad-gcp-admin", ("provider: gcp, project: acme-ml-dev, region: us-central1", "provider: gcp, project: acme-ml-dev, region: us-central1, admins: ['ops@acme.example']"), "sites.g.admins[0]", "write user:<email>"),
        ("bad-azure-admin", ("servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a", "5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"), "sites.z.admins[0]", "user:, group: or servicePrincipal:"),
        ("gcp-group-admin-without-groups-for-rbac", ("provider: gcp, project: acme-ml-dev, region: us-central1", "provider: gcp, project: acme-ml-dev, region: us-central1, admins: ['group:ops@acme.example']"), "clusters.d.overrides.gcp.security_group", "Google Groups for RBAC"),
        ("too-many-eks-cidrs", ("[198.51.100.10/32]", "[" + ", ".join(f"198.51.{i}.0/24" for i in range(41)) + "]"), "clusters.c.api", "aws takes at most 40"),
    ],
)
def test_deployer_and_admin_mistakes_exit_2_naming_the_field(tmp_path: Path, case: str, change: tuple[str, str], path: str, fragment: str) -> None:
    text = (
        "name: adm\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1}\n"
        "  z: {provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  d: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  e: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    )
    assert run_cli("validate", str(_write(tmp_path, text))).code == 0
    old, new = change
    assert old in text
    result = run_cli("validate", str(_write(tmp_path, text.replace(old, new, 1))))
    assert result.code == 2 and result.out == ""
    assert f": {path}: " in result.err and fragment in result.err, result.err
    assert "Traceback" not in result.err


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.topology.yaml"
    path.write_text(text)
    return path


def test_a_world_open_deployer_is_the_api_policys_violation_in_check(tmp_path: Path) -> None:
    topo = _write(
        tmp_path,
        "name: adm\nenvironment: prod\nlabels: {owner: ml}\ndeployer: {networks: [0.0.0.0/0]}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n",
    )
    result = run_cli("check", str(topo), "--json")
    assert result.code == 1, result.err
    assert {v["policy"] for v in json.loads(result.out)["violations"] if v["enforcement"] == "mandatory"} == {"cluster-api-not-public"}
    assert run_cli("validate", str(topo)).code == 2  # `pulumi up` refuses it


# --------------------------------------------------------------------------- what must exist first


def test_a_gcp_project_gets_its_apis_and_service_agents_before_anything_else(prod_recording: Recording) -> None:
    services = {s["inputs"]["service"]: s for s in prod_recording.by_type("gcp:projects/service:Service")}
    assert set(services) == {
        "certificatemanager.googleapis.com", "cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com", "compute.googleapis.com",
        "container.googleapis.com", "dns.googleapis.com", "iam.googleapis.com", "iamcredentials.googleapis.com", "logging.googleapis.com",
        "monitoring.googleapis.com", "storage.googleapis.com", "storagetransfer.googleapis.com",
    }
    assert all(s["inputs"]["disableOnDestroy"] is False for s in services.values())  # topoform does not own the project
    agents = {a["inputs"]["service"]: a for a in prod_recording.by_type("gcp:projects/serviceIdentity:ServiceIdentity")}
    assert set(agents) == {"container.googleapis.com", "storagetransfer.googleapis.com"}
    for api, agent in agents.items():
        assert services[api]["urn"] in agent["options"]["dependsOn"]
    (wait,) = [w for w in prod_recording.by_type("time:index/sleep:Sleep") if w["name"] == "vision-gcp-central-api-wait"]
    # an agent made on request holds no role: the GKE agent gets its own before the wait ends
    role = _named(prod_recording, "gcp:projects/iAMMember:IAMMember", "vision-gcp-central-agent-container-role")
    assert (role["inputs"]["role"], role["inputs"]["member"]) == (
        "roles/container.serviceAgent", "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com")
    assert agents["container.googleapis.com"]["urn"] in role["options"]["dependsOn"]
    assert {s["urn"] for s in services.values()} | {a["urn"] for a in agents.values()} | {role["urn"]} <= set(wait["options"]["dependsOn"])
    # every resource of the site comes after the wait: the GKE agent's key grant, the cluster, the buckets...
    project_level = {"gcp:projects/service:Service", "gcp:projects/serviceIdentity:ServiceIdentity"}
    gcp = [r for r in prod_recording.resources if r["type"].startswith("gcp:") and r["type"] not in project_level and r is not role]
    assert len(gcp) >= 30
    for r in gcp:
        assert wait["urn"] in _after(prod_recording, r), r["urn"]
    grant = _named(prod_recording, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "vision-serve-secrets-key-agent")
    assert grant["inputs"]["member"] == "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com"
    assert grant["urn"] in _after(prod_recording, _named(prod_recording, "gcp:container/cluster:Cluster", "vision-serve-gke"))


def test_azure_consumers_wait_for_their_grants_to_apply(prod_recording: Recording) -> None:
    def waits_for(consumer: dict[str, Any], grant_names: set[str], seconds: int) -> None:
        grants = {g["urn"] for g in prod_recording.by_type("azure-native:authorization:RoleAssignment") if g["name"] in grant_names}
        assert len(grants) == len(grant_names)
        sleeps = [s for s in prod_recording.by_type("time:index/sleep:Sleep") if s["urn"] in consumer["options"]["dependsOn"]]
        assert sleeps and any(grants <= set(s["options"]["dependsOn"]) and int(s["inputs"]["createDuration"].rstrip("s")) >= seconds for s in sleeps)

    aks = _named(prod_recording, "azure-native:containerservice:ManagedCluster", "vision-finetune-aks")
    waits_for(aks, {"vision-finetune-identity-kv", "vision-finetune-identity-subnet", "vision-finetune-identity-apiserver-subnet"}, 120)
    for account, grant in (("vision-models-account", "vision-models-identity-kv"), ("vision-models-replica-account", "vision-models-replica-identity-kv")):
        waits_for(_named(prod_recording, "azure-native:storage:StorageAccount", account), {grant}, 120)


# --------------------------------------------------------------------------- re-creation


def test_unprotected_environments_get_fresh_names_for_what_the_cloud_keeps(tmp_path: Path, prod_recording: Recording) -> None:
    topo = _write(
        tmp_path,
        "name: re\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1, backup_region: us-east4}\n"
        "  z: {provider: azure, region: eastus, backup_region: westus2, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}\n"
        "clusters:\n  cg: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  cz: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "storage:\n  sg: {site: g, backup: true}\n  sz: {site: z, backup: true}\n",
    )
    rec = record(str(topo), stack="dev")
    suffixes = {r["name"]: r for r in rec.by_type("random:index/randomId:RandomId")}
    # GCP key rings are never deleted; soft-deleted Key Vaults hold their names for 90 days;
    # deleted transfer jobs linger for 30: each gets a suffix made once per deployment
    for type_, field in (("gcp:kms/keyRing:KeyRing", "name"), ("azure-native:keyvault:Vault", "vaultName"), ("gcp:storage/transferJob:TransferJob", "name")):
        named = rec.by_type(type_)
        assert named, type_
        for r in named:
            hexes = [s for s in suffixes.values() if s["parent"] == r["parent"]]
            assert any(r["inputs"][field].endswith("-" + digest_of(rec, s)) for s in hexes), (r["name"], r["inputs"][field])
    assert all(r["inputs"]["name"].startswith("transferJobs/") for r in rec.by_type("gcp:storage/transferJob:TransferJob"))
    # a protected environment keeps stable names, never a random suffix
    assert not prod_recording.by_type("random:index/randomId:RandomId")
    assert _named(prod_recording, "gcp:kms/keyRing:KeyRing", "vision-serve-secrets-keys")["inputs"]["name"] == "vision-prod-serve-keys"
    vault = _named(prod_recording, "azure-native:keyvault:Vault", "vision-finetune-secrets-kv")
    assert vault["inputs"]["vaultName"] == "vision-prod-finet-f976f8"  # readable, one hash (it was vision-pro-f976f8-f976f8)
    assert "vaultName" in vault["options"]["ignoreChanges"]  # a vault made under the old rule keeps its name


def digest_of(rec: Recording, random_id: dict[str, Any]) -> str:
    """The hex the mocks give a RandomId (what the name it feeds ends with)."""
    from topoform.naming import digest

    return digest(f"random::{random_id['name']}", 2 * int(random_id["inputs"]["byteLength"]))


# --------------------------------------------------------------------------- a standby is the same cluster


def test_the_standby_cluster_gets_the_same_namespaces_teams_and_identities(prod_recording: Recording) -> None:
    standby = _named(prod_recording, "topoform:index:AwsGpuCluster", "vision-train-standby")
    ns = _named(prod_recording, "kubernetes:core/v1:Namespace", "vision-train-standby-ns-training")
    k8s = _named(prod_recording, "pulumi:providers:kubernetes", "vision-train-standby-k8s")
    assert ns["provider"] == k8s["urn"] and ns["parent"] == standby["urn"] and ns["options"]["protect"]
    guards = {r["type"].split(":")[-1]: r for r in prod_recording.resources if r["parent"] == ns["urn"]}
    assert set(guards) == {"LimitRange", "NetworkPolicy", "ResourceQuota"}
    assert guards["ResourceQuota"]["inputs"]["spec"]["hard"] == {"requests.nvidia.com/gpu": "32"}
    binding = _named(prod_recording, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "vision-team-research-train.standby-training")
    assert binding["provider"] == k8s["urn"] and binding["inputs"]["subjects"][0]["name"] == "research@acme.example"
    entry = [e for e in _children(prod_recording, standby, "aws:eks/accessEntry:AccessEntry") if e["inputs"]["principalArn"].endswith(":role/research")]
    assert entry and entry[0]["inputs"]["kubernetesGroups"] == ["research@acme.example"]
    # the workload identity reads the replica in the backup region, under the replica's key
    assoc = _named(prod_recording, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "vision-trainer-standby-association")["inputs"]
    assert (assoc["clusterName"], assoc["namespace"], assoc["serviceAccount"]) == ("vision-prod-train-standby", "training", "trainer")
    policy = json.loads(_named(prod_recording, "aws:iam/rolePolicy:RolePolicy", "vision-trainer-standby-access")["inputs"]["policy"])
    replication = json.loads(_named(prod_recording, "aws:iam/rolePolicy:RolePolicy", "vision-datasets-replication-role-policy")["inputs"]["policy"])
    replica_objects = next(st["Resource"][0] for st in replication["Statement"] if "s3:ReplicateObject" in st["Action"])
    replica_bucket = replica_objects.removesuffix("/*")
    replica_key = next(st["Resource"][0] for st in replication["Statement"] if "kms:Encrypt" in st["Action"])
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources == {replica_bucket, replica_objects, replica_key}
    assert ":us-west-2:" in replica_key


def test_the_standby_has_its_own_network_range(prod_recording: Recording) -> None:
    vpcs = {v["name"]: ipaddress.ip_network(v["inputs"]["cidrBlock"]) for v in prod_recording.by_type("aws:ec2/vpc:Vpc")}
    assert vpcs["vision-train-vpc"] == ipaddress.ip_network("10.10.0.0/16")
    assert vpcs["vision-train-standby-vpc"] == ipaddress.ip_network("10.11.0.0/16")  # the next block of the same size


def test_standby_pools_use_zones_of_the_backup_region(tmp_path: Path) -> None:
    body = (
        "name: sb\nenvironment: dev\n"
        "sites:\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1, backup_region: us-east4, network: {backup_cidr: 10.99.0.0/16}}\n"
        "clusters:\n  c:\n    site: g\n    standby: true\n    node_pools:\n      system: {instance: cpu-4x16, min: 1, max: 2}\n"
        "      l4: {gpu: {type: L4, count: 1}, min: 0, max: 2, overrides: {gcp: {zones: [us-central1-a, us-central1-b]STANDBY}}}\n"
    )
    rec = record(str(_write(tmp_path, body.replace("STANDBY", ""))), stack="dev")
    pools = {p["name"]: p["inputs"] for p in rec.by_type("gcp:container/nodePool:NodePool")}
    assert pools["sb-c-pool-l4"]["nodeLocations"] == ["us-central1-a", "us-central1-b"]
    # not the primary region's zones: the backup region's that offer L4 (the catalog's)
    assert pools["sb-c-standby-pool-l4"]["nodeLocations"] == ["us-east4-a", "us-east4-c"]
    subnets = {s["name"]: s["inputs"]["ipCidrRange"] for s in rec.by_type("gcp:compute/subnetwork:Subnetwork")}
    assert subnets == {"sb-c-nodes": "10.0.0.0/16", "sb-c-standby-nodes": "10.99.0.0/16"}
    rec = record(str(_write(tmp_path, body.replace("STANDBY", ", standby_zones: [us-east4-a]"))), stack="dev")
    pools = {p["name"]: p["inputs"] for p in rec.by_type("gcp:container/nodePool:NodePool")}
    assert pools["sb-c-standby-pool-l4"]["nodeLocations"] == ["us-east4-a"]
    bad = run_cli("validate", str(_write(tmp_path, body.replace("STANDBY", ", standby_zones: [us-central1-a]"))))
    assert bad.code == 2 and "clusters.c.node_pools.l4.overrides.gcp.standby_zones[0]: 'us-central1-a' is not a zone of us-east4" in bad.err
    overlap = run_cli("validate", str(_write(tmp_path, body.replace("STANDBY", "").replace("backup_cidr: 10.99.0.0/16", "backup_cidr: 10.0.128.0/17"))))
    assert overlap.code == 2 and "sites.g.network.backup_cidr: the standby network 10.0.128.0/17 overlaps cidr" in overlap.err


# --------------------------------------------------------------------------- failover


def test_the_primary_stays_reachable_to_its_health_checkers(tmp_path: Path) -> None:
    rec = record(
        str(
            _write(
                tmp_path,
                "name: fo\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
                "sites:\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1}\n  h: {provider: gcp, project: acme-ml-dev, region: us-east4}\n"
                "clusters:\n  c: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
                "  d: {site: h, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
                "endpoints:\n  api: {cluster: c, service: {namespace: web, name: api, port: 8080}, exposure: public, domain: api.acme.example,"
                " allowed_cidrs: [203.0.113.0/24], failover: d, failover_tls: workload}\n",
            )
        ),
        stack="dev",
    )
    (armor,) = rec.by_type("gcp:compute/securityPolicy:SecurityPolicy")
    rules = sorted(armor["inputs"]["rules"], key=lambda r: r["priority"])
    # Cloud DNS probes through the load balancer from Google's addresses: the health path gets
    # through ahead of the allow-list's final deny, and nothing else does
    probe = next(r for r in rules if r["action"] == "allow" and "expr" in r["match"])
    assert probe["match"]["expr"]["expression"] == "request.method == 'GET' && request.path == '/healthz'"
    assert probe["priority"] < min(r["priority"] for r in rules if r.get("description") == "allowed_cidrs")
    assert rules[-1]["action"] == "deny(403)"
    # clients without SNI (probes among them) still get the domain's certificate
    entries = {e["name"]: e["inputs"] for e in rec.by_type("gcp:certificatemanager/certificateMapEntry:CertificateMapEntry")}
    assert entries["fo-api-certmap-primary"]["matcher"] == "PRIMARY" and entries["fo-api-certmap-entry"]["hostname"] == "api.acme.example"


def test_a_primary_open_to_everyone_needs_no_probe_rule(prod_recording: Recording) -> None:
    (armor,) = prod_recording.by_type("gcp:compute/securityPolicy:SecurityPolicy")
    assert not [r for r in armor["inputs"]["rules"] if r["action"] == "allow" and "expr" in r["match"]]


def test_an_on_prem_failover_target_answers_at_its_public_address(prod_recording: Recording) -> None:
    (dns,) = [r for r in prod_recording.by_type("gcp:dns/recordSet:RecordSet") if r["name"] == "vision-inference-dns"]
    backup = dns["inputs"]["routingPolicy"]["primaryBackup"]["backupGeos"][0]["rrdatas"]
    assert backup == ["198.51.100.20"] and not any(is_private(a) for a in backup)


def test_an_aws_failover_target_terminates_tls_for_the_domain(tmp_path: Path) -> None:
    rec = record(
        str(
            _write(
                tmp_path,
                "name: fo\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
                "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n  b: {provider: aws, region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
                "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
                "  d: {site: b, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
                "endpoints:\n  api: {cluster: c, service: {namespace: web, name: api, port: 8080}, exposure: public, domain: api.acme.example,"
                " allowed_cidrs: [203.0.113.0/24], failover: d}\n",
            )
        ),
        stack="dev",
    )
    secondary = _named(rec, "kubernetes:core/v1:Service", "fo-api-failover-svc")["inputs"]
    annotations = secondary["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm:us-west-2:")
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert secondary["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]  # clients come straight to it
    certs = {c["name"]: c["inputs"]["domainName"] for c in rec.by_type("aws:acm/certificate:Certificate")}
    assert certs == {"fo-api-cert": "api.acme.example", "fo-api-failover-cert": "api.acme.example"}
    # only the primary writes the domain's records
    assert {r["name"] for r in rec.by_type("aws:route53/record:Record") if r["inputs"]["name"] == "api.acme.example"} == {"fo-api-dns-primary", "fo-api-dns-secondary"}


FAILOVER_BASE = (
    "name: fo\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
    "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n  z: {provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}\n"
    "  dc: {provider: onprem, kubeconfig: {secret: k}, storage_class: c}\n"
    "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    "  cz: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    "  lab: {site: dc, node_pools: {a: {gpu: {type: H100, count: 8}, nodes: 1}}}\n"
    "endpoints:\n  api:\n    cluster: CLUSTER\n    service: {namespace: web, name: api, port: 8080}\n    exposure: public\n    domain: api.acme.example\n"
    "    allowed_cidrs: [203.0.113.0/24]\n    overrides: {azure: {dns_resource_group: dns}}\n"
)


@pytest.mark.parametrize(
    ("case", "cluster", "extra", "path", "fragment"),
    [
        ("on-prem-without-address", "c", "    failover: lab\n    failover_tls: workload\n", "endpoints.api.failover_address", "give the public address"),
        ("private-address", "c", "    failover: lab\n    failover_tls: workload\n    failover_address: 10.1.2.3\n", "endpoints.api.failover_address", "not reachable from the internet"),
        ("cross-cloud-without-tls", "c", "    failover: cz\n", "endpoints.api.failover_tls", "write failover_tls: workload"),
        ("address-for-a-cloud-target", "c", "    failover: cz\n    failover_tls: workload\n    failover_address: 198.51.100.20\n", "endpoints.api.failover_address", "its load balancer's public address is used"),
        ("front-door-to-another-cloud", "cz", "    failover: c\n", "endpoints.api.failover", "fail over to an AKS cluster"),
    ],
)
def test_failover_targets_the_internet_cannot_reach_are_refused(tmp_path: Path, case: str, cluster: str, extra: str, path: str, fragment: str) -> None:
    result = run_cli("validate", str(_write(tmp_path, FAILOVER_BASE.replace("CLUSTER", cluster) + extra)))
    assert result.code == 2 and f": {path}: " in result.err and fragment in result.err, result.err
    fine = run_cli("validate", str(_write(tmp_path, FAILOVER_BASE.replace("CLUSTER", "c") + "    failover: lab\n    failover_tls: workload\n    failover_address: 198.51.100.20\n")))
    assert fine.code == 0, fine.err


def test_nlbs_that_would_overflow_the_cluster_security_group_are_refused(tmp_path: Path) -> None:
    cidrs = ", ".join(f"203.0.{i}.0/24" for i in range(22))  # 2 x (22 + 7 checker ranges) + 3 zones + 1 > 60
    text = FAILOVER_BASE.replace("CLUSTER", "c").replace("[203.0.113.0/24]", f"[{cidrs}]") + "    failover: lab\n    failover_tls: workload\n    failover_address: 198.51.100.20\n"
    result = run_cli("validate", str(_write(tmp_path, text)))
    assert result.code == 2 and "endpoints.api.allowed_cidrs: the load balancers of cluster 'c' need 62 rules" in result.err, result.err
    # 21 ranges fit exactly (2 x 28 + 3 + 1 = 60); a private range the cluster API admits takes one rule of the group too
    fits = FAILOVER_BASE.replace("CLUSTER", "c").replace("[203.0.113.0/24]", "[" + ", ".join(f"203.0.{i}.0/24" for i in range(21)) + "]")
    fits += "    failover: lab\n    failover_tls: workload\n    failover_address: 198.51.100.20\n"
    assert run_cli("validate", str(_write(tmp_path, fits))).code == 0
    vpn = fits.replace("  c: {site: a, node_pools", "  c: {site: a, api: public, allowed_cidrs: [192.0.2.0/24, 10.50.0.0/16], node_pools")
    result = run_cli("validate", str(_write(tmp_path, vpn)))
    assert result.code == 2 and "cluster 'c' need 61 rules" in result.err, result.err


# --------------------------------------------------------------------------- workload defaults


def test_namespace_defaults_request_but_never_limit(prod_recording: Recording) -> None:
    for lr in prod_recording.by_type("kubernetes:core/v1:LimitRange"):
        (item,) = lr["inputs"]["spec"]["limits"]
        assert item == {"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "256Mi"}}, lr["urn"]


# --------------------------------------------------------------------------- nothing lost


def test_no_stateful_urn_of_prod_changes() -> None:
    """The stateful resources prod has (tests/golden/prod-stateful-urns.txt, reviewed like code);
    an addition is reviewed here too. Regenerate: TOPOFORM_UPDATE_GOLDEN=1 pytest."""
    import os

    from test_nothing_lost import STATEFUL_TYPES

    prod = record(str(STACKS / "prod.topology.yaml"), stack="prod", program=str(STACKS / "__main__.py"))
    urns = sorted(r["urn"] for r in prod.resources if r["type"] in STATEFUL_TYPES)
    golden = ROOT / "tests" / "golden" / "prod-stateful-urns.txt"
    if os.environ.get("TOPOFORM_UPDATE_GOLDEN"):
        golden.write_text("\n".join(urns) + "\n")
    assert urns == golden.read_text().split()



# --------------------------------------------------------------------------- run-time checks


_AWS_ONLY = (
    "name: rt\nenvironment: dev\ndeployer: {{networks: [198.51.100.10/32]}}\n"
    "sites:\n  a: {{provider: aws, region: us-east-1, admins: [{admins}]}}\n"
    "clusters:\n  c: {{site: a, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}}}}}\n"
)
_AZURE_ONLY = (
    "name: rt\nenvironment: dev\ndeployer: {{networks: [198.51.100.10/32]}}\n"
    "sites:\n  z: {{provider: azure, region: eastus, admins: [{admins}]}}\n"
    "clusters:\n  c: {{site: z, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}}}}}\n"
)
# What the preview's fake clouds say `pulumi up` runs as (a CI role's session; an object ID).
_ME_AWS = f"arn:aws:iam::{ACCOUNT}:role/deployer"
_ME_AZURE = "2958d416-d08a-a5a4-72d7-b509036cb7ea"


@pytest.mark.parametrize(
    ("template", "admins", "refused"),
    [
        (_AWS_ONLY, "arn:aws:iam::123456789012:role/platform-ci", f"runs as {_ME_AWS}, which is not among sites.a.admins"),
        (_AWS_ONLY, f"arn:aws:iam::123456789012:role/platform-ci, '{_ME_AWS}'", None),
        (_AZURE_ONLY, "servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a", f"signs in as object ID {_ME_AZURE}, which is not among sites.z.admins"),
        (_AZURE_ONLY, f"servicePrincipal:{_ME_AZURE}", None),
        # a group's members are Microsoft Graph's to list, not ARM's: the deployer may be one
        (_AZURE_ONLY, "group:0b7e3c1a-52d4-4e8f-9a6b-1c2d3e4f5a6b", None),
    ],
)
def test_pulumi_up_stops_at_once_when_the_deployer_is_not_an_admin(tmp_path: Path, template: str, admins: str, refused: str | None) -> None:
    """Offline, the caller is unknown; against the cloud (`topoform:offline-preview` unset) the
    program asks who it runs as before it creates anything, and stops with the fix."""
    import pulumi

    topo = _write(tmp_path, template.format(admins=admins))
    assert record(str(topo), stack="dev").resources  # offline: no caller to compare
    online = {"topoform:offline-preview": "false"}
    if refused is None:
        assert record(str(topo), stack="dev", config=online).by_type("topoform:index:" + ("AwsGpuCluster" if "aws" in template else "AzureGpuCluster"))
        return
    with pytest.raises(pulumi.RunError) as exc:
        record(str(topo), stack="dev", config=online)
    assert refused in str(exc.value)


def test_an_admin_who_is_also_a_team_principal_gets_one_access_entry(tmp_path: Path) -> None:
    topo = _write(
        tmp_path,
        "name: one\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "teams:\n  ops: {group: ops@acme.example, namespaces: {c: [ops]}, overrides: {aws: {principal_arn: 'arn:aws:iam::123456789012:role/platform-ci'}}}\n"
        "  sre: {group: sre@acme.example, namespaces: {c: [sre]}, overrides: {aws: {principal_arn: 'arn:aws:iam::123456789012:role/platform-ci'}}}\n",
    )
    rec = record(str(topo), stack="dev")
    (entry,) = rec.by_type("aws:eks/accessEntry:AccessEntry")  # EKS takes one entry per principal
    assert entry["inputs"]["principalArn"] == "arn:aws:iam::123456789012:role/platform-ci"
    assert entry["inputs"]["kubernetesGroups"] == ["ops@acme.example", "sre@acme.example"]
    (assoc,) = rec.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert assoc["inputs"]["policyArn"].endswith(":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
    # an earlier topoform named the role's one entry after whichever team came last: either name carries the URN
    aliases = json.dumps(entry["options"]["aliases"])
    assert "one-c-team-ops" in aliases and "one-c-team-sre" in aliases


def test_gcp_ip_endpoint_mode_keeps_the_dns_endpoint_closed(tmp_path: Path) -> None:
    """`api_endpoint: ip` is for those who reach the VPC (a VPN): the DNS endpoint takes no
    traffic from outside, and the kubeconfig names the private IP with the cluster's CA."""
    base = (
        "name: ip\nenvironment: dev\ndeployer: {{networks: [{net}]}}\n"
        "sites:\n  g: {{provider: gcp, project: acme-ml-dev, region: us-central1}}\n"
        "clusters:\n  c: {{site: g, overrides: {{gcp: {{api_endpoint: ip}}}}, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}}}}}\n"
    )
    result = run_cli("validate", str(_write(tmp_path, base.format(net="198.51.100.10/32"))))
    assert result.code == 2 and "clusters.c.api" in result.err and "answers only inside its VPC" in result.err, result.err
    rec = record(str(_write(tmp_path, base.format(net="10.200.0.0/16"))), stack="dev")
    (gke,) = rec.by_type("gcp:container/cluster:Cluster")
    assert gke["inputs"]["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is False
    assert "10.200.0.0/16" in [b["cidrBlock"] for b in gke["inputs"]["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    (component,) = rec.by_type("topoform:index:GcpGpuCluster")
    (provider,) = [p for p in rec.by_type("pulumi:providers:kubernetes") if p["parent"] == component["urn"]]
    kubeconfig = json.loads(_secret(rec, provider, "kubeconfig"))
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert "certificate-authority-data" in cluster and not cluster["server"].endswith(".gke.goog")


@pytest.mark.parametrize(
    ("network", "ok", "fragment"),
    [
        ("{cidr: 10.4.0.0/16, backup_cidr: 10.4.0.0/16}", True, ""),  # the same range, said explicitly (no peering planned)
        ("{cidr: 10.4.0.0/16, backup_cidr: 10.9.0.0/16}", True, ""),
        ("{cidr: 10.255.0.0/16}", False, "backup_cidr"),  # no next block inside 10.0.0.0/8 for the default
    ],
)
def test_the_standby_network_range(tmp_path: Path, network: str, ok: bool, fragment: str) -> None:
    topo = _write(
        tmp_path,
        "name: bk\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  a: {{provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci], network: {network}}}\n"
        "clusters:\n  c: {site: a, standby: true, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n",
    )
    result = run_cli("validate", str(topo))
    if ok:
        assert result.code == 0, result.err
    else:
        assert result.code == 2 and f"sites.a.network.{fragment}" in result.err, result.err


def test_a_health_path_must_be_a_plain_path(tmp_path: Path) -> None:
    text = (
        "name: hp\nenvironment: dev\ndeployer: {{networks: [198.51.100.10/32]}}\n"
        "sites:\n  a: {{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}}\n"
        "clusters:\n  c: {{site: a, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}}}}}\n"
        "endpoints:\n  e: {{cluster: c, service: {{namespace: web, name: api, port: 8080}}, health_check: {{path: '{path}'}}}}\n"
    )
    assert run_cli("validate", str(_write(tmp_path, text.format(path="/ready/v1")))).code == 0
    # a query or fragment is not a path the Cloud Armor rule and every cloud's probe agree on
    for path in ("/healthz?deep=1", "/healthz#x", "healthz", "/a b"):
        result = run_cli("validate", str(_write(tmp_path, text.format(path=path))))
        assert result.code == 2 and ":9: endpoints.e.health_check.path: " in result.err and "not a plain URL path" in result.err and "Traceback" not in result.err, (path, result.err)


def test_names_the_cloud_keeps_are_never_changed_after_creation(prod_recording: Recording) -> None:
    """A random or stable physical name, once made, stays: a later change of how topoform names
    things must not replace a key ring, a vault or a transfer job."""
    for type_, field in (("gcp:kms/keyRing:KeyRing", "name"), ("azure-native:keyvault:Vault", "vaultName"), ("gcp:storage/transferJob:TransferJob", "name")):
        found = prod_recording.by_type(type_)
        assert found, type_
        for r in found:
            assert field in r["options"].get("ignoreChanges", []), (r["urn"], r["options"].get("ignoreChanges"))


def test_a_deployer_outside_a_network_created_in_the_same_run_is_told(tmp_path: Path) -> None:
    text = (
        "name: vpn\nenvironment: dev\ndeployer: {{networks: [10.200.0.0/16]}}\n"
        "sites:\n  a: {{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]{network}}}\n"
        "clusters:\n  c: {{site: a, node_pools: {{system: {{instance: cpu-4x16, min: 1, max: 2}}}}}}\n"
    )
    rec = record(str(_write(tmp_path, text.format(network=""))), stack="dev")
    assert any("deployer.networks reach the API only privately" in n and "pulumi up` again" in n for n in rec.notices), rec.notices
    existing = ", network: {existing: {vpc_id: vpc-1, subnet_ids: [subnet-a, subnet-b]}}"
    rec = record(str(_write(tmp_path, text.format(network=existing))), stack="dev")
    assert not any("deployer.networks reach the API only privately" in n for n in rec.notices)
    # GKE's IP endpoint is private: a public deployer network does not reach it either
    gke = (
        "name: vpn\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32, 10.200.0.0/16]}\n"
        "sites:\n  g: {provider: gcp, project: acme-ml-dev, region: us-central1}\n"
        "clusters:\n  c: {site: g, overrides: {gcp: {api_endpoint: ip}}, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
    )
    rec = record(str(_write(tmp_path, gke)), stack="dev")
    assert any("reach the API only privately" in n and "api_endpoint at dns" in n for n in rec.notices), rec.notices
    rec = record(str(_write(tmp_path, gke.replace("api_endpoint: ip", "api_endpoint: dns"))), stack="dev")
    assert not any("reach the API only privately" in n for n in rec.notices)


def test_what_a_cloud_takes_once_is_replaced_by_deleting_first(prod_recording: Recording) -> None:
    """Create-only identities: EKS holds one access entry per principal, an AKS pool's name is
    the pool; a second with the same identity cannot be created before the first goes."""
    entries = prod_recording.by_type("aws:eks/accessEntry:AccessEntry")
    pools = prod_recording.by_type("azure-native:containerservice:AgentPool")
    assert entries and pools
    for r in (*entries, *pools):
        assert r["options"]["deleteBeforeReplace"] is True, r["urn"]
    # and the EKS creator's bootstrap access, read only at creation, is never diffed again
    for eks in prod_recording.by_type("aws:eks/cluster:Cluster"):
        assert "accessConfig.bootstrapClusterCreatorAdminPermissions" in eks["options"]["ignoreChanges"]


def test_a_new_api_endpoint_does_not_replace_what_is_inside_the_cluster(prod_recording: Recording) -> None:
    """pulumi-kubernetes replaces its provider, and every object written through it, when the
    kubeconfig's server changes, unless `clusterIdentifier` says which cluster it is: each cloud
    cluster's provider is identified by what is the cluster's own for its whole life."""
    providers = {p["parent"]: p for p in prod_recording.by_type("pulumi:providers:kubernetes")}
    ids = []
    for kind, expected in (("AwsGpuCluster", "https://oidc.eks."), ("AzureGpuCluster", "https://eastus2.oic.prod-aks.azure.com/"), ("GcpGpuCluster", "gke-")):
        for component in prod_recording.by_type(f"topoform:index:{kind}"):
            identifier = providers[component["urn"]]["inputs"]["clusterIdentifier"]
            assert identifier.startswith(expected), (component["name"], identifier)
            ids.append(identifier)
    assert len(ids) == len(set(ids)) == 4  # train, its standby, serve, finetune
    (gke,) = prod_recording.by_type("gcp:container/cluster:Cluster")
    gke_provider = providers[gke["parent"]]
    assert json.loads(_secret(prod_recording, gke_provider, "kubeconfig"))["clusters"][0]["cluster"]["server"] == "https://" + gke_provider["inputs"]["clusterIdentifier"]


def test_two_gcp_sites_in_one_project_get_everything_both_need_once(tmp_path: Path) -> None:
    """A store-only site beside a GKE site in the same project: whichever comes first, each API,
    agent and admin grant is made once, and each site waits for what it needs."""
    topo = _write(
        tmp_path,
        "name: two\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        "sites:\n  a: {provider: gcp, project: acme-ml-dev, region: us-east4, admins: ['user:ops@acme.example']}\n"
        "  b: {provider: gcp, project: acme-ml-dev, region: us-central1, backup_region: us-east4, admins: ['user:ops@acme.example', 'user:sre@acme.example']}\n"
        "clusters:\n  c: {site: b, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "storage:\n  s: {site: a, backup: {region: us-west1}}\n",
    )
    rec = record(str(topo), stack="dev")
    services = [s["inputs"]["service"] for s in rec.by_type("gcp:projects/service:Service")]
    assert len(services) == len(set(services))  # each once
    assert {"container.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com", "storagetransfer.googleapis.com"} <= set(services)
    assert len(rec.by_type("gcp:projects/serviceIdentity:ServiceIdentity")) == 2
    (role,) = [m for m in rec.by_type("gcp:projects/iAMMember:IAMMember") if m["inputs"]["role"] == "roles/container.serviceAgent"]
    assert role["options"]["retainOnDelete"] is True  # other clusters in the project rely on it
    viewers = sorted(m["inputs"]["member"] for m in rec.by_type("gcp:projects/iAMMember:IAMMember") if m["inputs"]["role"] == "roles/container.clusterViewer")
    assert viewers == ["user:ops@acme.example", "user:sre@acme.example"]
    # the cluster waits for the wait that covers the GKE API, wherever it was made
    gke_api = next(s for s in rec.by_type("gcp:projects/service:Service") if s["inputs"]["service"] == "container.googleapis.com")
    (gke,) = rec.by_type("gcp:container/cluster:Cluster")
    assert gke_api["urn"] in _after(rec, gke)

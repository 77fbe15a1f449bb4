"""Who can reach what: workload identities, team RBAC and endpoints, read from the recording."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from topoform.preview import record

READ_ONLY = {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt", "kms:DescribeKey"}


def _one(rec: Any, type_: str, name: str) -> dict[str, Any]:
    found = [r for r in rec.resources if r["type"] == type_ and r["name"] == name]
    assert len(found) == 1, (type_, name, [r["name"] for r in rec.by_type(type_)])
    return found[0]


# --------------------------------------------------------------------------- identities


def test_aws_read_identity_names_only_its_bucket_objects_and_key(prod_recording: Any) -> None:
    policy = json.loads(_one(prod_recording, "aws:iam/rolePolicy:RolePolicy", "vision-trainer-access")["inputs"]["policy"])
    tls = json.loads(_one(prod_recording, "aws:s3/bucketPolicy:BucketPolicy", "vision-datasets-tls-only")["inputs"]["policy"])
    bucket_arn, objects_arn = tls["Statement"][0]["Resource"]
    sse = _one(prod_recording, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "vision-datasets-encryption")
    key_arn = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    resources = {r for st in policy["Statement"] for r in st["Resource"]}
    assert resources == {bucket_arn, objects_arn, key_arn}
    actions = {a for st in policy["Statement"] for a in st["Action"]}
    assert actions <= READ_ONLY and "s3:GetObject" in actions and "kms:Decrypt" in actions
    assert all(st["Effect"] == "Allow" for st in policy["Statement"])


def test_aws_identity_is_bound_through_pod_identity(prod_recording: Any) -> None:
    role = _one(prod_recording, "aws:iam/role:Role", "vision-trainer-role")["inputs"]
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]
    assoc = _one(prod_recording, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "vision-trainer-association")["inputs"]
    assert (assoc["clusterName"], assoc["namespace"], assoc["serviceAccount"]) == ("vision-prod-train", "training", "trainer")
    sa = _one(prod_recording, "kubernetes:core/v1:ServiceAccount", "vision-trainer-sa")["inputs"]
    assert (sa["metadata"]["namespace"], sa["metadata"]["name"]) == ("training", "trainer")


def test_gcp_read_identity_gets_object_viewer_on_one_bucket(prod_recording: Any) -> None:
    grants = [r for r in prod_recording.by_type("gcp:storage/bucketIAMMember:BucketIAMMember") if r["name"].startswith("vision-server-")]
    assert [g["inputs"]["role"] for g in grants] == ["roles/storage.objectViewer"]
    bucket = _one(prod_recording, "gcp:storage/bucket:Bucket", "vision-checkpoints-bucket")
    assert bucket["urn"] in grants[0]["options"]["dependsOn"]
    binding = _one(prod_recording, "gcp:serviceaccount/iAMMember:IAMMember", "vision-server-workload-identity")["inputs"]
    assert binding == {"member": "serviceAccount:acme-ml-prod.svc.id.goog[serving/triton]", "role": "roles/iam.workloadIdentityUser", "serviceAccountId": binding["serviceAccountId"]}
    sa = _one(prod_recording, "kubernetes:core/v1:ServiceAccount", "vision-server-sa")["inputs"]
    assert sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].endswith("@acme-ml-prod.iam.gserviceaccount.com")


def test_azure_write_identity_is_federated_and_scoped_to_one_container(prod_recording: Any) -> None:
    fed = _one(prod_recording, "azure-native:managedidentity:FederatedIdentityCredential", "vision-tuner-federation")["inputs"]
    assert fed["subject"] == "system:serviceaccount:tuning:tuner"
    assert fed["audiences"] == ["api://AzureADTokenExchange"]
    assert fed["issuer"].startswith("https://eastus2.oic.prod-aks.azure.com/")
    grant = _one(prod_recording, "azure-native:authorization:RoleAssignment", "vision-tuner-grant-models")["inputs"]
    assert grant["roleDefinitionId"].endswith("/ba92f5b4-2d11-453d-a403-e96b0029c9fe")  # Storage Blob Data Contributor
    assert re.search(r"/storageAccounts?/[a-z0-9]+/blobServices/default/containers/data$", grant["scope"], re.I), grant["scope"]
    sa = _one(prod_recording, "kubernetes:core/v1:ServiceAccount", "vision-tuner-sa")["inputs"]
    assert "azure.workload.identity/client-id" in sa["metadata"]["annotations"]


# Built-in Azure roles that must never be granted by topoform: Owner, Contributor,
# User Access Administrator, Storage Blob Data Owner.
FORBIDDEN_AZURE_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
}


def _policy_documents(rec: Any) -> list[dict[str, Any]]:
    docs = []
    for r in rec.resources:
        for field in ("policy", "assumeRolePolicy"):
            value = r["inputs"].get(field)
            if r["type"].startswith("aws:") and isinstance(value, str) and value.startswith("{"):
                docs.append(json.loads(value))
    return docs


@pytest.mark.parametrize("rec_name", ["dev_recording", "prod_recording"])
def test_no_grant_uses_a_wildcard_action_or_an_owner_or_admin_role(request: pytest.FixtureRequest, rec_name: str) -> None:
    rec = request.getfixturevalue(rec_name)
    docs = _policy_documents(rec)
    assert docs
    for doc in docs:
        for st in doc["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if st["Effect"] == "Allow":
                assert not any("*" in a for a in actions), st
            else:
                # The one Deny we write refuses every S3 call made without TLS.
                assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, st
    for r in rec.resources:
        role = r["inputs"].get("role")
        if r["type"].startswith("gcp:") and isinstance(role, str):
            assert not re.search(r"owner|admin", role, re.I), (r["urn"], role)
        if r["type"] == "azure-native:authorization:RoleAssignment":
            assert r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1] not in FORBIDDEN_AZURE_ROLES, r["urn"]
            assert "/resourceGroups/" in r["inputs"]["scope"] or r["inputs"]["scope"].startswith("/subscriptions/") and "/providers/" in r["inputs"]["scope"]
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            assert not re.search(r"Administrator|FullAccess|PowerUser", r["inputs"]["policyArn"]), r["urn"]


# --------------------------------------------------------------------------- teams


SYSTEM_ACCOUNTS = [{"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}]
"""Components topoform runs in kube-system with RBAC of their own (EKS's Cluster Autoscaler)."""


def test_role_bindings_bind_team_groups_to_built_in_roles_only(prod_recording: Any) -> None:
    every = prod_recording.by_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    system = [b for b in every if b["inputs"]["metadata"].get("namespace") == "kube-system"]
    # in kube-system only the autoscaler's own binding, to its own service account (EKS clusters)
    assert sorted(b["name"] for b in system) == ["vision-train-autoscaler-rolebinding", "vision-train-standby-autoscaler-rolebinding"]
    assert all(b["inputs"]["subjects"] == SYSTEM_ACCOUNTS for b in system)
    bindings = [b for b in every if b not in system]
    # research in train (and its standby) and lab, inference-ops in serve, tuning in finetune
    assert sorted(b["name"] for b in bindings) == [
        "vision-team-inference-ops-serve-serving",
        "vision-team-research-lab-training",
        "vision-team-research-train-training",
        "vision-team-research-train.standby-training",
        "vision-team-tuning-finetune-tuning",
    ]
    for b in bindings:
        assert b["inputs"]["roleRef"]["kind"] == "ClusterRole"
        assert b["inputs"]["roleRef"]["name"] in {"view", "edit", "admin"}
        assert [s["kind"] for s in b["inputs"]["subjects"]] == ["Group"]
    # The one ClusterRoleBinding is the GKE administrators' (the site's admins), never a team's.
    cluster_wide = prod_recording.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert all(b["inputs"]["subjects"] == SYSTEM_ACCOUNTS for b in cluster_wide if "autoscaler" in b["name"])
    (admins,) = [b for b in cluster_wide if "autoscaler" not in b["name"]]
    assert admins["name"] == "vision-serve-administrators"
    assert admins["inputs"]["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "platform-admins@acme.example"}]
    azure = next(b for b in bindings if b["name"] == "vision-team-tuning-finetune-tuning")
    assert azure["inputs"]["subjects"][0]["name"] == "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"


def test_every_team_namespace_has_quota_limits_and_default_deny(prod_recording: Any) -> None:
    def in_ns(type_: str, ns: str, cluster: str) -> list[dict[str, Any]]:
        return [r for r in prod_recording.by_type(type_) if r["inputs"]["metadata"]["namespace"] == ns and r["name"].startswith(f"vision-{cluster}-ns-")]

    for cluster, ns, quota in (("train", "training", "32"), ("lab", "training", "32"), ("serve", "serving", "24"), ("finetune", "tuning", "8")):
        quotas = in_ns("kubernetes:core/v1:ResourceQuota", ns, cluster)
        assert [q["inputs"]["spec"]["hard"] for q in quotas] == [{"requests.nvidia.com/gpu": quota}]
        limits = in_ns("kubernetes:core/v1:LimitRange", ns, cluster)
        assert limits[0]["inputs"]["spec"]["limits"][0]["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}
        isolation = [p for p in in_ns("kubernetes:networking.k8s.io/v1:NetworkPolicy", ns, cluster) if p["inputs"]["metadata"]["name"] == "namespace-isolation"]
        # every pod selected, ingress from the namespace's own pods alone (a training job's workers)
        assert isolation and isolation[0]["inputs"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


def test_eks_maps_the_teams_iam_role_to_its_group(prod_recording: Any) -> None:
    (entry,) = [
        e for e in prod_recording.by_type("aws:eks/accessEntry:AccessEntry")
        if e["name"].startswith("vision-train-access-") and e["inputs"]["principalArn"] == "arn:aws:iam::123456789012:role/research"
    ]
    assert entry["inputs"]["kubernetesGroups"] == ["research@acme.example"]
    # the entry's name before one entry per principal: kept, so upgrading replaces nothing
    assert entry["options"]["aliases"] and "vision-train-team-research" in json.dumps(entry["options"]["aliases"])


def test_gke_enables_google_groups_for_rbac(prod_recording: Any) -> None:
    gke = _one(prod_recording, "gcp:container/cluster:Cluster", "vision-serve-gke")["inputs"]
    assert gke["authenticatorGroupsConfig"] == {"securityGroup": "gke-security-groups@acme.example"}


# --------------------------------------------------------------------------- endpoints


def test_gcp_public_endpoint_has_certificate_tls12_allow_list_redirect_and_failover(prod_recording: Any) -> None:
    cert = _one(prod_recording, "gcp:certificatemanager/certificate:Certificate", "vision-inference-cert")["inputs"]
    assert cert["managed"]["domains"] == ["infer.acme.example"]
    ssl = _one(prod_recording, "gcp:compute/sSLPolicy:SSLPolicy", "vision-inference-tls")["inputs"]
    assert ssl["minTlsVersion"] == "TLS_1_2"
    armor = _one(prod_recording, "gcp:compute/securityPolicy:SecurityPolicy", "vision-inference-allow-list")["inputs"]["rules"]
    allow = [r for r in armor if r["action"] == "allow"]
    assert [r["match"]["config"]["srcIpRanges"] for r in allow] == [["0.0.0.0/0"]]
    assert armor[-1]["action"] == "deny(403)" and armor[-1]["priority"] == 2147483647
    log4j = [r for r in armor if r["match"].get("expr", {}).get("expression") == "evaluatePreconfiguredExpr('cve-canary')"]
    assert [r["action"] for r in log4j] == ["deny(403)"] and log4j[0]["priority"] < min(r["priority"] for r in allow)
    gateway = _one(prod_recording, "kubernetes:gateway.networking.k8s.io/v1:Gateway", "vision-inference-gateway")["inputs"]
    assert {(listener["protocol"], listener["port"]) for listener in gateway["spec"]["listeners"]} == {("HTTPS", 443), ("HTTP", 80)}
    redirect = _one(prod_recording, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "vision-inference-redirect")["inputs"]["spec"]
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    health = _one(prod_recording, "kubernetes:networking.gke.io/v1:HealthCheckPolicy", "vision-inference-health")["inputs"]["spec"]
    assert health["default"]["config"]["httpHealthCheck"]["requestPath"] == "/healthz"
    dns = _one(prod_recording, "gcp:dns/recordSet:RecordSet", "vision-inference-dns")["inputs"]
    assert dns["name"] == "infer.acme.example." and dns["managedZone"] == "acme-example"
    primary_backup = dns["routingPolicy"]["primaryBackup"]
    assert primary_backup["backupGeos"][0]["location"] == "us-central1"
    assert dns["routingPolicy"]["healthCheck"]
    secondary = _one(prod_recording, "kubernetes:core/v1:Service", "vision-inference-failover-svc")
    assert secondary["provider"].endswith("::pulumi:providers:kubernetes::vision-dc1")


def test_internal_endpoints_stay_on_private_addresses(prod_recording: Any, dev_recording: Any) -> None:
    azure = _one(prod_recording, "kubernetes:core/v1:Service", "vision-tuning-api-svc")["inputs"]
    assert azure["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    aws = _one(dev_recording, "kubernetes:core/v1:Service", "vision-notebooks-svc")["inputs"]
    assert aws["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert not dev_recording.by_type("aws:acm/certificate:Certificate")


def _record(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "t.topology.yaml"
    path.write_text("name: acc\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n" + body)
    return record(str(path), stack="dev")


SYSTEM = "system: {instance: cpu-4x16, min: 1, max: 2}"


def test_aws_public_endpoint_tls_source_ranges_and_route53_failover(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  a: {{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}}
  g: {{provider: gcp, project: acme-ml-dev, region: us-central1}}
clusters:
  c: {{site: a, node_pools: {{{SYSTEM}}}}}
  d: {{site: g, node_pools: {{{SYSTEM}}}}}
endpoints:
  api: {{cluster: c, service: {{namespace: web, name: api, port: 8080}}, exposure: public, domain: api.acme.example, allowed_cidrs: [203.0.113.0/24], failover: d, failover_tls: workload}}
""",
    )
    svc = _one(rec, "kubernetes:core/v1:Service", "acc-api-svc")["inputs"]
    annotations = svc["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] == "443"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm:")
    # The clients, then Route 53's health checkers (three regions and GLOBAL), or the primary always looks down.
    ranges = svc["spec"]["loadBalancerSourceRanges"]
    assert ranges[0] == "203.0.113.0/24" and "15.177.0.0/18" in ranges and len(ranges) == 8
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(443, 8080)]
    assert _one(rec, "aws:acm/certificate:Certificate", "acc-api-cert")["inputs"]["domainName"] == "api.acme.example"
    records = {r["name"]: r["inputs"] for r in rec.by_type("aws:route53/record:Record")}
    assert records["acc-api-dns-primary"]["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert records["acc-api-dns-primary"]["healthCheckId"]
    assert records["acc-api-dns-secondary"]["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert records["acc-api-dns-secondary-address"]["type"] == "A"  # the GCP secondary answers with an IP
    check = _one(rec, "aws:route53/healthCheck:HealthCheck", "acc-api-health")["inputs"]
    assert (check["type"], check["port"], check["resourcePath"]) == ("HTTPS", 443, "/healthz")
    assert check["regions"] == ["us-east-1", "us-west-2", "eu-west-1"]


def test_azure_public_endpoint_front_door_waf_and_origin_failover(tmp_path: Path) -> None:
    rec = _record(
        tmp_path,
        f"""sites:
  z: {{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
  y: {{provider: azure, region: westus2, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
clusters:
  c: {{site: z, node_pools: {{{SYSTEM}}}}}
  lab: {{site: y, node_pools: {{{SYSTEM}}}}}
endpoints:
  api:
    cluster: c
    service: {{namespace: web, name: api, port: 8080}}
    exposure: public
    domain: api.acme.example
    allowed_cidrs: [203.0.113.0/24, 198.51.100.0/24]
    failover: lab
    overrides: {{azure: {{dns_resource_group: dns-rg}}}}
""",
    )
    domain = _one(rec, "azure-native:cdn:AFDCustomDomain", "acc-api-afd-domain")["inputs"]
    assert domain["tlsSettings"] == {"certificateType": "ManagedCertificate", "minimumTlsVersion": "TLS12"}
    route = _one(rec, "azure-native:cdn:Route", "acc-api-afd-route")["inputs"]
    assert route["httpsRedirect"] == "Enabled"
    waf = _one(rec, "azure-native:frontdoor:Policy", "acc-api-waf")["inputs"]
    rule = waf["customRules"]["rules"][0]
    assert rule["action"] == "Block" and rule["matchConditions"][0]["negateCondition"] is True
    assert rule["matchConditions"][0]["matchValue"] == ["203.0.113.0/24", "198.51.100.0/24"]
    origins = {r["name"]: r["inputs"] for r in rec.by_type("azure-native:cdn:AFDOrigin")}
    assert origins["acc-api-afd-origin"]["priority"] == 1
    secondary = origins["acc-api-afd-origin-secondary"]
    assert secondary["priority"] == 2 and secondary["enforceCertificateNameCheck"] is True
    assert secondary["originHostHeader"] == "api.acme.example"
    probe = _one(rec, "azure-native:cdn:AFDOriginGroup", "acc-api-afd-origins")["inputs"]["healthProbeSettings"]
    assert probe["probePath"] == "/healthz"
    assert not rec.by_type("azure-native:trafficmanager:Profile")  # managed certificates do not renew behind it
    origin = _one(rec, "kubernetes:core/v1:Service", "acc-api-svc")["inputs"]["metadata"]["annotations"]
    assert origin["service.beta.kubernetes.io/azure-allowed-service-tags"] == "AzureFrontDoor.Backend"
    # The secondary is reached the way Front Door reaches the primary: HTTP on 80 from Front Door
    # only (the route forwards HttpOnly to every origin of the group), on its own static IP.
    failover = _one(rec, "kubernetes:core/v1:Service", "acc-api-failover-svc")["inputs"]
    assert [p["port"] for p in failover["spec"]["ports"]] == [80]
    assert failover["metadata"]["annotations"]["service.beta.kubernetes.io/azure-allowed-service-tags"] == "AzureFrontDoor.Backend"
    assert "loadBalancerSourceRanges" not in failover["spec"]
    assert secondary["httpPort"] == 80 and secondary["hostName"] != origins["acc-api-afd-origin"]["hostName"]
    assert route["forwardingProtocol"] == "HttpOnly"


INVALID = [
    ("cross-cloud", "identities:\n  i: {cluster: c, namespace: n, service_account: s, access: {g: read}}\n", "identities.i.access.g", "cross-cloud access is refused for now"),
    ("onprem-claim", "identities:\n  i: {cluster: c, namespace: n, service_account: s, access: {p: read}}\n", "identities.i.access.p", "is an on-prem claim"),
    ("azure-team-without-object-id", "teams:\n  t: {group: g@acme.example, namespaces: {z: [n]}}\n", "teams.t.overrides.azure.group", "AKS binds Entra ID groups by object ID"),
    ("gke-team-without-security-group", "teams:\n  t: {group: g@acme.example, namespaces: {gk: [n]}}\n", "clusters.gk.overrides.gcp.security_group", "Google Groups for RBAC"),
    ("onprem-public-endpoint", "endpoints:\n  e: {cluster: lab, service: {namespace: n, name: s, port: 80}, exposure: public, domain: a.acme.example, allowed_cidrs: [0.0.0.0/0]}\n", "endpoints.e.exposure", "onprem sites cannot serve a public endpoint"),
    ("gcp-failover-to-aws", "endpoints:\n  e: {cluster: gk, service: {namespace: n, name: s, port: 80}, exposure: public, domain: a.acme.example, allowed_cidrs: [0.0.0.0/0], failover: c}\n", "endpoints.e.failover", "GCP DNS fails over between IP addresses"),
    ("azure-public-without-dns-group", "endpoints:\n  e: {cluster: z, service: {namespace: n, name: s, port: 80}, exposure: public, domain: a.acme.example, allowed_cidrs: [0.0.0.0/0]}\n", "endpoints.e.overrides.azure.dns_resource_group", "needs the resource group of its DNS zone"),
    ("public-without-domain", "endpoints:\n  e: {cluster: c, service: {namespace: n, name: s, port: 80}, exposure: public, allowed_cidrs: [0.0.0.0/0]}\n", "endpoints.e.domain", "a public endpoint needs a domain"),
    (
        "quota-conflict",
        "teams:\n  t1: {group: a, namespaces: {c: [n]}, gpu_quota: 4}\n  t2: {group: b, namespaces: {c: [n]}, gpu_quota: 8}\n",
        "teams.t2.gpu_quota",
        "is shared with team 't1', which sets another gpu_quota",
    ),
]


@pytest.mark.parametrize(("case", "section", "path", "fragment"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_access_references_exit_2_naming_the_field(tmp_path: Path, case: str, section: str, path: str, fragment: str) -> None:
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        f"""name: acc
environment: dev
deployer: {{networks: [198.51.100.10/32]}}
sites:
  a: {{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}}
  g: {{provider: gcp, project: acme-ml-dev, region: us-central1}}
  z: {{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
  dc: {{provider: onprem, kubeconfig: {{secret: k}}, storage_class: c}}
clusters:
  c: {{site: a, node_pools: {{{SYSTEM}}}}}
  gk: {{site: g, node_pools: {{{SYSTEM}}}}}
  z: {{site: z, node_pools: {{{SYSTEM}}}}}
  lab: {{site: dc, node_pools: {{a: {{gpu: {{type: H100, count: 8}}, nodes: 1}}}}}}
storage:
  g: {{site: g}}
  p: {{site: dc, size_gb: 10}}
"""
        + section
    )
    result = run_cli("validate", str(topo))
    assert result.code == 2, result.out
    assert any(f": {path}: " in line and fragment in line for line in result.err.splitlines()), result.err
    assert "Traceback" not in result.err

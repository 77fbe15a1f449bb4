"""Every rule through the pulumi_policy SDK's analyzer: a compliant fixture, one change, that rule.

Fixtures are recordings of small compliant topologies (one per kind of site) made by the real
program under the mocks. A case changes one thing -- a property of a recorded resource, an
option, the policy config, or a resource someone adds by hand -- and the check must report
exactly the rule under test -- and the pulumi_policy SDK's servicer, the path `pulumi preview
--policy-pack` uses, must report exactly what `check` reports.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from topoform.check import check, servicer
from topoform.preview import Recording, record
from topoform_policies import RETAIN_RULE, RULES

SYSTEM = "system: {instance: cpu-4x16, min: 1, max: 2}"
COMMON = "name: fx\nenvironment: prod\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml-platform}\n"
FIXTURES = {
    "aws": f"""sites:
  a: {{provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}}
clusters:
  c: {{site: a, node_pools: {{{SYSTEM}, gpu: {{gpu: {{type: L4, count: 1}}, min: 0, max: 2}}}}}}
storage:
  s: {{site: a, backup: true}}
identities:
  i: {{cluster: c, namespace: work, service_account: app, access: {{s: read}}}}
teams:
  t: {{group: t@acme.example, namespaces: {{c: [work]}}, gpu_quota: 2, overrides: {{aws: {{principal_arn: "arn:aws:iam::123456789012:role/t"}}}}}}
endpoints:
  e: {{cluster: c, service: {{namespace: work, name: app, port: 8080}}, exposure: public, domain: app.acme.example, allowed_cidrs: [203.0.113.0/24]}}
""",
    "gcp": f"""sites:
  g: {{provider: gcp, project: acme-fx, region: us-central1, backup_region: us-east4}}
clusters:
  c: {{site: g, overrides: {{gcp: {{security_group: gke-security-groups@acme.example}}}}, node_pools: {{{SYSTEM}, gpu: {{gpu: {{type: L4, count: 1}}, min: 0, max: 2}}}}}}
storage:
  s: {{site: g, backup: true}}
identities:
  i: {{cluster: c, namespace: work, service_account: app, access: {{s: read}}}}
teams:
  t: {{group: t@acme.example, namespaces: {{c: [work]}}, gpu_quota: 2}}
endpoints:
  e: {{cluster: c, service: {{namespace: work, name: app, port: 8080}}, exposure: public, domain: app.acme.example, allowed_cidrs: [203.0.113.0/24]}}
""",
    "azure": f"""sites:
  z: {{provider: azure, region: eastus, backup_region: centralus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}}
clusters:
  c: {{site: z, node_pools: {{{SYSTEM}, gpu: {{gpu: {{type: A100-80GB, count: 1}}, min: 0, max: 2}}}}}}
storage:
  s: {{site: z, backup: true}}
identities:
  i: {{cluster: c, namespace: work, service_account: app, access: {{s: read}}}}
teams:
  t: {{group: t@acme.example, namespaces: {{c: [work]}}, gpu_quota: 2, overrides: {{azure: {{group: 6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c}}}}}}
endpoints:
  e: {{cluster: c, service: {{namespace: work, name: app, port: 8080}}, exposure: public, domain: app.acme.example, allowed_cidrs: [203.0.113.0/24], overrides: {{azure: {{dns_resource_group: dns}}}}}}
""",
    "onprem": """sites:
  dc: {provider: onprem, kubeconfig: {secret: dc-kube}, storage_class: ceph}
clusters:
  lab: {site: dc, node_pools: {a100: {gpu: {type: A100-80GB, count: 8}, nodes: 2}}}
storage:
  scratch: {site: dc, size_gb: 100}
teams:
  t: {group: t@acme.example, namespaces: {lab: [work]}, gpu_quota: 8}
endpoints:
  e: {cluster: lab, service: {namespace: work, name: app, port: 8080}}
""",
}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    out = {}
    for name, body in FIXTURES.items():
        path = tmp_path_factory.mktemp(name) / "fx.topology.yaml"
        path.write_text(COMMON + body)
        out[name] = record(str(path), stack="prod")
    return out


# --------------------------------------------------------------------------- mutations


def _copy(rec: Recording) -> Recording:
    wire = {}
    for urn, w in rec.wire.items():
        props = struct_pb2.Struct()
        props.CopyFrom(w["properties"])
        wire[urn] = {**w, "properties": props, "property_dependencies": dict(w["property_dependencies"])}
    return Recording(rec.project, rec.stack, copy.deepcopy(rec.resources), list(rec.notices), wire)


def _find(rec: Recording, name: str, kind: str = "") -> dict[str, Any]:
    found = [r for r in rec.resources if r["name"] == name and r["type"].endswith(kind)]
    assert len(found) == 1, f"{name}: {[(r['name'], r['type']) for r in rec.resources if r['name'] == name]}"
    return found[0]


def set_prop(name: str, path: tuple[str | int, ...], value: Any, kind: str = "") -> Callable[[Recording], None]:
    """Change one property of a recorded resource (``value=None`` removes it); ``kind`` picks
    between resources of one name (a launch template and its node group)."""

    def mutate(rec: Recording) -> None:
        r = _find(rec, name, kind)
        props = json_format.MessageToDict(rec.wire[r["urn"]]["properties"])
        node: Any = props
        for step in path[:-1]:
            node = node[step]
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
        fresh = struct_pb2.Struct()
        fresh.update(props)
        rec.wire[r["urn"]]["properties"] = fresh

    return mutate


def set_option(name: str, option: str, value: Any) -> Callable[[Recording], None]:
    def mutate(rec: Recording) -> None:
        _find(rec, name)["options"][option] = value

    return mutate


def set_default_provider(name: str) -> Callable[[Recording], None]:
    """Point a resource at the engine's default provider (what a missing explicit provider gets)."""

    def mutate(rec: Recording) -> None:
        add("pulumi:providers:aws", "default_7_51_1", {"region": "us-east-1"})(rec)
        rec.resources[-1]["custom"] = True
        _find(rec, name)["provider"] = rec.resources[-1]["urn"]

    return mutate


def remove(name: str) -> Callable[[Recording], None]:
    def mutate(rec: Recording) -> None:
        urn = _find(rec, name)["urn"]
        rec.resources = [r for r in rec.resources if r["urn"] != urn]
        for w in rec.wire.values():
            w["property_dependencies"] = {k: [u for u in v if u != urn] for k, v in w["property_dependencies"].items()}

    return mutate


def add(type_: str, name: str, props: dict[str, Any], provider: str | None = None) -> Callable[[Recording], None]:
    """A resource someone created by hand beside topoform's components."""

    def mutate(rec: Recording) -> None:
        urn = f"urn:pulumi:{rec.stack}::topoform::{type_}::{name}"
        struct = struct_pb2.Struct()
        struct.update(props)
        rec.resources.append(
            {
                "urn": urn,
                "type": type_,
                "name": name,
                "custom": True,
                "parent": f"urn:pulumi:{rec.stack}::topoform::pulumi:pulumi:Stack::topoform-{rec.stack}",
                "provider": _find(rec, provider)["urn"] if provider else "",
                "inputs": props,
                "options": {"protect": False, "retainOnDelete": False, "aliases": [], "dependsOn": [], "deleteBeforeReplace": False, "ignoreChanges": [], "replaceOnChanges": [], "additionalSecretOutputs": []},
            }
        )
        rec.wire[urn] = {"properties": struct, "provider": "", "property_dependencies": {}}

    return mutate


def policy(document: dict[str, Any]) -> str:
    return json.dumps(document)


def fired(rec: Recording, config: dict[str, Any] | None = None) -> set[str]:
    """The rules `check` reports; the SDK's servicer, driven resource by resource and policy by
    policy as the CLI drives the pack, must report exactly the same findings."""
    found = check(rec, config)
    assert found.violations == check(rec, config, analyzer=servicer()).violations
    return {v.policy for v in found.violations}


# --------------------------------------------------------------------------- cases

# (rule, fixture, mutation, policy config)
CASES: list[tuple[str, str, Callable[[Recording], None] | None, dict[str, Any] | None]] = [
    ("storage-no-public-access", "aws", set_prop("fx-s-public-access", ("blockPublicAcls",), False), None),
    ("storage-no-public-access", "gcp", set_prop("fx-s-bucket", ("publicAccessPrevention",), "inherited"), None),
    ("storage-no-public-access", "azure", set_prop("fx-s-account", ("allowBlobPublicAccess",), True), None),
    ("storage-customer-managed-key", "aws", set_prop("fx-s-encryption", ("rules", 0, "applyServerSideEncryptionByDefault"), {"sseAlgorithm": "AES256"}), None),
    ("storage-customer-managed-key", "gcp", set_prop("fx-s-bucket", ("encryption",), None), None),
    ("storage-customer-managed-key", "azure", set_prop("fx-s-account", ("encryption", "keySource"), "Microsoft.Storage"), None),
    ("storage-versioning", "aws", set_prop("fx-s-versioning", ("versioningConfiguration", "status"), "Suspended"), None),
    ("storage-versioning", "gcp", set_prop("fx-s-bucket", ("versioning", "enabled"), False), None),
    ("storage-versioning", "azure", set_prop("fx-s-blob", ("isVersioningEnabled",), False), None),
    ("storage-tls-only", "aws", remove("fx-s-tls-only"), None),
    ("storage-tls-only", "azure", set_prop("fx-s-account", ("minimumTlsVersion",), "TLS1_0"), None),
    ("storage-no-shared-keys-or-acls", "aws", set_prop("fx-s-ownership", ("rule", "objectOwnership"), "ObjectWriter"), None),
    ("storage-no-shared-keys-or-acls", "gcp", set_prop("fx-s-bucket", ("uniformBucketLevelAccess",), False), None),
    ("storage-no-shared-keys-or-acls", "azure", set_prop("fx-s-account", ("allowSharedKeyAccess",), True), None),
    ("cluster-api-not-public", "aws", set_prop("fx-c-eks", ("vpcConfig", "publicAccessCidrs"), ["0.0.0.0/0"]), None),
    ("cluster-api-not-public", "gcp", set_prop("fx-c-gke", ("privateClusterConfig", "enablePrivateEndpoint"), False), {"cluster-api-not-public": {"allow_public_api": False}}),
    ("cluster-api-not-public", "azure", set_prop("fx-c-aks", ("apiServerAccessProfile", "authorizedIPRanges"), []), None),
    ("cluster-secrets-encrypted", "aws", set_prop("fx-c-eks", ("encryptionConfig",), None), None),
    ("cluster-secrets-encrypted", "gcp", set_prop("fx-c-gke", ("databaseEncryption", "state"), "DECRYPTED"), None),
    ("cluster-secrets-encrypted", "azure", set_prop("fx-c-aks", ("securityProfile", "azureKeyVaultKms", "enabled"), False), None),
    ("cluster-no-local-auth", "aws", set_prop("fx-c-eks", ("accessConfig", "authenticationMode"), "CONFIG_MAP"), None),
    ("cluster-no-local-auth", "gcp", set_prop("fx-c-gke", ("enableLegacyAbac",), True), None),
    ("cluster-no-local-auth", "azure", set_prop("fx-c-aks", ("disableLocalAccounts",), False), None),
    ("cluster-network-policy", "aws", set_prop("fx-c-vpc-cni", ("configurationValues",), "{}"), None),
    ("cluster-network-policy", "aws", remove("fx-c-vpc-cni"), None),
    ("cluster-network-policy", "gcp", set_prop("fx-c-gke", ("datapathProvider",), "LEGACY_DATAPATH"), None),
    ("cluster-network-policy", "azure", set_prop("fx-c-aks", ("networkProfile", "networkPolicy"), None), None),
    ("cluster-control-plane-logging", "aws", set_prop("fx-c-eks", ("enabledClusterLogTypes",), ["api"]), None),
    ("cluster-control-plane-logging", "gcp", set_prop("fx-c-gke", ("loggingConfig", "enableComponents"), ["SYSTEM_COMPONENTS"]), None),
    ("cluster-control-plane-logging", "azure", remove("fx-c-control-plane-logs"), None),
    ("nodes-no-public-ip", "aws", set_prop("fx-c-pool-gpu", ("remoteAccess",), {"ec2SshKey": "ops"}, "NodeGroup"), None),
    ("nodes-no-public-ip", "gcp", set_prop("fx-c-gke", ("privateClusterConfig", "enablePrivateNodes"), False), None),
    ("nodes-no-public-ip", "azure", set_prop("fx-c-pool-gpu", ("enableNodePublicIP",), True), None),
    ("no-cloud-only-taints", "azure", set_prop("fx-c-pool-gpu", ("scaleSetPriority",), "Spot"), None),
    ("nodes-metadata-protected", "aws", set_prop("fx-c-pool-gpu", ("metadataOptions", "httpTokens"), "optional", "LaunchTemplate"), None),
    ("nodes-metadata-protected", "aws", set_prop("fx-c-pool-gpu", ("metadataOptions", "httpPutResponseHopLimit"), 2, "LaunchTemplate"), None),
    ("nodes-metadata-protected", "aws", set_prop("fx-c-pool-gpu", ("metadataOptions", "httpPutResponseHopLimit"), None, "LaunchTemplate"), None),
    ("nodes-metadata-protected", "gcp", set_prop("fx-c-pool-gpu", ("nodeConfig", "workloadMetadataConfig", "mode"), "GCE_METADATA"), None),
    ("cluster-workload-identity", "gcp", set_prop("fx-c-gke", ("workloadIdentityConfig",), None), None),
    ("cluster-workload-identity", "azure", set_prop("fx-c-aks", ("securityProfile", "workloadIdentity", "enabled"), False), None),
    ("cluster-supported-version", "aws", set_prop("fx-c-eks", ("version",), "1.29"), None),
    ("cluster-supported-version", "gcp", set_prop("fx-c-gke", ("minMasterVersion",), "1.29"), None),
    ("cluster-supported-version", "azure", set_prop("fx-c-aks", ("kubernetesVersion",), "1.29"), None),
    ("iam-no-wildcard-actions", "aws", set_prop("fx-i-access", ("policy",), policy({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})), None),
    ("iam-no-admin-roles", "aws", add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, "fx-a"), None),
    ("iam-no-admin-roles", "gcp", add("gcp:projects/iAMMember:IAMMember", "owner", {"project": "acme-fx", "role": "roles/owner", "member": "user:a@acme.example"}, "fx-g"), None),
    ("iam-no-admin-roles", "azure", set_prop("fx-i-grant-s", ("roleDefinitionId",), "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), None),
    ("rbac-no-cluster-admin", "onprem", set_prop("fx-team-t-lab-work", ("roleRef", "name"), "cluster-admin"), None),
    ("lb-tls-1-2", "aws", set_prop("fx-e-svc", ("metadata", "annotations", "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"), "ELBSecurityPolicy-2016-08"), None),
    ("lb-tls-1-2", "gcp", set_prop("fx-e-tls", ("minTlsVersion",), "TLS_1_0"), None),
    ("lb-tls-1-2", "azure", set_prop("fx-e-afd-domain", ("tlsSettings", "minimumTlsVersion"), "TLS10"), None),
    ("firewall-no-world-open-ports", "aws", add("aws:ec2/securityGroupRule:SecurityGroupRule", "ssh", {"type": "ingress", "fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"], "securityGroupId": "sg-1"}, "fx-a"), None),
    ("firewall-no-world-open-ports", "gcp", add("gcp:compute/firewall:Firewall", "ssh", {"network": "n", "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"], "allows": [{"protocol": "tcp", "ports": ["22"]}]}, "fx-g"), None),
    ("firewall-no-world-open-ports", "azure", add("azure-native:network:SecurityRule", "rdp", {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "Internet", "destinationPortRange": "3389", "priority": 100, "resourceGroupName": "rg", "networkSecurityGroupName": "nsg"}, "fx-z"), None),
    ("firewall-no-world-open-ports", "onprem", set_prop("fx-e-svc", ("spec", "loadBalancerSourceRanges"), ["0.0.0.0/0"]), None),
    ("kms-key-rotation", "aws", set_prop("fx-s-key", ("enableKeyRotation",), False), None),
    ("kms-key-rotation", "gcp", set_prop("fx-s-key", ("rotationPeriod",), "63072000s"), None),
    ("kms-key-rotation", "azure", set_prop("fx-s-key", ("properties", "rotationPolicy"), None), None),
    ("kms-key-not-public", "aws", set_prop("fx-s-key", ("policy",), policy({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]})), None),
    ("kms-key-not-public", "gcp", set_prop("fx-s-key-agent", ("member",), "allUsers"), None),
    ("pods-no-privilege-escalation", "onprem", set_prop("fx-lab-nvidia-device-plugin", ("spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation"), True), None),
    ("key-vault-purge-protection", "azure", set_prop("fx-s-kv", ("properties", "enablePurgeProtection"), False), None),
    ("lb-https-only", "aws", add("aws:lb/listener:Listener", "http", {"loadBalancerArn": "arn", "port": 80, "protocol": "HTTP", "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}]}, "fx-a"), None),
    ("iam-no-public-grants", "gcp", add("gcp:projects/iAMMember:IAMMember", "public", {"project": "acme-fx", "role": "roles/viewer", "member": "allUsers"}, "fx-g"), None),
    ("region-allowed", "aws", None, {"region-allowed": {"allowed_regions": {"aws": ["us-east-1"]}}}),
    ("region-allowed", "gcp", None, {"region-allowed": {"allowed_regions": {"gcp": ["us-central1"]}}}),
    ("region-allowed", "azure", None, {"region-allowed": {"allowed_regions": {"azure": ["eastus"]}}}),
    ("required-labels", "aws", None, {"required-labels": {"required_labels": ["owner", "cost-center"]}}),
    ("required-labels", "gcp", None, {"required-labels": {"required_labels": ["owner", "cost-center"]}}),
    ("required-labels", "azure", None, {"required-labels": {"required_labels": ["owner", "cost-center"]}}),
    ("labels-portable", "aws", set_prop("fx-c-eks", ("tags", "CostCenter"), "AI"), None),
    ("labels-portable", "azure", set_prop("fx-s-account", ("tags", "CostCenter"), "AI"), None),
    ("labels-portable", "gcp", set_prop("fx-s-bucket", ("labels", "team"), "ml.platform"), None),
    ("gpu-pool-label-and-taint", "aws", set_prop("fx-c-pool-gpu", ("taints",), [], "NodeGroup"), None),
    ("gpu-pool-label-and-taint", "gcp", set_prop("fx-c-pool-gpu", ("nodeConfig", "labels", "topoform.io/accelerator"), None), None),
    ("gpu-pool-label-and-taint", "azure", set_prop("fx-c-pool-gpu", ("nodeTaints",), []), None),
    ("gpu-selection-by-platform-label", "onprem", add("kubernetes:apps/v1:Deployment", "trainer", {"metadata": {"namespace": "work"}, "spec": {"template": {"spec": {"nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-l4"}, "containers": [{"name": "t", "image": "t", "securityContext": {"allowPrivilegeEscalation": False}, "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}, "fx-dc"), None),
    ("no-preview-api-versions", "onprem", add("kubernetes:batch/v1beta1:CronJob", "nightly", {"metadata": {"namespace": "work"}}, "fx-dc"), None),
    ("no-preview-api-versions", "azure", add("azure-native:containerservice/v20240202preview:ManagedCluster", "preview", {"location": "eastus", "tags": {"owner": "ml-platform"}}, "fx-z"), None),
    ("portable-resource-types", "aws", add("aws:dynamodb/table:Table", "table", {"hashKey": "id", "tags": {"owner": "ml-platform"}}, "fx-a"), None),
    ("backup-region-same-jurisdiction", "aws", remove("fx-s-replication"), None),
    ("backup-region-same-jurisdiction", "gcp", remove("fx-s-transfer"), None),
    ("backup-region-same-jurisdiction", "azure", set_prop("fx-s-replica-account", ("location",), "eastus"), None),
    ("explicit-providers", "aws", set_default_provider("fx-c-logs"), None),
    ("stateful-resources-protected", "aws", set_option("fx-s-bucket", "protect", False), None),
    ("stateful-resources-protected", "gcp", set_option("fx-s-bucket", "protect", False), None),
    ("stateful-resources-protected", "azure", set_option("fx-s-account", "protect", False), None),
    ("stateful-resources-protected", "onprem", set_option("fx-scratch-pvc", "protect", False), None),
    ("provider-deletion-protection", "aws", set_prop("fx-c-eks", ("deletionProtection",), False), None),
    ("provider-deletion-protection", "gcp", set_prop("fx-s-bucket", ("deletionPolicy",), "DELETE"), None),
    ("stateful-resources-retained", "aws", set_option("fx-s-bucket", "retainOnDelete", False), None),
    ("stateful-resources-retained", "onprem", set_option("fx-scratch-pvc", "retainOnDelete", False), None),
    ("stateful-resources-retained", "gcp", set_option("fx-s-key", "retainOnDelete", False), None),
    ("stateful-resources-retained", "azure", set_option("fx-s-kv", "retainOnDelete", False), None),
    # pools that may grow with nothing to grow them: no Cluster Autoscaler for the EKS node groups,
    # autoscaling off on the AKS agent pool
    ("pools-have-an-autoscaler", "aws", remove("fx-c-autoscaler-deployment"), None),
    ("pools-have-an-autoscaler", "azure", set_prop("fx-c-pool-gpu", ("enableAutoScaling",), False), None),
    # a two-node pool of p5s (EFA on every machine) whose launch template gives no EFA interface
    ("gpu-pools-use-their-fabric", "aws", set_prop("fx-c-pool-gpu", ("instanceTypes",), ["p5.48xlarge"], "NodeGroup"), None),
    # ... and on GKE, a pool of A3 Ultras (GPUDirect-RDMA) without the accelerator network profile
    ("gpu-pools-use-their-fabric", "gcp", set_prop("fx-c-pool-gpu", ("nodeConfig", "machineType"), "a3-ultragpu-8g"), None),
    # ... and on AKS, a pool of ND H100s (InfiniBand) in a cluster without the Network Operator's policy
    ("gpu-pools-use-their-fabric", "azure", set_prop("fx-c-pool-gpu", ("vmSize",), "Standard_ND96isr_H100_v5"), None),
    # a GPU pool allowed to grow to 1 000 nodes breaks a $100k budget the fixture fits easily
    ("budget-within-limit", "aws", set_prop("fx-c-pool-gpu", ("scalingConfig", "maxSize"), 1000, "NodeGroup"), {"budget-within-limit": {"monthly_usd": 100000}}),
    ("budget-within-limit", "gcp", set_prop("fx-c-pool-gpu", ("autoscaling", "totalMaxNodeCount"), 1000), {"budget-within-limit": {"monthly_usd": 100000}}),
    ("budget-within-limit", "azure", set_prop("fx-c-pool-gpu", ("maxCount",), 1000), {"budget-within-limit": {"monthly_usd": 100000}}),
    ("budget-headroom", "aws", None, {"budget-headroom": {"monthly_usd": 100000, "headroom_ratio": 0}}),
    ("budget-headroom", "gcp", None, {"budget-headroom": {"monthly_usd": 100000, "headroom_ratio": 0}}),
    ("budget-headroom", "azure", None, {"budget-headroom": {"monthly_usd": 100000, "headroom_ratio": 0}}),
]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_the_fixtures_are_compliant(fixtures: dict[str, Recording], name: str) -> None:
    assert check(fixtures[name]).violations == []


@pytest.mark.parametrize(("rule", "fixture", "mutation", "config"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_one_change_fires_exactly_that_rule(fixtures: dict[str, Recording], rule: str, fixture: str, mutation: Any, config: Any) -> None:
    rec = _copy(fixtures[fixture])
    if mutation is not None:
        mutation(rec)
    assert fired(rec, config) == {rule}


# Rules whose case needs a multi-cloud fixture live in their own test.
COVERED_ELSEWHERE = {"kubernetes-versions-aligned": "test_versions_drifting_apart_fires_only_the_alignment_rule"}


def test_every_rule_has_a_case_for_every_cloud_it_applies_to() -> None:
    covered = {(rule, fixture) for rule, fixture, _, _ in CASES}
    covered |= {(rule, "*") for rule, test in COVERED_ELSEWHERE.items() if test in globals()}
    for r in [*RULES, RETAIN_RULE]:
        clouds = {c if c != "kubernetes" else "onprem" for c in r.clouds}
        missing = {c for c in clouds if (r.name, c) not in covered}
        # Stack-wide rules need one case: they judge every cloud's resources the same way.
        if r.name in ("explicit-providers", "portable-resource-types", "kubernetes-versions-aligned"):
            assert any(name == r.name for name, _ in covered), r.name
            continue
        assert not missing, f"{r.name} has no case for {sorted(missing)}"


def test_versions_drifting_apart_fires_only_the_alignment_rule(prod_recording: Recording) -> None:
    assert check(prod_recording).violations == []
    rec = _copy(prod_recording)
    set_prop("vision-finetune-aks", ("kubernetesVersion",), "1.37")(rec)
    assert fired(rec) == {"kubernetes-versions-aligned"}


def test_an_exemption_with_a_reason_silences_one_resource(fixtures: dict[str, Recording]) -> None:
    rec = _copy(fixtures["aws"])
    add("aws:dynamodb/table:Table", "table", {"hashKey": "id", "tags": {"owner": "ml-platform"}}, "fx-a")(rec)
    exempt = {"portable-resource-types": {"exemptions": [{"urn": "*::table", "reason": "session store, AWS only"}]}}
    assert fired(rec, exempt) == set()
    no_reason = {"portable-resource-types": {"exemptions": [{"urn": "*::table", "reason": ""}]}}
    assert fired(rec, no_reason) == {"portable-resource-types"}


def test_enforcement_levels_come_from_the_config(fixtures: dict[str, Recording]) -> None:
    rec = _copy(fixtures["aws"])
    set_prop("fx-s-versioning", ("versioningConfiguration", "status"), "Suspended")(rec)
    assert {v.enforcement for v in check(rec).violations} == {"mandatory"}
    assert {v.enforcement for v in check(rec, {"storage-versioning": "advisory"}).violations} == {"advisory"}
    assert check(rec, {"all": "disabled"}).violations == []


# --------------------------------------------------------------------------- insecure topologies, end to end


INSECURE = [
    ("public-store", "storage:\n  s: {site: a, backup: true, access: public}\n", "storage-no-public-access"),
    ("provider-managed-keys", "storage:\n  s: {site: a, backup: true, encryption: provider-managed}\n", "storage-customer-managed-key"),
    ("world-open-api", "clusters:\n  c: {site: a, api: public, allowed_cidrs: [0.0.0.0/0], node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n", "cluster-api-not-public"),
    ("backup-abroad", "storage:\n  s: {site: eu, backup: true}\n", "backup-region-same-jurisdiction"),
    ("no-backup", "storage:\n  s: {site: a}\n", "backup-region-same-jurisdiction"),
    ("missing-labels", "labels: {team: x}\nstorage:\n  s: {site: a, backup: true}\n", "required-labels"),
    # unsafe choices `validate` refuses (exit 2) are reported by `check` as the policy that judges them
    ("backup-equals-primary", "  same: {provider: aws, region: us-east-1, backup_region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\nstorage:\n  s: {site: same, backup: true}\n", "backup-region-same-jurisdiction"),
    # ranges that add up to the whole internet are the whole internet
    ("world-open-api-in-halves", "clusters:\n  c: {site: a, api: public, allowed_cidrs: [0.0.0.0/1, 128.0.0.0/1], node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n", "cluster-api-not-public"),
    ("empty-required-label", "labels: {owner: ''}\nstorage:\n  s: {site: a, backup: true}\n", "required-labels"),
]


@pytest.mark.parametrize(("case", "extra", "rule"), INSECURE, ids=[c[0] for c in INSECURE])
def test_insecure_topologies_make_check_exit_1_naming_the_rule(tmp_path: Path, case: str, extra: str, rule: str) -> None:
    from conftest import run_cli

    labels = "" if "labels:" in extra else "labels: {owner: ml-platform}\n"
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: ins\nenvironment: prod\ndeployer: {networks: [198.51.100.10/32]}\n" + labels + "sites:\n  a: {provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "  eu: {provider: aws, region: eu-central-1, backup_region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n" + extra
    )
    result = run_cli("check", str(topo), "--json")
    assert result.code == 1, result.err
    violations = json.loads(result.out)["violations"]
    assert {v["policy"] for v in violations if v["enforcement"] == "mandatory"} == {rule}
    if case == "backup-equals-primary":
        assert f"(judged by policy {rule}; `pulumi up` refuses it)" in result.err
        assert run_cli("validate", str(topo)).code == 2  # everywhere else it is invalid input


def test_region_outside_the_allow_list_through_a_policy_config_file(tmp_path: Path) -> None:
    from conftest import run_cli

    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"region-allowed": {"allowed_regions": {"aws": ["eu-central-1"]}}}))
    result = run_cli("check", "dev", "--json", "--policy-config", str(config))
    assert result.code == 1
    assert {v["policy"] for v in json.loads(result.out)["violations"]} == {"region-allowed"}


def test_a_bad_policy_config_is_invalid_input(tmp_path: Path) -> None:
    from conftest import run_cli

    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"no-such-rule": "advisory"}))
    result = run_cli("check", "dev", "--policy-config", str(config))
    assert result.code == 2
    assert result.err.startswith(f"{config}:1: policy config: unknown policies no-such-rule")


def test_a_policy_config_of_the_wrong_shape_is_invalid_input(tmp_path: Path) -> None:
    from conftest import run_cli

    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"region-allowed": {"allowed_regions": "us-east-1"}}))
    result = run_cli("check", "dev", "--policy-config", str(config))
    assert result.code == 2, result.err
    assert result.err.strip() == f"{config}:1: policy config: region-allowed.allowed_regions: expected an object, got \"us-east-1\""


def test_a_backup_in_the_primary_region_of_an_unprotected_stack_stays_invalid_input(tmp_path: Path) -> None:
    """The backup rule judges protected stores only, so `check` does not hand it the choice."""
    from conftest import run_cli

    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: ins\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, backup_region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\nstorage:\n  s: {site: a, backup: true}\n"
    )
    result = run_cli("check", str(topo))
    assert result.code == 2
    assert "sites.a.backup_region: 'us-east-1' is the primary region" in result.err


def test_a_deferred_choice_is_invalid_input_again_when_its_policy_is_disabled(tmp_path: Path) -> None:
    """Turning the rule off does not let the unsafe choice through: `check` then refuses it as
    `validate` does."""
    from conftest import run_cli

    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: ins\nenvironment: prod\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml}\n"
        "sites:\n  a: {provider: aws, region: us-east-1, backup_region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\nstorage:\n  s: {site: a, backup: true}\n"
    )
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"backup-region-same-jurisdiction": "disabled"}))
    result = run_cli("check", str(topo), "--policy-config", str(config))
    assert result.code == 2
    assert "sites.a.backup_region: 'us-east-1' is the primary region" in result.err


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the engine sends a value the preview cannot know yet (an output of a resource to create)."""


def test_a_rule_that_reads_an_unknown_value_is_reported_as_not_run_by_both_paths(fixtures: dict[str, Recording]) -> None:
    """A resource rule and a stack rule meeting an unknown value: the servicer reports each as an
    advisory "can't run policy", and `check` must report the same, without the other rules."""
    rec = _copy(fixtures["aws"])
    set_prop("fx-s-public-access", ("blockPublicAcls",), UNKNOWN)(rec)  # a resource rule's fact
    set_prop("fx-c-vpc-cni", ("configurationValues",), UNKNOWN)(rec)  # read by a stack reader
    found = check(rec)
    assert found.violations == check(rec, analyzer=servicer()).violations
    not_run = {v.policy: v for v in found.violations if "can't run policy" in v.message}
    assert not_run and {v.enforcement for v in not_run.values()} == {"advisory"}
    assert found.mandatory == []
    assert "storage-no-public-access" in not_run and "cluster-network-policy" in not_run


def test_only_the_named_node_installers_may_run_privileged_and_only_in_kube_system() -> None:
    from topoform.kube import GIB_INSTALLER_IMAGE
    from topoform_policies.base import Fact
    from topoform_policies.security import HOST_INSTALLERS, _escalation, _repository

    assert _repository(GIB_INSTALLER_IMAGE) in HOST_INSTALLERS  # what topoform runs is what the pack names
    assert _repository("gke.gcr.io/pause:3.8@sha256:880e") == "gke.gcr.io/pause" and _repository("localhost:5000/x") == "localhost:5000/x"

    def finding(namespace: str, image: str) -> str | None:
        return _escalation(Fact("pod.privilege_escalation", {"namespace": namespace, "containers": ["c"], "images": {"c": image}}, ""), {})

    assert finding("kube-system", GIB_INSTALLER_IMAGE) is None
    assert finding("training", GIB_INSTALLER_IMAGE) == "containers c may escalate privileges (set securityContext.allowPrivilegeEscalation: false)"
    assert finding("kube-system", "us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/other:v1") is not None
    assert finding("kube-system", "nvcr.io/nvidia/k8s-device-plugin:v0.20.0") is not None

"""Write what the program would create in shapes independent scanners read (Checkov, ...).

``kubernetes(rec)`` turns every recorded Kubernetes object into its manifest (``apiVersion``,
``kind``, ``metadata``, ``spec`` ...), grouped by the cluster's provider.

``terraform_plan(rec)`` turns the recorded AWS and GCP resources into a Terraform plan
(``terraform show -json``'s shape). Both Pulumi providers are bridged from Terraform's, so a
resource's inputs are the Terraform resource's arguments under Pulumi's names: camelCase, single
blocks flattened into objects, repeated blocks pluralised. ``terraform.json`` holds the Terraform
names (from the providers' schemas, see ``tests/judge/terraform_names.py``) that undo that.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .preview import Recording

__all__ = ["TERRAFORM_TYPES", "TerraformPlan", "kubernetes", "terraform_plan", "write_kubernetes"]


def _api_version(type_: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:DaemonSet`` -> (``apps/v1``, ``DaemonSet``); core is plain ``v1``."""
    _, module, kind = type_.split(":", 2)
    return (module.split("/", 1)[1] if module.startswith("core/") else module), kind


def kubernetes(rec: Recording) -> dict[str, list[dict[str, Any]]]:
    """Per cluster (named after its Kubernetes provider): the manifests, in a stable order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rec.resources:
        if not r["type"].startswith("kubernetes:") or not r["custom"]:
            continue
        api, kind = _api_version(r["type"])
        if kind.endswith("Patch"):
            continue  # patches of existing objects are not manifests
        manifest = {"apiVersion": api, "kind": kind, **{k: v for k, v in r["inputs"].items() if k not in ("apiVersion", "kind")}}
        cluster = r["provider"].split("::")[-1] or "default"
        out.setdefault(cluster, []).append(manifest)
    for manifests in out.values():
        manifests.sort(key=lambda m: (m["kind"], str(_meta(m, "namespace")), str(_meta(m, "name"))))
    return dict(sorted(out.items()))


def _meta(manifest: Mapping[str, Any], field: str) -> Any:
    metadata = manifest.get("metadata") or {}
    return metadata.get(field, "") if isinstance(metadata, Mapping) else ""


def write_kubernetes(rec: Recording, directory: str) -> list[str]:
    """One multi-document YAML file per cluster; returns the files written."""
    os.makedirs(directory, exist_ok=True)
    files = []
    for cluster, manifests in kubernetes(rec).items():
        path = os.path.join(directory, f"{cluster}.yaml")
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump_all(manifests, fh, sort_keys=True)
        files.append(path)
    return files


# Pulumi type -> Terraform type, for every AWS and GCP resource the components create. Most follow
# the module/name pattern; the table spells each out because some do not (``ec2`` drops its module,
# ``bucketReplicationConfig`` is ``..._replication_configuration``, ``sSLPolicy`` ...).
TERRAFORM_TYPES: dict[str, str] = {
    "aws:acm/certificate:Certificate": "aws_acm_certificate",
    "aws:acm/certificateValidation:CertificateValidation": "aws_acm_certificate_validation",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/placementGroup:PlacementGroup": "aws_placement_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:route53/healthCheck:HealthCheck": "aws_route53_health_check",
    "aws:route53/record:Record": "aws_route53_record",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "gcp:certificatemanager/certificate:Certificate": "google_certificate_manager_certificate",
    "gcp:certificatemanager/certificateMap:CertificateMap": "google_certificate_manager_certificate_map",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": "google_certificate_manager_certificate_map_entry",
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": "google_certificate_manager_dns_authorization",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/securityPolicy:SecurityPolicy": "google_compute_security_policy",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:dns/recordSet:RecordSet": "google_dns_record_set",
    "gcp:kms/cryptoKey:CryptoKey": "google_kms_crypto_key",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "google_kms_crypto_key_iam_member",
    "gcp:kms/keyRing:KeyRing": "google_kms_key_ring",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
    "gcp:storage/transferJob:TransferJob": "google_storage_transfer_job",
}

_BETA_ONLY = {"gcp:projects/serviceIdentity:ServiceIdentity"}
"""Types pulumi-gcp takes from the google-beta provider that the GA provider (what Checkov's
plan schema knows) lacks: left out of the plan, and said so."""

_SERVER_NAMED = {"google_storage_transfer_job"}
"""Types whose ``name`` the cloud assigns (Pulumi does not auto-name them)."""

_REGISTRY = {"aws": "registry.terraform.io/hashicorp/aws", "google": "registry.terraform.io/hashicorp/google"}


@dataclass
class TerraformPlan:
    """A Terraform plan (``terraform show -json``'s shape) and what could not be put into it."""

    plan: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    """One line per resource type without a Terraform name, or input without a Terraform argument."""

    def to_json(self) -> str:
        return json.dumps(self.plan, indent=2, sort_keys=True) + "\n"


@cache
def _terraform() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("terraform.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _fold(name: str) -> str:
    return name.replace("_", "").lower()


def _match(key: str, fields: Mapping[str, Any]) -> str | None:
    """The Terraform name of the Pulumi input ``key`` among ``fields``: the same words, or their
    plural (Pulumi pluralises lists: ``rule`` -> ``rules``, ``policy`` -> ``policies``)."""
    folded = _fold(key)
    exact = {_fold(n): n for n in fields}
    if folded in exact:
        return exact[folded]
    singulars = []
    if folded.endswith("ies"):
        singulars.append(folded[:-3] + "y")
    if folded.endswith("es"):
        singulars.append(folded[:-2])
    if folded.endswith("s"):
        singulars.append(folded[:-1])
    return next((exact[s] for s in singulars if s in exact), None)


_PLACEHOLDERS = {"[secret]": "a secret, left out of the plan", "[unknown]": "known only once deployed, left out of the plan"}


def _values(inputs: Mapping[str, Any], fields: Mapping[str, Any], path: str, skipped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        name = _match(key, fields)
        if name is None:
            skipped.append(f"{path}.{key}: not an argument in {_terraform()['sources'][path.split('_', 1)[0]]}")
            continue
        if isinstance(value, str) and value in _PLACEHOLDERS:
            skipped.append(f"{path}.{key}: {_PLACEHOLDERS[value]}")
            continue
        spec = fields[name]
        if spec == 0 or value is None:
            out[name] = value
            continue
        _, children = spec
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, Mapping) for item in items):
            skipped.append(f"{path}.{key}: not a block in the recording ({json.dumps(value)[:40]}), left out of the plan")
            continue
        out[name] = [_values(item, children, f"{path}.{key}", skipped) for item in items]
    return out


def _tf_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) if name[:1].isalpha() or name[:1] == "_" else f"r_{re.sub(r'[^A-Za-z0-9_-]', '_', name)}"


def terraform_plan(rec: Recording) -> TerraformPlan:
    """The recorded AWS and GCP resources as a Terraform plan that creates them.

    Each resource's inputs become its ``planned_values``; each top-level input that takes another
    resource's output becomes a ``configuration`` reference to that resource (scanners follow these
    to relate a bucket to its versioning ...; a reference from inside a block, such as a cluster's
    subnets, stays at the block, where scanners do not follow it). Secrets and values known only
    after deployment are left out, and said so in ``skipped``. Other clouds' resources are not
    included (Azure's provider is not bridged from Terraform; Kubernetes objects have
    ``kubernetes()``).
    """
    schemas = _terraform()["resources"]
    skipped: list[str] = []
    addresses: dict[str, str] = {}
    taken: set[str] = set()
    for r in rec.resources:
        if not r["custom"] or r["type"].split(":")[0] not in ("aws", "gcp"):
            continue
        tf_type = TERRAFORM_TYPES.get(r["type"])
        if r["type"] in _BETA_ONLY:
            skipped.append(f"{r['urn']}: {r['type']} exists only in the google-beta provider, left out of the plan")
            continue
        if tf_type is None:
            skipped.append(f"{r['urn']}: {r['type']} has no Terraform type in topoform's table")
            continue
        base = f"{tf_type}.{_tf_name(r['name'])}"
        address, n = base, 1
        while address in taken:
            n += 1
            address = f"{base}_{n}"
        taken.add(address)
        addresses[r["urn"]] = address

    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for r in rec.resources:
        if r["urn"] not in addresses:
            continue
        address = addresses[r["urn"]]
        tf_type, name = address.split(".", 1)
        provider = _REGISTRY[tf_type.split("_", 1)[0]]
        values = _values(r["inputs"], schemas[tf_type], address, skipped)
        if "name" in schemas[tf_type] and "name" not in values and "name_prefix" not in values and tf_type not in _SERVER_NAMED:
            values["name"] = r["name"]  # Pulumi auto-names it: this name plus a random suffix
        planned.append({"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": provider, "schema_version": 0, "values": values, "sensitive_values": {}})
        expressions: dict[str, Any] = {}
        for key, urns in sorted(rec.wire.get(r["urn"], {}).get("property_dependencies", {}).items()):
            refs = sorted({addresses[u] for u in urns if u in addresses})
            tf_key = _match(key, schemas[tf_type])
            if refs and tf_key:
                expressions[tf_key] = {"references": [ref for a in refs for ref in (f"{a}.id", a)]}
        configured.append({"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_config_key": tf_type.split("_", 1)[0], "expressions": expressions})
        changes.append({"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": provider, "change": {"actions": ["create"], "before": None, "after": values, "after_unknown": {}}})
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": configured}},
    }
    return TerraformPlan(plan, skipped)

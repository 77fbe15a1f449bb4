"""Security rules: each judges one neutral fact, whatever cloud it was read from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Fact, Rule
from .readers.common import covers_world

__all__ = ["SECURITY"]

ALL = ("aws", "gcp", "azure")


def _true_is_bad(what: str) -> Any:
    def check(f: Fact, cfg: Mapping[str, Any]) -> str | None:
        return f"{what} ({f.where})" if f.value else None

    return check


def _false_is_bad(what: str) -> Any:
    def check(f: Fact, cfg: Mapping[str, Any]) -> str | None:
        return f"{what} ({f.where})" if not f.value else None

    return check


def _api_public(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    cidrs = [str(c) for c in f.value or []]
    if not cidrs:
        return None
    if cfg.get("allow_public_api"):
        return f"the API endpoint is open to everyone ({', '.join(cidrs)})" if covers_world(cidrs) else None
    return f"the API endpoint is public, reachable from {', '.join(cidrs)} ({f.where})"


def _key_rotation(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if isinstance(f.value, bool) or f.value is None:
        return None if f.value else f"the key does not rotate ({f.where})"
    max_days = float(cfg.get("max_rotation_days", 365))
    days = float(f.value) / 86400
    return f"the key rotates every {days:g} days, more than {max_days:g} ({f.where})" if days > max_days else None


def _wildcard(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    wild = sorted({a for a in f.value or [] if "*" in a})
    return f"allows wildcard actions {', '.join(wild)} ({f.where})" if wild else None


ADMIN_MARKERS = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "roles/owner", "roles/editor", "Owner", "Contributor", "User Access Administrator", "Storage Blob Data Owner", "Key Vault Administrator")


def _admin_role(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    role = str(f.value)
    name = role.rsplit("/", 1)[-1] if role.startswith("arn:") else role
    lowered = role.lower()
    if name in ADMIN_MARKERS or role in ADMIN_MARKERS or lowered.endswith(("admin", "administrator")) or "fullaccess" in lowered:
        return f"grants the broad role {role} ({f.where})"
    return None


def _cluster_admin(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if f.value.get("role") != "cluster-admin":
        return None
    configured = cfg.get("administrators")
    if configured is None:
        # Not told who the administrators are: topoform's binding for them passes, by its label.
        others = [] if f.value.get("administrators") else list(f.value.get("subjects", []))
    else:
        others = [s for s in f.value.get("subjects", []) if s not in {str(a) for a in configured}]
    if f.value.get("subjects") and not others:
        return None  # the cluster's named administrators
    return f"binds cluster-admin through a {f.value['kind']} to {', '.join(others) or 'no named subject'}"


TLS_OK = {
    # AWS ELB security policies that allow only TLS 1.2 and newer.
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    # GCP SSL policies and Azure Front Door.
    "TLS_1_2",
    "TLS_1_3",
    "TLS12",
    "TLS13",
}


def _tls(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    return None if f.value in TLS_OK else f"allows TLS older than 1.2 ({f.where}: {f.value})"


def _world_open(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    allowed = {int(p) for p in cfg.get("allowed_ports", [443])}
    bad = sorted({str(p) for p in f.value or [] if p == "all" or int(p) not in allowed})
    return f"admits the whole internet on port(s) {', '.join(bad)} ({f.where})" if bad else None


HOST_INSTALLERS = ["us-docker.pkg.dev/gce-ai-infra/gpudirect-gib/nccl-plugin-gib", "mcr.microsoft.com/mirror/docker/library/ubuntu"]
"""Node installers topoform itself runs privileged in kube-system, by image repository: Google's
NCCL gIB plugin installer on GKE's GPUDirect-RDMA nodes (its manifest runs it so), and the Ubuntu
image (Microsoft's mirror) of the node daemon on AKS InfiniBand nodes, which raises the runtime's
locked-memory limit and loads nvidia-peermem, as Microsoft's peermem loader does from that image."""


def _repository(image: str) -> str:
    """An image reference without its digest or tag."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def _escalation(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    if f.value["namespace"] in cfg.get("system_namespaces", []):
        return None
    trusted = set(cfg.get("host_installers", HOST_INSTALLERS)) if f.value["namespace"] == "kube-system" else set()
    images = f.value.get("images", {})
    bad = [c for c in f.value["containers"] if _repository(images.get(c, "")) not in trusted]
    return f"containers {', '.join(bad)} may escalate privileges (set securityContext.allowPrivilegeEscalation: false)" if bad else None


def _version(f: Fact, cfg: Mapping[str, Any]) -> str | None:
    version = str(f.value)
    if not version:
        return "no Kubernetes version pinned: the cloud picks one"
    minor = ".".join(version.split(".")[:2])
    supported = [str(v) for v in cfg.get("supported_versions", [])]
    return None if not supported or minor in supported else f"Kubernetes {version} is not supported (supported: {', '.join(supported)})"


def _supported_versions() -> list[str]:
    from topoform.catalog import load_catalog

    return sorted({v for c in load_catalog().clouds.values() for v in c.kubernetes.versions})


def rule(id_: str, name: str, topic: str, description: str, severity: str, remediation: str, mirrors: tuple[str, ...], check: Any, clouds: tuple[str, ...] = ALL, enforcement: str = "mandatory", config: Mapping[str, Mapping[str, Any]] | None = None, scope: str = "resource") -> Rule:
    return Rule(
        id=id_,
        name=name,
        category="security",
        description=description,
        severity=severity,  # type: ignore[arg-type]
        enforcement=enforcement,  # type: ignore[arg-type]
        remediation=remediation,
        mirrors=mirrors,
        clouds=clouds,
        topic=topic,
        check=check,
        config=config or {},
        scope=scope,  # type: ignore[arg-type]
    )


SECURITY: list[Rule] = [
    rule(
        "TF-S01", "storage-no-public-access", "store.public",
        "Stores are not publicly readable: S3 public access blocked (all four flags), GCS public access prevention enforced, Azure blob public access off, containers private.",
        "critical", "Remove public ACLs and grants; set the four S3 public-access-block flags, publicAccessPrevention: enforced, allowBlobPublicAccess: false. In a topology: access: private.",
        ("aws-s3-bucket-disallow-public-read", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6", "CKV_GCP_114", "CKV_GCP_28", "CKV_AZURE_190", "CKV_AZURE_34"),
        _true_is_bad("the store is public"), scope="stack",
    ),
    rule(
        "TF-S02", "storage-customer-managed-key", "store.cmk",
        "Stores are encrypted with a customer-managed key: SSE-KMS on S3, a default CMEK on GCS, a Key Vault key on Azure storage accounts.",
        "high", "Encrypt with your own key (aws:kms with kmsMasterKeyId, encryption.defaultKmsKeyName, keySource Microsoft.Keyvault). In a topology: encryption: customer-managed.",
        ("aws-s3-bucket-configure-server-side-encryption-customer-managed-key", "CKV_AWS_145", "CKV2_AZURE_1"),
        _false_is_bad("the store is not encrypted with a customer-managed key"), scope="stack",
    ),
    rule(
        "TF-S03", "storage-versioning", "store.versioning",
        "Stores keep versions, so an overwrite or delete can be undone.",
        "medium", "Enable versioning (S3 BucketVersioning Enabled, GCS versioning.enabled, Azure isVersioningEnabled).",
        ("CKV_AWS_21", "CKV_GCP_78"),
        _false_is_bad("the store does not keep versions"), scope="stack",
    ),
    rule(
        "TF-S04", "storage-tls-only", "store.tls_only",
        "Stores refuse plain HTTP and TLS older than 1.2: an S3 policy denying aws:SecureTransport false, Azure HTTPS only with TLS 1.2 minimum (GCS is HTTPS-only).",
        "high", "Add a bucket policy denying requests without aws:SecureTransport; set enableHttpsTrafficOnly and minimumTlsVersion TLS1_2.",
        ("CKV_AZURE_3", "CKV_AZURE_44"),
        _false_is_bad("the store accepts insecure transport"), clouds=("aws", "azure"), scope="stack",
    ),
    rule(
        "TF-S05", "storage-no-shared-keys-or-acls", "store.shared_keys",
        "Access to stores goes through IAM only: S3 ACLs disabled (BucketOwnerEnforced), GCS uniform bucket-level access, Azure shared-key access off.",
        "high", "Set objectOwnership BucketOwnerEnforced, uniformBucketLevelAccess: true, allowSharedKeyAccess: false.",
        ("CKV2_AWS_65", "CKV_GCP_29", "CKV2_AZURE_40"),
        _true_is_bad("the store accepts keys or ACLs beside IAM"),
    ),
    rule(
        "TF-S06", "cluster-api-not-public", "cluster.api_public",
        "Cluster API endpoints are private, or public only to allow-listed networks (never 0.0.0.0/0).",
        "critical", "Use a private endpoint (topology api: private), or api: public with allowed_cidrs that exclude 0.0.0.0/0.",
        ("aws-eks-cluster-disallow-api-endpoint-public-access", "CKV_AWS_38", "CKV_AWS_39", "CKV_GCP_18", "CKV_GCP_20", "CKV_GCP_25", "CKV_AZURE_6", "CKV_AZURE_115"),
        _api_public,
        config={"allow_public_api": {"type": "boolean", "default": True, "description": "Accept public endpoints restricted to allow-listed CIDRs (never 0.0.0.0/0)."}},
    ),
    rule(
        "TF-S07", "cluster-secrets-encrypted", "cluster.secrets_encryption",
        "Kubernetes secrets are envelope-encrypted with a customer-managed key (EKS encryption config, GKE application-layer encryption, AKS KMS).",
        "high", "Enable secrets encryption with a KMS / Cloud KMS / Key Vault key.",
        ("aws-eks-cluster-enable-cluster-encryption-config", "CKV_AWS_58"),
        _false_is_bad("Kubernetes secrets are not encrypted with a customer-managed key"),
    ),
    rule(
        "TF-S08", "cluster-no-local-auth", "cluster.local_auth",
        "Clusters authenticate through the cloud's identity only: no AKS local accounts, no GKE client certificates or legacy ABAC, no EKS aws-auth-only mode.",
        "high", "Set disableLocalAccounts, enableRBAC and an Entra ID profile; issueClientCertificate: false, enableLegacyAbac: false; authenticationMode API.",
        ("CKV_AZURE_5", "CKV_AZURE_141", "CKV_GCP_7", "CKV_GCP_13"),
        _true_is_bad("the cluster accepts local credentials"),
    ),
    rule(
        "TF-S09", "cluster-network-policy", "cluster.network_policy",
        "Clusters enforce Kubernetes NetworkPolicies (EKS VPC CNI network policy, GKE Dataplane V2 or network policy, AKS network policy).",
        "medium", "Enable network policy enforcement (the vpc-cni add-on's enableNetworkPolicy; datapathProvider ADVANCED_DATAPATH; networkProfile.networkPolicy).",
        ("CKV_GCP_12", "CKV_AZURE_7"), _false_is_bad("NetworkPolicies are not enforced"), scope="stack",
    ),
    rule(
        "TF-S10", "cluster-control-plane-logging", "cluster.control_plane_logs",
        "Control-plane logs (API server, audit, authenticator) are kept: EKS log types, GKE APISERVER logging, AKS diagnostic settings.",
        "medium", "Enable api, audit and authenticator logs (EKS), APISERVER (GKE), a diagnostic setting with kube-audit (AKS).",
        ("CKV_AWS_37", "CKV_GCP_1", "CKV_AZURE_4"),
        _false_is_bad("control-plane logs are not kept"), scope="stack",
    ),
    rule(
        "TF-S11", "nodes-no-public-ip", "nodes.public_ip",
        "Nodes have no public IP addresses and no SSH open to the internet.",
        "high", "Use private nodes (enablePrivateNodes, enableNodePublicIP: false, no associatePublicIpAddress, no node-group remote access).",
        ("ec2-instance-no-public-ip", "CKV_AWS_88", "CKV_GCP_64"), _true_is_bad("nodes get public addresses"),
    ),
    rule(
        "TF-S12", "nodes-metadata-protected", "nodes.imds_v1",
        "Pods cannot read node credentials from the metadata service: IMDSv2 only and a response hop limit of 1 on AWS, the GKE metadata server on GCP.",
        "high", "Set metadataOptions.httpTokens: required and httpPutResponseHopLimit: 1; workloadMetadataConfig.mode: GKE_METADATA.",
        ("CKV_AWS_79", "CKV_AWS_341", "CKV_GCP_69"), _true_is_bad("the metadata service exposes node credentials"), clouds=("aws", "gcp"),
    ),
    rule(
        "TF-S13", "cluster-workload-identity", "cluster.workload_identity",
        "Clusters run workload identity, so pods get their own cloud identity and never the node's.",
        "high", "Enable Workload Identity (GKE workloadIdentityConfig; AKS workload identity and OIDC issuer).",
        (), _false_is_bad("workload identity is off"), clouds=("gcp", "azure"),
    ),
    rule(
        "TF-S14", "cluster-supported-version", "cluster.version",
        "Clusters run a Kubernetes minor version in standard support (the catalog's list, dated).",
        "medium", "Upgrade to a supported minor version (topology kubernetes_version).",
        (), _version, enforcement="advisory",
        config={"supported_versions": {"type": "array", "items": {"type": "string"}, "default": _supported_versions(), "description": "Kubernetes minor versions in standard support."}},
    ),
    rule(
        "TF-S15", "iam-no-wildcard-actions", "iam.allow_actions",
        "IAM policies allow named actions only: no '*' and no 'service:*'.",
        "critical", "List the actions the workload needs (topology access modes do this).",
        ("CKV_AWS_1", "CKV_AWS_49", "CKV_AWS_62", "CKV_AWS_63"), _wildcard, clouds=("aws",),
    ),
    rule(
        "TF-S16", "iam-no-admin-roles", "iam.role",
        "No identity gets an owner, editor, contributor, full-access or admin role.",
        "critical", "Grant the narrow role for the job (readers, object users, crypto users).",
        ("CKV_GCP_42",), _admin_role,
    ),
    rule(
        "TF-S17", "rbac-no-cluster-admin", "k8s.role_ref",
        "No RoleBinding or ClusterRoleBinding grants cluster-admin, except to the administrators the topology names.",
        "critical", "Bind the built-in view, edit or admin roles in a namespace (topology teams.<t>.role); name cluster administrators in sites.<s>.admins.",
        ("CIS Kubernetes 5.1.1",), _cluster_admin, clouds=("kubernetes",),
        config={
            "administrators": {
                "type": ["array", "null"],
                "items": {"type": "string"},
                "default": None,
                "description": "RBAC subjects (Kind:name) allowed cluster-admin: the topology's site admins (`topoform check` and `topoform cost --policy-config` fill them in); null: the binding topoform labels topoform.io/administrators passes",
            }
        },
    ),
    rule(
        "TF-S18", "lb-tls-1-2", "lb.tls_policy",
        "Load balancers and CDNs accept TLS 1.2 or newer only.",
        "high", "Use ELBSecurityPolicy-TLS13-1-2-2021-06, an SSL policy with minTlsVersion TLS_1_2, minimumTlsVersion TLS12.",
        ("aws-alb-listener-configure-secure-tls", "CKV_AWS_103", "CKV_GCP_4"), _tls,
    ),
    rule(
        "TF-S19", "firewall-no-world-open-ports", "firewall.world_open",
        "No firewall or security group admits the whole internet, except on an endpoint's HTTPS port.",
        "critical", "Restrict sources to known networks (topology allowed_cidrs).",
        ("aws-ec2-securitygroup-disallow-public-internet-ingress", "CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_GCP_2", "CKV_GCP_3", "CKV_AZURE_9", "CKV_AZURE_10"),
        _world_open,
        config={"allowed_ports": {"type": "array", "items": {"type": "integer"}, "default": [443], "description": "Ports that may be open to 0.0.0.0/0."}},
    ),
    rule(
        "TF-S20", "kms-key-rotation", "key.rotation",
        "Customer-managed keys rotate (AWS yearly rotation, GCP rotation period within the limit, Azure rotation policy).",
        "medium", "Enable rotation (enableKeyRotation; rotationPeriod; a rotate lifetime action).",
        ("aws-kms-key-enable-key-rotation", "cmk-backing-key-rotation-enabled", "CKV_AWS_7", "CKV_GCP_43"), _key_rotation,
        config={"max_rotation_days": {"type": "number", "default": 365, "description": "The longest rotation period accepted."}},
    ),
    rule(
        "TF-S21", "kms-key-not-public", "key.public",
        "No key is usable by everyone (no Principal * in a key policy, no allUsers on a key).",
        "critical", "Remove public principals from key policies and key IAM.",
        ("CKV_AWS_33",), _true_is_bad("the key is usable by everyone"), clouds=("aws", "gcp"),
    ),
    rule(
        "TF-S22", "pods-no-privilege-escalation", "pod.privilege_escalation",
        "Containers cannot gain more privileges than their process started with (outside system namespaces; in kube-system, the named node installers may).",
        "high", "Set securityContext.allowPrivilegeEscalation: false on every container.",
        ("CKV_K8S_20",), _escalation, clouds=("kubernetes",),
        config={
            "system_namespaces": {"type": "array", "items": {"type": "string"}, "default": [], "description": "Namespaces whose pods are exempt (system add-ons)."},
            "host_installers": {
                "type": "array", "items": {"type": "string"}, "default": HOST_INSTALLERS,
                "description": "Image repositories (no tag) of node installers that may run privileged in kube-system.",
            },
        },
    ),
    rule(
        "TF-S23", "key-vault-purge-protection", "vault.purge_protection",
        "Key vaults cannot be purged during their soft-delete period.",
        "high", "Set properties.enablePurgeProtection: true.",
        ("CKV_AZURE_42", "CKV_AZURE_110"), _false_is_bad("the key vault can be purged"), clouds=("azure",),
    ),
    rule(
        "TF-S24", "lb-https-only", "lb.plaintext",
        "Load balancers answer plain HTTP only with a redirect to HTTPS.",
        "medium", "Make HTTP listeners redirect to HTTPS.",
        ("aws-alb-listener-disallow-unencrypted-traffic", "alb-http-to-https-redirection", "CKV_AWS_2"), _true_is_bad("serves plain HTTP"), clouds=("aws",),
    ),
    rule(
        "TF-S25", "iam-no-public-grants", "iam.public",
        "No IAM grant is made to allUsers or allAuthenticatedUsers.",
        "critical", "Grant named identities only.",
        ("CKV_GCP_28",), _true_is_bad("grants a role to the public"), clouds=("gcp",),
    ),
]

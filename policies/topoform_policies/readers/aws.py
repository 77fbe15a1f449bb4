"""AWS resources read back into neutral facts (the mirror of the AWS components)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..base import Fact, Subject, get, mapping
from .common import capacity, control_plane, fabric_of, gpu_labels_and_taints, is_gpu_machine, labels_fact, world_open_ports

__all__ = ["READERS", "STACK_READERS", "policy_statements"]

ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def policy_statements(document: Any) -> list[Mapping[str, Any]]:
    """An IAM policy document (JSON string or mapping) -> its statements."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    return list(value)


def _allowed_actions(document: Any) -> list[str]:
    return [str(a) for s in policy_statements(document) if s.get("Effect") == "Allow" for a in _as_list(s.get("Action"))]


def _public_principal(document: Any) -> bool:
    """An Allow statement open to everyone with no condition."""
    for s in policy_statements(document):
        principal = s.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS")))
        if s.get("Effect") == "Allow" and everyone and not s.get("Condition"):
            return True
    return False


def _tls_only(document: Any) -> bool:
    for s in policy_statements(document):
        condition = s.get("Condition") or {}
        secure = get(condition, "Bool", "aws:SecureTransport")
        if s.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def _tags(s: Subject) -> Mapping[str, Any]:
    """Resource tags over the provider's default tags (what AWS will really apply)."""
    merged = dict(mapping(get(mapping(s.provider.get("defaultTags")), "tags", default={})))
    merged.update(get(s.props, "tags", default={}) or {})
    return merged


def bucket(s: Subject) -> Iterator[Fact]:
    acl = get(s.props, "acl")
    if acl in ("public-read", "public-read-write", "authenticated-read"):
        yield Fact("store.public", True, f"acl is {acl}")
    yield Fact("stateful", True)
    yield Fact("deletion_protection", not get(s.props, "forceDestroy", default=False), "forceDestroy")
    yield labels_fact(_tags(s), "tags")


def public_access_block(s: Subject) -> Iterator[Fact]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [f for f in flags if get(s.props, f) is not True]
    yield Fact("store.public", bool(off), f"{', '.join(off)} not true" if off else "all four flags true")


def sse(s: Subject) -> Iterator[Fact]:
    rules = get(s.props, "rules", default=[])
    algorithms = [get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules]
    keys = [get(r, "applyServerSideEncryptionByDefault", "kmsMasterKeyId") for r in rules]
    cmk = bool(rules) and all(a in ("aws:kms", "aws:kms:dsse") for a in algorithms) and all(keys)
    yield Fact("store.cmk", cmk, f"sseAlgorithm {algorithms}")


def versioning(s: Subject) -> Iterator[Fact]:
    status = get(s.props, "versioningConfiguration", "status")
    yield Fact("store.versioning", status == "Enabled", f"status {status}")


def ownership(s: Subject) -> Iterator[Fact]:
    owner = get(s.props, "rule", "objectOwnership")
    yield Fact("store.shared_keys", owner != "BucketOwnerEnforced", f"objectOwnership {owner} (ACLs stay enabled)")


def bucket_policy(s: Subject) -> Iterator[Fact]:
    document = get(s.props, "policy")
    yield Fact("store.tls_only", _tls_only(document), "no Deny for aws:SecureTransport false")
    if _public_principal(document):
        yield Fact("store.public", True, "the bucket policy allows Principal *")


def bucket_acl(s: Subject) -> Iterator[Fact]:
    acl = get(s.props, "acl")
    if acl in ("public-read", "public-read-write", "authenticated-read"):
        yield Fact("store.public", True, f"acl is {acl}")


def kms_key(s: Subject) -> Iterator[Fact]:
    yield Fact("key.rotation", bool(get(s.props, "enableKeyRotation")), "enableKeyRotation")
    yield Fact("key.public", _public_principal(get(s.props, "policy")), "the key policy allows Principal *")
    yield Fact("stateful", True)
    yield Fact("deletion_protection", get(s.props, "deletionWindowInDays", default=30) >= 30, "deletionWindowInDays below the maximum (30)")
    yield labels_fact(_tags(s), "tags")


def eks_cluster(s: Subject) -> Iterator[Fact]:
    vpc = get(s.props, "vpcConfig", default={})
    public = get(vpc, "endpointPublicAccess", default=True)
    cidrs = list(get(vpc, "publicAccessCidrs", default=[]) or ["0.0.0.0/0"]) if public else []
    yield Fact("cluster.api_public", cidrs, "vpcConfig.endpointPublicAccess / publicAccessCidrs")
    secrets = "secrets" in (get(s.props, "encryptionConfig", "resources", default=[]) or [])
    yield Fact("cluster.secrets_encryption", secrets and bool(get(s.props, "encryptionConfig", "provider", "keyArn")), "encryptionConfig")
    logs = set(get(s.props, "enabledClusterLogTypes", default=[]) or [])
    yield Fact("cluster.control_plane_logs", {"api", "audit", "authenticator"} <= logs, f"enabledClusterLogTypes {sorted(logs)}")
    mode = get(s.props, "accessConfig", "authenticationMode", default="CONFIG_MAP")
    yield Fact("cluster.local_auth", mode == "CONFIG_MAP", f"authenticationMode {mode}")
    yield Fact("cluster.version", str(get(s.props, "version", default="")), "version")
    yield Fact("stateful", True)
    yield Fact("deletion_protection", bool(get(s.props, "deletionProtection")), "deletionProtection")
    yield control_plane("aws", s.provider.get("region"))
    yield labels_fact(_tags(s), "tags")


def node_group(s: Subject) -> Iterator[Fact]:
    if get(s.props, "remoteAccess", "ec2SshKey") and not get(s.props, "remoteAccess", "sourceSecurityGroupIds"):
        yield Fact("nodes.public_ip", True, "remoteAccess opens SSH to the internet")
    types = [str(t) for t in get(s.props, "instanceTypes", default=[]) or []]
    ami = str(get(s.props, "amiType", default=""))
    if any(is_gpu_machine("aws", t) for t in types) or "NVIDIA" in ami or "GPU" in ami:
        labels = get(s.props, "labels", default={}) or {}
        taints = [(get(t, "key"), get(t, "value"), get(t, "effect")) for t in get(s.props, "taints", default=[]) or []]
        yield gpu_labels_and_taints(labels, taints, {"NO_SCHEDULE": "NoSchedule"})
    scaling = get(s.props, "scalingConfig", default={})
    spot = get(s.props, "capacityType") == "SPOT"
    yield capacity("aws", types[0] if types else "", s.provider.get("region"), get(scaling, "minSize"), get(scaling, "maxSize"), spot, "instanceTypes / scalingConfig")
    yield labels_fact(_tags(s), "tags")


def _metadata(s: Subject) -> Fact:
    """Pods reach the node's credentials when IMDSv1 is on, or when IMDSv2 answers one hop
    further than the node itself (a container is one hop away)."""
    tokens = get(s.props, "metadataOptions", "httpTokens", default="optional")
    if tokens != "required":
        return Fact("nodes.imds_v1", True, f"metadataOptions.httpTokens {tokens}")
    hops = get(s.props, "metadataOptions", "httpPutResponseHopLimit")
    if hops is None:  # the AMI decides: IMDSv2-only AMIs default to 2
        return Fact("nodes.imds_v1", True, "metadataOptions.httpPutResponseHopLimit not set (the AMI's default may be 2)")
    try:
        return Fact("nodes.imds_v1", int(hops) > 1, f"metadataOptions.httpPutResponseHopLimit {hops}")
    except (TypeError, ValueError):  # unknown until deployed
        return Fact("nodes.imds_v1", False, f"metadataOptions.httpPutResponseHopLimit {hops}")


def launch_template(s: Subject) -> Iterator[Fact]:
    yield _metadata(s)
    for nic in get(s.props, "networkInterfaces", default=[]) or []:
        if str(get(nic, "associatePublicIpAddress")).lower() == "true":
            yield Fact("nodes.public_ip", True, "networkInterfaces.associatePublicIpAddress")


def instance(s: Subject) -> Iterator[Fact]:
    yield _metadata(s)
    if get(s.props, "associatePublicIpAddress"):
        yield Fact("nodes.public_ip", True, "associatePublicIpAddress")


def iam_document(field: str) -> Any:
    def read(s: Subject) -> Iterator[Fact]:
        yield Fact("iam.allow_actions", _allowed_actions(get(s.props, field)), field)

    return read


def iam_role(s: Subject) -> Iterator[Fact]:
    for inline in get(s.props, "inlinePolicies", default=[]) or []:
        yield Fact("iam.allow_actions", _allowed_actions(get(inline, "policy")), "inlinePolicies")
    for arn in get(s.props, "managedPolicyArns", default=[]) or []:
        yield Fact("iam.role", str(arn), "managedPolicyArns")


def iam_attachment(s: Subject) -> Iterator[Fact]:
    yield Fact("iam.role", str(get(s.props, "policyArn", default="")), "policyArn")


def security_group(s: Subject) -> Iterator[Fact]:
    rules = [
        (get(r, "fromPort", default=0), get(r, "toPort", default=65535), get(r, "protocol"), list(get(r, "cidrBlocks", default=[]) or []) + list(get(r, "ipv6CidrBlocks", default=[]) or []))
        for r in get(s.props, "ingress", default=[]) or []
    ]
    yield Fact("firewall.world_open", world_open_ports(rules), "ingress")


def security_group_rule(s: Subject) -> Iterator[Fact]:
    if get(s.props, "type") != "ingress":
        return
    cidrs = list(get(s.props, "cidrBlocks", default=[]) or []) + list(get(s.props, "ipv6CidrBlocks", default=[]) or [])
    rule = (get(s.props, "fromPort", default=0), get(s.props, "toPort", default=65535), get(s.props, "protocol"), cidrs)
    yield Fact("firewall.world_open", world_open_ports([rule]), "cidrBlocks")


def ingress_rule(s: Subject) -> Iterator[Fact]:
    cidrs = [c for c in (get(s.props, "cidrIpv4"), get(s.props, "cidrIpv6")) if c]
    rule = (get(s.props, "fromPort", default=0), get(s.props, "toPort", default=65535), get(s.props, "ipProtocol"), cidrs)
    yield Fact("firewall.world_open", world_open_ports([rule]), "cidrIpv4")


def lb_listener(s: Subject) -> Iterator[Fact]:
    protocol = get(s.props, "protocol")
    if protocol in ("HTTPS", "TLS"):
        yield Fact("lb.tls_policy", str(get(s.props, "sslPolicy", default="ELBSecurityPolicy-2016-08")), "sslPolicy")
    elif protocol == "HTTP":
        redirect = any(get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS" for a in get(s.props, "defaultActions", default=[]) or [])
        yield Fact("lb.plaintext", not redirect, "an HTTP listener that does not redirect to HTTPS")


def provider(s: Subject) -> Iterator[Fact]:
    if get(s.props, "region"):
        yield Fact("region", ("aws", str(get(s.props, "region"))), "region")


READERS = {
    "aws:s3/bucket:Bucket": bucket,
    "aws:s3/bucketV2:BucketV2": bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": public_access_block,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": sse,
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": sse,
    "aws:s3/bucketVersioning:BucketVersioning": versioning,
    "aws:s3/bucketVersioningV2:BucketVersioningV2": versioning,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ownership,
    "aws:s3/bucketPolicy:BucketPolicy": bucket_policy,
    "aws:s3/bucketAcl:BucketAcl": bucket_acl,
    "aws:s3/bucketAclV2:BucketAclV2": bucket_acl,
    "aws:kms/key:Key": kms_key,
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "aws:ec2/launchTemplate:LaunchTemplate": launch_template,
    "aws:ec2/instance:Instance": instance,
    "aws:iam/role:Role": iam_role,
    "aws:iam/rolePolicy:RolePolicy": iam_document("policy"),
    "aws:iam/policy:Policy": iam_document("policy"),
    "aws:iam/userPolicy:UserPolicy": iam_document("policy"),
    "aws:iam/groupPolicy:GroupPolicy": iam_document("policy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": iam_attachment,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": iam_attachment,
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": iam_attachment,
    "aws:iam/policyAttachment:PolicyAttachment": iam_attachment,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
    "aws:ec2/securityGroupRule:SecurityGroupRule": security_group_rule,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ingress_rule,
    "aws:lb/listener:Listener": lb_listener,
    "aws:alb/listener:Listener": lb_listener,
    "pulumi:providers:aws": provider,
}

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
COMPANIONS = {
    "store.public": ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "no public access block"),
    "store.cmk": ("aws:s3/bucketServerSideEncryptionConfiguration", "no encryption configuration (S3 then uses its own key)"),
    "store.versioning": ("aws:s3/bucketVersioning", "no versioning configuration"),
    "store.tls_only": ("aws:s3/bucketPolicy:BucketPolicy", "no bucket policy refusing plain HTTP"),
}


def bucket_companions(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """S3 buckets are configured by separate resources: a bucket missing one fails that fact."""
    by_bucket: dict[str, set[str]] = {}
    for s in subjects:
        for urn in s.property_dependencies.get("bucket", []):
            by_bucket.setdefault(urn, set()).add(s.type)
    for s in subjects:
        if s.type not in BUCKET_TYPES:
            continue
        present = by_bucket.get(s.urn, set())
        for topic, (prefix, missing) in COMPANIONS.items():
            if not any(t.startswith(prefix) for t in present):
                inline = {"store.cmk": "serverSideEncryptionConfiguration", "store.versioning": "versioning"}.get(topic)
                if inline and get(s.props, inline):
                    continue  # the legacy inline configuration is there
                yield s, Fact(topic, True if topic == "store.public" else False, missing)


def eks_network_policy(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """EKS enforces NetworkPolicies through its VPC CNI add-on (a separate resource) when the
    add-on's configuration turns ``enableNetworkPolicy`` on."""
    enforced: set[str] = set()
    for s in subjects:
        if s.type == "aws:eks/addon:Addon" and get(s.props, "addonName") == "vpc-cni":
            try:
                config = json.loads(get(s.props, "configurationValues", default="") or "{}")
            except (TypeError, ValueError):
                config = {}
            if isinstance(config, dict) and str(config.get("enableNetworkPolicy", "")).lower() == "true":
                enforced.update(s.property_dependencies.get("clusterName", []))
    for s in subjects:
        if s.type == "aws:eks/cluster:Cluster":
            yield s, Fact("cluster.network_policy", s.urn in enforced, "no vpc-cni add-on with enableNetworkPolicy \"true\"")


AUTOSCALER_DISCOVERY = "--node-group-auto-discovery="
AUTOSCALER_TAG = "k8s.io/cluster-autoscaler/"


def _discovered_clusters(s: Subject) -> set[str]:
    """The EKS clusters a Cluster Autoscaler Deployment discovers node groups of (by the tag
    ``k8s.io/cluster-autoscaler/<cluster>`` in ``--node-group-auto-discovery=asg:tag=...``)."""
    found: set[str] = set()
    for container in get(s.props, "spec", "template", "spec", "containers", default=[]) or []:
        words = [str(w) for w in [*(get(container, "command", default=[]) or []), *(get(container, "args", default=[]) or [])]]
        if "--cloud-provider=aws" not in words:
            continue
        for word in words:
            if word.startswith(AUTOSCALER_DISCOVERY):
                for spec in word[len(AUTOSCALER_DISCOVERY) :].split(":", 1)[-1].removeprefix("tag=").split(","):
                    tag = spec.split("=", 1)[0]
                    if tag.startswith(AUTOSCALER_TAG) and tag != f"{AUTOSCALER_TAG}enabled":
                        found.add(tag[len(AUTOSCALER_TAG) :])
    return found


def eks_pool_autoscaler(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """EKS scales no node group itself: a node group that may grow needs a Cluster Autoscaler
    (a Deployment in the stack) discovering its cluster's node groups."""
    discovered: set[str] = set()
    for s in subjects:
        if s.type == "kubernetes:apps/v1:Deployment":
            discovered |= _discovered_clusters(s)
    for s in subjects:
        if s.type == "aws:eks/nodeGroup:NodeGroup":
            lo, hi = get(s.props, "scalingConfig", "minSize", default=0), get(s.props, "scalingConfig", "maxSize", default=0)
            if hi > lo:
                cluster = str(get(s.props, "clusterName", default=""))
                yield s, Fact("pool.autoscaler", cluster in discovered, f"scalingConfig {lo:g}-{hi:g}; no Cluster Autoscaler discovers cluster {cluster}")


def eks_pool_fabric(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """A node group of two or more machines that have EFA is a multi-node training pool: its
    launch template (a separate resource) should give the nodes their EFA interfaces, and its
    subnets one zone (EFA reaches no further)."""
    templates = {s.urn: s for s in subjects if s.type == "aws:ec2/launchTemplate:LaunchTemplate"}
    for s in subjects:
        if s.type != "aws:eks/nodeGroup:NodeGroup" or get(s.props, "scalingConfig", "maxSize", default=0) < 2:
            continue
        types = [str(t) for t in get(s.props, "instanceTypes", default=[]) or []]
        if not types or fabric_of("aws", types[0]) != "efa":
            continue
        template = next((templates[u] for u in s.property_dependencies.get("launchTemplate", []) if u in templates), None)
        kinds = {str(get(i, "interfaceType", default="")) for i in get(template.props, "networkInterfaces", default=[]) or []} if template else set()
        subnets = get(s.props, "subnetIds", default=[]) or []
        if not kinds & {"efa", "efa-only"}:
            yield s, Fact("pool.fabric", False, f"{types[0]} has EFA; the launch template gives its nodes no EFA interface")
        elif len(subnets) > 1:
            yield s, Fact("pool.fabric", False, f"EFA spans one zone; the node group has {len(subnets)} subnets")
        else:
            yield s, Fact("pool.fabric", True, "EFA interfaces in one subnet")


STACK_READERS = [bucket_companions, eks_network_policy, eks_pool_autoscaler, eks_pool_fabric]

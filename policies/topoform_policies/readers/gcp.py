"""GCP resources read back into neutral facts (the mirror of the GCP components)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..base import Fact, Subject, get, mapping
from .common import capacity, control_plane, fabric_of, gpu_labels_and_taints, is_gpu_machine, labels_fact, world_open_ports

__all__ = ["READERS", "STACK_READERS"]

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _labels(s: Subject, field: str = "labels") -> Mapping[str, Any]:
    merged = dict(mapping(get(s.provider, "defaultLabels", default={})))
    merged.update(get(s.props, field, default={}) or {})
    return merged


def _seconds(period: Any) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(period or ""))
    return float(match.group(1)) if match else None


def bucket(s: Subject) -> Iterator[Fact]:
    prevention = get(s.props, "publicAccessPrevention", default="inherited")
    yield Fact("store.public", prevention != "enforced", f"publicAccessPrevention {prevention}")
    yield Fact("store.cmk", bool(get(s.props, "encryption", "defaultKmsKeyName")), "encryption.defaultKmsKeyName")
    yield Fact("store.versioning", bool(get(s.props, "versioning", "enabled")), "versioning.enabled")
    yield Fact("store.shared_keys", not get(s.props, "uniformBucketLevelAccess", default=False), "uniformBucketLevelAccess off: object ACLs apply")
    yield Fact("stateful", True)
    yield Fact(
        "deletion_protection",
        not get(s.props, "forceDestroy", default=False) and get(s.props, "deletionPolicy", default="DELETE") == "PREVENT",
        "forceDestroy / deletionPolicy",
    )
    yield Fact("region", ("gcp", str(get(s.props, "location", default="")).lower()), "location")
    yield labels_fact(_labels(s), "labels")


def members(s: Subject) -> list[str]:
    single = get(s.props, "member")
    return [str(single)] if single else [str(m) for m in get(s.props, "members", default=[]) or []]


def iam_grant(public_topic: str) -> Any:
    def read(s: Subject) -> Iterator[Fact]:
        who = members(s)
        if any(m in PUBLIC_MEMBERS for m in who):
            yield Fact(public_topic, True, f"granted to {', '.join(m for m in who if m in PUBLIC_MEMBERS)}")
        yield Fact("iam.role", str(get(s.props, "role", default="")), "role")

    return read


def gke_cluster(s: Subject) -> Iterator[Fact]:
    private = get(s.props, "privateClusterConfig", default={})
    if get(private, "enablePrivateEndpoint"):
        cidrs: list[str] = []
    else:
        authorized = get(s.props, "masterAuthorizedNetworksConfig")
        blocks = [str(get(b, "cidrBlock")) for b in get(authorized, "cidrBlocks", default=[]) or []]
        if authorized is None or get(authorized, "gcpPublicCidrsAccessEnabled"):
            blocks.append("0.0.0.0/0")
        cidrs = blocks or ["0.0.0.0/0"]
    yield Fact("cluster.api_public", cidrs, "privateClusterConfig / masterAuthorizedNetworksConfig")
    yield Fact("nodes.public_ip", not get(private, "enablePrivateNodes", default=False), "privateClusterConfig.enablePrivateNodes")
    yield Fact("cluster.secrets_encryption", get(s.props, "databaseEncryption", "state") == "ENCRYPTED", "databaseEncryption.state")
    legacy = bool(get(s.props, "enableLegacyAbac")) or bool(get(s.props, "masterAuth", "clientCertificateConfig", "issueClientCertificate"))
    yield Fact("cluster.local_auth", legacy, "enableLegacyAbac / masterAuth client certificates")
    policy = get(s.props, "datapathProvider") == "ADVANCED_DATAPATH" or bool(get(s.props, "networkPolicy", "enabled"))
    yield Fact("cluster.network_policy", policy, "datapathProvider / networkPolicy")
    components = get(s.props, "loggingConfig", "enableComponents", default=[]) or []
    yield Fact("cluster.control_plane_logs", "APISERVER" in components, f"loggingConfig.enableComponents {list(components)}")
    yield Fact("cluster.workload_identity", bool(get(s.props, "workloadIdentityConfig", "workloadPool")), "workloadIdentityConfig")
    yield Fact("cluster.version", str(get(s.props, "minMasterVersion", default="")), "minMasterVersion")
    yield Fact("stateful", True)
    yield control_plane("gcp", re.sub(r"-[a-z]$", "", str(get(s.props, "location", default=""))))
    yield Fact("deletion_protection", get(s.props, "deletionProtection", default=True) is not False, "deletionProtection")
    location = str(get(s.props, "location", default=""))
    yield Fact("region", ("gcp", re.sub(r"-[a-z]$", "", location)), "location")  # a zone's region
    yield labels_fact(_labels(s, "resourceLabels"), "resourceLabels")


def node_pool(s: Subject) -> Iterator[Fact]:
    config = get(s.props, "nodeConfig", default={})
    mode = get(config, "workloadMetadataConfig", "mode")
    yield Fact("nodes.imds_v1", mode != "GKE_METADATA", f"nodeConfig.workloadMetadataConfig.mode {mode}")
    machine = str(get(config, "machineType", default=""))
    if get(config, "guestAccelerators") or is_gpu_machine("gcp", machine):
        taints = [(get(t, "key"), get(t, "value"), get(t, "effect")) for t in get(config, "taints", default=[]) or []]
        yield gpu_labels_and_taints(get(config, "labels", default={}) or {}, taints, {"NO_SCHEDULE": "NoSchedule"})
    # Node counts: totals, or per zone (times the zones named; at least one)
    scaling = get(s.props, "autoscaling", default={}) or {}
    zones = max(len(get(s.props, "nodeLocations", default=[]) or []), 1)
    fixed = get(s.props, "nodeCount", default=get(s.props, "initialNodeCount", default=0))
    low = get(scaling, "totalMinNodeCount")
    high = get(scaling, "totalMaxNodeCount")
    if low is None and high is None:
        per_zone = scaling if (get(scaling, "minNodeCount") is not None or get(scaling, "maxNodeCount") is not None) else None
        low = int(float(get(per_zone, "minNodeCount", default=0) or 0)) * zones if per_zone else int(float(fixed or 0)) * zones
        high = int(float(get(per_zone, "maxNodeCount", default=0) or 0)) * zones if per_zone else low
    spot = bool(get(config, "spot")) or bool(get(config, "preemptible"))
    region = re.sub(r"-[a-z]$", "", str(get(s.props, "location", default="")))
    yield capacity("gcp", machine, region, low, high, spot, "nodeConfig.machineType / autoscaling")
    if fabric_of("gcp", machine) == "gpudirect-rdma" and (high or 0) >= 2:
        # A multi-node pool of RDMA machines: GKE's accelerator network profile gives the nodes
        # their RDMA NICs, and RDMA reaches only nodes in its own zone.
        profile = get(s.props, "networkConfig", "acceleratorNetworkProfile")
        locations = get(s.props, "nodeLocations", default=[]) or []
        dranet = (get(config, "labels", default={}) or {}).get("cloud.google.com/gke-networking-dra-driver")
        if profile != "auto":
            yield Fact("pool.fabric", False, f"{machine} has GPUDirect-RDMA; networkConfig.acceleratorNetworkProfile is {profile or 'unset'}, so its nodes get no RDMA NICs")
        elif dranet != "true":
            yield Fact("pool.fabric", False, "without the node label cloud.google.com/gke-networking-dra-driver=true, GKE's DRA driver does not offer the RDMA NICs to pods")
        elif len(locations) != 1:
            yield Fact("pool.fabric", False, f"RDMA reaches one zone; nodeLocations names {len(locations) or 'none (the region)'}")
        else:
            yield Fact("pool.fabric", True, "RDMA NICs through the accelerator network profile, in one zone")


def crypto_key(s: Subject) -> Iterator[Fact]:
    period = _seconds(get(s.props, "rotationPeriod"))
    yield Fact("key.rotation", period, "rotationPeriod")
    yield Fact("stateful", True)
    delay = _seconds(get(s.props, "destroyScheduledDuration")) or 30 * 86400
    yield Fact("deletion_protection", delay >= 30 * 86400, "destroyScheduledDuration below 30 days")


def firewall(s: Subject) -> Iterator[Fact]:
    if get(s.props, "direction", default="INGRESS") != "INGRESS":
        return
    sources = list(get(s.props, "sourceRanges", default=[]) or [])
    rules: list[tuple[Any, Any, Any, list[Any]]] = []
    for allow in get(s.props, "allows", default=[]) or []:
        ports = get(allow, "ports", default=[]) or []
        if not ports:
            rules.append((None, None, get(allow, "protocol"), sources))
        for port in ports:
            low, _, high = str(port).partition("-")
            rules.append((low, high or low, get(allow, "protocol"), sources))
    yield Fact("firewall.world_open", world_open_ports(rules), "sourceRanges / allows")


def ssl_policy(s: Subject) -> Iterator[Fact]:
    yield Fact("lb.tls_policy", str(get(s.props, "minTlsVersion", default="TLS_1_0")), "minTlsVersion")


def provider(s: Subject) -> Iterator[Fact]:
    if get(s.props, "region"):
        yield Fact("region", ("gcp", str(get(s.props, "region"))), "region")


READERS = {
    "gcp:storage/bucket:Bucket": bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": iam_grant("store.public"),
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": iam_grant("store.public"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": iam_grant("key.public"),
    "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding": iam_grant("key.public"),
    "gcp:projects/iAMMember:IAMMember": iam_grant("iam.public"),
    "gcp:projects/iAMBinding:IAMBinding": iam_grant("iam.public"),
    "gcp:serviceaccount/iAMMember:IAMMember": iam_grant("iam.public"),
    "gcp:serviceaccount/iAMBinding:IAMBinding": iam_grant("iam.public"),
    "gcp:container/cluster:Cluster": gke_cluster,
    "gcp:container/nodePool:NodePool": node_pool,
    "gcp:kms/cryptoKey:CryptoKey": crypto_key,
    "gcp:compute/firewall:Firewall": firewall,
    "gcp:compute/sSLPolicy:SSLPolicy": ssl_policy,
    "pulumi:providers:gcp": provider,
}

STACK_READERS: list[Any] = []

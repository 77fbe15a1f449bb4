"""Azure resources read back into neutral facts (the mirror of the Azure components)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..base import Fact, Subject, get
from .common import capacity, control_plane, fabric_of, gpu_labels_and_taints, is_gpu_machine, labels_fact, world_open_ports

__all__ = ["FORBIDDEN_ROLES", "READERS", "STACK_READERS"]

# Built-in roles that give away everything (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
FORBIDDEN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
TLS = {"TLS1_0": 1.0, "TLS1_1": 1.1, "TLS1_2": 1.2, "TLS1_3": 1.3, "TLS10": 1.0, "TLS12": 1.2, "TLS13": 1.3}


def _region(s: Subject) -> Iterator[Fact]:
    location = get(s.props, "location")
    if location and str(location).lower() not in ("global",):
        yield Fact("region", ("azure", str(location).lower().replace(" ", "")), "location")


SPOT_TAINT_KEY = "kubernetes.azure.com/scalesetpriority"
"""AKS taints every spot node with it, and it cannot be removed."""


def _gpu_pool(profile: Any) -> Iterator[Fact]:
    lo, hi = get(profile, "minCount"), get(profile, "maxCount")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and hi > lo:
        yield Fact("pool.autoscaler", bool(get(profile, "enableAutoScaling")), f"minCount {lo:g}, maxCount {hi:g}, enableAutoScaling off")
    if get(profile, "enableNodePublicIP"):
        yield Fact("nodes.public_ip", True, "enableNodePublicIP")
    if str(get(profile, "scaleSetPriority", default="Regular")) == "Spot":
        yield Fact("nodes.cloud_taints", [SPOT_TAINT_KEY], "scaleSetPriority Spot")
    if is_gpu_machine("azure", str(get(profile, "vmSize", default=""))):
        taints = []
        for taint in get(profile, "nodeTaints", default=[]) or []:
            key, _, rest = str(taint).partition("=")
            value, _, effect = rest.partition(":")
            taints.append((key, value, effect))
        yield gpu_labels_and_taints(get(profile, "nodeLabels", default={}) or {}, taints)


def _capacity(profile: Any, region: Any) -> Fact:
    count = get(profile, "count", default=0)
    autoscaled = bool(get(profile, "enableAutoScaling"))
    low = get(profile, "minCount", default=count) if autoscaled else count
    high = get(profile, "maxCount", default=count) if autoscaled else count
    spot = str(get(profile, "scaleSetPriority", default="Regular")) == "Spot"
    return capacity("azure", get(profile, "vmSize"), region, low, high, spot, "vmSize / count / minCount / maxCount")


def storage_account(s: Subject) -> Iterator[Fact]:
    yield Fact("store.public", bool(get(s.props, "allowBlobPublicAccess")), "allowBlobPublicAccess")
    yield Fact("store.cmk", get(s.props, "encryption", "keySource") == "Microsoft.Keyvault", "encryption.keySource")
    https = get(s.props, "enableHttpsTrafficOnly", default=True) is not False
    tls = TLS.get(str(get(s.props, "minimumTlsVersion", default="TLS1_0")), 1.0)
    yield Fact("store.tls_only", https and tls >= 1.2, f"enableHttpsTrafficOnly {https}, minimumTlsVersion {get(s.props, 'minimumTlsVersion')}")
    yield Fact("store.shared_keys", get(s.props, "allowSharedKeyAccess") is not False, "allowSharedKeyAccess")
    yield Fact("stateful", True)
    yield from _region(s)
    yield labels_fact(get(s.props, "tags", default={}) or {}, "tags")


def container(s: Subject) -> Iterator[Fact]:
    access = get(s.props, "publicAccess", default="None")
    yield Fact("store.public", access not in ("None", None), f"publicAccess {access}")
    yield Fact("stateful", True)


def blob_service(s: Subject) -> Iterator[Fact]:
    yield Fact("store.versioning", bool(get(s.props, "isVersioningEnabled")), "isVersioningEnabled")


def managed_cluster(s: Subject) -> Iterator[Fact]:
    access = get(s.props, "apiServerAccessProfile", default={})
    cidrs = [] if get(access, "enablePrivateCluster") else list(get(access, "authorizedIPRanges", default=[]) or ["0.0.0.0/0"])
    yield Fact("cluster.api_public", cidrs, "apiServerAccessProfile")
    yield Fact("cluster.secrets_encryption", bool(get(s.props, "securityProfile", "azureKeyVaultKms", "enabled")), "securityProfile.azureKeyVaultKms")
    local = get(s.props, "disableLocalAccounts") is not True or get(s.props, "enableRBAC", default=True) is False or not get(s.props, "aadProfile")
    yield Fact("cluster.local_auth", local, "disableLocalAccounts / enableRBAC / aadProfile")
    yield Fact("cluster.network_policy", bool(get(s.props, "networkProfile", "networkPolicy")), "networkProfile.networkPolicy")
    wi = bool(get(s.props, "securityProfile", "workloadIdentity", "enabled")) and bool(get(s.props, "oidcIssuerProfile", "enabled"))
    yield Fact("cluster.workload_identity", wi, "securityProfile.workloadIdentity / oidcIssuerProfile")
    yield Fact("cluster.version", str(get(s.props, "kubernetesVersion", default="")), "kubernetesVersion")
    yield Fact("stateful", True)
    location = str(get(s.props, "location", default="")).lower().replace(" ", "")
    for profile in get(s.props, "agentPoolProfiles", default=[]) or []:
        yield from _gpu_pool(profile)
        yield _capacity(profile, location)
    yield control_plane("azure", location, paid=str(get(s.props, "sku", "tier", default="Free")) != "Free")
    yield from _region(s)
    yield labels_fact(get(s.props, "tags", default={}) or {}, "tags")


def agent_pool(s: Subject) -> Iterator[Fact]:
    yield from _gpu_pool(s.props)
    yield _capacity(s.props, "")  # an agent pool carries no location: priced at the reference region


def vault(s: Subject) -> Iterator[Fact]:
    purge = bool(get(s.props, "properties", "enablePurgeProtection"))
    yield Fact("vault.purge_protection", purge, "properties.enablePurgeProtection")
    yield Fact("stateful", True)
    yield from _region(s)
    yield labels_fact(get(s.props, "tags", default={}) or {}, "tags")


def vault_key(s: Subject) -> Iterator[Fact]:
    actions = [get(a, "action", "type") for a in get(s.props, "properties", "rotationPolicy", "lifetimeActions", default=[]) or []]
    yield Fact("key.rotation", any(str(a).lower() == "rotate" for a in actions), "properties.rotationPolicy")
    yield Fact("stateful", True)


def role_assignment(s: Subject) -> Iterator[Fact]:
    role = str(get(s.props, "roleDefinitionId", default="")).rsplit("/", 1)[-1]
    yield Fact("iam.role", FORBIDDEN_ROLES.get(role, role), "roleDefinitionId")
    scope = str(get(s.props, "scope", default=""))
    if scope.count("/") <= 2:
        yield Fact("iam.broad_scope", True, f"scope {scope}")


def nsg_rules(rules: Sequence[Any]) -> list[int | str]:
    out: list[tuple[Any, Any, Any, list[str]]] = []
    for r in rules:
        props = get(r, "properties", default=r)
        if get(props, "direction") != "Inbound" or get(props, "access") != "Allow":
            continue
        sources = [get(props, "sourceAddressPrefix")] + list(get(props, "sourceAddressPrefixes", default=[]) or [])
        ports = [get(props, "destinationPortRange")] + list(get(props, "destinationPortRanges", default=[]) or [])
        for port in [p for p in ports if p]:
            low, _, high = str(port).partition("-")
            if low == "*":
                out.append((None, None, "*", [str(x) for x in sources if x]))
            else:
                out.append((low, high or low, get(props, "protocol"), [str(x) for x in sources if x]))
    return world_open_ports(out)


def nsg(s: Subject) -> Iterator[Fact]:
    yield Fact("firewall.world_open", nsg_rules(get(s.props, "securityRules", default=[]) or []), "securityRules")


def security_rule(s: Subject) -> Iterator[Fact]:
    yield Fact("firewall.world_open", nsg_rules([s.props]), "sourceAddressPrefix")


def afd_domain(s: Subject) -> Iterator[Fact]:
    yield Fact("lb.tls_policy", str(get(s.props, "tlsSettings", "minimumTlsVersion", default="TLS12")), "tlsSettings.minimumTlsVersion")


def located(s: Subject) -> Iterator[Fact]:
    yield from _region(s)


READERS = {
    "azure-native:storage:StorageAccount": storage_account,
    "azure-native:storage:BlobContainer": container,
    "azure-native:storage:BlobServiceProperties": blob_service,
    "azure-native:containerservice:ManagedCluster": managed_cluster,
    "azure-native:containerservice:AgentPool": agent_pool,
    "azure-native:keyvault:Vault": vault,
    "azure-native:keyvault:Key": vault_key,
    "azure-native:authorization:RoleAssignment": role_assignment,
    "azure-native:network:NetworkSecurityGroup": nsg,
    "azure-native:network:SecurityRule": security_rule,
    "azure-native:cdn:AFDCustomDomain": afd_domain,
    "azure-native:resources:ResourceGroup": located,
    "azure-native:network:VirtualNetwork": located,
}

AUDIT_CATEGORIES = {"kube-audit", "kube-audit-admin"}


def aks_diagnostics(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """AKS keeps control-plane logs through a diagnostic setting on the cluster."""
    logged: set[str] = set()
    for s in subjects:
        if s.type == "azure-native:monitor:DiagnosticSetting":
            categories = {str(get(entry, "category")) for entry in get(s.props, "logs", default=[]) or [] if get(entry, "enabled")}
            if AUDIT_CATEGORIES & categories and "kube-apiserver" in categories:
                logged.update(s.property_dependencies.get("resourceUri", []))
    for s in subjects:
        if s.type == "azure-native:containerservice:ManagedCluster":
            yield s, Fact("cluster.control_plane_logs", s.urn in logged, "no diagnostic setting with kube-apiserver and kube-audit")


NIC_CLUSTER_POLICY = "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy"


def aks_pool_fabric(subjects: Sequence[Subject]) -> Iterator[tuple[Subject, Fact]]:
    """An agent pool of two or more ND machines (InfiniBand NICs) is a multi-node training pool:
    its NICs get a driver and reach pods (``rdma/ib``) only through NVIDIA's Network Operator in
    its cluster (a NicClusterPolicy beside the pool, under the same parent), and a scale set over
    several zones has a placement group, so an InfiniBand network, per zone."""
    operated = {s.parent for s in subjects if s.type == NIC_CLUSTER_POLICY}
    for s in subjects:
        if s.type != "azure-native:containerservice:AgentPool":
            continue
        machine = str(get(s.props, "vmSize", default=""))
        high = max(int(get(s.props, "maxCount", default=0) or 0), int(get(s.props, "count", default=0) or 0))
        if fabric_of("azure", machine) != "infiniband" or high < 2:
            continue
        zones = get(s.props, "availabilityZones", default=[]) or []
        if s.parent not in operated:
            yield s, Fact("pool.fabric", False, f"{machine} has InfiniBand; no NicClusterPolicy in its cluster gives the nodes a driver and rdma/ib")
        elif len(zones) > 1:
            yield s, Fact("pool.fabric", False, f"InfiniBand joins one placement group, and a scale set has one per zone; availabilityZones names {len(zones)}")
        else:
            yield s, Fact("pool.fabric", True, "InfiniBand through the Network Operator, one scale set in one zone or none")


STACK_READERS: list[Any] = [aks_diagnostics, aks_pool_fabric]

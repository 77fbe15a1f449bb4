"""What Azure receives, finding by finding of ../shared/reviews/azure.md (issue 14): each test
reads the recorded resources of a preview (or the validator's answer) and names the finding it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_cli
from topoform.preview import Recording, record

ADMIN = "servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"
GROUP = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"


def _topology(tmp_path: Path, pools: str, *, extra: str = "", site: str = "") -> Path:
    path = tmp_path / "z.topology.yaml"
    path.write_text(
        "name: zt\nenvironment: dev\nlabels: {owner: ml}\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  z: {{provider: azure, region: eastus2, admins: ['{ADMIN}']{site}}}\n"
        f"clusters:\n  c: {{site: z, node_pools: {{{pools}}}}}\n" + extra
    )
    return path


def _refused(path: Path) -> str:
    result = run_cli("validate", str(path))
    assert result.code == 2, result.out
    assert "Traceback" not in result.err
    return result.err


def _cluster(rec: Recording) -> dict[str, Any]:
    (cluster,) = rec.by_type("azure-native:containerservice:ManagedCluster")
    return cluster


def _pools(rec: Recording) -> dict[str, dict[str, Any]]:
    return {p["inputs"]["agentPoolName"]: p["inputs"] for p in rec.by_type("azure-native:containerservice:AgentPool")}


# ------------------------------------------------------------------ D2 the system pool is never spot


def test_the_system_pool_has_a_node_system_pods_can_use(tmp_path: Path) -> None:
    """Review of issue 14: AKS refuses a system pool of 0 nodes; a hard taint keeps system pods off it."""
    pools = "system: {instance: cpu-4x16, min: 0, max: 2}, batch: {instance: cpu-8x32, min: 1, max: 4}"
    assert "clusters.c.node_pools.system.min: AKS runs system pods on pool 'system', which needs at least one node" in _refused(_topology(tmp_path, pools))
    pools = "system: {instance: cpu-4x16, min: 1, max: 2, taints: {dedicated: {value: x}}}, batch: {instance: cpu-8x32, min: 1, max: 4}"
    assert "clusters.c.node_pools.system.taints.dedicated: AKS runs system pods on pool 'system'" in _refused(_topology(tmp_path, pools))


def test_a_spot_system_pool_is_refused(tmp_path: Path) -> None:
    """D2: "A Spot node pool can't be a default node pool" (AKS); it was accepted."""
    err = _refused(_topology(tmp_path, "system: {instance: cpu-4x16, min: 1, max: 2, spot: true}"))
    assert "clusters.c.node_pools.system.spot: AKS runs system pods on pool 'system', and a spot pool cannot be the system pool" in err
    # spot CPU capacity in another pool is fine: the system pool stays regular
    rec = record(str(_topology(tmp_path, "system: {instance: cpu-4x16, min: 1, max: 2}, batch: {instance: cpu-8x32, min: 0, max: 4, spot: true}")), stack="dev")
    (system,) = _cluster(rec)["inputs"]["agentPoolProfiles"]
    assert system["mode"] == "System" and system["scaleSetPriority"] == "Regular"
    assert _pools(rec)["batch"]["scaleSetPriority"] == "Spot"


# ------------------------------------------------------------------ F1 spot GPUs are advertised


def test_the_device_plugin_runs_on_spot_gpu_nodes_and_the_pack_says_what_workloads_need(tmp_path: Path) -> None:
    """F1: AKS taints spot nodes with kubernetes.azure.com/scalesetpriority; the device plugin
    did not tolerate it, so spot GPUs were never advertised."""
    path = _topology(
        tmp_path,
        "system: {instance: cpu-4x16, min: 1, max: 2}, h100: {gpu: {type: H100, count: 8}, min: 0, max: 2, spot: true, taints: {team: {value: vision, effect: NoSchedule}}}",
    )
    rec = record(str(path), stack="dev")
    taints = _pools(rec)["h100"]["nodeTaints"]
    assert {"kubernetes.azure.com/scalesetpriority=spot:NoSchedule", "team=vision:NoSchedule"} <= set(taints)
    (plugin,) = rec.by_type("kubernetes:apps/v1:DaemonSet")
    # every taint: AKS's spot taint, the GPU taint and the pool's own (GPUs nobody advertises serve no pod)
    assert plugin["inputs"]["spec"]["template"]["spec"]["tolerations"] == [{"operator": "Exists"}]
    # pods of topoform's namespaces tolerate it by default (AKS runs PodTolerationRestriction)
    for ns in rec.by_type("kubernetes:core/v1:Namespace"):
        defaults = json.loads(ns["inputs"]["metadata"]["annotations"]["scheduler.alpha.kubernetes.io/defaultTolerations"])
        assert defaults == [{"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}]
    # pods elsewhere need the Azure-only toleration themselves: the portability rule says so
    result = run_cli("check", str(path), "--json")
    assert result.code == 0, result.err
    findings = [v for v in json.loads(result.out)["violations"] if v["policy"] == "no-cloud-only-taints"]
    assert len(findings) == 1 and "kubernetes.azure.com/scalesetpriority" in findings[0]["message"] and findings[0]["enforcement"] == "advisory"


# ------------------------------------------------------------------ F3 zones reach the agent pools


def test_azure_zones_reach_the_agent_pools(tmp_path: Path) -> None:
    """F3: overrides.azure.zones was validated, then ignored."""
    rec = record(
        str(_topology(tmp_path, "system: {instance: cpu-4x16, min: 1, max: 2, overrides: {azure: {zones: ['1', '2', '3']}}}, a100: {gpu: {type: A100-80GB}, min: 0, max: 2, overrides: {azure: {zones: ['2']}}}")),
        stack="dev",
    )
    cluster = _cluster(rec)
    assert cluster["inputs"]["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"]
    assert "agentPoolProfiles[0].availabilityZones" in cluster["options"]["ignoreChanges"]  # create-only: the system pool keeps its zones
    assert _pools(rec)["a100"]["availabilityZones"] == ["2"]
    (pool,) = rec.by_type("azure-native:containerservice:AgentPool")
    # AKS cannot change a pool's zones: new zones replace the pool (deleted first: one name)
    assert pool["options"]["deleteBeforeReplace"] is True and pool["options"]["replaceOnChanges"] == ["availabilityZones", "capacityReservationGroupID"]


# ------------------------------------------------------------------ F4 teams get a kubeconfig


def test_team_groups_may_fetch_a_kubeconfig(prod_recording: Recording) -> None:
    """F4: team members had RoleBindings but no role to list the cluster's user credentials."""
    (cluster,) = prod_recording.by_type("azure-native:containerservice:ManagedCluster")
    assignments = [a["inputs"] for a in prod_recording.by_type("azure-native:authorization:RoleAssignment") if a["inputs"]["principalId"] == GROUP]
    assert len(assignments) == 1
    (team,) = assignments
    assert team["principalType"] == "Group" and team["roleDefinitionId"].endswith("/4abbcc35-e782-43d8-92c5-2d3f1bd2253f")
    assert "ManagedCluster" in team["scope"] and team["scope"].endswith("/" + cluster["inputs"]["resourceName"])  # the cluster, nothing wider


# ------------------------------------------------------------------ D5 an apex domain


def test_a_public_endpoint_on_an_apex_domain_gets_an_alias_record(tmp_path: Path) -> None:
    """D5: a CNAME was written at the zone's apex, which DNS forbids."""
    endpoint = (
        "endpoints:\n  web: {cluster: c, service: {namespace: web, name: web, port: 8080}, exposure: public, domain: DOMAIN, dns_zone: acme.example, "
        "allowed_cidrs: [203.0.113.0/24], overrides: {azure: {dns_resource_group: dns-rg}}}\n"
    )
    pools = "system: {instance: cpu-4x16, min: 1, max: 2}"
    apex = {r["name"]: r["inputs"] for r in record(str(_topology(tmp_path, pools, extra=endpoint.replace("DOMAIN", "acme.example"))), stack="dev").by_type("azure-native:dns:RecordSet")}
    (answer,) = [r for name, r in apex.items() if name.endswith("-dns")]
    assert answer["relativeRecordSetName"] == "@" and answer["recordType"] == "A" and "cnameRecord" not in answer
    assert "AFDEndpoint" in answer["targetResource"]["id"] and answer["targetResource"]["id"].endswith("/zt-web-afd-endpoint")
    sub = {r["name"]: r["inputs"] for r in record(str(_topology(tmp_path, pools, extra=endpoint.replace("DOMAIN", "web.acme.example"))), stack="dev").by_type("azure-native:dns:RecordSet")}
    (answer,) = [r for name, r in sub.items() if name.endswith("-dns")]
    assert answer["relativeRecordSetName"] == "web" and answer["recordType"] == "CNAME"


# ------------------------------------------------------------------ U2, U4


def test_the_origin_ip_grants_and_the_device_plugin_image_is_released(tmp_path: Path) -> None:
    """U2: the cloud provider lists the IP's resource group, which needs read there (AKS's guide
    grants Network Contributor on the group, which also holds the VNet and the WAF policy).
    U4: v0.20.1 of the device plugin has no confirmed tag."""
    endpoint = (
        "endpoints:\n  web: {cluster: c, service: {namespace: web, name: web, port: 8080}, exposure: public, domain: web.acme.example, "
        "allowed_cidrs: [203.0.113.0/24], overrides: {azure: {dns_resource_group: dns-rg}}}\n"
    )
    rec = record(str(_topology(tmp_path, "system: {instance: cpu-4x16, min: 1, max: 2}, a100: {gpu: {type: A100-80GB}, min: 0, max: 1}", extra=endpoint)), stack="dev")
    grants = {a["name"].rsplit("-", 2)[-2] + "-" + a["name"].rsplit("-", 1)[-1]: a["inputs"] for a in rec.by_type("azure-native:authorization:RoleAssignment") if "-ip-" in a["name"]}
    # join the IP (Network Contributor on the IP alone), list the group's IPs (Reader on the group): never write access to the group
    assert grants["ip-grant"]["roleDefinitionId"].endswith("/4d97b98b-1d4f-4787-a291-c67834d212e7") and "publicIPAddresses" in grants["ip-grant"]["scope"] or "PublicIPAddress" in grants["ip-grant"]["scope"]
    assert grants["group-reader"]["scope"].endswith("/resourceGroups/zt-c-rg") and grants["group-reader"]["roleDefinitionId"].endswith("/acdd72a7-3385-48ef-bd42-f606fba81ae7")
    (plugin,) = rec.by_type("kubernetes:apps/v1:DaemonSet")
    assert plugin["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"


# ------------------------------------------------------------------ S3 vaults, encryption at host; C1 names


def test_vault_names_are_readable_hashed_and_kept(prod_recording: Recording, tmp_path: Path) -> None:
    vaults = {v["name"]: v["inputs"] for v in prod_recording.by_type("azure-native:keyvault:Vault")}
    # C1: a vault's stable name is readable and carries one hash (no repeated one), and never changes for a vault made before
    for name, vault in vaults.items():
        parts = vault["vaultName"].split("-")
        assert len(parts) == len(set(parts)), vault["vaultName"]
    # names are global: even one that fits carries a hash of the whole
    rec = record(str(_topology(tmp_path, "system: {instance: cpu-4x16, min: 1, max: 2}")), stack="dev")
    (short,) = [v["inputs"] for v in rec.by_type("azure-native:keyvault:Vault")]
    assert len(short["vaultName"]) <= 24 and len(short["vaultName"].rsplit("-", 1)[-1]) == 6
    for vault in prod_recording.by_type("azure-native:keyvault:Vault"):
        assert "vaultName" in vault["options"]["ignoreChanges"]


def test_node_pools_encrypt_at_host_unless_the_topology_says_otherwise(tmp_path: Path) -> None:
    pools = "system: {instance: cpu-4x16, min: 1, max: 2}, a100: {gpu: {type: A100-80GB}, min: 0, max: 1}"
    rec = record(str(_topology(tmp_path, pools)), stack="dev")
    cluster = _cluster(rec)
    assert cluster["inputs"]["agentPoolProfiles"][0]["enableEncryptionAtHost"] is True
    assert _pools(rec)["a100"]["enableEncryptionAtHost"] is True
    # create-only in AKS: pools made before keep theirs rather than failing the update
    assert "agentPoolProfiles[0].enableEncryptionAtHost" in cluster["options"]["ignoreChanges"]
    assert "enableEncryptionAtHost" in rec.by_type("azure-native:containerservice:AgentPool")[0]["options"]["ignoreChanges"]
    path = _topology(tmp_path, pools)
    path.write_text(path.read_text().replace("c: {site: z,", "c: {site: z, overrides: {azure: {encryption_at_host: false}},"))
    assert _pools(record(str(path), stack="dev"))["a100"]["enableEncryptionAtHost"] is False


# ------------------------------------------------------------------ S1 only this Front Door profile


def test_front_door_origins_admit_only_their_profiles_requests(tmp_path: Path) -> None:
    """S1: the origin admitted the AzureFrontDoor.Backend tag, i.e. every Front Door in Azure.
    Now a layer-7 Cilium policy (ACNS) admits requests carrying this profile's X-Azure-FDID, on
    the primary's cluster and on the failover origin's, and the health path for probes."""
    (tmp_path / "fd.topology.yaml").write_text(
        "name: fd\nenvironment: dev\nlabels: {owner: ml}\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  z: {{provider: azure, region: eastus2, admins: ['{ADMIN}']}}\n"
        f"  y: {{provider: azure, region: westus2, admins: ['{ADMIN}'], network: {{cidr: 10.40.0.0/16}}}}\n"
        "clusters:\n"
        "  c: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  d: {site: y, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "  e: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "endpoints:\n"
        "  web: {cluster: c, failover: d, service: {namespace: web, name: web, port: 8080}, exposure: public, domain: web.acme.example, "
        "allowed_cidrs: [203.0.113.0/24], health_check: {path: /healthz}, overrides: {azure: {dns_resource_group: dns-rg}}}\n"
        "  inner: {cluster: e, service: {namespace: web, name: inner, port: 9000}, exposure: internal}\n"
    )
    rec = record(str(tmp_path / "fd.topology.yaml"), stack="dev")
    (profile,) = rec.by_type("azure-native:cdn:Profile")
    policies = rec.by_type("kubernetes:cilium.io/v2:CiliumNetworkPolicy")
    assert sorted(p["provider"].split("::")[-1] for p in policies) == ["fd-c-k8s", "fd-d-k8s"]  # primary and failover origin
    for policy in policies:
        (rule,) = policy["inputs"]["spec"]["ingress"]
        assert "fromEntities" not in rule and "fromEndpoints" not in rule  # every peer: the load balancer's traffic too
        (port,) = rule["toPorts"]
        assert port["ports"] == [{"port": "8080", "protocol": "TCP"}]
        (fdid,) = port["rules"]["http"][0]["headers"]
        assert fdid.startswith("X-Azure-FDID: ") and len(fdid.split(": ")[1]) == 36  # the profile's ID, "Name: value" (one space)
        assert port["rules"]["http"][1] == {"method": "^(GET|HEAD)$", "path": "^/healthz$"}
    # no L4 allow beside it (it would admit every request); other endpoints keep theirs
    allows = {p["name"] for p in rec.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if p["name"].endswith("-allow")}
    assert allows == {"fd-inner-allow"}
    # the clusters serving origins run layer-7 policy (ACNS); the others do not
    networking = {c["name"]: c["inputs"]["networkProfile"].get("advancedNetworking") for c in rec.by_type("azure-native:containerservice:ManagedCluster")}
    assert networking["fd-c-aks"] == networking["fd-d-aks"] == {"enabled": True, "observability": {"enabled": False}, "security": {"enabled": True, "advancedNetworkPolicies": "L7"}}
    assert networking["fd-e-aks"] is None
    assert profile["name"] == "fd-web-afd"
    # each policy waits for its namespace, the failover origin's in the other cluster included
    (secondary,) = [p for p in policies if p["provider"].endswith("fd-d-k8s")]
    assert any(d.endswith("::fd-d-ns-web") for d in secondary["options"]["dependsOn"])
    # an empty profile ID would match any header value: refused
    import pulumi
    import pytest

    from topoform.providers.azure.endpoint import _guid

    with pytest.raises(pulumi.RunError, match="profile ID"):
        _guid("")


def test_nothing_cancels_or_bypasses_the_front_door_check(tmp_path: Path) -> None:
    """Review of S1: a second endpoint on the origin's pods and port would allow the port (the
    layer-7 rule then has no effect); a health path of / would open the site to any prober."""
    base = (
        "name: fd\nenvironment: dev\nlabels: {owner: ml}\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  z: {{provider: azure, region: eastus2, admins: ['{ADMIN}']}}\n"
        "clusters:\n  c: {site: z, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}}}\n"
        "endpoints:\n"
        "  web: {cluster: c, service: {namespace: web, name: web, port: 8080}, exposure: public, domain: web.acme.example, "
        "allowed_cidrs: [203.0.113.0/24], HEALTH overrides: {azure: {dns_resource_group: dns-rg}}}\n"
    )
    path = tmp_path / "fd.topology.yaml"
    path.write_text(base.replace("HEALTH ", "") + "  inner: {cluster: c, service: {namespace: web, name: web, port: 8080}, exposure: internal}\n")
    assert "endpoints.inner.service: the same pods and port as endpoint 'web', a Front Door origin" in _refused(path)
    path.write_text(base.replace("HEALTH ", "") + "  inner: {cluster: c, service: {namespace: web, name: web, port: 9090}, exposure: internal}\n")
    assert run_cli("validate", str(path)).code == 0  # another port of the same pods is fine
    path.write_text(base.replace("HEALTH ", "health_check: {path: /}, "))
    assert "endpoints.web.health_check.path: a Front Door origin serves its health path to any prober" in _refused(path)

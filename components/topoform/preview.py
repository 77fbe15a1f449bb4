"""The offline preview: run the real program under Pulumi's mocks and record every resource.

:func:`record` runs the Pulumi program in-process with a recording monitor (a
``MockMonitor`` that keeps each full ``RegisterResourceRequest``: type, name,
parent, provider, inputs and options) and mocks that invent deterministic IDs,
ARNs, endpoints and certificates, the way a provider would. No credentials, no
network, no secrets: where the program reads an unset secret it uses a
placeholder and says so in ``notices``. The result is the product's preview
(``topoform preview``) and the input of the offline policy check.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import copy
import gc
import json
import logging
import os
import re
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks
from pulumi.runtime import resource as _resource_runtime
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .naming import digest
from .program import OFFLINE_KEY
from .providers.aws.profile import zone_id_prefix

__all__ = ["GC_THRESHOLDS", "FakeCloud", "Recording", "RecordingMonitor", "fewer_collections", "record", "record_program"]

_SIG = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ACCOUNT = "123456789012"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "11111111-1111-1111-1111-111111111111"
PROJECT_NUMBER = "123456789012"
DEPLOYER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"
"""Who runs `pulumi up` in the offline preview (AWS): a role assumed by a CI job."""


@dataclass
class Recording:
    """Every resource the program registered, sorted by URN, plus the program's notices."""

    project: str
    stack: str
    resources: list[dict[str, Any]]
    notices: list[str] = field(default_factory=list)
    wire: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """Per URN, the registration as the engine received it (protobuf properties, property
    dependencies): what the policy analyzer is fed, as `pulumi preview` would."""

    def to_json(self) -> str:
        return json.dumps({"project": self.project, "stack": self.stack, "resources": self.resources, "notices": self.notices}, indent=2, sort_keys=True) + "\n"

    def by_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def get(self, urn: str) -> dict[str, Any]:
        for r in self.resources:
            if r["urn"] == urn:
                return r
        raise KeyError(urn)


def _plain(value: Any) -> Any:
    """Wire values -> JSON: secrets masked, resource references as URNs, integral floats as ints."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET:
            return "[secret]"
        if sig == _RESOURCE:
            return value.get("urn", "")
        if sig is not None:
            return {k: _plain(v) for k, v in value.items() if k != _SIG}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return "[unknown]"
    return value


class RecordingMonitor(mocks.MockMonitor):
    """A mock resource monitor that records each registration with its options."""

    def __init__(self, fakes: mocks.Mocks) -> None:
        super().__init__(fakes)
        self.records: list[dict[str, Any]] = []
        self.wire: dict[str, dict[str, Any]] = {}
        self._aliases: dict[str, list[str]] = {}
        self.type_aliases: dict[tuple[str, str, str], list[str]] = {}
        """Per (type, name, parent's type and name): the SDK's own type aliases, stripped
        before registration by :func:`_strip_type_aliases` and recorded here instead."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Like the engine: children of the root stack carry no `pulumi:pulumi:Stack$` prefix.
        if parent and parent.split("::")[2] == "pulumi:pulumi:Stack":
            parent = ""
        return super().make_urn(parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True) if request.HasField("object") else {}
        properties = type(request.object)()
        properties.CopyFrom(request.object)
        self.wire[urn] = {
            "properties": properties,
            "provider": request.provider,
            "property_dependencies": {k: list(v.urns) for k, v in request.propertyDependencies.items()},
        }
        self.records.append(
            {
                "urn": urn,
                "type": request.type,
                "name": request.name,
                "custom": request.custom,
                "parent": request.parent,
                "provider": "::".join(request.provider.split("::")[:4]) if request.provider else "",
                "inputs": _plain(inputs),
                "options": {
                    "protect": request.protect if request.HasField("protect") else False,
                    "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else False,
                    "aliases": self._record_aliases(urn, request),
                    "dependsOn": sorted(set(request.dependencies)),
                    "deleteBeforeReplace": request.deleteBeforeReplace,
                    "ignoreChanges": sorted(request.ignoreChanges),
                    "replaceOnChanges": sorted(request.replaceOnChanges),
                    "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
                },
            }
        )
        return response

    def _record_aliases(self, urn: str, request: Any) -> list[str]:
        """The resource's own aliases plus those it inherits from its parent's, as the engine
        computes them: a child whose name starts with its parent's name takes the parent's old
        name in its own old name."""
        own = self._alias_urns(request)
        parent_name = request.parent.split("::")[-1] if request.parent else ""
        inherited = []
        for parent_alias in self._aliases.get(request.parent, []):
            _, _, chain, old_parent_name = parent_alias.split("::", 3)
            old_names = [request.name] + [a.split("::")[-1] for a in own]
            for name in old_names:
                if parent_name and name.startswith(parent_name):
                    name = old_parent_name + name[len(parent_name) :]
                inherited.append("::".join([parent_alias.split("::", 2)[0], parent_alias.split("::", 2)[1], f"{chain}${request.type}", name]))
        aliases = sorted(set(own) | set(inherited))
        self._aliases[urn] = aliases
        return aliases

    def _alias_urns(self, request: Any) -> list[str]:
        urns = list(request.aliasURNs)
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        # Type-only aliases taken off before registration: the URNs their specs would give.
        for type_ in self.type_aliases.get((request.type, request.name, _type_and_name(request.parent)), []):
            urns.append(self.make_urn(request.parent, type_, request.name))
        return urns

    def strip_type_aliases(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        """A stack transformation: take off the aliases that only name another type (the
        azure-native SDK gives each resource one per past API version, up to 113) and note them
        for :meth:`_alias_urns`. The SDK turns every alias into a URN through outputs before
        registering, ~4 ms a resource; here no state exists for any alias to match, and the
        recording lists the same alias URNs either way."""
        aliases = args.opts.aliases or []
        types = [a.type_ for a in aliases if isinstance(a, pulumi.Alias) and _type_only(a)]
        if not types:
            return None
        parent = args.opts.parent or pulumi.runtime.get_root_resource()
        parent_key = f"{parent._type}::{parent._name}" if parent is not None else ""
        self.type_aliases[(args.type_, args.name, parent_key)] = [str(t) for t in types]
        opts = copy.copy(args.opts)
        opts.aliases = [a for a in aliases if not _type_only(a)] or None
        return pulumi.ResourceTransformationResult(args.props, opts)


def _type_only(alias: Any) -> bool:
    """An alias that names another type and nothing else (name, parent, stack, project as is)."""
    if not isinstance(alias, pulumi.Alias) or not isinstance(alias.type_, str):
        return False
    unset: list[Any] = [alias.name, alias.parent, alias.stack, alias.project]
    return all(v is ... for v in unset)


def _type_and_name(urn: str) -> str:
    """``<type>::<name>`` of the resource a URN names (its last type and its name)."""
    if not urn:
        return ""
    _, _, chain, name = urn.split("::", 3)
    return f"{chain.split('$')[-1]}::{name}"


class FakeCloud(mocks.Mocks):
    """Mocks that answer like the providers would, deterministically.

    IDs, ARNs, endpoints, certificates and identity IDs are derived from each
    resource's type and name, so two runs give byte-identical recordings.
    """

    def __init__(self, dns_zones: list[str] | None = None, node_groups: dict[str, dict[str, int]] | None = None) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self.dns_zones = sorted(set(dns_zones or []))
        """DNS zones the program may look up: the preview assumes they exist."""
        self.node_groups = dict(node_groups or {})
        """EKS clusters that already exist (name -> each pool's current size): none, as in a
        fresh account, unless a test says otherwise."""

    # -- helpers ---------------------------------------------------------------------

    def _provider_inputs(self, ref: str | None) -> dict[str, Any]:
        if not ref:
            return {}
        return self.providers.get(ref.split("::")[3] if ref.count("::") >= 4 else ref, {})

    def _region(self, ref: str | None) -> str:
        inputs = self._provider_inputs(ref)
        return str(inputs.get("region") or inputs.get("location") or "us-east-1")

    # -- Mocks ------------------------------------------------------------------------

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        tag = digest(f"{args.typ}::{args.name}", 10)
        if args.typ.startswith("pulumi:providers:"):
            self.providers[args.name] = dict(args.inputs)
            return f"{args.name}-provider-id", state
        package = args.typ.split(":")[0]
        own_name = _AZURE_NAME_INPUT.get(args.typ)
        state.setdefault("name", state.get(own_name) or args.name if own_name else args.name)
        rid = f"{args.name}-{tag}"
        extra = _FAKES.get(args.typ)
        if extra is not None:
            state.update(extra(self, args, tag, state))
        if package == "aws":
            state.setdefault("arn", self._arn(args, state))
        elif package == "azure-native":
            rg = state.get("resourceGroupName", args.name)
            kind = args.typ.split(":")[-1]
            rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/Microsoft.{args.typ.split(':')[1]}/{kind}/{state['name']}"
            if kind == "ResourceGroup":
                rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{state.get('resourceGroupName', args.name)}"
        rid = str(state.pop("id", rid))  # providers whose IDs are paths (GCP KMS, say)
        return rid, state

    def _arn(self, args: mocks.MockResourceArgs, state: dict[str, Any]) -> str:
        """ARNs in each service's own format (global services have no region or account)."""
        service = args.typ.split(":")[1].split("/")[0]
        kind = args.typ.split(":")[-1]
        if service == "s3" and kind == "Bucket":
            return f"arn:aws:s3:::{state['bucket']}"
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT}:{kind[0].lower() + kind[1:]}/{state['name']}"
        if service == "cloudwatch" and kind == "LogGroup":
            return f"arn:aws:logs:{self._region(args.provider)}:{ACCOUNT}:log-group:{state['name']}"
        resource = f"key/{state['keyId']}" if service == "kms" and kind == "Key" else f"{kind.lower()}/{state['name']}"
        return f"arn:aws:{service}:{self._region(args.provider)}:{ACCOUNT}:{resource}"

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        handler = _CALLS.get(args.token)
        if handler is None:
            return {}, []
        try:
            return handler(self, args), []
        except _Refused as e:  # the provider's answer, raised where the program invoked it
            return {}, [(e.field, str(e))]


class _Refused(Exception):
    """A look-up the cloud answers with an error (no such cluster, say)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# azure-native resources are named by one of their inputs; the output `name` echoes it.
_AZURE_NAME_INPUT = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:keyvault:Vault": "vaultName",
    "azure-native:keyvault:Key": "keyName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:storage:ManagementPolicy": "managementPolicyName",
    "azure-native:storage:BlobServiceProperties": "blobServicesName",
    "azure-native:containerservice:ManagedCluster": "resourceName",
    "azure-native:containerservice:AgentPool": "agentPoolName",
    "azure-native:network:VirtualNetwork": "virtualNetworkName",
    "azure-native:network:Subnet": "subnetName",
    "azure-native:managedidentity:UserAssignedIdentity": "resourceName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
}


def _eks_cluster(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    region = fc._region(args.provider)
    return {
        "endpoint": f"https://{tag.upper()}.gr7.{region}.eks.amazonaws.com",
        # EKS makes the cluster security group: the nodes' and the API's.
        "vpcConfig": {**(state.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{tag[:17]}"},
        "certificateAuthority": {"data": base64.b64encode(f"mock-ca-{tag}".encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{tag.upper()}"}]}],
    }


def _gke_cluster(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    n = int(tag[:4], 16)
    endpoints = dict(state.get("controlPlaneEndpointsConfig") or {})
    if "dnsEndpointConfig" in endpoints:
        endpoints["dnsEndpointConfig"] = {**endpoints["dnsEndpointConfig"], "endpoint": f"gke-{tag}.{state.get('location')}.gke.goog"}
    return {
        "controlPlaneEndpointsConfig": endpoints,
        "endpoint": f"10.{n % 250}.{(n // 250) % 250}.2",
        "masterAuth": {"clusterCaCertificate": base64.b64encode(f"mock-ca-{tag}".encode()).decode()},
        "selfLink": f"https://container.googleapis.com/v1/projects/{state.get('project', 'p')}/locations/{state.get('location')}/clusters/{state['name']}",
    }


def _gcp_self_id(kind: str) -> Callable[[FakeCloud, mocks.MockResourceArgs, str, dict[str, Any]], dict[str, Any]]:
    def fake(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
        if kind == "keyRing":
            return {"id": f"projects/{state.get('project')}/locations/{state.get('location')}/keyRings/{state['name']}"}
        if kind == "cryptoKey":
            return {"id": f"{state.get('keyRing')}/cryptoKeys/{state['name']}"}
        if kind == "account":
            project = state.get("project") or fc._provider_inputs(args.provider).get("project", "project")
            return {"email": f"{state.get('accountId')}@{project}.iam.gserviceaccount.com", "member": f"serviceAccount:{state.get('accountId')}@{project}.iam.gserviceaccount.com"}
        return {}

    return fake


def _uuid(tag: str) -> str:
    h = digest(tag, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _azure_identity(state: dict[str, Any]) -> dict[str, Any]:
    """Azure takes user-assigned identities as a list of IDs and returns a map of ID -> details."""
    identity = dict(state.get("identity") or {})
    ids = identity.get("userAssignedIdentities")
    if isinstance(ids, list):
        identity["userAssignedIdentities"] = {i: {"principalId": _uuid("p" + i), "clientId": _uuid("c" + i)} for i in ids}
    return {"identity": identity} if identity else {}


def _aks(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    region = state.get("location", "eastus")
    return {
        **_azure_identity(state),
        "privateFQDN": f"{state.get('dnsPrefix', args.name)}-{tag}.privatelink.{region}.azmk8s.io",
        "fqdn": f"{state.get('dnsPrefix', args.name)}-{tag}.hcp.{region}.azmk8s.io",
        "oidcIssuerProfile": {"enabled": True, "issuerURL": f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{_uuid(tag)}/"},
    }


def _identity(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"principalId": _uuid("p" + tag), "clientId": _uuid("c" + tag), "tenantId": TENANT}


def _vault(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    name = state.get("vaultName", args.name)
    props = dict(state.get("properties", {}))
    props["vaultUri"] = f"https://{name}.vault.azure.net/"
    return {"properties": props}


def _vault_key(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    uri = f"https://{state.get('vaultName', 'vault')}.vault.azure.net/keys/{state.get('keyName', args.name)}"
    return {"keyUri": uri, "keyUriWithVersion": f"{uri}/{tag}"}


def _replication_policy(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    policy = state.get("objectReplicationPolicyId")
    rules = [dict(rule, ruleId=rule.get("ruleId") or _uuid(f"rule{tag}{i}")) for i, rule in enumerate(state.get("rules", []))]
    return {"policyId": _uuid(f"policy{tag}") if policy in (None, "default") else policy, "rules": rules}


def _random_id(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    hexed = digest(f"random::{args.name}", 2 * int(state.get("byteLength", 4)))
    return {"hex": hexed, "dec": str(int(hexed, 16)), "b64Url": base64.urlsafe_b64encode(bytes.fromhex(hexed)).decode().rstrip("=")}


def _service_identity(fc: FakeCloud, args: mocks.MockResourceArgs, tag: str, state: dict[str, Any]) -> dict[str, Any]:
    agent = {"container.googleapis.com": "container-engine-robot", "storagetransfer.googleapis.com": "storage-transfer-service"}.get(str(state.get("service")), "gcp-sa")
    email = f"service-{PROJECT_NUMBER}@{agent}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}"}


_FAKES: dict[str, Callable[[FakeCloud, mocks.MockResourceArgs, str, dict[str, Any]], dict[str, Any]]] = {
    "random:index/randomId:RandomId": _random_id,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "aws:s3/bucket:Bucket": lambda fc, a, t, s: {"bucket": s.get("bucket") or f"{a.name}-{t[:7]}"},
    "azure-native:storage:StorageAccount": lambda fc, a, t, s: _azure_identity(s),
    "azure-native:storage:ObjectReplicationPolicy": _replication_policy,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:ec2/launchTemplate:LaunchTemplate": lambda fc, a, t, s: {"latestVersion": 1},
    # EKS names a managed node group's Auto Scaling group itself (eks-<node group>-<UUID>).
    "aws:eks/nodeGroup:NodeGroup": lambda fc, a, t, s: {"resources": [{"autoscalingGroups": [{"name": f"eks-{s.get('nodeGroupName') or a.name}-{_uuid(t)}"}]}]},
    "aws:kms/key:Key": lambda fc, a, t, s: {"keyId": _uuid(t)},
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:kms/keyRing:KeyRing": _gcp_self_id("keyRing"),
    "gcp:kms/cryptoKey:CryptoKey": _gcp_self_id("cryptoKey"),
    "gcp:serviceaccount/account:Account": _gcp_self_id("account"),
    "azure-native:containerservice:ManagedCluster": _aks,
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:keyvault:Vault": _vault,
    "azure-native:cdn:Profile": lambda fc, a, t, s: {"frontDoorId": _uuid(t)},
    "azure-native:keyvault:Key": _vault_key,
    "azure-native:network:PublicIPAddress": lambda fc, a, t, s: {"ipAddress": f"20.{int(t[:2], 16) % 250}.{int(t[2:4], 16)}.{int(t[4:6], 16) % 250 + 1}"},
}


def _zones(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    """A region's zones as an account sees them: names mapped to zone IDs in an order of the
    account's own (as in the oldest regions), and an opted-in Local Zone that sorts first;
    ``excludeZoneIds`` and ``filters`` applied as EC2's DescribeAvailabilityZones applies them."""
    region = fc._region(args.provider)
    prefix = zone_id_prefix(region) or region.replace("-", "")
    zones = [(f"{region}-lax-1a", f"{prefix}-lax1-az1", "opted-in")]
    zones += [(f"{region}{name}", f"{prefix}-az{i}", "opt-in-not-required") for name, i in zip("abcdef", (3, 6, 1, 4, 2, 5), strict=True)]
    excluded = set(args.args.get("excludeZoneIds") or [])
    wanted = {str(f["name"]): set(f["values"]) for f in args.args.get("filters") or []}
    zones = [z for z in zones if z[1] not in excluded and z[2] in wanted.get("opt-in-status", {z[2]})]
    return {"names": [z[0] for z in zones], "zoneIds": [z[1] for z in zones], "id": region}


def _instance_type_offerings(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    """Where EC2 offers the instance types asked for, by zone ID: an account in which the largest
    GPU machines (p-family) are not offered in its az1 and the g5s not in its az4, as happens,
    and everything else everywhere."""
    wanted = {str(v) for f in args.args.get("filters") or [] if f.get("name") == "instance-type" for v in f.get("values") or []}
    zones = _zones(fc, mocks.MockCallArgs("aws:index/getAvailabilityZones:getAvailabilityZones", {"filters": [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]}, args.provider))["zoneIds"]
    missing = (("p", "-az1"), ("g5.", "-az4"))
    pairs = [(t, z) for t in sorted(wanted) for z in zones if not any(t.startswith(family) and z.endswith(zone) for family, zone in missing)]
    return {"id": "offerings", "locationType": "availability-zone-id", "instanceTypes": [t for t, _ in pairs], "locations": [z for _, z in pairs], "locationTypes": ["availability-zone-id"] * len(pairs)}


def _node_groups(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    cluster = str(args.args.get("clusterName"))
    if cluster not in fc.node_groups:
        # What the provider reports for a cluster that does not exist (yet).
        raise _Refused("clusterName", f"listing EKS Node Groups: operation error EKS: ListNodegroups, https response error StatusCode: 404, ResourceNotFoundException: No cluster found for name: {cluster}.")
    return {"clusterName": cluster, "id": cluster, "names": [f"{pool}-{digest(cluster + pool, 8)}" for pool in fc.node_groups[cluster]]}


def _node_group(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    cluster, name = str(args.args.get("clusterName")), str(args.args.get("nodeGroupName"))
    pool = name.rsplit("-", 1)[0]
    size = fc.node_groups[cluster][pool]
    return {"clusterName": cluster, "nodeGroupName": name, "tags": {"topoform-pool": pool}, "scalingConfigs": [{"desiredSize": size, "minSize": 0, "maxSize": size}]}


def _aks_credentials(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    name = args.args.get("resourceName", "aks")
    config = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": f"https://{name}.privatelink.azmk8s.io:443", "certificate-authority-data": "bW9jaw=="}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"clusterUser_{name}"}}],
            "current-context": name,
            "users": [{"name": f"clusterUser_{name}", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin", "args": ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]}}}],
        },
        sort_keys=True,
    )
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(config.encode()).decode()}]}


def _gcp_zones(fc: FakeCloud, args: mocks.MockCallArgs) -> dict[str, Any]:
    return {
        "managedZones": [
            {"name": zone.replace(".", "-"), "dnsName": f"{zone}.", "project": args.args.get("project", ""), "managedZoneId": _uuid(zone), "visibility": "public"}
            for zone in fc.dns_zones
        ]
    }


# Route 53 health checkers' IPv4 ranges per region (ip-ranges.json, 2026-08-22).
_R53_CHECKERS = {
    "global": ["15.177.0.0/18"],
    "us-east-1": ["107.23.255.0/26", "54.243.31.192/26"],
    "us-west-1": ["54.183.255.128/26", "54.241.32.64/26"],
    "us-west-2": ["54.244.52.192/26", "54.245.168.0/26"],
    "eu-west-1": ["176.34.159.192/26", "54.228.16.0/26"],
    "ap-southeast-1": ["54.251.31.128/26", "54.255.254.192/26"],
    "ap-southeast-2": ["54.252.254.192/26", "54.252.79.128/26"],
    "ap-northeast-1": ["54.248.220.0/26", "54.250.253.192/26"],
    "sa-east-1": ["177.71.207.128/26", "54.232.40.64/26"],
}


def _ip_ranges(regions: list[str]) -> dict[str, Any]:
    blocks = sorted({c for r in regions for c in _R53_CHECKERS.get(r.lower(), [])})
    return {"cidrBlocks": blocks, "ipv6CidrBlocks": [], "createDate": "2026-08-22-21-17-05", "syncToken": 1787433425}


def _session_context(arn: str) -> dict[str, Any]:
    """IAM's answer for a session ARN: the role behind an assumed-role session, else the ARN."""
    m = re.fullmatch(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/(.+)", arn)
    if m is None:
        return {"arn": arn, "issuerArn": arn, "issuerName": arn.rsplit("/", 1)[-1]}
    partition, account, role, session = m.groups()
    return {"arn": arn, "issuerArn": f"arn:{partition}:iam::{account}:role/{role}", "issuerName": role, "sessionName": session}


_CALLS: dict[str, Callable[[FakeCloud, mocks.MockCallArgs], dict[str, Any]]] = {
    "gcp:dns/getManagedZones:getManagedZones": _gcp_zones,
    "aws:route53/getZone:getZone": lambda fc, a: {
        "name": a.args.get("name", ""),
        "zoneId": "Z" + digest(str(a.args.get("name")), 12).upper(),
        "id": "Z" + digest(str(a.args.get("name")), 12).upper(),
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:eks/getNodeGroups:getNodeGroups": _node_groups,
    # EKS's default add-on version depends on the day; the preview names what it stands for.
    "aws:eks/getAddonVersion:getAddonVersion": lambda fc, a: {
        "addonName": a.args.get("addonName"),
        "kubernetesVersion": a.args.get("kubernetesVersion"),
        "version": f"(EKS default for {a.args.get('kubernetesVersion')})",
        "id": a.args.get("addonName"),
    },
    "aws:eks/getNodeGroup:getNodeGroup": _node_group,
    # An existing subnet's zone: derived from its ID (the preview knows no real subnet).
    "aws:ec2/getSubnet:getSubnet": lambda fc, a: {
        "id": a.args.get("id", ""),
        "availabilityZoneId": f"{zone_id_prefix(fc._region(a.provider)) or 'zone'}-az{int(digest(str(a.args.get('id')), 4), 16) % 3 + 1}",
    },
    # The deployer: whoever runs `pulumi up`, here a role assumed by CI.
    "aws:index/getCallerIdentity:getCallerIdentity": lambda fc, a: {"accountId": ACCOUNT, "arn": DEPLOYER_SESSION, "userId": "AROAPREVIEW:ci"},
    "aws:iam/getSessionContext:getSessionContext": lambda fc, a: _session_context(str(a.args.get("arn", ""))),
    "aws:index/getPartition:getPartition": lambda fc, a: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:index/getIpRanges:getIpRanges": lambda fc, a: _ip_ranges([str(r) for r in a.args.get("regions") or list(_R53_CHECKERS)]),
    "gcp:organizations/getProject:getProject": lambda fc, a: {"number": "123456789012", "projectId": a.args.get("projectId", "project")},
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": lambda fc, a: {
        "emailAddress": "service-123456789012@gs-project-accounts.iam.gserviceaccount.com"
    },
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount": lambda fc, a: {
        "email": "project-123456789012@storage-transfer-service.iam.gserviceaccount.com"
    },
    "azure-native:authorization:getClientConfig": lambda fc, a: {"clientId": _uuid("client"), "objectId": _uuid("object"), "subscriptionId": SUBSCRIPTION, "tenantId": TENANT},
    "azure-native:containerservice:listManagedClusterUserCredentials": _aks_credentials,
}


@contextlib.contextmanager
def _no_source_positions() -> Iterator[None]:
    """Registrations without the declaring code's stack. The SDK walks and formats the whole
    Python stack of every resource (~15 frames deep in topoform's components, a fifth of the
    preview's time) so the engine can point at the line that declared it; the recording monitor
    has no use for it and records no positions, so the preview is the same without them."""
    saved = _resource_runtime._get_stack_trace
    _resource_runtime._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        _resource_runtime._get_stack_trace = saved


GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's thresholds while a program runs under the mocks (Python's are 700, 10, 10)."""


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cycles less often while the program registers its resources. The SDK allocates
    tens of thousands of short-lived objects per resource, few of them in cycles; at Python's
    default thresholds the collector runs every 700 allocations and re-walks the ever larger
    older generations, half the CPU time of a 6,456-resource preview (54 s, 28 s with these,
    and 2% more peak memory). The previous thresholds come back afterwards."""
    saved = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


class _Notices(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def record(
    topology: str,
    *,
    stack: str,
    project: str = "topoform",
    program: str | None = None,
    config: dict[str, str] | None = None,
    dns_zones: list[str] | None = None,
    node_groups: dict[str, dict[str, int]] | None = None,
) -> Recording:
    """Run the program for ``topology`` under the mocks and return what it registered.

    ``program`` is the Pulumi program file to run (the project's ``stacks/__main__.py``);
    without it the program function is called directly. Each call runs in a fresh
    context, so runs never share Pulumi's global state.
    """
    topology = os.path.abspath(topology)

    with fewer_collections():
        if dns_zones is None:
            from .loader import load_plan

            try:
                _, plan = load_plan(topology)
                dns_zones = sorted({e.spec["dns_zone"] for e in plan.endpoints.values() if "dns_zone" in e.spec})
            except Exception:  # noqa: BLE001 - the program reports invalid topologies itself
                dns_zones = []
        return record_program(program, stack=stack, project=project, config={"topoform:topology": topology, **(config or {})}, dns_zones=dns_zones, node_groups=node_groups)


def record_program(
    program: str | None,
    *,
    stack: str,
    project: str,
    config: dict[str, str] | None = None,
    dns_zones: list[str] | None = None,
    node_groups: dict[str, dict[str, int]] | None = None,
) -> Recording:
    """Run any Pulumi program file (``None``: topoform's own) under the mocks and return what it
    registered: how the examples, and programs that reuse topoform's components, are previewed."""

    def go() -> Recording:
        fakes = FakeCloud(dns_zones or [], node_groups)
        monitor = RecordingMonitor(fakes)
        notices = _Notices()
        logger = logging.getLogger(f"topoform.preview.{id(notices)}")
        logger.propagate = False
        logger.addHandler(notices)
        pulumi.runtime.settings.reset_options(project=project, stack=stack, preview=True)
        mocks.set_mocks(fakes, project=project, stack=stack, preview=True, monitor=monitor, logger=logger)
        pulumi.runtime.set_all_config(
            {
                f"topoform:{OFFLINE_KEY}": "true",
                "pulumi:disable-default-providers": '["*"]',
                **(config or {}),
            }
        )

        def body() -> None:
            pulumi.runtime.register_stack_transformation(monitor.strip_type_aliases)
            if program is not None:
                runpy.run_path(program, run_name="__main__")
            else:
                from .program import run

                run()

        with _no_source_positions(), fewer_collections():
            _sync_await(run_pulumi_func(body))
        resources = sorted(monitor.records, key=lambda r: str(r["urn"]))
        return Recording(project=project, stack=stack, resources=resources, notices=sorted(set(notices.messages)), wire=monitor.wire)

    return contextvars.Context().run(go)

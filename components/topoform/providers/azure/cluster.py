"""AzureGpuCluster: a private AKS cluster with Entra ID RBAC, KMS-encrypted secrets and GPU pools."""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure
import yaml

from ...kube import INFINIBAND_RESOURCE, device_plugin, infiniband_fabric, priority_config, priority_expander
from ...program import offline
from ...naming import digest, physical
from ...resources import GpuCluster, GpuClusterArgs
from .keys import GRANT_WAIT, ROLE_WAIT, role_assignment, vault_key, wait
from .profile import reservation_group, system_pool
from ...specs import NodePoolSpec, reservation_of
from ..base import api_networks

__all__ = ["AzureGpuCluster"]

CONTROL_PLANE_LOGS = ["kube-apiserver", "kube-audit-admin", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler", "guard"]
SPOT_TAINT_KEY = "kubernetes.azure.com/scalesetpriority"
SPOT_TAINT = f"{SPOT_TAINT_KEY}=spot:NoSchedule"
PRINCIPAL_TYPES = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}
RESERVATION_GRANT_WAIT = "600s"
"""AKS, capacity reservation groups: "It can take up to 60 minutes for the role assignment to
propagate"; a pool made before it has (a first `pulumi up`) fails and is made by the next run."""
RESERVATION_ACTIONS = [
    "Microsoft.Compute/capacityReservationGroups/read",
    "Microsoft.Compute/capacityReservationGroups/capacityReservations/read",
    "Microsoft.Compute/capacityReservationGroups/deploy/action",
]
"""What the cluster identity may do with a capacity reservation group it consumes: read it and its
reservations, and deploy scale sets into it ("Deploy a new VM/VMSS using Capacity Reservation
Group", Azure's Microsoft.Compute permissions). AKS's article grants Contributor on the group's
resource group instead, which the house never grants (README: capacity reservation groups)."""
RBAC_WAIT = "300s"
"""AKS: 'New role assignments can take up to five minutes to propagate and be updated by the
authorization server' (Azure Kubernetes Service docs, Entra ID authorization)."""
DNS_PREFIX_LIMIT = 54
"""AKS dnsPrefix: 1-54 letters, digits and hyphens, a letter or digit at each end."""


def dns_prefix(cluster_name: str) -> str:
    """The cluster's DNS prefix: its name when that fits (a change replaces the cluster)."""
    return physical(cluster_name, limit=DNS_PREFIX_LIMIT)


@dataclass(frozen=True)
class GroupSeen:
    """A capacity reservation group as `pulumi up` reads it: where it is, and what it holds."""

    subscription: str
    location: str
    zones: list[str]
    reservations: list[tuple[str, int, list[str]]]
    """Each reservation's VM size, reserved quantity and zones."""


def reservation_group_problems(group: GroupSeen, subscription: str, region: str, pool: NodePoolSpec) -> tuple[str | None, str | None]:
    """What stops a reservation step's pool (an error), or what to say of it (a warning). AKS
    makes a pool whose group cannot hold it anyway, "with a warning and no capacity reservation
    group" associated, and its nodes run unreserved at the full price."""
    if group.subscription.lower() != subscription.lower():
        return f"is in subscription {group.subscription}, not the cluster's ({subscription}): AKS pools use groups of their own subscription", None
    if group.location.replace(" ", "").lower() != region.lower():
        return f"is in {group.location}, not the cluster's region {region}", None
    zones = pool.get("zones") or []
    if group.zones and not zones:
        return f"has zones {', '.join(group.zones)}: name the step's zone", None
    if zones and not set(zones) <= set(group.zones):
        return f"has {'zones ' + ', '.join(group.zones) if group.zones else 'no zones (name none on the step)'}, not {', '.join(zones)}", None
    size = pool["machine_type"]
    held = sum(n for name, n, where in group.reservations if name.lower() == size.lower() and (not zones or set(zones) <= set(where)))
    if not held:
        return f"holds no {size} reservation{' in zone ' + ', '.join(zones) if zones else ''}: AKS cannot place the pool's nodes in it", None
    nodes = pool["capacity"].get("nodes", 0)
    if held < nodes:
        return None, f"reserves {held} {size}, fewer than the step's {nodes}: the rest run unreserved (over-allocated, outside the reservation's SLA)"
    return None, None


def _associated(cluster: str, key: str, pool: NodePoolSpec, got: str | None) -> None:
    """After AKS made a reservation step's pool: it must have kept the group (AKS makes a pool
    whose group cannot hold it "with a warning and no capacity reservation group" associated)."""
    if got is None:
        return  # not known yet (a preview)
    want = pool["capacity"]["ref"]
    if got.lower() != want.lower():
        raise pulumi.RunError(f"cluster {cluster}, pool {key}: AKS made the pool without capacity reservation group {want} (it reports {got or 'none'}); its nodes run unreserved: check the group's reservations and the cluster identity's role on it")


def _system_pool(pools: dict[str, NodePoolSpec]) -> str:
    return system_pool(k for k, p in pools.items() if "gpu_type" not in p)


def _taints(pool: NodePoolSpec) -> list[str]:
    taints = [f"{t['key']}={t['value']}:{t['effect']}" for t in pool["taints"]]
    if pool["spot"]:
        taints.append(SPOT_TAINT)  # AKS adds it to spot pools; declaring it avoids a perpetual diff
    return taints


def _one_at_a_time() -> azure.containerservice.AgentPoolUpgradeSettingsArgs:
    """Upgrades that replace one node at a time and add none."""
    return azure.containerservice.AgentPoolUpgradeSettingsArgs(max_surge="0", max_unavailable="1")


INFINIBAND_TEMPLATE_TAG = "k8s.io_cluster-autoscaler_node-template_resources_" + INFINIBAND_RESOURCE.replace("/", "_")
"""What an empty InfiniBand pool's scale set tells the autoscaler its nodes will offer: Azure tag
names cannot hold "/", so the autoscaler reads "_" in a resource tag's name as one (kubernetes/autoscaler#4056)."""


def infiniband_template_tags(pool: NodePoolSpec) -> dict[str, str]:
    """The scale set tag that lets the autoscaler start an empty InfiniBand pool for a pod asking
    for ``rdma/ib`` (it builds its template node from the scale set's size and tags)."""
    fabric = pool.get("fabric")
    return {INFINIBAND_TEMPLATE_TAG: str(fabric["interfaces"])} if fabric is not None and fabric["kind"] == "infiniband" else {}


def _azurecli_login(kubeconfig_b64: str) -> str:
    """AKS's exec kubeconfig logs in with a device code; non-interactive runs need the Azure CLI login."""
    config = yaml.safe_load(base64.b64decode(kubeconfig_b64))
    for user in config.get("users", []):
        exec_ = user.get("user", {}).get("exec")
        if exec_ and exec_.get("command") == "kubelogin":
            args = list(exec_.get("args", []))
            if "--login" in args:
                args[args.index("--login") + 1] = "azurecli"
            else:
                args += ["--login", "azurecli"]
            exec_["args"] = args
    return yaml.safe_dump(config, sort_keys=True)


class AzureGpuCluster(GpuCluster):
    """An AKS cluster: private API server (or allow-listed public), Entra ID authentication
    with Azure RBAC and local accounts disabled, workload identity and OIDC issuer, Cilium
    network policy, Kubernetes secrets encrypted with a Key Vault key (purge protection on, a
    new version yearly, which AKS uses once ``keyId`` is updated: see the README), control-plane
    logs to Log Analytics, a user-assigned cluster identity.
    GPU pools are separate agent pools with the platform label, the ``nvidia.com/gpu`` taint
    and AKS-installed drivers; the NVIDIA device plugin runs as a DaemonSet."""

    namespace_annotations = {
        # AKS taints every spot node with its own key, which no other cloud does. Pods of topoform's
        # namespaces tolerate it by default (AKS runs the PodTolerationRestriction admission
        # plugin), so a workload that tolerates the platform taint runs on spot here as elsewhere.
        "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([{"key": SPOT_TAINT_KEY, "operator": "Equal", "value": "spot", "effect": "NoSchedule"}]),
    }
    resource_group_name: pulumi.Output[str]
    """The resource group holding the cluster (created, or the existing one)."""
    identity_principal_id: pulumi.Output[str]
    """The cluster's user-assigned identity (it manages load balancers and their IPs)."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AzureGpuCluster", name, args, opts)
        # Reservation groups are read before anything is made: one that cannot hold its pool stops the run.
        for key, pool in sorted(args["node_pools"].items()):
            if reservation_of(pool) is not None:
                self._check_reservation_group(key, pool)
        region = args["region"]
        tags = args["tags"]
        net = args["network"]
        client = azure.authorization.get_client_config_output(opts=self.invoke_opts())

        if "resource_group" in args:
            rg_name: pulumi.Input[str] = args["resource_group"]
        else:
            n = self.named("azure-native:resources:ResourceGroup", "rg")
            rg = azure.resources.ResourceGroup(n.name, **n.kwargs, location=region, tags=tags, opts=self.stateful(**n.opts))
            rg_name = rg.name
        self.resource_group_name = pulumi.Output.from_input(rg_name)

        existing = net.get("existing")
        if existing:
            subnet_id: pulumi.Input[str] = existing["subnet_id"]
            apiserver_subnet_id: pulumi.Input[str] = existing["apiserver_subnet_id"]
        else:
            n = self.named("azure-native:network:VirtualNetwork", "vnet")
            vnet = azure.network.VirtualNetwork(
                n.name,
                **n.kwargs,
                resource_group_name=rg_name,
                location=region,
                address_space=azure.network.AddressSpaceArgs(address_prefixes=[net["cidr"]]),
                tags=tags,
                opts=self.opts(ignore_changes=["subnets"], **n.opts),
            )
            n = self.named("azure-native:network:Subnet", "nodes")
            subnet = azure.network.Subnet(
                n.name,
                **n.kwargs,
                resource_group_name=rg_name,
                virtual_network_name=vnet.name,
                address_prefix=net["private_subnets"][0],
                opts=self.opts(**n.opts),
            )
            subnet_id = subnet.id
            # API Server VNet Integration: the API server's internal load balancer lives in this
            # subnet, so nodes reach it privately whatever the public endpoint admits.
            apiserver = azure.network.Subnet(
                self.child("apiserver"),
                resource_group_name=rg_name,
                virtual_network_name=vnet.name,
                subnet_name="apiserver",
                address_prefix=net["apiserver_subnet"],
                delegations=[azure.network.DelegationArgs(name="aks-apiserver", service_name="Microsoft.ContainerService/managedClusters")],
                opts=self.opts(depends_on=[subnet]),
            )
            apiserver_subnet_id = apiserver.id

        n = self.named("azure-native:managedidentity:UserAssignedIdentity", "identity")
        identity = azure.managedidentity.UserAssignedIdentity(
            n.name,
            **n.kwargs, resource_group_name=rg_name, location=region, tags=tags, opts=self.opts(**n.opts)
        )
        self.identity_principal_id = identity.principal_id

        secrets = vault_key(self, ("secrets",), args["cluster_name"], "kubernetes-secrets", 2048, rg_name, region, client.tenant_id, tags)
        grants = [
            role_assignment(
                self, self.child("identity-kv"), identity.principal_id, "key-vault-crypto-user", secrets.vault.id, client.subscription_id
            )
        ]
        # The cluster identity must manage both subnets, ours or existing ones ("Lack of permissions
        # at the API server subnet can cause a provisioning failure"); it is made in this run, so
        # nobody could have granted it beforehand.
        grants += [
            role_assignment(self, self.child("identity-subnet"), identity.principal_id, "network-contributor", subnet_id, client.subscription_id),
            role_assignment(
                self, self.child("identity-apiserver-subnet"), identity.principal_id, "network-contributor", apiserver_subnet_id, client.subscription_id
            ),
        ]
        # Azure applies role assignments within minutes: the cluster waits before using them.
        granted = wait(self, "grants", grants, GRANT_WAIT)

        pools = args["node_pools"]
        system = _system_pool(pools)
        # The API endpoint is public only for the networks that must reach it from outside (the
        # deployer's egress, a public API's allow-list); with none, it is private to the VNet.
        reach = api_networks(args)
        self.unreachable_notice(args, reach, "VNet")
        services = ipaddress.ip_network(net["services_cidr"])
        cluster = azure.containerservice.ManagedCluster(
            self.child("aks"),
            resource_name_=args["cluster_name"],
            resource_group_name=rg_name,
            location=region,
            dns_prefix=dns_prefix(args["cluster_name"]),
            kubernetes_version=args["kubernetes_version"],
            sku=azure.containerservice.ManagedClusterSKUArgs(name="Base", tier=args.get("sku_tier", "Standard")),
            # One profile for every autoscaled pool (AKS has no per-pool profile); durations in minutes only.
            auto_scaler_profile=(
                azure.containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
                    scale_down_utilization_threshold=f"{args['autoscaler']['scale_down_utilization']:g}",
                    scale_down_unneeded_time=f"{args['autoscaler']['scale_down_after_minutes']}m",
                    expander=args["autoscaler"].get("expander", "least-waste"),
                )
                if "autoscaler" in args
                else None
            ),
            identity=azure.containerservice.ManagedClusterIdentityArgs(
                type=azure.containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]
            ),
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=azure.containerservice.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True),
            api_server_access_profile=azure.containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=not reach.public,
                authorized_ip_ranges=reach.public or None,
                enable_vnet_integration=True,
                subnet_id=apiserver_subnet_id,
            ),
            oidc_issuer_profile=azure.containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=azure.containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=azure.containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                azure_key_vault_kms=azure.containerservice.AzureKeyVaultKmsArgs(
                    enabled=True, key_id=secrets.key.key_uri_with_version, key_vault_network_access="Public"
                ),
            ),
            network_profile=azure.containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure",
                network_plugin_mode="overlay",
                network_dataplane="cilium",
                network_policy="cilium",
                pod_cidr=net["pods_cidr"],
                service_cidr=net["services_cidr"],
                dns_service_ip=str(services.network_address + 10),
                outbound_type="loadBalancer",
                load_balancer_sku="standard",
                # Layer-7 Cilium policies (Advanced Container Networking Services): a Front Door
                # origin's pods admit only that profile's requests. Paid per node; only where needed.
                advanced_networking=azure.containerservice.AdvancedNetworkingArgs(
                    enabled=True,
                    observability=azure.containerservice.AdvancedNetworkingObservabilityArgs(enabled=False),
                    security=azure.containerservice.AdvancedNetworkingSecurityArgs(enabled=True, advanced_network_policies="L7"),
                )
                if args.get("front_door_origins")
                else None,
            ),
            auto_upgrade_profile=azure.containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel="patch", node_os_upgrade_channel="NodeImage"
            ),
            agent_pool_profiles=[
                azure.containerservice.ManagedClusterAgentPoolProfileArgs(
                    name=pools[system]["name"],
                    mode="System",
                    **self._pool_args(pools[system], subnet_id, tags),
                )
            ],
            tags=tags,
            # The system pool's zones are the cluster's to keep: changed, they would ask AKS to
            # re-create its system pool (give the cluster a new system pool instead).
            opts=self.stateful(
                depends_on=granted,
                ignore_changes=["agentPoolProfiles[0].count", "agentPoolProfiles[0].availabilityZones", "agentPoolProfiles[0].enableEncryptionAtHost"],
            ),
        )
        authorized = self._admins(cluster, args, client)
        # Team members fetch their kubeconfig (`az aks get-credentials`) with the cluster-user
        # role; what they may do inside is their namespaces' RoleBindings to the same group.
        for group in args.get("team_groups", []):
            role_assignment(self, self.child("team", group), group, "aks-cluster-user", cluster.id, client.subscription_id, principal_type="Group")

        n = self.named("azure-native:operationalinsights:Workspace", "logs")
        workspace = azure.operationalinsights.Workspace(
            n.name,
            **n.kwargs,
            resource_group_name=rg_name,
            location=region,
            retention_in_days=min(args["log_retention_days"], 730),
            sku=azure.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            tags=tags,
            opts=self.opts(**n.opts),
        )
        azure.monitor.DiagnosticSetting(
            self.child("control-plane-logs"),
            name="control-plane",
            resource_uri=cluster.id,
            workspace_id=workspace.id,
            logs=[azure.monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in CONTROL_PLANE_LOGS],
            opts=self.opts(),
        )

        reserved = self._reservation_grants(identity.principal_id, pools)
        for key_, pool in pools.items():
            if key_ == system:
                continue
            held = reservation_of(pool) is not None
            agent_pool = azure.containerservice.AgentPool(
                self.child("pool", key_),
                resource_group_name=rg_name,
                resource_name_=cluster.name,
                agent_pool_name=pool["name"],
                mode="User",
                **self._pool_args(pool, subnet_id, tags),
                # A reservation holds no VM for a surge node, and an InfiniBand pool's scale set no more
                # than 100: such a pool replaces a node at a time. Spot pools take no upgrade settings
                # ("Spot pools can't set max surge") and get no surge nodes anyway.
                upgrade_settings=_one_at_a_time() if held or (infiniband_template_tags(pool) and not pool["spot"]) else None,
                # AKS cannot change a pool's zones: new zones mean a new pool of the same name. A
                # pool moved to another reservation group is made anew too (AKS moves existing
                # pools between groups only in preview).
                opts=self.opts(
                    delete_before_replace=True,
                    replace_on_changes=["availabilityZones", "capacityReservationGroupID"],
                    ignore_changes=["count", "enableEncryptionAtHost"],
                    depends_on=reserved if held else [],
                ),
            )
            if held and not offline():
                agent_pool.capacity_reservation_group_id.apply(functools.partial(_associated, self._args["cluster_name"], key_, pool))

        credentials = azure.containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=rg_name,
            resource_name=cluster.name,
            format="exec",
            opts=self.invoke_opts(),
        )
        kubeconfig = credentials.kubeconfigs.apply(lambda ks: _azurecli_login(ks[0].value))
        endpoint = pulumi.Output.all(cluster.private_fqdn, cluster.fqdn).apply(lambda f: f"https://{f[0] or f[1]}:443")
        issuer = cluster.oidc_issuer_profile.apply(lambda p: (p.issuer_url or "") if p else "")
        # The OIDC issuer is the cluster's own for its whole life, whatever its API endpoint.
        self.finish(cluster.name, endpoint, kubeconfig, oidc_issuer=issuer, authorized=authorized, identity=issuer)
        ordered = args["autoscaler"].get("priorities", {}) if "autoscaler" in args else {}
        if ordered:
            # The priority expander matches scale set names: AKS names a pool's aks-<pool>-<n>-vmss.
            priority_expander(self.child("autoscaler"), priority_config(ordered, {k: f"^aks-{pools[k]['name']}-[0-9]+-vmss$" for k in ordered}), self.kubernetes_provider, self)
        if any(infiniband_template_tags(p) for p in pools.values()):
            infiniband_fabric(self.child("network-operator"), self.kubernetes_provider, self, protect=args["protect"])
        if args.get("device_plugin"):
            # AKS taints every spot node with its own key, which the plugin tolerates with any other.
            device_plugin(self.child("nvidia-device-plugin"), self.kubernetes_provider, self)

    def _admins(self, cluster: azure.containerservice.ManagedCluster, args: GpuClusterArgs, client: pulumi.Output[Any]) -> list[pulumi.Resource]:
        """Azure Kubernetes Service RBAC Cluster Admin on this cluster for the site's admins (the
        identity `pulumi up` signs in as among them): with Azure RBAC for Kubernetes nobody has
        Kubernetes rights without a data-action role, not even a subscription Owner. Then the
        documented wait for AKS to apply them."""
        grants = []
        for admin in args.get("admins", []):
            kind, _, object_id = admin.partition(":")
            grants.append(
                role_assignment(
                    self, self.child("admin", object_id), object_id, "aks-rbac-cluster-admin", cluster.id, client.subscription_id, principal_type=PRINCIPAL_TYPES[kind]
                )
            )
        return wait(self, "rbac", grants, RBAC_WAIT)

    def _reservation_grants(self, principal_id: pulumi.Output[str], pools: dict[str, NodePoolSpec]) -> list[pulumi.Resource]:
        """The cluster identity's right to deploy into every capacity reservation group a pool
        consumes: a role of this cluster's own holding :data:`RESERVATION_ACTIONS`, defined in
        the group's resource group and assigned on the group alone; then a wait for Azure to
        apply it (each group was read when the component began: see :meth:`_check_reservation_group`)."""
        groups = sorted({ref for p in pools.values() if (ref := reservation_of(p)) is not None}, key=str.lower)
        grants = []
        for group_id in groups:
            subscription, resource_group, name = reservation_group(group_id)
            scope = f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            tag = (name.lower(), digest(group_id.lower()))
            role = azure.authorization.RoleDefinition(
                self.child("reservations", *tag, "role"),
                # a GUID of the cluster's and the group's, so the same topology keeps its role
                role_definition_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"topoform:{self._args['cluster_name']}:{group_id.lower()}")),
                # names are unique in the tenant: the group's ID digest tells same-named groups apart
                role_name=f"topoform {self._args['cluster_name']} capacity reservation {name} {tag[1]}",
                role_type="CustomRole",
                description=f"AKS cluster {self._args['cluster_name']} deploys its reserved node pools into capacity reservation group {name}",
                scope=scope,
                assignable_scopes=[scope],
                permissions=[azure.authorization.PermissionArgs(actions=RESERVATION_ACTIONS)],
                opts=self.opts(),
            )
            grants.append(
                azure.authorization.RoleAssignment(
                    self.child("reservations", *tag),
                    principal_id=principal_id,
                    principal_type="ServicePrincipal",
                    # ARM answers with the role's subscription-scoped ID, the form an assignment takes
                    role_definition_id=role.id,
                    scope=group_id,
                    opts=self.opts(depends_on=wait(self, f"reservations-{tag[0]}-{tag[1]}-role", [role], ROLE_WAIT)),
                )
            )
        return wait(self, "reservations", grants, RESERVATION_GRANT_WAIT)

    def _check_reservation_group(self, key: str, pool: NodePoolSpec) -> None:
        """Stop the run when a reservation step's group could not hold its pool (see
        :func:`reservation_group_problems`). Nothing is asked offline."""
        if offline():
            return
        group_id = pool["capacity"]["ref"]
        subscription, resource_group, name = reservation_group(group_id)
        where = f"cluster {self._args['cluster_name']}, pool {key}: capacity reservation group {name}"
        opts = pulumi.InvokeOptions(parent=self)
        client = azure.authorization.get_client_config(opts=opts)
        seen = GroupSeen(subscription, "", [], [])
        if client.subscription_id.lower() == subscription.lower():
            try:
                group = azure.compute.get_capacity_reservation_group(capacity_reservation_group_name=name, resource_group_name=resource_group, opts=opts)
                reservations = [
                    azure.compute.get_capacity_reservation(
                        capacity_reservation_group_name=name, capacity_reservation_name=(ref.id or "").rsplit("/", 1)[-1], resource_group_name=resource_group, opts=opts
                    )
                    for ref in group.capacity_reservations or []
                ]
            except Exception as e:  # noqa: BLE001 - say what could not be read, and why
                raise pulumi.RunError(f"{where} could not be read ({e}); the deployer needs to read it") from e
            held = [(r.sku.name or "", int(r.sku.capacity or 0), list(r.zones or [])) for r in reservations]
            seen = GroupSeen(subscription, group.location, list(group.zones or []), held)
        error, warning = reservation_group_problems(seen, client.subscription_id, self._args["region"], pool)
        if error:
            raise pulumi.RunError(f"{where} {error}")
        if warning:
            pulumi.log.warn(f"{where} {warning}", resource=self)

    def _pool_args(self, pool: NodePoolSpec, subnet_id: pulumi.Input[str], tags: dict[str, str]) -> dict[str, Any]:
        spot = pool["spot"]
        args: dict[str, Any] = {
            "vm_size": pool["machine_type"],
            "os_type": "Linux",
            "os_sku": pool.get("image", "Ubuntu"),
            "os_disk_size_gb": pool["disk_gb"],
            "type": "VirtualMachineScaleSets",
            "count": pool["min_nodes"],
            "min_count": pool["min_nodes"],
            "max_count": pool["max_nodes"],
            "enable_auto_scaling": True,
            "enable_node_public_ip": False,
            # The nodes' temporary disks and caches encrypted too (the subscription's EncryptionAtHost
            # feature must be registered; README). Create-only: pools made before keep theirs.
            "enable_encryption_at_host": self._args.get("encryption_at_host", True),
            "vnet_subnet_id": subnet_id,
            # AKS keeps a pool's zones for its life (user pools are replaced, the system pool keeps them).
            "availability_zones": pool.get("zones"),
            "node_labels": pool["labels"],
            "node_taints": _taints(pool),
            "scale_set_priority": "Spot" if spot else "Regular",
            "tags": {**tags, **infiniband_template_tags(pool)},
        }
        if spot:
            args["scale_set_eviction_policy"] = "Delete"
            args["spot_max_price"] = -1
        if "gpu_type" in pool:
            args["gpu_profile"] = azure.containerservice.GPUProfileArgs(driver="Install")
        group = reservation_of(pool)
        if group is not None:
            # A reservation step: its nodes are the group's reserved VMs (in the step's zone).
            args["capacity_reservation_group_id"] = group
        return args

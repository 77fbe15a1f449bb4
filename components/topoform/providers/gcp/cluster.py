"""GcpGpuCluster: a private regional GKE cluster with CMEK secrets and GPU node pools."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from ...naming import physical
from ...kube import MANAGED_BY, fabric_claim_template, gib_installer
from ...resources import GpuCluster, GpuClusterArgs, exec_kubeconfig
from ...specs import NetworkSpec, NodePoolSpec, capacity_kind, reservation_of
from ..base import ApiNetworks, api_networks
from .keys import ring_key
from .profile import GcpProfile

__all__ = ["GcpGpuCluster"]

CONTROL_PLANE_LOGS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]
NODE_ROLES = {
    "default": "roles/container.defaultNodeServiceAccount",
    "images": "roles/artifactregistry.reader",
}
GKE_DEFAULT_ZONES = 3
"""The zones a regional cluster's pool spans when it names none (GKE's default)."""
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
DRANET_LABEL = "cloud.google.com/gke-networking-dra-driver"
"""On a pool with GKE's accelerator network profile: GKE runs its networking DRA driver there,
which offers the node's RDMA NICs as devices of class ``mrdma.google.com``."""
RDMA_DEVICE_CLASS = "mrdma.google.com"


def rdma_nics(pool: NodePoolSpec) -> int:
    """The RDMA NICs of a GPUDirect-RDMA pool's node (0 for any other pool)."""
    fabric = pool.get("fabric")
    return fabric["interfaces"] if fabric is not None and fabric["kind"] == "gpudirect-rdma" else 0


def initial_nodes(pool: NodePoolSpec) -> int | None:
    """Nodes per zone a new pool starts with, so ``min`` holds from the first `pulumi up`:
    ``ceil(min / zones)``, unless one node per zone would already pass ``max`` (then the pool
    starts empty and reaches ``min`` when the autoscaler acts)."""
    zones = len(pool.get("zones") or []) or GKE_DEFAULT_ZONES
    per_zone = -(-pool["min_nodes"] // zones)
    return per_zone if per_zone and per_zone * zones <= pool["max_nodes"] else None


class GcpGpuCluster(GpuCluster):
    """A regional GKE cluster: private nodes, a private endpoint (or an allow-listed public
    one), Workload Identity, Dataplane V2 (network policy), secrets encrypted with a Cloud KMS
    key that rotates every 90 days, Shielded nodes, control-plane logging, a release channel
    and deletion protection. GPU pools get guest accelerators with GKE-installed drivers
    (GKE runs the device plugin), the platform label and the ``nvidia.com/gpu`` taint."""

    network_id: pulumi.Output[str]
    """The VPC network the cluster runs in (created, or the existing one)."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("GcpGpuCluster", name, args, opts)
        project = args["project"]
        region = args["region"]
        net = args["network"]
        network, subnetwork, pods_range, services_range = self._network(net, region)
        self.network_id = pulumi.Output.from_input(network)

        number = gcp.organizations.get_project_output(project_id=project, opts=self.invoke_opts()).number
        secrets = ring_key(
            self,
            ("secrets",),
            physical(args["cluster_name"], "keys", limit=63),
            "kubernetes-secrets",
            region,
            project,
            args["tags"],
            number.apply(lambda n: f"serviceAccount:service-{n}@container-engine-robot.iam.gserviceaccount.com"),
        )

        nodes_sa = gcp.serviceaccount.Account(
            self.child("nodes"),
            account_id=physical(args["cluster_name"], "nodes", limit=30),
            display_name=f"Nodes of GKE cluster {args['cluster_name']}",
            project=project,
            opts=self.opts(),
        )
        node_roles = [
            gcp.projects.IAMMember(self.child("nodes", short), project=project, role=role, member=nodes_sa.member, opts=self.opts())
            for short, role in NODE_ROLES.items()
        ]

        # The IP endpoint is private (or, for a public API, open to the allow-list only); the
        # deployer and administrators come through the DNS-based endpoint, which Google's front
        # end admits by IAM (container.clusters.connect) from wherever they are.
        public = args["api_access"] == "public"
        reach = api_networks(args)
        authorized = reach.public if public else [*net["private_subnets"], *reach.private]
        dns = args.get("api_endpoint", "dns") == "dns"
        if not dns and not public:
            # The IP endpoint is private: public deployer networks do not reach it.
            self.unreachable_notice(args, ApiNetworks([], reach.private), "VPC", remedy="leave overrides.gcp.api_endpoint at dns")
        cluster = gcp.container.Cluster(
            self.child("gke"),
            name=args["cluster_name"],
            project=project,
            location=region,
            network=network,
            subnetwork=subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=pods_range,
                services_secondary_range_name=services_range,
            ),
            remove_default_node_pool=True,
            initial_node_count=1,
            # GKE creates a default pool before the cluster's own pools, then topoform removes it:
            # even those nodes run as the least-privilege node account, never Compute Engine's
            # default one. Create-only for the cluster, so clusters made before keep theirs.
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=nodes_sa.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(enable_secure_boot=True, enable_integrity_monitoring=True),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            ),
            min_master_version=args["kubernetes_version"],
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.get("release_channel", "REGULAR")),
            # GKE's own autoscaler scales each pool within its limits (from zero, reading the
            # pool's labels and taints); the cluster chooses its profile. No node auto-provisioning.
            cluster_autoscaling=(
                gcp.container.ClusterClusterAutoscalingArgs(enabled=False, autoscaling_profile=args["autoscaler"].get("profile", "BALANCED"))
                if "autoscaler" in args
                else None
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=not public,
                # A VPN or interconnect into the VPC reaches the private endpoint from any region
                # (said every time: GKE keeps the setting when the block is left out).
                master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(
                    enabled=bool(reach.private) and not public
                ),
            ),
            control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
                dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(allow_external_traffic=dns),
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=f"allowed-{i}")
                    for i, c in enumerate(authorized)
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(issue_client_certificate=False)
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=f"{project}.svc.id.goog"),
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=secrets.key.id),
            datapath_provider="ADVANCED_DATAPATH",
            # Pod-to-pod traffic on one node goes through the VPC too, so the subnet's flow logs
            # and firewall rules see it.
            enable_intranode_visibility=True,
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=CONTROL_PLANE_LOGS),
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=args["security_group"])
            if "security_group" in args
            else None,
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
            resource_labels=args["tags"],
            deletion_protection=args["protect"],
            opts=self.stateful(depends_on=[secrets.grant, *node_roles], ignore_changes=["nodeConfig"]),
        )
        for key_, pool in args["node_pools"].items():
            self._node_pool(key_, pool, cluster, nodes_sa, args)

        cluster_name = args["cluster_name"]
        plugin: dict[str, Any] = {"provideClusterInfo": True, "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin"}
        # The DNS endpoint's name is the cluster's own for its whole life, in either mode.
        dns_host = cluster.control_plane_endpoints_config.apply(lambda c: (c.dns_endpoint_config.endpoint or "") if c and c.dns_endpoint_config else "")
        if dns:
            # The DNS endpoint serves a certificate from a public CA: the kubeconfig carries no CA.
            host = dns_host
            kubeconfig = host.apply(lambda h: exec_kubeconfig(cluster_name, f"https://{h}", None, "gke-gcloud-auth-plugin", [], **plugin))
        else:
            # The IP endpoint's certificate is the cluster CA's.
            host = cluster.endpoint
            kubeconfig = pulumi.Output.all(cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda a: exec_kubeconfig(cluster_name, f"https://{a[0]}", str(a[1]), "gke-gcloud-auth-plugin", [], **plugin)
            )
        issuer = f"https://container.googleapis.com/v1/projects/{project}/locations/{region}/clusters/{cluster_name}"
        self.finish(cluster.name, host.apply(lambda e: f"https://{e}"), kubeconfig, oidc_issuer=issuer, identity=dns_host)
        self._admins(args)
        if any(rdma_nics(p) for p in args["node_pools"].values()):
            gib_installer(self.child("nccl-rdma-installer"), self.kubernetes_provider, self)

    def namespace_objects(self, prefix: str, ns: k8s.core.v1.Namespace) -> None:
        """Where the cluster has GPUDirect-RDMA pools, each namespace's ``topoform-fabric`` claim
        template: a training pod that names it gets its node's RDMA NICs."""
        counts = [n for p in self._args["node_pools"].values() if (n := rdma_nics(p))]
        if counts:
            fabric_claim_template(prefix, ns, RDMA_DEVICE_CLASS, min(counts), self.kubernetes_provider)

    def _admins(self, args: GpuClusterArgs) -> None:
        """The site's administrators are cluster-admin in this cluster (per cluster: GKE's IAM
        roles that reach Kubernetes objects are project-wide). The deployer's own rights come
        from its project IAM role (see the README)."""
        subjects = [s for a in args.get("admins", []) if (s := GcpProfile().admin_subject(a)) is not None]
        if not subjects:
            return
        k8s.rbac.v1.ClusterRoleBinding(
            self.child("administrators"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name="topoform-administrators", labels={**MANAGED_BY, "topoform.io/administrators": "true"}),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
            subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind=kind, name=name) for kind, name in subjects],
            opts=self.opts(provider=self.kubernetes_provider),
        )

    def _network(self, net: NetworkSpec, region: str) -> tuple[pulumi.Input[str], pulumi.Input[str], str, str]:
        existing = net.get("existing")
        if existing:
            return existing["network"], existing["subnetwork"], existing["pods_range"], existing["services_range"]
        n = self.named("gcp:compute/network:Network", "vpc")
        network = gcp.compute.Network(n.name, **n.kwargs, auto_create_subnetworks=False, routing_mode="REGIONAL", opts=self.opts(**n.opts))
        n = self.named("gcp:compute/subnetwork:Subnetwork", "nodes")
        subnet = gcp.compute.Subnetwork(
            n.name,
            **n.kwargs,
            network=network.id,
            region=region,
            ip_cidr_range=net["private_subnets"][0],
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=net["pods_cidr"]),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range=net["services_cidr"]),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ),
            opts=self.opts(**n.opts),
        )
        n = self.named("gcp:compute/router:Router", "router")
        router = gcp.compute.Router(n.name, **n.kwargs, network=network.id, region=region, opts=self.opts(**n.opts))
        n = self.named("gcp:compute/routerNat:RouterNat", "nat")
        gcp.compute.RouterNat(
            n.name,
            **n.kwargs,
            router=router.name,
            region=region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=self.opts(**n.opts),
        )
        return network.id, subnet.id, "pods", "services"

    def _node_pool(
        self, key: str, pool: NodePoolSpec, cluster: gcp.container.Cluster, sa: gcp.serviceaccount.Account, args: GpuClusterArgs
    ) -> gcp.container.NodePool:
        accelerators = None
        if "gpu_type" in pool:
            accelerators = [
                gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=pool["accelerator"],
                    count=pool["gpu_count"],
                    gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version="LATEST"
                    ),
                )
            ]
        named = self.named("gcp:container/nodePool:NodePool", "pool", key)
        # interconnect: fast on A3 Ultra / A4: GKE's accelerator network profile makes the RDMA
        # VPC, its subnets and the nodes' extra NICs itself; its DRA driver offers them to pods.
        rdma = rdma_nics(pool) > 0
        flex = capacity_kind(pool) == "flex-start"
        reservation = reservation_of(pool) or pool.get("reservation")
        return gcp.container.NodePool(
            named.name,
            **named.kwargs,
            cluster=cluster.id,
            location=args["region"],
            node_locations=pool.get("zones"),
            # min holds from the first `pulumi up`: the pool starts with enough nodes per zone
            # (the count is create-only; afterwards the autoscaler keeps min..max).
            initial_node_count=initial_nodes(pool),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool["min_nodes"],
                total_max_node_count=pool["max_nodes"],
                # Spot and flex-start nodes come from wherever there are some.
                location_policy="ANY" if pool["spot"] or flex else "BALANCED",
            ),
            # Flex-start nodes run up to seven days and are not repaired (GKE's flex-start recipe).
            management=gcp.container.NodePoolManagementArgs(auto_repair=not flex, auto_upgrade=True),
            # Create-only: a pool that gains or loses the fabric is replaced (a new pool, then the old one goes).
            network_config=gcp.container.NodePoolNetworkConfigArgs(accelerator_network_profile="auto") if rdma else None,
            # A reservation holds no machine for a surge node: its pool replaces a node at a time.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=0, max_unavailable=1)
            if reservation
            else gcp.container.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool["machine_type"],
                image_type=pool.get("image"),
                disk_size_gb=pool["disk_gb"],
                disk_type=pool.get("disk_type", "pd-balanced"),
                spot=pool["spot"],
                flex_start=True if flex else None,
                reservation_affinity=gcp.container.NodePoolNodeConfigReservationAffinityArgs(
                    consume_reservation_type="SPECIFIC_RESERVATION",
                    key="compute.googleapis.com/reservation-name",
                    values=[reservation],
                )
                if reservation
                else gcp.container.NodePoolNodeConfigReservationAffinityArgs(consume_reservation_type="NO_RESERVATION")
                if flex
                else None,
                labels={**pool["labels"], DRANET_LABEL: "true"} if rdma else pool["labels"],
                # The host NICs beside the RDMA ones are gVNIC (Container-Optimized OS, the GPU pools' image).
                gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True) if rdma else None,
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(key=t["key"], value=t["value"], effect=TAINT_EFFECTS[t["effect"]])
                    for t in pool["taints"]
                ],
                guest_accelerators=accelerators,
                # scratch: local-nvme: emptyDir, images and logs on the machine's local SSDs.
                ephemeral_storage_local_ssd_config=gcp.container.NodePoolNodeConfigEphemeralStorageLocalSsdConfigArgs(local_ssd_count=pool["scratch"]["disks"])
                if "scratch" in pool and "disks" in pool["scratch"]
                else None,
                service_account=sa.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                metadata={"disable-legacy-endpoints": "true"},
                resource_labels=args["tags"],
            ),
            # A pool made before initial_node_count was sent keeps its nodes (the field is create-only).
            opts=self.opts(ignore_changes=["nodeCount", "initialNodeCount"], **named.opts),
        )

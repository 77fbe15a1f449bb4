"""AwsGpuCluster: EKS on a private VPC, secrets under a KMS key, Bottlerocket node groups."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from ...kube import AUTOSCALER, cluster_autoscaler, efa_device_plugin, priority_config, priority_expander
from ...naming import digest
from ...program import offline
from ...resources import GpuCluster, GpuClusterArgs, exec_kubeconfig
from ...specs import AutoscalerSpec, NetworkSpec, NodePoolSpec, capacity_kind, reservation_of
from ..base import api_networks
from .identity import ACTIONS
from .keys import kms_key
from .profile import EFA_PLUGIN_VERSION, EKS_EXCLUDED_ZONE_IDS, EKS_IMAGE_ACCOUNTS

__all__ = ["AwsGpuCluster"]

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
"""The node role's policies. The VPC CNI's own (AmazonEKS_CNI_Policy) goes to a role of its
own, which only the ``aws-node`` service account gets through EKS Pod Identity."""
CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The VPC CNI enforces NetworkPolicies (its value is the string "true", as the add-on's
configuration schema types it)."""
ECR_PULL = [
    "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
    "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages",
]
"""What nodes do with ECR (pull), as the node role's AmazonEC2ContainerRegistryReadOnly grants."""
STS_CALLS = ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:GetCallerIdentity"]
"""What SDK credential chains ask of STS."""
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
"""The EKS access policy of a cluster administrator (cluster scope)."""
ACCESS_WAIT = "30s"


_Subnet = tuple[str, pulumi.Input[str]]
"""A private subnet: its zone ID and its ID."""


def choose_zones(cluster: str, region: str, offered: list[str], pinned: list[str], count: int) -> list[str]:
    """The zone IDs a cluster's subnets go to: the pinned ones, else the lowest ``count`` IDs
    EKS accepts, so the same topology lands in the same physical zones in every account."""
    if pinned:
        missing = [z for z in pinned if z not in offered]
        if missing:
            raise pulumi.RunError(f"cluster {cluster}: zone {', '.join(missing)} of {region} is not one EKS can use in this account; offered: {', '.join(sorted(offered))}")
        return list(pinned)
    ids = sorted(offered, key=lambda z: (len(z), z))
    if len(ids) < count:
        raise pulumi.RunError(f"cluster {cluster}: {region} offers {len(ids)} zones EKS can use ({', '.join(ids)}), fewer than the network's {count}; lower network.zones")
    return ids[:count]


def _subnets_in(cluster: str, pool: str, subnets: list[_Subnet], zones: list[str] | None) -> list[pulumi.Input[str]]:
    """A pool's subnets: every private subnet, or those in the zones the pool names."""
    if not zones:
        return [subnet for _, subnet in subnets]
    by_zone: dict[str, list[pulumi.Input[str]]] = {}
    for zone, subnet in subnets:
        by_zone.setdefault(zone, []).append(subnet)
    absent = [z for z in zones if z not in by_zone]
    if absent:
        raise pulumi.RunError(f"cluster {cluster}, pool {pool}: no subnet of the cluster is in zone {', '.join(absent)} (the cluster's zones: {', '.join(sorted(by_zone))})")
    return [s for z in zones for s in by_zone[z]]


ADDON_ROLES = {"eks-pod-identity-agent": "pod-identity"}
"""Child names of add-ons whose role is shorter than their add-on name (kept: they name URNs)."""


def _allow(actions: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": actions, "Resource": "*"}]}


ENDPOINT_POLICIES: dict[str, dict[str, Any]] = {"ecr.api": _allow(ECR_PULL), "ecr.dkr": _allow(ECR_PULL), "sts": _allow(STS_CALLS)}
"""Interface endpoint policies (``eks-auth`` takes none: EKS endpoints do not support them)."""


ENDPOINT_POLICY_LIMIT = 20_480
"""The most characters a VPC endpoint policy may have (Amazon VPC quotas)."""


REGISTRY_K8S_IO_BUCKETS = {"eu-west-2": "767373bbdcb8270361b96548387bf2a9ad0d48758c35-eu-west-2"}
"""Where registry.k8s.io sends AWS clients of a region for image layers, where it is not
``prod-registry-k8s-io-<region>`` (registry.k8s.io, cmd/archeio/internal/app/buckets.go at
093d55a6: every region maps to that name but eu-west-2)."""


def registry_k8s_io_bucket(region: str) -> str:
    """The S3 bucket registry.k8s.io redirects image-layer pulls from ``region`` to."""
    return REGISTRY_K8S_IO_BUCKETS.get(region, f"prod-registry-k8s-io-{region}")


def s3_endpoint_policy(partition: str, region: str, grants: list[tuple[str, str]], read_buckets: list[str]) -> str:
    """What S3 answers through the VPC's gateway endpoint: image layers of the registries that
    serve them from the region's S3 (ECR's, with a URL ECR signs, and registry.k8s.io's
    redirects), each granted store with the actions its grants allow, and the extra buckets
    the topology names for reading; nothing else in the region."""
    layers = [f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*", f"arn:{partition}:s3:::{registry_k8s_io_bucket(region)}/*"]
    statements: list[dict[str, Any]] = [{"Sid": "ImageLayers", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": layers}]
    by_mode: dict[str, set[str]] = {}
    for mode, bucket in [*grants, *[("read", f"arn:{partition}:s3:::{b}") for b in read_buckets]]:
        by_mode.setdefault(mode, set()).add(bucket)
    for mode in sorted(by_mode):
        buckets, actions, title = sorted(by_mode[mode]), ACTIONS[mode], mode.capitalize()
        statements.append({"Sid": f"{title}Buckets", "Effect": "Allow", "Principal": "*", "Action": actions["bucket"], "Resource": buckets})
        statements.append({"Sid": f"{title}Objects", "Effect": "Allow", "Principal": "*", "Action": actions["objects"], "Resource": [f"{b}/*" for b in buckets]})
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
    if len(policy) > ENDPOINT_POLICY_LIMIT:
        raise pulumi.RunError(f"the S3 endpoint policy of {region} would have {len(policy)} characters, more than AWS's {ENDPOINT_POLICY_LIMIT}: name fewer read_buckets")
    return policy


def desired_size(current: int | None, lo: int, hi: int) -> int:
    """The size a node group is sent: the size it has now (an autoscaler's or a person's
    choice) kept within the pool's new bounds; ``min`` for a new group. EKS refuses a minimum
    above the desired size ("Minimum capacity N can't be greater than desired size M"), so
    raising ``min`` raises the desired size with it, and lowering ``max`` lowers it."""
    return lo if current is None else min(max(current, lo), hi)


AUTOSCALER_READS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
]
"""The Cluster Autoscaler's reads that take no resource (its AWS README's "full features"
policy, less ``eks:DescribeNodegroup``, which is scoped to the cluster's node groups)."""
AUTOSCALER_WRITES = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]


def autoscaler_policy(cluster_name: str, region: str, partition: str, account: str) -> dict[str, Any]:
    """What the Cluster Autoscaler may do: read groups and instance types, read this cluster's
    node groups (their labels and taints are how a pool at zero grows), and change only the Auto
    Scaling groups EKS tags as this cluster's (their names are EKS's own, so the tag decides)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Discover", "Effect": "Allow", "Action": AUTOSCALER_READS, "Resource": "*"},
            {
                "Sid": "ReadThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": f"arn:{partition}:eks:{region}:{account}:nodegroup/{cluster_name}/*",
            },
            {
                "Sid": "ScaleThisClustersGroups",
                "Effect": "Allow",
                "Action": AUTOSCALER_WRITES,
                "Resource": f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ],
    }


CAPACITY_TYPES = {"spot": "SPOT", "capacity-block": "CAPACITY_BLOCK", "on-demand": "ON_DEMAND", "reservation": "ON_DEMAND"}
"""A node group's capacity type by its step (an ODCR serves on-demand launches that target it)."""


def autoscaler_flags(cluster_name: str, scaler: AutoscalerSpec) -> list[str]:
    """Cluster Autoscaler flags: discover this cluster's node groups by the tags EKS puts on their
    Auto Scaling groups, and scale down as the topology's ``autoscaling`` says (GPU nodes judged
    by their GPUs' use)."""
    utilization = f"{scaler['scale_down_utilization']:g}"
    return [
        "--cloud-provider=aws",
        "--namespace=kube-system",
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster_name}",
        # With capacity lists, the priority expander takes their steps in order, and the
        # topology's expander chooses among pools of equal priority.
        f"--expander={'priority,' if scaler.get('priorities') else ''}{scaler.get('expander', 'least-waste')}",
        f"--scale-down-utilization-threshold={utilization}",
        f"--scale-down-gpu-utilization-threshold={utilization}",
        f"--scale-down-unneeded-time={scaler['scale_down_after_minutes']}m",
        "--logtostderr=true",
        "--stderrthreshold=info",
        "--v=4",
    ]


SCRATCH_ON_NVME = """[settings.bootstrap-commands.000-local-nvme-scratch]
commands = [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]]
essential = true
mode = "always"
"""
"""Bottlerocket settings (TOML user data) putting pods' scratch space on the instance store:
``apiclient ephemeral-storage init`` makes its NVMe disks one RAID 0 array (a single disk is
mounted as is) and ``bind`` moves these directories onto it; essential, so a node whose disks
fail to mount does not join."""


def allocatable_storage(gb: int) -> str:
    """What pods may use of a node's scratch filesystem of ``gb``: the kubelet evicts below 10%
    free (its default nodefs.available) and Bottlerocket reserves 1 GiB for the system."""
    return f"{int(gb * 0.9) - 1}G"


def efa_interfaces(count: int) -> list[tuple[int, int, str]]:
    """(network card, device index, interface type) of a node with ``count`` EFA interfaces, as
    EC2 and EKS lay them out: card 0's primary interface carries IP traffic, an EFA-only
    interface beside it (device 1), and one EFA-only interface on each further card."""
    return [(0, 0, "interface"), (0, 1, "efa-only"), *((card, 0, "efa-only") for card in range(1, count))]


def efa_template_tags(interfaces: int, vcpus: int) -> dict[str, str]:
    """What a node of an empty EFA pool offers pods, for the autoscaler's template node: its EFA
    interfaces and the 2 MiB huge pages Bottlerocket reserves when EFA is attached (110 per
    vCPU, its settings generator; libfabric uses them)."""
    prefix = "k8s.io/cluster-autoscaler/node-template/resources/"
    return {f"{prefix}vpc.amazonaws.com/efa": str(interfaces), f"{prefix}hugepages-2Mi": f"{110 * 2 * vcpus}Mi"}


def efa_plugin_image(region: str) -> str:
    """AWS's EFA device plugin from the EKS image registry of the region (the node role may pull
    from it, and a private cluster's ECR endpoints reach only its own region)."""
    account = EKS_IMAGE_ACCOUNTS.get(region, "602401143452")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}/eks/aws-efa-k8s-device-plugin:{EFA_PLUGIN_VERSION}"


GPU_NODE_LABEL = "k8s.amazonaws.com/accelerator"
"""How the Cluster Autoscaler on AWS recognizes a GPU node ("label the node before it joins the cluster")."""


def _group_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str | None:
    """A managed node group's Auto Scaling group (EKS makes one), once it exists."""
    groups = resources[0].autoscaling_groups if resources else None
    return groups[0].name if groups else None


def _principal_name(arn: str) -> str:
    """A stable logical name for a principal's entry: its last path segment and a hash of the ARN."""
    return f"{arn.rsplit('/', 1)[-1].lower()[:32]}-{digest(arn)}"


def _assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
            ],
        }
    )


class AwsGpuCluster(GpuCluster):
    """An EKS cluster with a private API endpoint (unless ``api_access`` is public with
    allowed CIDRs), Kubernetes secrets encrypted with a rotating KMS key, all control-plane
    logs, EKS Pod Identity, and one managed node group per pool: Bottlerocket (the NVIDIA
    variant on GPU pools, which carries the driver and device plugin), IMDSv2 only,
    encrypted volumes, the platform label and the ``nvidia.com/gpu`` taint."""

    vpc_id: pulumi.Output[str]
    """The VPC the cluster runs in (created, or the existing one)."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AwsGpuCluster", name, args, opts)
        self._offered: dict[str, frozenset[str]] = {}
        """Zone IDs where EC2 sells each machine type, asked once per type (a capacity list's
        pools share their machine)."""
        net = args["network"]
        vpc_id, subnets, route_tables = self._network(net, args["cluster_name"], args["region"], args["tags"], args["log_retention_days"])
        subnet_ids = [subnet for _, subnet in subnets]
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        if route_tables:  # a VPC topoform made: its private paths to AWS services
            self._endpoints(vpc_id, net["cidr"], subnet_ids, route_tables, args)

        key = kms_key(self, self.child("secrets-key"), f"Kubernetes secrets of EKS cluster {args['cluster_name']}", args["tags"])
        aws.kms.Alias(self.child("secrets-key-alias"), name=f"alias/{args['cluster_name']}-secrets", target_key_id=key.key_id, opts=self.opts())

        role = aws.iam.Role(**self.naming("aws:iam/role:Role", "cluster-role"), assume_role_policy=_assume("eks.amazonaws.com"), opts=self.opts())
        cluster_policy = aws.iam.RolePolicyAttachment(
            self.child("cluster-role-policy"),
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=self.opts(),
        )
        # EKS encrypts secrets as the cluster role: it needs these actions on this key only.
        key_use = aws.iam.RolePolicy(
            **self.naming("aws:iam/rolePolicy:RolePolicy", "cluster-role-kms"),
            role=role.id,
            policy=key.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey", "kms:CreateGrant"],
                                "Resource": arn,
                            }
                        ],
                    }
                )
            ),
            opts=self.opts(),
        )
        logs = aws.cloudwatch.LogGroup(
            self.child("logs"),
            name=f"/aws/eks/{args['cluster_name']}/cluster",
            retention_in_days=args["log_retention_days"],
            opts=self.opts(),
        )
        # Nodes reach the API privately. The public endpoint exists only for the networks that
        # must reach it from outside: the deployer's egress (and allowed_cidrs of a public API).
        reach = api_networks(args)
        self.unreachable_notice(args, reach, "VPC")
        cluster = aws.eks.Cluster(
            self.child("eks"),
            name=args["cluster_name"],
            version=args["kubernetes_version"],
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=bool(reach.public),
                public_access_cidrs=reach.public or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # No implicit entry for whoever creates the cluster: the site's admins (the
                # deployer among them) get explicit ones below (an implicit one would collide).
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(service_ipv4_cidr=net["services_cidr"]),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.get("support_type", "STANDARD")),
            deletion_protection=args["protect"],
            tags=args["tags"],
            # The bootstrap flag is create-only: clusters made with it on keep it (see the README).
            opts=self.stateful(depends_on=[cluster_policy, key_use, logs], ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"]),
        )
        # Connected networks (a VPN, peering or Direct Connect into the VPC) reach the private
        # endpoint through the cluster security group, which admits only itself by default.
        sg = cluster.vpc_config.apply(lambda c: c.cluster_security_group_id or "")
        for cidr in reach.private:
            aws.vpc.SecurityGroupIngressRule(
                self.child("api-from", cidr.replace("/", "-").replace(".", "-")),
                security_group_id=sg,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="deployer network to the private Kubernetes API",
                tags=args["tags"],
                opts=self.opts(),
            )

        node_role = aws.iam.Role(**self.naming("aws:iam/role:Role", "node-role"), assume_role_policy=_assume("ec2.amazonaws.com"), opts=self.opts())
        attachments = [
            aws.iam.RolePolicyAttachment(self.child("node-role", short), role=node_role.name, policy_arn=arn, opts=self.opts())
            for short, arn in NODE_POLICIES.items()
        ]
        # Nodes need the CNI (with its credentials) to become ready: it comes first.
        networking = self._networking_addons(cluster, args)
        sizes = self._current_sizes(args["cluster_name"])
        fabric_sg = self._fabric_security_group(vpc_id, args) if any("fabric" in p for p in args["node_pools"].values()) else None
        groups = {
            key_: self._node_group(key_, pool, cluster, node_role, subnets, args, [*attachments, *networking], sizes.get(key_), (sg, fabric_sg))
            for key_, pool in args["node_pools"].items()
        }
        cpu_groups = [g for k, g in groups.items() if "gpu_type" not in args["node_pools"][k]]
        # CoreDNS is a Deployment: until a node can run it, the add-on would wait, degraded.
        for addon in ("kube-proxy", "coredns"):
            self._addon(cluster, args, addon, depends_on=cpu_groups)

        region = args["region"]
        kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda a: exec_kubeconfig(
                str(a[0]),
                str(a[1]),
                str(a[2]),
                "aws",
                ["--region", region, "eks", "get-token", "--cluster-name", str(a[0]), "--output", "json"],
            )
        )
        issuer = cluster.identities.apply(lambda ids: (ids[0].oidcs[0].issuer or "") if ids and ids[0].oidcs else "")
        authorized = self._access(cluster, args)
        # The OIDC issuer is the cluster's own for its whole life (a new cluster of the same name gets another).
        self.finish(cluster.name, cluster.endpoint, kubeconfig, oidc_issuer=issuer, authorized=authorized, identity=issuer)
        if "autoscaler" in args:
            self._autoscaler(cluster, args, groups, cpu_groups)
        if fabric_sg is not None:
            # Bottlerocket carries EFA's host side; pods see the interfaces through AWS's device plugin.
            efa_device_plugin(self.child("efa-device-plugin"), efa_plugin_image(args["region"]), self.kubernetes_provider, self)

    def _offered_subnets(self, key: str, pool: NodePoolSpec, subnets: list[_Subnet], args: GpuClusterArgs) -> list[pulumi.Input[str]]:
        """A pool's subnets in the zones (by ID, in order) where EC2 offers its machine in this
        account: a zone without it makes EKS refuse the node group, or fails the group's launches
        there, which benches the whole group."""
        candidates = [(zone, subnet) for zone, subnet in subnets if zone in (pool.get("zones") or [zone])]
        machine = pool["machine_type"]
        if machine not in self._offered:
            self._offered[machine] = frozenset(
                aws.ec2.get_instance_type_offerings(
                    location_type="availability-zone-id",
                    filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[machine])],
                    opts=pulumi.InvokeOptions(parent=self),
                ).locations
            )
        usable = sorted((c for c in candidates if c[0] in self._offered[machine]), key=lambda c: (len(c[0]), c[0]))
        if not usable:
            zones = ", ".join(sorted({z for z, _ in candidates}))
            raise pulumi.RunError(
                f"cluster {args['cluster_name']}, pool {key}: {pool['machine_type']} is not offered in its zones ({zones}); "
                "name one that has it in the pool's overrides.aws.zones (or the site's network.zones), or leave the type out of the pool's spot step"
            )
        return [subnet for _, subnet in usable]

    def _fabric_security_group(self, vpc_id: pulumi.Input[str], args: GpuClusterArgs) -> pulumi.Output[str]:
        """EFA's OS-bypass traffic needs "all inbound and outbound traffic to and from itself":
        a group of its own for the fabric interfaces (beside the cluster's, which EKS no longer
        adds once interfaces name groups), untagged for load balancers."""
        group = aws.ec2.SecurityGroup(
            **self.naming("aws:ec2/securityGroup:SecurityGroup", "fabric"),
            vpc_id=vpc_id,
            description=f"EFA traffic between the nodes of {args['cluster_name']}",
            tags=args["tags"],
            opts=self.opts(),
        )
        for direction, rule in (("in", aws.vpc.SecurityGroupIngressRule), ("out", aws.vpc.SecurityGroupEgressRule)):
            rule(
                self.child("fabric", direction),
                security_group_id=group.id,
                referenced_security_group_id=group.id,
                ip_protocol="-1",
                description="EFA between fabric interfaces",
                tags=args["tags"],
                opts=self.opts(),
            )
        return group.id

    def _autoscaler(self, cluster: aws.eks.Cluster, args: GpuClusterArgs, groups: dict[str, aws.eks.NodeGroup], cpu_groups: list[aws.eks.NodeGroup]) -> None:
        """EKS scales no node group itself: the Cluster Autoscaler, with a role of its own
        through EKS Pod Identity (hop limit 1 keeps pods off the node role), the region given
        (it cannot read it from the metadata service), on the CPU pools."""
        scaler = args["autoscaler"]
        role = aws.iam.Role(**self.naming("aws:iam/role:Role", "autoscaler-role"), assume_role_policy=_assume("pods.eks.amazonaws.com"), tags=args["tags"], opts=self.opts())
        policy = aws.iam.RolePolicy(
            **self.naming("aws:iam/rolePolicy:RolePolicy", "autoscaler-role"),
            role=role.id,
            policy=pulumi.Output.all(aws.get_partition_output(opts=self.invoke_opts()).partition, aws.get_caller_identity_output(opts=self.invoke_opts()).account_id).apply(
                lambda a: json.dumps(autoscaler_policy(args["cluster_name"], args["region"], str(a[0]), str(a[1])))
            ),
            opts=self.opts(),
        )
        association = aws.eks.PodIdentityAssociation(
            self.child("autoscaler"),
            cluster_name=cluster.name,
            namespace="kube-system",
            service_account=AUTOSCALER,
            role_arn=role.arn,
            tags=args["tags"],
            opts=self.opts(depends_on=[policy]),
        )
        import pulumiverse_time as time

        # Associations "may take several seconds to be effective" and credentials are injected
        # when a pod is admitted: a pod admitted before would never get any (hop limit 1 leaves
        # it no fallback). Wait, and roll the pods whenever the association is replaced.
        effective = time.Sleep(self.child("autoscaler-wait"), create_duration=ACCESS_WAIT, triggers={"association": association.association_id}, opts=self.opts(depends_on=[association]))
        ordered = scaler.get("priorities", {})
        if ordered:
            # The priority expander matches Auto Scaling group names, which EKS makes up.
            names = {k: groups[k].resources.apply(_group_name) for k in ordered}
            config = pulumi.Output.all(**names).apply(lambda n: priority_config(ordered, {k: f"^{v}$" for k, v in n.items() if v}))
            priority_expander(self.child("autoscaler"), config, self.kubernetes_provider, self)
        cluster_autoscaler(
            self.child("autoscaler"),
            scaler["image"],
            autoscaler_flags(args["cluster_name"], scaler),
            {"AWS_REGION": args["region"]},
            self.kubernetes_provider,
            self,
            depends_on=[effective, *cpu_groups],
            annotations={"topoform.io/pod-identity-association": association.association_id},
        )

    def _access(self, cluster: aws.eks.Cluster, args: GpuClusterArgs) -> list[pulumi.Resource]:
        """One access entry per principal (EKS takes one per principal): the site's admins get
        AmazonEKSClusterAdminPolicy on the cluster, teams' roles their groups (every group of
        every team that assumes the role). Returns what the Kubernetes provider waits for: the
        admins' associations, and the seconds EKS takes to apply them."""
        teams = args.get("team_principals", {})
        admins = args.get("admins", [])
        partition = aws.get_partition_output(opts=self.invoke_opts()).partition
        # Team entries were named after one of the role's groups (whichever team came last): each
        # of them is an alias, so the entry keeps its URN, save names two roles could claim.
        old_names = {arn: [self.child("team", g.split("@")[0].replace(".", "-")) for g in groups] for arn, groups in teams.items()}
        claimed = [n for names in old_names.values() for n in dict.fromkeys(names)]
        unique_old = {arn: [n for n in dict.fromkeys(names) if claimed.count(n) == 1] for arn, names in old_names.items()}
        associations: list[aws.eks.AccessPolicyAssociation] = []
        for arn in sorted(dict.fromkeys([*admins, *teams])):
            role = self.child("access", _principal_name(arn))
            entry = aws.eks.AccessEntry(
                role,
                cluster_name=cluster.name,
                principal_arn=arn,
                kubernetes_groups=teams.get(arn) or None,
                type="STANDARD",
                tags=args["tags"],
                # The principal is fixed: a change is a new entry, and only one may exist.
                opts=self.opts(delete_before_replace=True, aliases=[pulumi.Alias(name=n) for n in unique_old.get(arn, [])] or None),
            )
            if arn in admins:
                associations.append(
                    aws.eks.AccessPolicyAssociation(
                        role,
                        cluster_name=cluster.name,
                        principal_arn=entry.principal_arn,
                        policy_arn=partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{ADMIN_POLICY}"),
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        opts=self.opts(),
                    )
                )
        if not associations:
            return []
        import pulumiverse_time as time

        # "access entry creation and updates are eventually consistent, and may take several
        # seconds to be effective" (EKS User Guide); the Kubernetes provider does not retry.
        return [
            time.Sleep(
                self.child("access-wait"),
                create_duration=ACCESS_WAIT,
                triggers={f"admin{i}": a.id for i, a in enumerate(associations)},
                opts=self.opts(depends_on=associations),
            )
        ]

    def _network(self, net: NetworkSpec, cluster_name: str, region: str, tags: dict[str, str], log_days: int) -> tuple[pulumi.Input[str], list[_Subnet], list[pulumi.Input[str]]]:
        """The VPC, its private subnets (each with its zone ID) and their route tables (none
        for an existing VPC, whose routes are its owner's)."""
        existing = net.get("existing")
        if existing:
            lookup = pulumi.InvokeOptions(parent=self)
            return existing["vpc_id"], [(aws.ec2.get_subnet(id=subnet, opts=lookup).availability_zone_id, subnet) for subnet in existing["subnet_ids"]], []
        vpc = aws.ec2.Vpc(
            self.child("vpc"),
            cidr_block=net["cidr"],
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": self.child("vpc")},
            opts=self.opts(),
        )
        self._flow_logs(vpc, cluster_name, region, tags, log_days)
        # The default security group admits nothing; nodes use the cluster's own groups.
        aws.ec2.DefaultSecurityGroup(self.child("default-sg"), vpc_id=vpc.id, ingress=[], egress=[], opts=self.opts())
        # Zones by ID, which names the same physical zone in every account, without the zones EKS
        # refuses and without Local or Wavelength Zones (opted in, they are listed too).
        # Every state counts: a zone impaired for the day must not move the network's subnets.
        offered = aws.get_availability_zones(
            exclude_zone_ids=list(EKS_EXCLUDED_ZONE_IDS),
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOptions(parent=self),
        )
        zones = choose_zones(cluster_name, region, list(offered.zone_ids), net.get("zone_ids") or [], net["zones"])
        igw = aws.ec2.InternetGateway(self.child("igw"), vpc_id=vpc.id, tags=tags, opts=self.opts())
        public_rt = aws.ec2.RouteTable(
            self.child("public-rt"),
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags,
            opts=self.opts(),
        )
        nats: list[aws.ec2.NatGateway] = []
        private_ids: list[_Subnet] = []
        route_tables: list[pulumi.Input[str]] = []
        for i, (private_cidr, public_cidr) in enumerate(zip(net["private_subnets"], net["public_subnets"], strict=True)):
            slot = str(i + 1)
            az = zones[i]
            public = aws.ec2.Subnet(
                self.child("public", slot),
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone_id=az,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": self.child("public", slot), "kubernetes.io/role/elb": "1"},
                opts=self.opts(),
            )
            aws.ec2.RouteTableAssociation(self.child("public", slot), subnet_id=public.id, route_table_id=public_rt.id, opts=self.opts())
            if net["nat"] == "per_zone" or not nats:
                eip = aws.ec2.Eip(self.child("nat", slot), domain="vpc", tags=tags, opts=self.opts())
                nats.append(
                    aws.ec2.NatGateway(
                        self.child("nat", slot),
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=tags,
                        opts=self.opts(depends_on=[igw]),
                    )
                )
            private = aws.ec2.Subnet(
                self.child("private", slot),
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone_id=az,
                map_public_ip_on_launch=False,
                tags={
                    **tags,
                    "Name": self.child("private", slot),
                    "kubernetes.io/role/internal-elb": "1",
                    f"kubernetes.io/cluster/{cluster_name}": "shared",
                },
                opts=self.opts(),
            )
            rt = aws.ec2.RouteTable(
                self.child("private", slot),
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id)],
                tags=tags,
                opts=self.opts(),
            )
            aws.ec2.RouteTableAssociation(self.child("private", slot), subnet_id=private.id, route_table_id=rt.id, opts=self.opts())
            private_ids.append((az, private.id))
            route_tables.append(rt.id)
        return vpc.id, private_ids, route_tables

    def _flow_logs(self, vpc: aws.ec2.Vpc, cluster_name: str, region: str, tags: dict[str, str], log_days: int) -> None:
        """The VPC's traffic, accepted and rejected, in CloudWatch Logs (GCP subnets log theirs
        through their log_config): what an incident review reads first."""
        group = aws.cloudwatch.LogGroup(
            self.child("flow-logs"),
            name=f"/aws/vpc/{cluster_name}/flow-logs",
            retention_in_days=log_days,
            tags=tags,
            opts=self.opts(),
        )
        # Only this account's flow logs in this region may assume it (no confused deputy).
        account = aws.get_caller_identity_output(opts=self.invoke_opts()).account_id
        role = aws.iam.Role(
            **self.naming("aws:iam/role:Role", "flow-logs-role"),
            assume_role_policy=account.apply(
                lambda acct: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": acct},
                                    "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{region}:{acct}:vpc-flow-log/*"},
                                },
                            }
                        ],
                    }
                )
            ),
            tags=tags,
            opts=self.opts(),
        )
        # What the VPC Flow Logs service needs to write into this one log group, and nothing else.
        writer = aws.iam.RolePolicy(
            **self.naming("aws:iam/rolePolicy:RolePolicy", "flow-logs-role"),
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            },
                            # AWS's flow-log role "must include at least" DescribeLogGroups, a list
                            # action that no log-group ARN scopes: it reads names, never events.
                            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
                        ],
                    }
                )
            ),
            opts=self.opts(),
        )
        aws.ec2.FlowLog(
            self.child("flow-log"),
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            tags=tags,
            opts=self.opts(depends_on=[writer]),
        )

    def _node_group(
        self,
        key: str,
        pool: NodePoolSpec,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        subnets: list[_Subnet],
        args: GpuClusterArgs,
        attachments: list[pulumi.Resource],
        current: int | None,
        security_groups: tuple[pulumi.Input[str], pulumi.Input[str] | None],
    ) -> aws.eks.NodeGroup:
        fabric = pool.get("fabric")
        tags = {
            **args["tags"],
            "topoform-pool": key,
            # Cluster Autoscaler auto-discovery.
            "k8s.io/cluster-autoscaler/enabled": "true",
            f"k8s.io/cluster-autoscaler/{args['cluster_name']}": "owned",
            # What a node of a pool at zero offers pods that ask for local disk: the autoscaler
            # reads a managed node group's tags (DescribeNodegroup) for its template node.
            "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage": allocatable_storage(pool["scratch"].get("gb", pool["disk_gb"]) if "scratch" in pool else pool["disk_gb"]),
            **(efa_template_tags(fabric["interfaces"], fabric["vcpus"]) if fabric else {}),
        }
        extra: dict[str, Any] = {}  # what the launch template adds for scratch space and the fabric
        if "scratch" in pool:
            # Bottlerocket merges this into EKS's own settings: the instance-store disks become
            # one RAID 0 array, and the kubelet's, the runtime's and pod logs' directories live on it.
            extra["user_data"] = base64.b64encode(SCRATCH_ON_NVME.encode()).decode()
        subnet_ids = _subnets_in(args["cluster_name"], key, subnets, pool.get("zones"))
        step = capacity_kind(pool)
        ref = reservation_of(pool)
        if "gpu_type" in pool and ref is None:
            # The cluster's zones are the lowest IDs EKS takes, whatever the machines: a GPU group
            # keeps those where EC2 sells its machine (EKS refuses a group with a zone that does
            # not). A reservation's or Capacity Block's group runs in the zone it was made in.
            subnet_ids = self._offered_subnets(key, pool, subnets, args)
        if ref is not None:
            # Reserved capacity: the launch template targets the reservation (or Capacity Block)
            # alone, in its zone (the step's one zone); a Capacity Block also needs its market
            # type and its instance type in the template (EKS User Guide, ML node groups).
            target = (
                aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(capacity_reservation_resource_group_arn=ref)
                if ref.startswith("arn:")
                else aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(capacity_reservation_id=ref)
            )
            # Only the reservation: a group's launches would otherwise fall back to plain on-demand
            # when it is used up (EC2), and this step's would look like success to the autoscaler.
            extra["capacity_reservation_specification"] = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
                capacity_reservation_preference="capacity-reservations-only", capacity_reservation_target=target
            )
            if step == "capacity-block":
                extra["instance_market_options"] = aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block")
                extra["instance_type"] = pool["machine_type"]
        if fabric:
            # One zone (EFA reaches no further) and a cluster placement group; every interface
            # names the cluster's group and the fabric's (EKS adds none once interfaces name some).
            groups = [g for g in security_groups if g is not None]
            if ref is None:
                subnet_ids = self._offered_subnets(key, pool, subnets, args)[:1]  # the first zone that has it
                placement = aws.ec2.PlacementGroup(**self.naming("aws:ec2/placementGroup:PlacementGroup", "pool", key), strategy="cluster", tags=tags, opts=self.opts())
                extra["placement"] = aws.ec2.LaunchTemplatePlacementArgs(group_name=placement.name)
            # else no placement group: EC2 launches into a reservation only with the placement
            # group it was made in (if any), and a Capacity Block's instances are already close
            # together ("no need to use a cluster placement group with a Capacity Block").
            extra |= {
                "network_interfaces": [
                    aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                        network_card_index=card, device_index=device, interface_type=kind, security_groups=groups, delete_on_termination="true"
                    )
                    for card, device, kind in efa_interfaces(fabric["interfaces"])
                ],
            }
        template = aws.ec2.LaunchTemplate(
            **self.naming("aws:ec2/launchTemplate:LaunchTemplate", "pool", key),
            description=f"Nodes of pool {key} in {args['cluster_name']}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: the node reaches the metadata service, pods off the host network (one
                # hop further) do not, so they cannot take the node role's credentials. Pods get
                # their own through EKS Pod Identity, whose agent runs on the host network. Add-ons
                # that read their region or VPC from the metadata service (cluster-autoscaler,
                # the AWS Load Balancer Controller) must be given them.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    # Bottlerocket: /dev/xvda holds the OS, /dev/xvdb the data (images, pods).
                    device_name="/dev/xvdb",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool["disk_gb"],
                        volume_type=pool.get("disk_type", "gp3"),
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags=tags),
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags=tags),
            ],
            tags=tags,
            opts=self.opts(),
            **extra,
        )
        return aws.eks.NodeGroup(
            **self.naming("aws:eks/nodeGroup:NodeGroup", "pool", key),
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=subnet_ids,
            # A Capacity Block's instance type is its launch template's, never the node group's.
            instance_types=None if step == "capacity-block" else [pool["machine_type"]],
            ami_type=pool.get("image"),
            capacity_type=CAPACITY_TYPES[step],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool["min_nodes"],
                max_size=pool["max_nodes"],
                desired_size=desired_size(current, pool["min_nodes"], pool["max_nodes"]),
            ),
            # The Cluster Autoscaler knows a GPU node by this label before the device plugin
            # reports its GPUs, and so does not add nodes twice for the same pending pods.
            labels={**pool["labels"], **({GPU_NODE_LABEL: pool["gpu_type"]} if "gpu_type" in pool else {})},
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=TAINT_EFFECTS[t["effect"]])
                for t in pool["taints"]
            ],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            # A reservation holds no machine for a surge node (and a Capacity Block group must be
            # at zero to upgrade): reserved steps replace a node before adding one.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1, update_strategy="MINIMAL" if ref is not None else None),
            tags=tags,
            opts=self.opts(depends_on=attachments),
        )

    def _addon(self, cluster: aws.eks.Cluster, args: GpuClusterArgs, name: str, **kwargs: Any) -> aws.eks.Addon:
        """A managed add-on at EKS's default version for the cluster's Kubernetes version (so a
        control-plane upgrade upgrades it), taking over what EKS installed itself, and left in
        the cluster if the resource is ever deleted (removing the CNI would strand every pod)."""
        depends_on = kwargs.pop("depends_on", [])
        version = aws.eks.get_addon_version_output(addon_name=name, kubernetes_version=args["kubernetes_version"], opts=self.invoke_opts())
        return aws.eks.Addon(
            self.child(ADDON_ROLES.get(name, name)),
            cluster_name=cluster.name,
            addon_name=name,
            addon_version=version.version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            preserve=True,
            tags=args["tags"],
            opts=self.opts(depends_on=depends_on),
            **kwargs,
        )

    def _networking_addons(self, cluster: aws.eks.Cluster, args: GpuClusterArgs) -> list[pulumi.Resource]:
        """EKS Pod Identity's agent, then the VPC CNI with NetworkPolicy enforcement and its own
        role (what nodes need before they are ready)."""
        agent = self._addon(cluster, args, "eks-pod-identity-agent")
        cni_role = aws.iam.Role(**self.naming("aws:iam/role:Role", "cni-role"), assume_role_policy=_assume("pods.eks.amazonaws.com"), tags=args["tags"], opts=self.opts())
        cni_policy = aws.iam.RolePolicyAttachment(self.child("cni-role-policy"), role=cni_role.name, policy_arn=CNI_POLICY, opts=self.opts())
        cni = self._addon(
            cluster,
            args,
            "vpc-cni",
            configuration_values=json.dumps(CNI_CONFIGURATION),
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(role_arn=cni_role.arn, service_account="aws-node")],
            depends_on=[agent, cni_policy],
        )
        return [agent, cni]

    def _endpoints(self, vpc_id: pulumi.Input[str], cidr: str, subnet_ids: list[pulumi.Input[str]], route_tables: list[pulumi.Input[str]], args: GpuClusterArgs) -> None:
        """S3 through a gateway endpoint on the private route tables (free, and dataset reads no
        longer pay NAT processing), with a policy no wider than what the workloads are granted;
        for a private cluster, the interface endpoints its nodes call (ECR, STS, EKS Pod Identity)."""
        region, tags = args["region"], args["tags"]
        partition = aws.get_partition_output(opts=self.invoke_opts()).partition
        grants = [(g["mode"], args["stores"][g["store"]].store_id) for g in args.get("store_grants", []) if g["store"] in args.get("stores", {})]
        aws.ec2.VpcEndpoint(
            self.child("s3-endpoint"),
            vpc_id=vpc_id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=route_tables,
            policy=pulumi.Output.all(partition, *[b for _, b in grants]).apply(
                lambda v: s3_endpoint_policy(str(v[0]), region, [(m, str(b)) for (m, _), b in zip(grants, v[1:], strict=True)], args.get("read_buckets", []))
            ),
            tags={**tags, "Name": self.child("s3-endpoint")},
            opts=self.opts(),
        )
        services = args.get("vpc_endpoints", [])
        if not services:
            return
        sg = aws.ec2.SecurityGroup(
            **self.naming("aws:ec2/securityGroup:SecurityGroup", "endpoints-sg"),
            vpc_id=vpc_id,
            description="HTTPS from the VPC to its interface endpoints",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=[cidr], description="HTTPS from the VPC")],
            egress=[],
            tags={**tags, "Name": self.child("endpoints-sg")},
            opts=self.opts(),
        )
        for service in services:
            policy = ENDPOINT_POLICIES.get(service)
            aws.ec2.VpcEndpoint(
                self.child("endpoint", service.replace(".", "-")),
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=subnet_ids,
                security_group_ids=[sg.id],
                private_dns_enabled=True,
                policy=json.dumps(policy) if policy else None,
                tags={**tags, "Name": self.child("endpoint", service.replace(".", "-"))},
                opts=self.opts(),
            )

    def _current_sizes(self, cluster_name: str) -> dict[str, int]:
        """The size each pool's node group has now (by its ``topoform-pool`` tag), as an
        autoscaler or a person left it: nothing offline, or before the cluster exists."""
        if offline():
            return {}
        opts = pulumi.InvokeOptions(parent=self)
        try:
            names = aws.eks.get_node_groups(cluster_name=cluster_name, opts=opts).names
        except Exception as e:  # noqa: BLE001 - only "no such cluster" means there is nothing yet
            if "ResourceNotFoundException" in str(e):
                return {}
            raise
        sizes: dict[str, int] = {}
        for name in sorted(names):
            try:
                group = aws.eks.get_node_group(cluster_name=cluster_name, node_group_name=name, opts=opts)
            except Exception as e:  # noqa: BLE001 - a group deleted since the list has no size to keep
                if "ResourceNotFoundException" in str(e) or "couldn't find resource" in str(e):
                    continue
                raise
            pool = (group.tags or {}).get("topoform-pool")
            if pool and group.scaling_configs:
                sizes[pool] = group.scaling_configs[0].desired_size
        return sizes

"""AwsGpuCluster: EKS on a private VPC, secrets under a KMS key, Bottlerocket node groups."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from ...naming import digest
from ...resources import GpuCluster, GpuClusterArgs, exec_kubeconfig
from ...specs import NetworkSpec, NodePoolSpec
from ..base import api_networks
from .keys import kms_key

__all__ = ["AwsGpuCluster"]

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
}
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
"""The EKS access policy of a cluster administrator (cluster scope)."""
ACCESS_WAIT = "30s"


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
        net = args["network"]
        vpc_id, subnet_ids = self._network(net, args["cluster_name"], args["region"], args["tags"], args["log_retention_days"])
        self.vpc_id = pulumi.Output.from_input(vpc_id)

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
        groups = {
            key_: self._node_group(key_, pool, cluster, node_role, subnet_ids, args, attachments)
            for key_, pool in args["node_pools"].items()
        }
        cpu_groups = [g for k, g in groups.items() if "gpu_type" not in args["node_pools"][k]]
        aws.eks.Addon(
            self.child("pod-identity"),
            cluster_name=cluster.name,
            addon_name="eks-pod-identity-agent",
            resolve_conflicts_on_create="OVERWRITE",
            tags=args["tags"],
            opts=self.opts(depends_on=cpu_groups),
        )

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

    def _network(self, net: NetworkSpec, cluster_name: str, region: str, tags: dict[str, str], log_days: int) -> tuple[pulumi.Input[str], list[pulumi.Input[str]]]:
        existing = net.get("existing")
        if existing:
            return existing["vpc_id"], list(existing["subnet_ids"])
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
        zones = aws.get_availability_zones_output(state="available", opts=self.invoke_opts())
        igw = aws.ec2.InternetGateway(self.child("igw"), vpc_id=vpc.id, tags=tags, opts=self.opts())
        public_rt = aws.ec2.RouteTable(
            self.child("public-rt"),
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags,
            opts=self.opts(),
        )
        nats: list[aws.ec2.NatGateway] = []
        private_ids: list[pulumi.Input[str]] = []
        for i, (private_cidr, public_cidr) in enumerate(zip(net["private_subnets"], net["public_subnets"], strict=True)):
            slot = str(i + 1)
            az = zones.names[i]
            public = aws.ec2.Subnet(
                self.child("public", slot),
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=az,
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
                availability_zone=az,
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
            private_ids.append(private.id)
        return vpc.id, private_ids

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
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
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
        subnet_ids: list[pulumi.Input[str]],
        args: GpuClusterArgs,
        attachments: list[aws.iam.RolePolicyAttachment],
    ) -> aws.eks.NodeGroup:
        tags = {
            **args["tags"],
            "topoform-pool": key,
            # Cluster Autoscaler auto-discovery.
            "k8s.io/cluster-autoscaler/enabled": "true",
            f"k8s.io/cluster-autoscaler/{args['cluster_name']}": "owned",
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
                        volume_type="gp3",
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
        )
        return aws.eks.NodeGroup(
            **self.naming("aws:eks/nodeGroup:NodeGroup", "pool", key),
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=subnet_ids,
            instance_types=[pool["machine_type"]],
            ami_type=pool.get("image"),
            capacity_type="SPOT" if pool["spot"] else "ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool["min_nodes"],
                max_size=pool["max_nodes"],
                desired_size=pool["min_nodes"],
            ),
            labels=pool["labels"],
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=TAINT_EFFECTS[t["effect"]])
                for t in pool["taints"]
            ],
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            tags=tags,
            # The cluster autoscaler owns the current size once the group exists.
            opts=self.opts(depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]),
        )

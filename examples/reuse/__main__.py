"""Reuse topoform's components in your own Pulumi program: your providers, no topology file.

Two levels: ``topoform.GpuCluster``, ``topoform.EncryptedStore`` and ``topoform.Endpoint`` take a
topology-like description (cloud, region, logical GPU types, exposure) and apply topoform's
planner and defaults; the
per-cloud classes (here ``AwsWorkloadIdentity``) take a resolved spec you write yourself. Your
own resources build on their outputs, like the namespace and the job below.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

import topoform

# Your providers: topoform's components create nothing with a default provider.
tags = {"owner": "ml-platform", "cost-center": "research"}
east = aws.Provider("east", region="us-east-1", default_tags=aws.ProviderDefaultTagsArgs(tags=tags))

cluster = topoform.GpuCluster(
    "train",
    {
        "cloud": "aws",
        "region": "us-east-1",
        "system": "demo",
        "environment": "dev",
        "labels": tags,
        "deployer_networks": ["198.51.100.10/32"],  # where `pulumi up` runs: the private API admits it alone
        "admins": ["arn:aws:iam::123456789012:role/platform-ci"],  # cluster-admin: the role `pulumi up` runs as, at least
        "node_pools": {
            "system": {"instance": "cpu-4x16", "min": 1, "max": 2},
            "l4": {"gpu_type": "L4", "gpu_count": 1, "min": 0, "max": 4, "spot": True},
        },
    },
    opts=pulumi.ResourceOptions(providers=[east]),
)

datasets = topoform.EncryptedStore(
    "datasets",
    {"cloud": "aws", "region": "us-east-1", "system": "demo", "environment": "dev", "labels": tags, "size_gb": 500, "backup_region": "us-west-2"},
    opts=pulumi.ResourceOptions(providers=[east]),
)

# Your own objects in the cluster, through the cluster's Kubernetes provider.
jobs = k8s.core.v1.Namespace("jobs", metadata=k8s.meta.v1.ObjectMetaArgs(name="jobs"), opts=pulumi.ResourceOptions(provider=cluster.kubernetes_provider))

# A per-cloud component with a spec written by hand: a service account that may read the store.
trainer = topoform.AwsWorkloadIdentity(
    "trainer",
    {
        "identity_name": "demo-dev-trainer",
        "namespace": "jobs",
        "service_account": "trainer",
        "grants": [{"store": "datasets", "mode": "read"}],
        "region": "us-east-1",
        "tags": tags,
        "kubernetes_provider": cluster.kubernetes_provider,
        "cluster_name": cluster.cluster_name,
        "stores": {"datasets": datasets},
    },
    opts=pulumi.ResourceOptions(provider=east, depends_on=[jobs]),
)

# An internal load balancer in front of the notebooks in that namespace: private addresses only.
notebooks = topoform.Endpoint(
    "notebooks",
    {
        "cloud": "aws",
        "region": "us-east-1",
        "system": "demo",
        "environment": "dev",
        "labels": tags,
        "kubeconfig": cluster.kubeconfig,
        "namespace": "jobs",
        "service": "notebooks",
        "port": 8888,
    },
    opts=pulumi.ResourceOptions(providers=[east], depends_on=[jobs]),
)

pulumi.export("cluster_name", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("bucket", datasets.store_name)
pulumi.export("trainer_role", trainer.principal)
pulumi.export("notebooks", notebooks.address)

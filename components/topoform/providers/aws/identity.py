"""AwsWorkloadIdentity: an IAM role for one Kubernetes service account, through EKS Pod Identity.

Why Pod Identity and not IRSA: the role trusts one service principal
(``pods.eks.amazonaws.com``) instead of each cluster's OIDC provider, so no IAM OIDC provider
per cluster, and the association (cluster, namespace, service account) is an AWS resource the
preview and the policies can read. It needs the ``eks-pod-identity-agent`` add-on, which
AwsGpuCluster installs.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from ...resources import IdentityArgs, WorkloadIdentity

__all__ = ["ACTIONS", "AwsWorkloadIdentity"]

# Least privilege per mode: on the bucket, on its objects, on its key. No wildcards.
ACTIONS: dict[str, dict[str, list[str]]] = {
    "read": {
        "bucket": ["s3:ListBucket", "s3:GetBucketLocation"],
        "objects": ["s3:GetObject", "s3:GetObjectVersion"],
        "key": ["kms:Decrypt", "kms:DescribeKey"],
    },
    "write": {
        "bucket": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
        "objects": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "key": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
    },
    "admin": {
        "bucket": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"],
        "objects": [
            "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts", "s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:RestoreObject",
        ],
        "key": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
    },
}


def _policy(grants: list[tuple[str, str, str]]) -> str:
    """(mode, bucket ARN, key ARN) -> an IAM policy naming only those buckets, objects and keys."""
    statements: list[dict[str, Any]] = []
    for i, (mode, bucket, key) in enumerate(grants):
        actions = ACTIONS[mode]
        statements.append({"Sid": f"Bucket{i}", "Effect": "Allow", "Action": actions["bucket"], "Resource": [bucket]})
        statements.append({"Sid": f"Objects{i}", "Effect": "Allow", "Action": actions["objects"], "Resource": [f"{bucket}/*"]})
        if key:
            statements.append({"Sid": f"Key{i}", "Effect": "Allow", "Action": actions["key"], "Resource": [key]})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class AwsWorkloadIdentity(WorkloadIdentity):
    """An IAM role assumable only by EKS Pod Identity, associated with one service account of
    one cluster, with an inline policy naming only the granted buckets, their objects and their
    keys; and the Kubernetes ServiceAccount."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AwsWorkloadIdentity", name, args, opts)
        role = aws.iam.Role(
            **self.naming("aws:iam/role:Role", "role"),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
                    ],
                }
            ),
            max_session_duration=3600,
            tags=args["tags"],
            opts=self.opts(),
        )
        if args["grants"]:
            parts: list[pulumi.Input[str]] = []
            for grant in args["grants"]:
                store = args["stores"][grant["store"]]
                parts += [grant["mode"], store.store_id, store.key_id]
            aws.iam.RolePolicy(
                **self.naming("aws:iam/rolePolicy:RolePolicy", "access"),
                role=role.id,
                policy=pulumi.Output.all(*parts).apply(lambda v: _policy([(v[i], v[i + 1], v[i + 2]) for i in range(0, len(v), 3)])),
                opts=self.opts(),
            )
        sa = self.service_account()
        aws.eks.PodIdentityAssociation(
            self.child("association"),
            cluster_name=args["cluster_name"],
            namespace=args["namespace"],
            service_account=args["service_account"],
            role_arn=role.arn,
            tags=args["tags"],
            opts=self.opts(),
        )
        self.finish(role.arn, sa)

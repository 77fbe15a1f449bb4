"""AwsEncryptedStore: S3 under a KMS key, private and TLS-only, replicated under its own key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ...resources import EncryptedStore, StoreArgs
from .keys import kms_key

__all__ = ["AwsEncryptedStore"]


@dataclass
class _Bucket:
    bucket: aws.s3.Bucket
    key: aws.kms.Key | None
    versioning: aws.s3.BucketVersioning

    @property
    def key_arn(self) -> pulumi.Input[str]:
        return self.key.arn if self.key is not None else ""


def _tls_only(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


def _replication_policy(source: str, replica: str, source_key: str, replica_key: str) -> str:
    """Least privilege for S3 replication: read versions here, write replicas there, these two keys."""
    keys = []
    if source_key:
        keys.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [source_key]})
    if replica_key:
        keys.append({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": [replica_key]})
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [source]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                    "Resource": [f"{source}/*"],
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": [f"{replica}/*"],
                },
                *keys,
            ],
        },
        sort_keys=True,
    )


class AwsEncryptedStore(EncryptedStore):
    """An S3 bucket: SSE-KMS with a bucket key under a rotating customer-managed key,
    versioning, all four public-access blocks, a TLS-only bucket policy, bucket-owner-enforced
    ownership, noncurrent versions expiring after ``retention_days``. With a replica: the same
    bucket in the backup region under its own key, and S3 replication through a role that may
    do only that."""

    def __init__(self, name: str, args: StoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AwsEncryptedStore", name, args, opts)
        primary = self._bucket("", args, None)
        replica_name: pulumi.Input[str] = ""
        replica_key_id: pulumi.Input[str] = ""
        replica_id: pulumi.Input[str] = ""
        if "replica" in args:
            replica = self._bucket("replica", args, args["replica_provider"])
            self._replication(primary, replica, args)
            replica_name = replica.bucket.bucket
            replica_key_id = replica.key_arn
            replica_id = replica.bucket.arn
        self.finish(
            primary.bucket.bucket,
            primary.key_arn,
            replica_name,
            replica_key_id,
            store_id=primary.bucket.arn,
            replica_store_id=replica_id,
            velero_location=primary.bucket.bucket.apply(
                lambda b: {"provider": "velero.io/aws", "objectStorage": {"bucket": b, "prefix": "velero"}, "config": {"region": args["region"]}}
            ),
        )

    def _bucket(self, role: str, args: StoreArgs, provider: pulumi.ProviderResource | None) -> _Bucket:
        """One bucket and its key; ``role`` is empty for the primary, ``replica`` for the copy."""
        prefix = (role,) if role else ()
        extra: dict[str, Any] = {"provider": provider} if provider is not None else {}
        tags = {**args["tags"], "topoform-role": role or "primary"}
        key = None
        if args["customer_managed_key"]:
            key = kms_key(self, self.child(*prefix, "key"), f"{self._name} {role or 'primary'} bucket", tags, **extra)
        bucket = aws.s3.Bucket(**self.naming("aws:s3/bucket:Bucket", *prefix, "bucket"), force_destroy=False, tags=tags, opts=self.stateful(**extra))
        versioning = aws.s3.BucketVersioning(
            self.child(*prefix, "versioning"),
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self.opts(**extra),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            self.child(*prefix, "encryption"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms" if key is not None else "AES256",
                        kms_master_key_id=key.arn if key is not None else None,
                    ),
                    bucket_key_enabled=key is not None,
                )
            ],
            opts=self.opts(**extra),
        )
        blocked = not args["public"]
        access_block = aws.s3.BucketPublicAccessBlock(
            self.child(*prefix, "public-access"),
            bucket=bucket.id,
            block_public_acls=blocked,
            block_public_policy=blocked,
            ignore_public_acls=blocked,
            restrict_public_buckets=blocked,
            opts=self.opts(**extra),
        )
        aws.s3.BucketOwnershipControls(
            self.child(*prefix, "ownership"),
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self.opts(**extra),
        )
        aws.s3.BucketPolicy(
            self.child(*prefix, "tls-only"),
            bucket=bucket.id,
            policy=bucket.arn.apply(_tls_only),
            opts=self.opts(depends_on=[access_block], **extra),
        )
        aws.s3.BucketLifecycleConfiguration(
            self.child(*prefix, "lifecycle"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args["retention_days"]
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=self.opts(depends_on=[versioning], **extra),
        )
        return _Bucket(bucket, key, versioning)

    def _replication(self, source: _Bucket, replica: _Bucket, args: StoreArgs) -> None:
        # S3 for this account only, whenever S3 names the account it acts for. "IfExists": S3's
        # replication guide shows the trust without conditions, and a service that does not send
        # the key would fail a plain StringEquals, silently stopping replication. Naming the
        # role in a replication rule takes iam:PassRole, which no other account can be given.
        account = aws.get_caller_identity_output(opts=self.invoke_opts()).account_id
        role = aws.iam.Role(
            **self.naming("aws:iam/role:Role", "replication-role"),
            assume_role_policy=account.apply(
                lambda acct: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "s3.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": acct}},
                            }
                        ],
                    }
                )
            ),
            tags=args["tags"],
            opts=self.opts(),
        )
        policy = aws.iam.RolePolicy(
            **self.naming("aws:iam/rolePolicy:RolePolicy", "replication-role-policy"),
            role=role.id,
            policy=pulumi.Output.all(source.bucket.arn, replica.bucket.arn, source.key_arn, replica.key_arn).apply(
                lambda a: _replication_policy(a[0], a[1], a[2], a[3])
            ),
            opts=self.opts(),
        )
        aws.s3.BucketReplicationConfig(
            self.child("replication"),
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="to-backup-region",
                    status="Enabled",
                    priority=1,
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.bucket.arn,
                        storage_class="STANDARD",
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replica.key.arn
                        )
                        if replica.key is not None
                        else None,
                    ),
                )
            ],
            opts=self.opts(depends_on=[policy, source.versioning, replica.versioning]),
        )

"""GcpEncryptedStore: GCS under a Cloud KMS key, uniform access, public access prevented,
copied hourly by Storage Transfer to a bucket in the backup region under its own key.

Why a transfer job and not a dual-region bucket: a dual-region bucket keeps one key in one
(dual-region) location, so the copy would not have its own key in the backup region, and only
some region pairs are offered. Why periodic and not event-driven cross-bucket replication:
event-driven replication needs the Storage Transfer agent to hold Pub/Sub rights on the whole
project; the hourly job needs only read on the source and write on the replica bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from ...naming import physical
from ...resources import EncryptedStore, StoreArgs
from .keys import ring_key

__all__ = ["GcpEncryptedStore"]

TRANSFER_EVERY = "3600s"
TRANSFER_START = {"year": 2026, "month": 1, "day": 1}  # a fixed past date: the job starts at once


@dataclass
class _Bucket:
    bucket: gcp.storage.Bucket
    key_id: pulumi.Input[str]


class GcpEncryptedStore(EncryptedStore):
    """A GCS bucket: default CMEK under a rotating Cloud KMS key (the GCS service agent may use
    it, nothing else), uniform bucket-level access, public access prevention enforced,
    versioning, noncurrent versions deleted after ``retention_days``, deletion prevented when
    protected. With a replica: the same in the backup region under its own key ring, and an
    hourly Storage Transfer job from the bucket to the replica."""

    def __init__(self, name: str, args: StoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("GcpEncryptedStore", name, args, opts)
        project = args["project"]
        gcs_agent = gcp.storage.get_project_service_account_output(project=project, opts=self.invoke_opts())
        primary = self._bucket("", args["region"], args, gcs_agent.email_address, None)
        replica_name: pulumi.Input[str] = ""
        replica_key: pulumi.Input[str] = ""
        if "replica" in args:
            provider = args["replica_provider"]
            replica = self._bucket("replica", args["replica"]["region"], args, gcs_agent.email_address, provider)
            self._transfer(primary.bucket, replica.bucket, args)
            replica_name = replica.bucket.name
            replica_key = replica.key_id
        self.finish(
            primary.bucket.name,
            primary.key_id,
            replica_name,
            replica_key,
            velero_location=primary.bucket.name.apply(
                lambda b: {"provider": "velero.io/gcp", "objectStorage": {"bucket": b, "prefix": "velero"}}
            ),
        )

    def _bucket(
        self, role: str, region: str, args: StoreArgs, gcs_agent: pulumi.Output[str], provider: pulumi.ProviderResource | None
    ) -> _Bucket:
        prefix = (role,) if role else ()
        extra = {"provider": provider} if provider is not None else {}
        labels = {**args["tags"], "topoform-role": role or "primary"}
        encryption = None
        key_id: pulumi.Input[str] = ""
        depends: list[pulumi.Resource] = []
        if args["customer_managed_key"]:
            keys = ring_key(
                self,
                prefix,
                physical(args["store_name"], *prefix, "keys", limit=63),
                "objects",
                region,
                args["project"],
                labels,
                gcs_agent.apply(lambda email: f"serviceAccount:{email}"),
                **extra,
            )
            key = keys.key
            depends.append(keys.grant)
            encryption = gcp.storage.BucketEncryptionArgs(default_kms_key_name=key.id)
            key_id = key.id
        n = self.named("gcp:storage/bucket:Bucket", *prefix, "bucket")
        bucket = gcp.storage.Bucket(
            n.name,
            **n.kwargs,
            project=args["project"],
            location=region.upper(),
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="inherited" if args["public"] else "enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            encryption=encryption,
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(days_since_noncurrent_time=args["retention_days"]),
                )
            ],
            force_destroy=False,
            deletion_policy="PREVENT" if args["protect"] else "DELETE",
            labels=labels,
            opts=self.stateful(depends_on=depends, **n.opts, **extra),
        )
        return _Bucket(bucket, key_id)

    def _transfer(self, source: gcp.storage.Bucket, replica: gcp.storage.Bucket, args: StoreArgs) -> None:
        agent = gcp.storage.get_transfer_project_service_account_output(project=args["project"], opts=self.invoke_opts()).email.apply(
            lambda email: f"serviceAccount:{email}"
        )
        grants = [
            gcp.storage.BucketIAMMember(self.child("transfer-reads", role), bucket=source.name, role=role, member=agent, opts=self.opts())
            for role in ("roles/storage.objectViewer", "roles/storage.legacyBucketReader")
        ]
        grants.append(
            gcp.storage.BucketIAMMember(
                self.child("transfer-writes"),
                bucket=replica.name,
                role="roles/storage.legacyBucketWriter",
                member=agent,
                opts=self.opts(),
            )
        )
        # overwrite_when DIFFERENT compares with what the replica holds: storage.objects.get on the
        # sink ("Required if your transfer is configured to overwrite objects in the sink when
        # different", Storage Transfer's sink permissions), which legacyBucketWriter lacks.
        grants.append(
            gcp.storage.BucketIAMMember(
                self.child("transfer-compares"),
                bucket=replica.name,
                role="roles/storage.objectViewer",
                member=agent,
                opts=self.opts(),
            )
        )
        # Pulumi would name the job like any resource; Storage Transfer takes only "transferJobs/..."
        # names, and keeps a deleted job's name for 30 days (unique per deployment where unprotected).
        job = pulumi.Output.from_input(self.unique_name("transfer", f"{self._name}-replica", 100)).apply(lambda n: f"transferJobs/{n}")
        gcp.storage.TransferJob(
            self.child("transfer"),
            name=job,
            description=f"{self._name}: hourly copy to the backup region",
            project=args["project"],
            transfer_spec=gcp.storage.TransferJobTransferSpecArgs(
                gcs_data_source=gcp.storage.TransferJobTransferSpecGcsDataSourceArgs(bucket_name=source.name),
                gcs_data_sink=gcp.storage.TransferJobTransferSpecGcsDataSinkArgs(bucket_name=replica.name),
                transfer_options=gcp.storage.TransferJobTransferSpecTransferOptionsArgs(
                    delete_objects_unique_in_sink=False,
                    overwrite_when="DIFFERENT",
                ),
            ),
            schedule=gcp.storage.TransferJobScheduleArgs(
                schedule_start_date=gcp.storage.TransferJobScheduleScheduleStartDateArgs(**TRANSFER_START),
                repeat_interval=TRANSFER_EVERY,
            ),
            status="ENABLED",
            opts=self.opts(depends_on=grants, ignore_changes=["name"]),
        )

"""GcpWorkloadIdentity: a Google service account for one Kubernetes service account."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ...resources import IdentityArgs, WorkloadIdentity

__all__ = ["BUCKET_ROLES", "GcpWorkloadIdentity"]

# Bucket-level roles per mode. GCS object roles have no "admin without bucket rights" step:
# objectUser (read, write, delete objects and their versions) serves write and admin.
BUCKET_ROLES = {"read": "roles/storage.objectViewer", "write": "roles/storage.objectUser", "admin": "roles/storage.objectUser"}


class GcpWorkloadIdentity(WorkloadIdentity):
    """A Google service account that the Kubernetes service account may impersonate through
    Workload Identity (``roles/iam.workloadIdentityUser`` on that one account), with bucket-level
    IAM on the granted buckets only; and the annotated Kubernetes ServiceAccount."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("GcpWorkloadIdentity", name, args, opts)
        project = args["project"]
        account = gcp.serviceaccount.Account(
            self.child("gsa"),
            account_id=args["identity_name"],
            display_name=f"{args['namespace']}/{args['service_account']} (topoform)",
            project=project,
            opts=self.opts(),
        )
        gcp.serviceaccount.IAMMember(
            self.child("workload-identity"),
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{args['namespace']}/{args['service_account']}]",
            opts=self.opts(),
        )
        for grant in args["grants"]:
            gcp.storage.BucketIAMMember(
                self.child("grant", grant["store"]),
                bucket=args["stores"][grant["store"]].store_id,
                role=BUCKET_ROLES[grant["mode"]],
                member=account.member,
                opts=self.opts(),
            )
        sa = self.service_account({"iam.gke.io/gcp-service-account": account.email})
        self.finish(account.email, sa)

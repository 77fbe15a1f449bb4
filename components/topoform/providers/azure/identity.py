"""AzureWorkloadIdentity: a user-assigned identity federated with one Kubernetes service account."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from ...resources import IdentityArgs, WorkloadIdentity
from .keys import role_assignment

__all__ = ["BLOB_ROLES", "AzureWorkloadIdentity"]

# Roles per mode, scoped to one container. "Storage Blob Data Owner" (ACL management) is never used.
BLOB_ROLES = {"read": "storage-blob-data-reader", "write": "storage-blob-data-contributor", "admin": "storage-blob-data-contributor"}


class AzureWorkloadIdentity(WorkloadIdentity):
    """A user-assigned managed identity with a federated credential for the cluster's OIDC
    issuer and exactly ``system:serviceaccount:<namespace>:<name>``, role assignments on the
    granted containers only, and the annotated Kubernetes ServiceAccount (pods also need the
    label ``azure.workload.identity/use: "true"``)."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AzureWorkloadIdentity", name, args, opts)
        client = azure.authorization.get_client_config_output(opts=self.invoke_opts())
        n = self.named("azure-native:managedidentity:UserAssignedIdentity", "identity")
        identity = azure.managedidentity.UserAssignedIdentity(
            n.name,
            **n.kwargs,
            resource_group_name=args["resource_group"],
            location=args["region"],
            tags=args["tags"],
            opts=self.opts(**n.opts),
        )
        n = self.named("azure-native:managedidentity:FederatedIdentityCredential", "federation")
        azure.managedidentity.FederatedIdentityCredential(
            n.name,
            **n.kwargs,
            resource_group_name=args["resource_group"],
            resource_name_=identity.name,
            issuer=args["oidc_issuer"],
            subject=f"system:serviceaccount:{args['namespace']}:{args['service_account']}",
            audiences=["api://AzureADTokenExchange"],
            opts=self.opts(**n.opts),
        )
        for grant in args["grants"]:
            role_assignment(
                self,
                self.child("grant", grant["store"]),
                identity.principal_id,
                BLOB_ROLES[grant["mode"]],
                args["stores"][grant["store"]].store_id,
                client.subscription_id,
            )
        sa = self.service_account({"azure.workload.identity/client-id": identity.client_id})
        self.finish(identity.client_id, sa)

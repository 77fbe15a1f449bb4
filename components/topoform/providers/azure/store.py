"""AzureEncryptedStore: a storage account under a Key Vault key, replicated to the backup region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure

from ...resources import EncryptedStore, StoreArgs
from .keys import GRANT_WAIT, role_assignment, vault_key, wait

__all__ = ["AzureEncryptedStore"]

CONTAINER = "data"
SOFT_DELETE_MAX_DAYS = 365


@dataclass
class _Account:
    account: azure.storage.StorageAccount
    resource_group: pulumi.Input[str]
    key_id: pulumi.Input[str]
    blob: azure.storage.BlobServiceProperties
    container: azure.storage.BlobContainer


def _container_id(account: azure.storage.StorageAccount) -> pulumi.Output[str]:
    """The resource ID of the account's one container: what identities' grants are scoped to."""
    return account.id.apply(lambda i: f"{i}/blobServices/default/containers/{CONTAINER}")


class AzureEncryptedStore(EncryptedStore):
    """A StorageV2 account: encryption with a Key Vault key (purge protection on, rotated yearly)
    through a user-assigned identity, infrastructure encryption, HTTPS only, TLS 1.2 minimum,
    no public blob access, no shared-key access, blob versioning, change feed, soft delete, one
    private container, noncurrent versions deleted after ``retention_days``. With a replica: the
    same in the backup region with its own vault and key, and an object replication policy."""

    def __init__(self, name: str, args: StoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("AzureEncryptedStore", name, args, opts)
        client = azure.authorization.get_client_config_output(opts=self.invoke_opts())
        primary = self._account("", args["region"], args["store_name"], args, client, None)
        replica_name: pulumi.Input[str] = ""
        replica_key: pulumi.Input[str] = ""
        replica_id: pulumi.Input[str] = ""
        if "replica" in args:
            spec = args["replica"]
            replica = self._account("replica", spec["region"], spec["store_name"], args, client, args["replica_provider"])
            self._replication(primary, replica)
            replica_name = replica.account.name
            replica_key = replica.key_id
            replica_id = _container_id(replica.account)
        self.finish(
            primary.account.name,
            primary.key_id,
            replica_name,
            replica_key,
            store_id=_container_id(primary.account),
            replica_store_id=replica_id,
            velero_location=pulumi.Output.all(primary.account.name, primary.resource_group).apply(
                lambda a: {
                    "provider": "velero.io/azure",
                    "objectStorage": {"bucket": CONTAINER, "prefix": "velero"},
                    "config": {"storageAccount": a[0], "resourceGroup": a[1], "useAAD": "true"},
                }
            ),
        )

    def _account(
        self,
        role: str,
        region: str,
        account_name: str,
        args: StoreArgs,
        client: pulumi.Output[Any],
        provider: pulumi.ProviderResource | None,
    ) -> _Account:
        prefix = (role,) if role else ()
        extra: dict[str, Any] = {"provider": provider} if provider is not None else {}
        tags = {**args["tags"], "topoform-role": role or "primary"}
        if "resource_group" in args and not role:
            rg: pulumi.Input[str] = args["resource_group"]
        else:
            n = self.named("azure-native:resources:ResourceGroup", *prefix, "rg")
            rg = azure.resources.ResourceGroup(n.name, **n.kwargs, location=region, tags=tags, opts=self.stateful(**extra, **n.opts)).name

        identity_id: pulumi.Input[str] | None = None
        key_id: pulumi.Input[str] = ""
        encryption: azure.storage.EncryptionArgs
        depends: list[pulumi.Resource] = []
        identity_args: azure.storage.IdentityArgs | None = None
        if args["customer_managed_key"]:
            n = self.named("azure-native:managedidentity:UserAssignedIdentity", *prefix, "identity")
            identity = azure.managedidentity.UserAssignedIdentity(
                n.name,
                **n.kwargs, resource_group_name=rg, location=region, tags=tags, opts=self.opts(**extra, **n.opts)
            )
            identity_id = identity.id
            keys = vault_key(self, prefix, account_name, "objects", 3072, rg, region, client.tenant_id, tags, **extra)
            vault, key = keys.vault, keys.key
            grant = role_assignment(
                self,
                self.child(*prefix, "identity-kv"),
                identity.principal_id,
                "key-vault-crypto-service-encryption-user",
                vault.id,
                client.subscription_id,
                **extra,
            )
            # The account reads the key as its identity at once: wait for the grant to apply.
            depends += wait(self, "-".join((*prefix, "identity-kv")), [grant], GRANT_WAIT, **extra)
            key_id = key.key_uri
            identity_args = azure.storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[identity.id])
            encryption = azure.storage.EncryptionArgs(
                key_source="Microsoft.Keyvault",
                key_vault_properties=azure.storage.KeyVaultPropertiesArgs(
                    key_name=key.name, key_vault_uri=vault.properties.vault_uri
                ),
                encryption_identity=azure.storage.EncryptionIdentityArgs(encryption_user_assigned_identity=identity_id),
                require_infrastructure_encryption=True,
                services=azure.storage.EncryptionServicesArgs(
                    blob=azure.storage.EncryptionServiceArgs(enabled=True, key_type="Account")
                ),
            )
        else:
            encryption = azure.storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=azure.storage.EncryptionServicesArgs(
                    blob=azure.storage.EncryptionServiceArgs(enabled=True, key_type="Account")
                ),
            )
        account = azure.storage.StorageAccount(
            self.child(*prefix, "account"),
            account_name=account_name,
            resource_group_name=rg,
            location=region,
            kind="StorageV2",
            sku=azure.storage.SkuArgs(name="Standard_ZRS"),
            identity=identity_args,
            encryption=encryption,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=args["public"],
            allow_shared_key_access=False,
            allow_cross_tenant_replication=False,
            default_to_o_auth_authentication=True,
            tags=tags,
            opts=self.stateful(depends_on=depends, **extra),
        )
        soft_delete = min(args["retention_days"], SOFT_DELETE_MAX_DAYS)
        blob = azure.storage.BlobServiceProperties(
            self.child(*prefix, "blob"),
            account_name=account.name,
            resource_group_name=rg,
            blob_services_name="default",
            is_versioning_enabled=True,
            change_feed=azure.storage.ChangeFeedArgs(enabled=True),
            delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(enabled=True, days=soft_delete),
            container_delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(enabled=True, days=soft_delete),
            opts=self.opts(**extra),
        )
        container = azure.storage.BlobContainer(
            self.child(*prefix, "container"),
            account_name=account.name,
            resource_group_name=rg,
            container_name=CONTAINER,
            public_access=azure.storage.PublicAccess.BLOB if args["public"] else azure.storage.PublicAccess.NONE,
            opts=self.stateful(depends_on=[blob], **extra),
        )
        azure.storage.ManagementPolicy(
            self.child(*prefix, "lifecycle"),
            account_name=account.name,
            resource_group_name=rg,
            management_policy_name="default",
            policy=azure.storage.ManagementPolicySchemaArgs(
                rules=[
                    azure.storage.ManagementPolicyRuleArgs(
                        name="noncurrent-versions",
                        enabled=True,
                        type="Lifecycle",
                        definition=azure.storage.ManagementPolicyDefinitionArgs(
                            filters=azure.storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                            actions=azure.storage.ManagementPolicyActionArgs(
                                version=azure.storage.ManagementPolicyVersionArgs(
                                    delete=azure.storage.DateAfterCreationArgs(days_after_creation_greater_than=args["retention_days"])
                                )
                            ),
                        ),
                    )
                ]
            ),
            opts=self.opts(depends_on=[blob], **extra),
        )
        return _Account(account, rg, key_id, blob, container)

    def _replication(self, source: _Account, replica: _Account) -> None:
        """Object replication: the policy goes on the destination first, then on the source
        with the IDs Azure assigned (the documented order)."""
        destination = azure.storage.ObjectReplicationPolicy(
            self.child("replication-destination"),
            account_name=replica.account.name,
            resource_group_name=replica.resource_group,
            object_replication_policy_id="default",
            source_account=source.account.id,
            destination_account=replica.account.id,
            rules=[azure.storage.ObjectReplicationPolicyRuleArgs(source_container=CONTAINER, destination_container=CONTAINER)],
            opts=self.opts(depends_on=[replica.container, replica.blob]),
        )
        azure.storage.ObjectReplicationPolicy(
            self.child("replication"),
            account_name=source.account.name,
            resource_group_name=source.resource_group,
            object_replication_policy_id=destination.policy_id,
            source_account=source.account.id,
            destination_account=replica.account.id,
            rules=[
                azure.storage.ObjectReplicationPolicyRuleArgs(
                    rule_id=destination.rules.apply(lambda rules: rules[0].rule_id if rules else None),
                    source_container=CONTAINER,
                    destination_container=CONTAINER,
                )
            ],
            opts=self.opts(depends_on=[source.container, source.blob]),
        )

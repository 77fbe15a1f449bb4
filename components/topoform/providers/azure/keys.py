"""Key Vault keys as the house makes them: RBAC vault with purge protection, rotating RSA key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure

from ...naming import digest
from ...resources import Component

__all__ = ["GRANT_WAIT", "ROLE", "VaultKey", "role_assignment", "vault_key", "wait"]

# Built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE = {
    "key-vault-crypto-user": "12338af0-0e69-4776-bea7-57ae8d297424",
    "key-vault-crypto-service-encryption-user": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "network-contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "storage-blob-data-reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "storage-blob-data-contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    # Every Kubernetes data action on one cluster (Azure RBAC for Kubernetes authorization).
    "aks-rbac-cluster-admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
    # Azure Kubernetes Service Cluster User Role: listClusterUserCredential, what `az aks get-credentials` needs.
    "aks-cluster-user": "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
    "reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}
SOFT_DELETE_DAYS = 90  # the maximum Key Vault allows
ROLE_WAIT = "60s"
"""A custom role definition replicates before it can be assigned (RoleDefinitionDoesNotExist
otherwise, on a first `pulumi up`)."""
GRANT_WAIT = "120s"
"""Azure role assignments 'can take up to 10 minutes' to take effect; Key Vault and network grants
used by a storage account or cluster created right after fail intermittently without a wait
(Azure/bicep#16601: 'successful if the deployment is retried'). A rerun is always safe."""


@dataclass
class VaultKey:
    vault: azure.keyvault.Vault
    key: azure.keyvault.Key


def vault_key(
    owner: Component,
    role: tuple[str, ...],
    unique: str,
    key_name: str,
    key_size: int,
    resource_group: pulumi.Input[str],
    region: str,
    tenant_id: pulumi.Input[str],
    tags: dict[str, str],
    **extra: Any,
) -> VaultKey:
    """A vault (RBAC, soft delete 90 days, purge protection) holding one RSA key with a yearly
    new version. Its network stays open (see the README: the firewall is not yet proven for
    the clients that use these keys); only RBAC grants reach the keys.

    Vault names are global (3-24 characters): ``unique`` (a name that already differs per
    environment, such as the cluster's or the storage account's) with the role gives the name,
    shortened with a hash where it must be; the same topology always gets the same name."""
    full = "-".join((unique, *role))
    # A deleted vault keeps its name for the soft-delete period (purge protection forbids freeing
    # it): protected environments keep theirs, others get a random suffix per deployment.
    vault = azure.keyvault.Vault(
        owner.child(*role, "kv"),
        # Always a hash of the whole: vault names are global, a readable prefix alone may be taken.
        vault_name=owner.unique_name("-".join((*role, "kv")), full, 24, stable=f"{full[:17].rstrip('-')}-{digest(full)}", **extra),
        resource_group_name=resource_group,
        location=region,
        properties=azure.keyvault.VaultPropertiesArgs(
            tenant_id=tenant_id,
            sku=azure.keyvault.SkuArgs(family="A", name=azure.keyvault.SkuName.STANDARD),
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=SOFT_DELETE_DAYS,
            enable_purge_protection=True,
        ),
        tags=tags,
        # The name is chosen once, when the vault is made: a vault made under another rule keeps
        # its own name rather than being replaced (its key encrypts data).
        opts=owner.stateful(ignore_changes=["vaultName"], **extra),
    )
    key = azure.keyvault.Key(
        owner.child(*role, "key"),
        resource_group_name=resource_group,
        vault_name=vault.name,
        key_name=key_name,
        properties=azure.keyvault.KeyPropertiesArgs(
            kty="RSA",
            key_size=key_size,
            rotation_policy=azure.keyvault.RotationPolicyArgs(
                lifetime_actions=[
                    azure.keyvault.LifetimeActionArgs(
                        trigger=azure.keyvault.TriggerArgs(time_after_create="P1Y"),
                        action=azure.keyvault.ActionArgs(type=azure.keyvault.KeyRotationPolicyActionType.ROTATE),
                    )
                ],
            ),
        ),
        tags=tags,
        opts=owner.stateful(**extra),
    )
    return VaultKey(vault, key)


def role_assignment(
    owner: Component,
    name: str,
    principal_id: pulumi.Input[str],
    role: str,
    scope: pulumi.Input[str],
    subscription_id: pulumi.Output[str],
    principal_type: str = "ServicePrincipal",
    **extra: Any,
) -> azure.authorization.RoleAssignment:
    """One built-in role for one principal on one scope (never a subscription). Managed
    identities are service principals; saying so also spares new ones Entra ID's replication
    delay. The type must match the principal (ARM refuses UnmatchedPrincipalType)."""
    return azure.authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=subscription_id.apply(
            lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE[role]}"
        ),
        scope=scope,
        opts=owner.opts(**extra),
    )


def wait(owner: Component, role: str, grants: list[azure.authorization.RoleAssignment] | list[azure.authorization.RoleDefinition], duration: str, **extra: Any) -> list[pulumi.Resource]:
    """What consumers of ``grants`` wait for: the grants, then ``duration`` for Azure to apply
    them (once, when a grant is made)."""
    if not grants:
        return []
    import pulumiverse_time as time

    return [
        time.Sleep(
            owner.child(role, "wait"),
            create_duration=duration,
            triggers={f"grant{i}": g.id for i, g in enumerate(grants)},
            opts=owner.opts(depends_on=list(grants), **{k: v for k, v in extra.items() if k != "provider"}),
        )
    ]

"""Key Vault keys as the house makes them: RBAC vault with purge protection, rotating RSA key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure

from ...naming import digest, physical
from ...resources import Component

__all__ = ["ROLE", "VaultKey", "role_assignment", "vault_key"]

# Built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE = {
    "key-vault-crypto-user": "12338af0-0e69-4776-bea7-57ae8d297424",
    "key-vault-crypto-service-encryption-user": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "network-contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "storage-blob-data-reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "storage-blob-data-contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}
SOFT_DELETE_DAYS = 90  # the maximum Key Vault allows


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
    """A vault (RBAC, soft delete 90 days, purge protection) holding one RSA key rotated yearly.

    Vault names are global (3-24 characters): ``unique`` (a name that already differs per
    environment, such as the cluster's or the storage account's) gives the readable prefix and,
    with the role, the hash suffix; the same topology always gets the same name."""
    full = "-".join((unique, *role))
    vault = azure.keyvault.Vault(
        owner.child(*role, "kv"),
        vault_name=f"{physical(full, limit=17)}-{digest(full)}",
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
        opts=owner.stateful(**extra),
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
    **extra: Any,
) -> azure.authorization.RoleAssignment:
    """One built-in role for one service principal on one scope (never a subscription)."""
    return azure.authorization.RoleAssignment(
        name,
        principal_id=principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=subscription_id.apply(
            lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE[role]}"
        ),
        scope=scope,
        opts=owner.opts(**extra),
    )

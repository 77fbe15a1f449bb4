"""KMS keys as the house makes them: rotating, the longest deletion window, protected."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws

from ...resources import Component

__all__ = ["DELETION_WINDOW_DAYS", "kms_key"]

DELETION_WINDOW_DAYS = 30  # the maximum AWS KMS allows


def kms_key(owner: Component, name: str, description: str, tags: dict[str, str] | None = None, **extra: Any) -> aws.kms.Key:
    """A symmetric customer-managed key with yearly rotation (a stateful child of ``owner``)."""
    return aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        tags=tags,
        opts=owner.stateful(**extra),
    )

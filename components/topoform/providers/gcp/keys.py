"""Cloud KMS keys as the house makes them: a key ring, a rotating key, one service agent's grant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from ...resources import Component

__all__ = ["DESTROY_DELAY", "ROTATION", "RingKey", "ring_key"]

ROTATION = "7776000s"  # 90 days
DESTROY_DELAY = "10368000s"  # 120 days: the longest Cloud KMS allows


@dataclass
class RingKey:
    ring: gcp.kms.KeyRing
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember


def ring_key(
    owner: Component,
    role: tuple[str, ...],
    ring_name: str,
    key_name: str,
    region: str,
    project: str,
    labels: dict[str, str],
    agent_member: pulumi.Input[str],
    **extra: Any,
) -> RingKey:
    """A key ring in ``region``, a key rotated every 90 days and destroyed 120 days after a
    destroy request, and ``cryptoKeyEncrypterDecrypter`` for one service agent, nobody else.
    Key rings and keys cannot be deleted in GCP, so they keep their names forever: the ring's
    name is ``ring_name`` in a protected environment and gets a random suffix per deployment
    elsewhere (a destroyed environment can be created again). Both are stateful children."""
    name = owner.unique_name("-".join((*role, "keys")) or "keys", ring_name, 63, **extra)
    # Named once, when it is made: a ring made under another rule keeps its own name.
    ring = gcp.kms.KeyRing(
        owner.child(*role, "keys"), name=name, location=region, project=project, opts=owner.stateful(ignore_changes=["name"], **extra)
    )
    key = gcp.kms.CryptoKey(
        owner.child(*role, "key"),
        name=key_name,
        key_ring=ring.id,
        rotation_period=ROTATION,
        destroy_scheduled_duration=DESTROY_DELAY,
        purpose="ENCRYPT_DECRYPT",
        labels=labels,
        opts=owner.stateful(**extra),
    )
    grant = gcp.kms.CryptoKeyIAMMember(
        owner.child(*role, "key-agent"),
        crypto_key_id=key.id,
        role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member=agent_member,
        opts=owner.opts(**extra),
    )
    return RingKey(ring, key, grant)

"""Encrypted stores, replicas in backup regions, and nothing lost: read from the recording.

`audit_store` reads what the program registered for one store: the store, its key, the
encryption, versioning and public-access settings, the replica in the backup region under a
different key, and the replication between them. The mutation tests at the end show that it
fails when any of those pieces is missing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

REGION_OF_PROVIDER = {"aws": "region", "gcp": "region", "azure-native": "location"}


class Missing(AssertionError):
    pass


def _children(rec: Any, component: str) -> dict[str, dict[str, Any]]:
    comp = next((r for r in rec.resources if r["name"] == component and not r["custom"]), None)
    if comp is None:
        raise Missing(f"no component {component}")
    return {r["name"][len(component) + 1 :]: r for r in rec.resources if r["parent"] == comp["urn"]}


def _need(children: dict[str, dict[str, Any]], role: str, type_: str) -> dict[str, Any]:
    r = children.get(role)
    if r is None or r["type"] != type_:
        raise Missing(f"no {type_} '{role}'")
    return r


def _region(rec: Any, resource: dict[str, Any]) -> str:
    provider = next(r for r in rec.resources if r["urn"] == resource["provider"])
    package = provider["type"].split(":")[-1]
    return str(provider["inputs"][REGION_OF_PROVIDER[package]])


def _audit_aws(rec: Any, c: dict[str, dict[str, Any]]) -> tuple[str, str]:
    regions: list[str] = []
    keys: list[str] = []
    key_arns: list[str] = []
    bucket_arns: list[str] = []
    for prefix in ("", "replica-"):
        bucket = _need(c, f"{prefix}bucket", "aws:s3/bucket:Bucket")
        key = _need(c, f"{prefix}key", "aws:kms/key:Key")
        assert key["inputs"]["enableKeyRotation"] is True
        sse = _need(c, f"{prefix}encryption", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        rule = sse["inputs"]["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert key["urn"] in sse["options"]["dependsOn"], "the bucket is not encrypted with its own key"
        assert rule["bucketKeyEnabled"] is True
        key_arns.append(rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"])
        versioning = _need(c, f"{prefix}versioning", "aws:s3/bucketVersioning:BucketVersioning")
        assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
        block = _need(c, f"{prefix}public-access", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]
        assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        ownership = _need(c, f"{prefix}ownership", "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        assert ownership["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        policy = json.loads(_need(c, f"{prefix}tls-only", "aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])
        bucket_arns.extend(policy["Statement"][0]["Resource"])
        assert policy["Statement"][0]["Effect"] == "Deny"
        assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert bucket["inputs"]["forceDestroy"] is False
        regions.append(_region(rec, bucket))
        keys.append(key["urn"])
    replication = _need(c, "replication", "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    dest = replication["inputs"]["rules"][0]["destination"]
    assert dest["bucket"] == bucket_arns[2], "replication does not target the replica bucket"
    assert dest["encryptionConfiguration"]["replicaKmsKeyId"] == key_arns[1], "replicas are not encrypted with the replica's key"
    assert replication["inputs"]["rules"][0]["status"] == "Enabled"
    policy = json.loads(_need(c, "replication-role-policy", "aws:iam/rolePolicy:RolePolicy")["inputs"]["policy"])
    allowed = set(bucket_arns) | set(key_arns)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in a for a in statement["Action"]), statement
        assert set(statement["Resource"]) <= allowed, statement["Resource"]
    assert keys[0] != keys[1] and key_arns[0] != key_arns[1]
    assert f":{regions[1]}:" in key_arns[1], "the replica's key is not in the backup region"
    return regions[0], regions[1]


def _audit_gcp(rec: Any, c: dict[str, dict[str, Any]]) -> tuple[str, str]:
    locations = []
    key_ids = []
    for prefix in ("", "replica-"):
        bucket = _need(c, f"{prefix}bucket", "gcp:storage/bucket:Bucket")["inputs"]
        key = _need(c, f"{prefix}key", "gcp:kms/cryptoKey:CryptoKey")
        assert key["inputs"]["rotationPeriod"] == "7776000s"
        assert bucket["encryption"]["defaultKmsKeyName"].endswith("/cryptoKeys/objects")
        assert bucket["encryption"]["defaultKmsKeyName"] == key["inputs"]["keyRing"] + "/cryptoKeys/objects"
        assert bucket["uniformBucketLevelAccess"] is True
        assert bucket["publicAccessPrevention"] == "enforced"
        assert bucket["versioning"] == {"enabled": True}
        assert bucket["forceDestroy"] is False
        locations.append(bucket["location"].lower())
        key_ids.append(bucket["encryption"]["defaultKmsKeyName"])
    job = _need(c, "transfer", "gcp:storage/transferJob:TransferJob")
    spec = job["inputs"]["transferSpec"]
    assert spec["gcsDataSource"]["bucketName"] != spec["gcsDataSink"]["bucketName"]
    assert {c["bucket"]["urn"], c["replica-bucket"]["urn"]} <= set(job["options"]["dependsOn"]), "the transfer does not join the two buckets"
    assert job["inputs"]["schedule"]["repeatInterval"] == "3600s"
    assert key_ids[0] != key_ids[1]
    return locations[0], locations[1]


def _audit_azure(rec: Any, c: dict[str, dict[str, Any]]) -> tuple[str, str]:
    regions = []
    keys = []
    for prefix in ("", "replica-"):
        account = _need(c, f"{prefix}account", "azure-native:storage:StorageAccount")["inputs"]
        key = _need(c, f"{prefix}key", "azure-native:keyvault:Key")
        vault = _need(c, f"{prefix}kv", "azure-native:keyvault:Vault")["inputs"]["properties"]
        assert vault["enablePurgeProtection"] is True
        enc = account["encryption"]
        assert enc["keySource"] == "Microsoft.Keyvault" and enc["keyVaultProperties"]["keyName"] == key["inputs"]["keyName"]
        assert account["enableHttpsTrafficOnly"] is True and account["minimumTlsVersion"] == "TLS1_2"
        assert account["allowBlobPublicAccess"] is False and account["allowSharedKeyAccess"] is False
        blob = _need(c, f"{prefix}blob", "azure-native:storage:BlobServiceProperties")["inputs"]
        assert blob["isVersioningEnabled"] is True and blob["deleteRetentionPolicy"]["enabled"] is True
        container = _need(c, f"{prefix}container", "azure-native:storage:BlobContainer")["inputs"]
        assert container["publicAccess"] == "None"
        regions.append(account["location"])
        keys.append(key["urn"])
    source = _need(c, "replication", "azure-native:storage:ObjectReplicationPolicy")["inputs"]
    destination = _need(c, "replication-destination", "azure-native:storage:ObjectReplicationPolicy")["inputs"]
    assert source["sourceAccount"] == destination["sourceAccount"] and source["destinationAccount"] == destination["destinationAccount"]
    assert source["sourceAccount"].endswith("/" + c["account"]["inputs"]["accountName"])
    assert source["destinationAccount"].endswith("/" + c["replica-account"]["inputs"]["accountName"])
    assert keys[0] != keys[1]
    return regions[0], regions[1]


AUDITS = {"AwsEncryptedStore": _audit_aws, "GcpEncryptedStore": _audit_gcp, "AzureEncryptedStore": _audit_azure}


def audit_store(rec: Any, component: str) -> tuple[str, str]:
    """Check one replicated cloud store in the recording; returns (store region, replica region)."""
    comp = next((r for r in rec.resources if r["name"] == component and not r["custom"]), None)
    if comp is None:
        raise Missing(f"no component {component}")
    return AUDITS[comp["type"].split(":")[-1]](rec, _children(rec, component))


@pytest.mark.parametrize(
    ("store", "regions"),
    [("vision-datasets", ("us-east-1", "us-west-2")), ("vision-checkpoints", ("us-central1", "us-east4")), ("vision-models", ("eastus2", "centralus"))],
)
def test_each_cloud_store_has_key_replica_in_backup_region_and_replication(prod_recording: Any, store: str, regions: tuple[str, str]) -> None:
    assert audit_store(prod_recording, store) == regions


def test_onprem_store_is_a_claim_on_the_encrypted_class_backed_up_by_velero(prod_recording: Any) -> None:
    c = _children(prod_recording, "vision-scratch")
    pvc = _need(c, "pvc", "kubernetes:core/v1:PersistentVolumeClaim")["inputs"]
    assert pvc["spec"]["storageClassName"] == "ceph-encrypted"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20000Gi"
    location = _need(c, "backup-location", "kubernetes:velero.io/v1:BackupStorageLocation")["inputs"]
    assert location["spec"]["provider"] == "velero.io/aws"
    assert location["spec"]["objectStorage"]["bucket"].startswith("vision-datasets-bucket")
    assert location["spec"]["objectStorage"]["prefix"] == "velero/vision-scratch"
    schedule = _need(c, "backup-schedule", "kubernetes:velero.io/v1:Schedule")["inputs"]["spec"]
    assert schedule["template"]["includedNamespaces"] == ["storage"]
    assert schedule["template"]["storageLocation"] == location["metadata"]["name"]
    ns = [r for r in prod_recording.by_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "storage"]
    assert len(ns) == 1
    assert ns[0]["urn"] in _need(c, "pvc", "kubernetes:core/v1:PersistentVolumeClaim")["options"]["dependsOn"]


# --------------------------------------------------------------------------- the audit can fail


@pytest.mark.parametrize(
    ("store", "drop"),
    [
        ("vision-datasets", "vision-datasets-key"),
        ("vision-datasets", "vision-datasets-replica-bucket"),
        ("vision-datasets", "vision-datasets-replication"),
        ("vision-checkpoints", "vision-checkpoints-replica-key"),
        ("vision-checkpoints", "vision-checkpoints-transfer"),
        ("vision-models", "vision-models-key"),
        ("vision-models", "vision-models-replication"),
    ],
)
def test_a_store_missing_its_key_replica_or_replication_fails_the_audit(prod_recording: Any, store: str, drop: str) -> None:
    mutated = copy.copy(prod_recording)
    mutated.resources = [r for r in prod_recording.resources if r["name"] != drop]
    with pytest.raises(Missing):
        audit_store(mutated, store)


def test_a_store_whose_replica_shares_the_primary_key_fails_the_audit(prod_recording: Any) -> None:
    mutated = copy.copy(prod_recording)
    mutated.resources = copy.deepcopy(prod_recording.resources)
    replica_key = next(r for r in mutated.resources if r["name"] == "vision-datasets-replica-key")
    primary_key = next(r for r in mutated.resources if r["name"] == "vision-datasets-key")
    replica_key["urn"] = primary_key["urn"]
    with pytest.raises(AssertionError):
        audit_store(mutated, "vision-datasets")

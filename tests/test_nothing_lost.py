"""Nothing lost: stable URNs across topology edits, aliases for renames, refusal without them.

Each edit changes a copy of the example project the way a user would and previews it again;
the URNs of every stateful resource the edit did not touch must be identical.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
from topoform.preview import record

STATEFUL_TYPES = {
    "aws:eks/cluster:Cluster",
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "gcp:container/cluster:Cluster",
    "gcp:kms/keyRing:KeyRing",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:storage/bucket:Bucket",
    "azure-native:containerservice:ManagedCluster",
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Key",
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:Namespace",
}

Edit = Callable[[dict[str, Any], dict[str, Any]], None]  # (base, prod) documents, edited in place


def _reverse(section: str) -> Edit:
    def edit(base: dict[str, Any], prod: dict[str, Any]) -> None:
        for doc in (base, prod):
            if section in doc:
                doc[section] = dict(reversed(list(doc[section].items())))

    return edit


def _add_cluster(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["clusters"]["extra"] = {
        "site": "gcp-central",
        "overrides": {"gcp": {"security_group": "gke-security-groups@acme.example"}},  # the site's admins are a Google group
        "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 2}},
    }


def _remove_store(base: dict[str, Any], prod: dict[str, Any]) -> None:
    del prod["storage"]["models"]
    prod["identities"]["tuner"]["access"] = {}


def _remove_cluster(base: dict[str, Any], prod: dict[str, Any]) -> None:
    del prod["clusters"]["finetune"]
    for section, key in (("identities", "tuner"), ("teams", "tuning"), ("endpoints", "tuning-api")):
        del prod[section][key]


def _add_region(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["sites"]["aws-eu"] = {"provider": "aws", "region": "eu-west-1", "backup_region": "eu-central-1"}
    prod["storage"]["eu-data"] = {"site": "aws-eu", "size_gb": 100, "backup": True}


def _add_pool(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["clusters"]["serve"]["node_pools"]["t4"] = {"gpu": {"type": "T4", "count": 1}, "min": 0, "max": 4}


def _resize_pool(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["clusters"]["train"]["node_pools"] = {"h100": {"max": 32}}


def _add_store(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["storage"]["features"] = {"site": "aws-east", "size_gb": 10, "backup": True}


def _add_standby(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["clusters"]["serve"]["standby"] = True


def _add_label(base: dict[str, Any], prod: dict[str, Any]) -> None:
    base["labels"]["team"] = "vision"


def _remove_backup(base: dict[str, Any], prod: dict[str, Any]) -> None:
    prod["storage"]["checkpoints"]["backup"] = False


# (id, edit, component names the edit touches: their own resources may change)
EDITS: list[tuple[str, Edit, set[str]]] = [
    ("reorder-stores", _reverse("storage"), set()),
    ("reorder-clusters", _reverse("clusters"), set()),
    ("reorder-sites", _reverse("sites"), set()),
    ("add-cluster", _add_cluster, set()),
    ("remove-unrelated-store", _remove_store, {"vision-models", "vision-tuner"}),
    ("remove-unrelated-cluster", _remove_cluster, {"vision-finetune", "vision-tuner", "vision-team-tuning", "vision-tuning-api"}),
    ("add-region", _add_region, set()),
    ("add-pool", _add_pool, set()),
    ("resize-pool", _resize_pool, set()),
    ("add-store", _add_store, set()),
    ("add-standby", _add_standby, set()),
    ("add-label", _add_label, set()),
    ("drop-one-stores-backup", _remove_backup, {"vision-checkpoints"}),
]


def _edit_project(project: Path, edit: Edit) -> None:
    stacks = project / "stacks"
    base = yaml.safe_load((stacks / "base.topology.yaml").read_text())
    prod = yaml.safe_load((stacks / "prod.topology.yaml").read_text())
    edit(base, prod)
    (stacks / "base.topology.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (stacks / "prod.topology.yaml").write_text(yaml.safe_dump(prod, sort_keys=False))


def _owner(rec: Any, resource: dict[str, Any]) -> str:
    """The top-level component a resource belongs to (or its own name)."""
    by_urn = {r["urn"]: r for r in rec.resources}
    current = resource
    while current["parent"] in by_urn:
        current = by_urn[current["parent"]]
    return str(current["name"])


def _stateful(rec: Any) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in rec.resources if r["type"] in STATEFUL_TYPES}


def _record(project: Path) -> Any:
    return record(str(project / "stacks" / "prod.topology.yaml"), stack="prod", program=str(project / "stacks" / "__main__.py"))


def test_the_corpus_has_at_least_ten_edits() -> None:
    assert len(EDITS) >= 10


@pytest.mark.parametrize(("case", "edit", "touched"), EDITS, ids=[e[0] for e in EDITS])
def test_edits_keep_the_urns_of_untouched_stateful_resources(project_copy: Path, prod_recording: Any, case: str, edit: Edit, touched: set[str]) -> None:
    _edit_project(project_copy, edit)
    lock = run_cli("lock", "prod", cwd=project_copy)  # removals are deliberate here
    assert lock.code == 0, lock.err
    after = _stateful(_record(project_copy))
    before = _stateful(prod_recording)
    kept = {urn for urn, r in before.items() if _owner(prod_recording, r) not in touched}
    assert kept, "nothing to compare"
    missing = sorted(kept - set(after))
    assert not missing, f"{case} changed the URNs of untouched stateful resources: {missing}"
    for urn in kept:
        assert after[urn]["options"]["protect"] is True and after[urn]["options"]["retainOnDelete"] is True


def test_every_stateful_resource_is_protected_in_prod_and_not_in_dev(prod_recording: Any, dev_recording: Any) -> None:
    prod = _stateful(prod_recording)
    assert {r["type"] for r in prod.values()} == STATEFUL_TYPES
    for r in prod.values():
        assert (r["options"]["protect"], r["options"]["retainOnDelete"]) == (True, True), r["urn"]
    dev = _stateful(dev_recording)
    assert dev
    for r in dev.values():
        assert (r["options"]["protect"], r["options"]["retainOnDelete"]) == (False, False), r["urn"]


def test_nothing_but_the_stateful_resources_is_protected(prod_recording: Any) -> None:
    # a protected component must not make its every child protected (the SDK's `_protect`
    # inheritance): a node pool, a role or a namespace's quota must stay replaceable
    protected = {r["type"] for r in prod_recording.resources if r.get("options", {}).get("protect")}
    assert protected == STATEFUL_TYPES
    quotas = prod_recording.by_type("kubernetes:core/v1:ResourceQuota")
    assert quotas and not any(q["options"].get("protect") for q in quotas)


def test_dev_can_ask_for_protection(project_copy: Path) -> None:
    dev = project_copy / "stacks" / "dev.topology.yaml"
    dev.write_text(dev.read_text() + "protect: true\n")
    rec = record(str(dev), stack="dev", program=str(project_copy / "stacks" / "__main__.py"))
    assert all(r["options"]["protect"] for r in _stateful(rec).values())


def test_provider_side_deletion_protection_is_on_in_prod(prod_recording: Any) -> None:
    buckets = prod_recording.by_type("gcp:storage/bucket:Bucket")
    assert buckets and all(b["inputs"]["deletionPolicy"] == "PREVENT" and b["inputs"]["forceDestroy"] is False for b in buckets)
    assert all(b["inputs"]["forceDestroy"] is False for b in prod_recording.by_type("aws:s3/bucket:Bucket"))
    assert all(k["inputs"]["deletionWindowInDays"] == 30 for k in prod_recording.by_type("aws:kms/key:Key"))
    assert all(k["inputs"]["destroyScheduledDuration"] == "10368000s" for k in prod_recording.by_type("gcp:kms/cryptoKey:CryptoKey") if "destroyScheduledDuration" in k["inputs"])
    assert all(v["inputs"]["properties"]["enablePurgeProtection"] is True for v in prod_recording.by_type("azure-native:keyvault:Vault"))
    assert all(c["inputs"]["deletionProtection"] is True for c in prod_recording.by_type("gcp:container/cluster:Cluster"))
    assert all(c["inputs"]["deletionProtection"] is True for c in prod_recording.by_type("aws:eks/cluster:Cluster"))


# --------------------------------------------------------------------------- renames


def _rename_store(project: Path, with_previous: bool) -> None:
    def edit(base: dict[str, Any], prod: dict[str, Any]) -> None:
        entry = base["storage"].pop("datasets")
        if with_previous:
            entry["previous_names"] = ["datasets"]
        base["storage"]["training-data"] = entry
        base["sites"]["dc1"]["backup_target"] = "training-data"
        base["identities"]["trainer"]["access"] = {"training-data": "read"}

    _edit_project(project, edit)


def test_a_rename_with_previous_names_aliases_the_old_urns(project_copy: Path) -> None:
    _rename_store(project_copy, with_previous=True)
    assert run_cli("validate", "prod", cwd=project_copy).code == 0
    rec = _record(project_copy)
    comp = next(r for r in rec.resources if r["name"] == "vision-training-data")
    assert "urn:pulumi:prod::topoform::topoform:index:AwsEncryptedStore::vision-datasets" in comp["options"]["aliases"]
    bucket = next(r for r in rec.resources if r["name"] == "vision-training-data-bucket")
    assert "urn:pulumi:prod::topoform::topoform:index:AwsEncryptedStore$aws:s3/bucket:Bucket::vision-datasets-bucket" in bucket["options"]["aliases"]
    replica = next(r for r in rec.resources if r["name"] == "vision-training-data-replica-bucket")
    assert "urn:pulumi:prod::topoform::topoform:index:AwsEncryptedStore$aws:s3/bucket:Bucket::vision-datasets-replica-bucket" in replica["options"]["aliases"]


def test_a_cluster_rename_aliases_the_cluster_and_its_standby(project_copy: Path) -> None:
    def edit(base: dict[str, Any], prod: dict[str, Any]) -> None:
        base["clusters"]["training"] = {**base["clusters"].pop("train"), "previous_names": ["train"]}
        prod["clusters"]["training"] = prod["clusters"].pop("train")
        base["identities"]["trainer"]["cluster"] = "training"
        base["teams"]["research"]["namespaces"]["training"] = base["teams"]["research"]["namespaces"].pop("train")

    _edit_project(project_copy, edit)
    rec = _record(project_copy)
    aliases = {r["name"]: r["options"]["aliases"] for r in rec.resources}
    assert "urn:pulumi:prod::topoform::topoform:index:AwsGpuCluster::vision-train" in aliases["vision-training"]
    assert "urn:pulumi:prod::topoform::topoform:index:AwsGpuCluster::vision-train-standby" in aliases["vision-training-standby"]
    assert "urn:pulumi:prod::topoform::topoform:index:AwsGpuCluster$aws:eks/cluster:Cluster::vision-train-eks" in aliases["vision-training-eks"]


def test_a_rename_without_previous_names_is_refused_with_the_fix(project_copy: Path) -> None:
    _rename_store(project_copy, with_previous=False)
    result = run_cli("validate", "prod", cwd=project_copy)
    assert result.code == 2
    lock = (project_copy / "stacks" / "prod.lock.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lock, 1) if text.strip() == "- datasets")
    assert f"stacks/prod.lock.yaml:{line}: storage.datasets: 'datasets' is in prod.lock.yaml but not in the topology" in result.err
    assert "add `previous_names: [datasets]` to the renamed entry" in result.err
    # The preview refuses too, before creating anything.
    preview = run_cli("preview", "prod", cwd=project_copy)
    assert preview.code == 2 and preview.out == ""


def test_lock_records_the_stateful_entries(project_copy: Path) -> None:
    (project_copy / "stacks" / "dev.lock.yaml").unlink()
    result = run_cli("lock", "dev", cwd=project_copy)
    assert result.code == 0
    lock = yaml.safe_load((project_copy / "stacks" / "dev.lock.yaml").read_text())
    assert lock == {"clusters": ["lab", "train"], "storage": ["datasets", "scratch"]}


def test_previous_names_must_not_be_claimed_twice(project_copy: Path) -> None:
    def edit(base: dict[str, Any], prod: dict[str, Any]) -> None:
        prod["storage"]["checkpoints"]["previous_names"] = ["old"]
        prod["storage"]["models"]["previous_names"] = ["old"]

    _edit_project(project_copy, edit)
    result = run_cli("validate", "prod", cwd=project_copy)
    assert result.code == 2
    assert "'old' is already a previous name of 'checkpoints'" in result.err

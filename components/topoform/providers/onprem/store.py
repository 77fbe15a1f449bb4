"""OnPremEncryptedStore: a PersistentVolumeClaim on the site's encrypted storage class,
backed up to a cloud store by Velero.

Velero must be installed in the cluster (the `velero` namespace, the node agent for file-system
backups, and the plugin and credentials for the target cloud: velero-plugin-for-aws, -gcp or
-microsoft-azure). topoform creates Velero's objects: a BackupStorageLocation pointing at the
target store and a Schedule that backs up the claim's namespace every six hours.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ...kube import MANAGED_BY
from ...resources import EncryptedStore, StoreArgs

__all__ = ["BACKUP_SCHEDULE", "OnPremEncryptedStore"]

BACKUP_SCHEDULE = "0 */6 * * *"
VELERO_NAMESPACE = "velero"


class OnPremEncryptedStore(EncryptedStore):
    """A ReadWriteOnce PersistentVolumeClaim of ``size_gb`` on the site's encrypted storage
    class, in its namespace (which must exist). With ``backup_location``: a Velero
    BackupStorageLocation and a Schedule that backs up the namespace, volumes included.
    Pass the cluster's Kubernetes provider as ``opts.provider``."""

    def __init__(self, name: str, args: StoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OnPremEncryptedStore", name, args, opts)
        namespace = args.get("namespace", "storage")
        labels = {"app.kubernetes.io/name": args["store_name"], **MANAGED_BY}
        pvc = k8s.core.v1.PersistentVolumeClaim(
            self.child("pvc"),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args["store_name"], namespace=namespace, labels=labels),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=args.get("storage_class"),
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{args.get('size_gb', 1)}Gi"}),
            ),
            opts=self.stateful(),
        )
        location = args.get("backup_location")
        if location is not None and "backup_target" in args:
            bsl_name = f"{args['store_name']}-to-{args['backup_target']['store']}"
            k8s.apiextensions.CustomResource(
                self.child("backup-location"),
                api_version="velero.io/v1",
                kind="BackupStorageLocation",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=bsl_name, namespace=VELERO_NAMESPACE, labels=MANAGED_BY),
                spec=pulumi.Output.from_input(location).apply(lambda spec: _prefixed(spec, name)),
                opts=self.opts(),
            )
            k8s.apiextensions.CustomResource(
                self.child("backup-schedule"),
                api_version="velero.io/v1",
                kind="Schedule",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=args["store_name"], namespace=VELERO_NAMESPACE, labels=MANAGED_BY),
                spec={
                    "schedule": BACKUP_SCHEDULE,
                    "template": {
                        "includedNamespaces": [namespace],
                        "storageLocation": bsl_name,
                        "defaultVolumesToFsBackup": True,
                        "ttl": f"{args['retention_days'] * 24}h0m0s",
                    },
                },
                opts=self.opts(),
            )
        self.finish(pvc.metadata.name)


def _prefixed(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """Keep each on-prem store's backups under its own prefix in the target store."""
    out = dict(spec)
    storage = dict(out.get("objectStorage", {}))
    storage["prefix"] = f"{storage.get('prefix', 'velero')}/{name}"
    out["objectStorage"] = storage
    return out

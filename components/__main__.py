"""The component package's entry point: hosts topoform's cloud-neutral components for programs
in other languages (`pulumi package add`). The schema is inferred from the components' type
annotations and docstrings (topoform/package.py)."""

from pulumi.provider.experimental import component_provider_host

from topoform.package import EncryptedStore, Endpoint, GpuCluster, WorkloadIdentity

if __name__ == "__main__":
    component_provider_host([GpuCluster, EncryptedStore, WorkloadIdentity, Endpoint], "topoform")

"""The component package other languages add with `pulumi package add <repo>/components`.

Pulumi runs ``components/__main__.py`` in the package directory, reads the port it prints and
asks for the schema over gRPC; the schema is inferred from the components' annotations and
docstrings. These tests do the same, offline, and require a complete schema: every component,
input, output and type typed and described, every reference defined.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from conftest import ROOT
from topoform.package import EncryptedStoreArgs, EndpointArgs, GpuClusterArgs, WorkloadIdentityArgs

PACKAGE = ROOT / "components"
COMPONENTS = {
    "topoform:index:GpuCluster": GpuClusterArgs,
    "topoform:index:EncryptedStore": EncryptedStoreArgs,
    "topoform:index:WorkloadIdentity": WorkloadIdentityArgs,
    "topoform:index:Endpoint": EndpointArgs,
}


@pytest.fixture(scope="module")
def schema() -> Iterator[dict[str, Any]]:
    # The engine's address is only used once a component is constructed; the schema needs none.
    proc = subprocess.Popen([sys.executable, "-u", "__main__.py", "127.0.0.1:9"], cwd=PACKAGE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the plugin printed {port!r}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            response = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
        yield json.loads(response.schema)
    finally:
        proc.kill()
        proc.wait()


def _check_property(where: str, prop: dict[str, Any], types: dict[str, Any]) -> None:
    assert prop.get("description", "").strip(), f"{where} has no description"
    assert "type" in prop or "$ref" in prop, f"{where} has no type"
    if "$ref" in prop:
        ref = prop["$ref"]
        assert ref.startswith("#/types/") and ref[len("#/types/") :] in types, f"{where}: {ref} is not defined"
    for nested in ("items", "additionalProperties"):
        if nested in prop:
            _check_property(f"{where}.{nested}", prop[nested], types)


def test_the_package_offers_its_components_under_topoforms_name(schema: dict[str, Any]) -> None:
    assert schema["name"] == "topoform"
    assert set(schema["resources"]) == set(COMPONENTS)
    for token, resource in schema["resources"].items():
        assert resource["isComponent"] is True
        assert resource["description"].strip(), token


def test_every_input_output_and_type_is_typed_and_described(schema: dict[str, Any]) -> None:
    types = schema.get("types", {})
    assert {"topoform:index:NodePoolArgs", "topoform:index:StoreGrantArgs"} <= set(types)
    for token, resource in schema["resources"].items():
        assert resource["inputProperties"] and resource["properties"], token
        for name, prop in resource["inputProperties"].items():
            _check_property(f"{token} input {name}", prop, types)
        for name, prop in resource["properties"].items():
            _check_property(f"{token} output {name}", prop, types)
        assert set(resource.get("required", [])) == set(resource["properties"]), f"{token}: every output is always set"
    for token, typ in types.items():
        assert typ.get("description", "").strip(), token
        for name, prop in typ["properties"].items():
            _check_property(f"{token}.{name}", prop, types)


def test_inputs_match_the_python_args(schema: dict[str, Any]) -> None:
    """What other languages see is what Python callers type-check against."""
    for token, args in COMPONENTS.items():
        resource = schema["resources"][token]
        hints = args.__annotations__
        camel = {"".join([n.split("_")[0], *(w.title() for w in n.split("_")[1:])]): n for n in hints}
        assert set(resource["inputProperties"]) == set(camel), token
        assert set(resource["requiredInputs"]) == {c for c, n in camel.items() if n in args.__required_keys__}, token
    cluster = schema["resources"]["topoform:index:GpuCluster"]
    assert cluster["inputProperties"]["nodePools"]["additionalProperties"]["$ref"] == "#/types/topoform:index:NodePoolArgs"
    assert {"clusterName", "endpoint", "kubeconfig", "oidcIssuer", "resourceGroup", "principalId"} == set(cluster["properties"])
    assert {"address", "url"} == set(schema["resources"]["topoform:index:Endpoint"]["properties"])


def test_pulumi_can_install_and_run_the_package_directory() -> None:
    manifest = yaml.safe_load((PACKAGE / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    venv = manifest["runtime"]["options"]["virtualenv"]
    assert f"components/{venv}/" in (ROOT / ".gitignore").read_text()
    # pip runs in the package directory: `-e ..` is this repository, which installs topoform
    requirements = [line for line in (PACKAGE / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert requirements == ["-e .."]
    assert (PACKAGE / ".." / "pyproject.toml").resolve() == ROOT / "pyproject.toml"
    readme = (ROOT / "README.md").read_text()
    assert "pulumi package add" in readme and "topoform:index:GpuCluster" in readme

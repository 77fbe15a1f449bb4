"""Every name the validator accepts fits its cloud.

A topology with the longest valid system, environment and keys (24 characters each), using every
kind of resource topoform makes on every cloud, previews with each physical name -- given by
topoform, or made by Pulumi from the logical name and a random suffix -- within the limit and
alphabet the cloud documents (`components/topoform/catalog/names.yaml`, sources there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from topoform.naming import NameRule, fit, name_rules
from topoform.preview import Recording, record

ROOT = Path(__file__).resolve().parent.parent


def _key(tag: str) -> str:
    """A valid 24-character key (the longest the validator takes)."""
    return (tag + "-" + "z" * 24)[:24]


SYSTEM, ENV = _key("platform"), _key("staging")
K = {t: _key(t) for t in ("aws", "aws2", "gcp", "azure", "azure2", "dc", "pool", "gpupool", "s3", "gcs", "blob", "disk",
                          "idaws", "idgcp", "idazure", "team", "epaws", "epgcp", "epazure", "epinternal", "ns", "sa")}


# The shortest valid keys: one character each, distinct where the validator needs them distinct.
SHORT = dict(zip(K, "abgzydpqstuvijkmefhnow"))


def longest(protect: bool) -> str:
    return topology(protect, K, SYSTEM, ENV if not protect else _key("production"))


def shortest() -> str:
    return topology(False, SHORT, "a", "e")


def topology(protect: bool, K: dict[str, str], SYSTEM: str, env: str) -> str:  # noqa: N803 - the names of the module's longest keys
    pools = f"{{{K['pool']}: {{instance: cpu-4x16, min: 1, max: 2}}, {K['gpupool']}: {{gpu: {{type: A100-80GB, count: 8}}, min: 0, max: 2}}}}"
    doc: dict[str, Any] = {
        "name": SYSTEM,
        "environment": env,
        "protect": protect,
        "deployer": {"networks": ["198.51.100.10/32", "10.200.0.0/16"]},
        "sites": {
            K["aws"]: {"provider": "aws", "region": "us-east-1", "backup_region": "us-west-2", "admins": ["arn:aws:iam::123456789012:role/platform-ci"]},
            K["aws2"]: {"provider": "aws", "region": "us-west-2", "admins": ["arn:aws:iam::123456789012:role/platform-ci"]},
            K["gcp"]: {"provider": "gcp", "project": "acme-ml-longest-project", "region": "us-central1", "backup_region": "us-east4", "admins": ["group:platform-admins@acme.example"]},
            K["azure"]: {"provider": "azure", "region": "eastus", "backup_region": "westus2", "admins": ["group:0b7e3c1a-52d4-4e8f-9a6b-1c2d3e4f5a6b"]},
            K["azure2"]: {"provider": "azure", "region": "westus2", "admins": ["servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a"]},
            K["dc"]: {"provider": "onprem", "kubeconfig": {"secret": "dc"}, "storage_class": "ceph", "backup_target": K["s3"]},
        },
        "clusters": {
            K["aws"]: {"site": K["aws"], "standby": True, "node_pools": yaml.safe_load(pools)},
            K["aws2"]: {"site": K["aws2"], "node_pools": yaml.safe_load(pools)},
            K["gcp"]: {"site": K["gcp"], "standby": True, "overrides": {"gcp": {"security_group": "gke-security-groups@acme.example"}}, "node_pools": yaml.safe_load(pools)},
            K["azure"]: {"site": K["azure"], "standby": True, "node_pools": yaml.safe_load(pools)},
            K["azure2"]: {"site": K["azure2"], "node_pools": yaml.safe_load(pools)},
            K["dc"]: {"site": K["dc"], "node_pools": {K["gpupool"]: {"gpu": {"type": "H100", "count": 8}, "nodes": 2}}},
        },
        "storage": {
            K["s3"]: {"site": K["aws"], "backup": True},
            K["gcs"]: {"site": K["gcp"], "backup": True},
            K["blob"]: {"site": K["azure"], "backup": True},
            K["disk"]: {"site": K["dc"], "size_gb": 100, "backup": True, "namespace": K["ns"]},
        },
        "identities": {
            K[f"id{c}"]: {"cluster": K[c], "namespace": K["ns"], "service_account": K["sa"], "access": {K[s]: "write"}}
            for c, s in (("aws", "s3"), ("gcp", "gcs"), ("azure", "blob"))
        },
        "teams": {
            K["team"]: {
                "group": "research@acme.example",
                "role": "edit",
                "namespaces": {K[c]: [K["ns"]] for c in ("aws", "gcp", "azure", "dc")},
                "gpu_quota": 8,
                "overrides": {"azure": {"group": "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"}, "aws": {"principal_arn": "arn:aws:iam::123456789012:role/research"}},
            }
        },
        "endpoints": {
            K["epaws"]: {"cluster": K["aws"], "failover": K["aws2"]},
            K["epgcp"]: {"cluster": K["gcp"], "failover": K["dc"], "failover_address": "198.51.100.20", "failover_tls": "workload"},
            K["epazure"]: {"cluster": K["azure"], "failover": K["azure2"], "overrides": {"azure": {"dns_resource_group": "dns"}}},
            K["epinternal"]: {"cluster": K["azure"]},
        },
    }
    for key, ep in doc["endpoints"].items():
        # the internal endpoint on a port of its own: beside a Front Door origin's, it would cancel the origin's check
        ep["service"] = {"namespace": K["ns"], "name": K["sa"], "port": 9090 if key == K["epinternal"] else 8080}
        if key != K["epinternal"]:
            ep.update(exposure="public", domain=f"{key}.acme.example", allowed_cidrs=["203.0.113.0/24"])
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture(scope="module", params=[False, True], ids=["unprotected", "protected"])
def longest_recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = tmp_path_factory.mktemp("names") / "longest.topology.yaml"
    path.write_text(longest(request.param))
    return record(str(path), stack="longest")


def _get(inputs: dict[str, Any], dotted: str) -> Any:
    node: Any = inputs
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def physical_names(r: dict[str, Any]) -> list[tuple[NameRule, str, str]]:
    """(rule, input, physical name) of a recorded resource, as the cloud will see them: the input
    topoform gives; else the provider's prefix and the characters it appends; else Pulumi's
    auto-name (the logical name and its random suffix, ``x`` standing for each random character)."""
    out = []
    for rule in name_rules()[r["type"]]:
        given = _get(r["inputs"], rule.input)
        prefix = _get(r["inputs"], str(rule.prefix["input"])) if rule.prefix else None
        if isinstance(given, str):
            out.append((rule, rule.input, given))
        elif rule.prefix and isinstance(prefix, str):
            out.append((rule, str(rule.prefix["input"]), prefix + "x" * int(rule.prefix["adds"])))
        else:
            assert rule.autoname is not None, f"{r['urn']}: no {rule.input}, and Pulumi does not name {r['type']}"
            out.append((rule, f"{rule.input} (Pulumi's)", r["name"] + "x" * rule.autoname))
    return out


def test_the_longest_valid_names_preview_within_every_limit(longest_recording: Recording) -> None:
    _all_names_fit(longest_recording)


def test_the_shortest_valid_names_preview_within_every_limit(tmp_path: Path) -> None:
    """The other end: a GCP service account ID needs 6 characters, a bucket 3."""
    path = tmp_path / "shortest.topology.yaml"
    path.write_text(shortest())
    _all_names_fit(record(str(path), stack="e"))


def _all_names_fit(recording: Recording) -> None:
    longest_recording = recording
    rules = name_rules()
    data = yaml.safe_load((ROOT / "components" / "topoform" / "catalog" / "names.yaml").read_text())
    known = set(rules) | set(data["unnamed"]) | set(data["unverified"])
    bad: list[str] = []
    checked = 0
    for r in longest_recording.resources:
        if not r["custom"] or r["type"].startswith("pulumi:providers:"):
            continue
        assert r["type"] in known, f"{r['type']} has no entry in catalog/names.yaml"
        if r["type"] not in rules:
            continue
        for rule, field, name in physical_names(r):
            checked += 1
            why = rule.check(name)
            if why:
                bad.append(f"{r['urn']}: {field} '{name}' {why}")
    assert checked > 150
    assert not bad, "\n".join(bad)


def test_the_longest_names_need_shortening_so_the_test_has_teeth(longest_recording: Recording) -> None:
    """Pulumi's own names would overflow: topoform gives shorter ones, and only where needed."""
    shortened = [r for r in longest_recording.resources if r["type"] in name_rules() and fit(r["type"], r["name"]).kwargs]
    assert len(shortened) >= 20
    kinds = {r["type"] for r in shortened}
    assert {"aws:s3/bucket:Bucket", "aws:iam/role:Role", "aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool", "gcp:compute/network:Network", "azure-native:cdn:AFDOrigin", "azure-native:cdn:AFDEndpoint"} <= kinds


def test_names_that_fit_are_left_to_pulumi(prod_recording: Recording) -> None:
    """Short names keep Pulumi's auto-names: a deployed name never changes under topoform."""
    for r in prod_recording.resources:
        if r["type"] in name_rules():
            assert not fit(r["type"], r["name"]).kwargs, r["urn"]
    bucket = next(b for b in prod_recording.by_type("aws:s3/bucket:Bucket") if b["name"] == "vision-datasets-bucket")
    assert "bucketPrefix" not in bucket["inputs"]


@pytest.mark.parametrize(
    ("type_", "logical", "expected"),
    [
        ("aws:s3/bucket:Bucket", "a" * 30, {}),
        ("aws:eks/nodeGroup:NodeGroup", "n" * 60, {"node_group_name_prefix": "n" * 29 + "-"}),
        ("gcp:container/nodePool:NodePool", "p" * 33, {"name": "p" * 33}),
        ("gcp:container/nodePool:NodePool", "p" * 41, {"name": "p" * 33 + "-"}),
        ("azure-native:cdn:AFDEndpoint", "e" * 39, {"endpoint_name": "e" * 39}),
        ("gcp:compute/router:Router", "r" * 70, {"name": "r" * 56 + "-"}),
    ],
)
def test_fit_shortens_only_past_the_limit(type_: str, logical: str, expected: dict[str, str]) -> None:
    named = fit(type_, logical)
    if not expected:
        assert named.kwargs == {} and named.opts == {}
        return
    (arg, value), = named.kwargs.items()
    assert arg == next(iter(expected)) and value.startswith(next(iter(expected.values())))
    rule = name_rules()[type_][0]
    final = value + "x" * int(rule.prefix["adds"]) if rule.prefix else value
    assert rule.check(final) is None, final
    assert fit(type_, logical + "q").kwargs != named.kwargs  # the hash tells two long names apart
    if not rule.prefix:
        assert named.opts == {"delete_before_replace": True}  # one name cannot exist twice


def test_an_identity_name_is_long_enough_for_a_gcp_service_account() -> None:
    """Topology identities and the reusable WorkloadIdentity share this: 6 to 30 characters."""
    from topoform.naming import account_id

    short = account_id("a", "e", "j")
    assert 6 <= len(short) <= 30 and short.startswith("a-e-j-") and short == account_id("a", "e", "j")
    assert account_id("a", "e", "j") != account_id("a", "e", "k")
    assert account_id("vision", "dev", "trainer") == "vision-dev-trainer"  # names that fit are kept
    assert len(account_id("x" * 24, "y" * 24, "z" * 24)) == 30

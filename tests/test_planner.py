"""The planner: properties over generated topologies, and golden plans for the example stacks."""

from __future__ import annotations

import json
import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, STACKS
from topoform.catalog import load_catalog
from topoform.errors import TopologyError
from topoform.loader import load_plan
from topoform.model import Topology
from topoform.planner import plan
from topoform.providers import PROFILES

GOLDEN = ROOT / "tests" / "golden"
SITES: dict[str, dict[str, Any]] = {
    "aws-east": {"provider": "aws", "region": "us-east-1", "backup_region": "us-west-2"},
    "gcp-central": {"provider": "gcp", "project": "acme-ml-prod", "region": "us-central1"},
    "azure-east": {"provider": "azure", "region": "eastus"},
    "dc1": {"provider": "onprem", "kubeconfig": {"secret": "dc1"}, "storage_class": "ceph"},
}


def _gpu_choices() -> dict[str, list[tuple[str, int, bool]]]:
    """(gpu, count, spot_only) offered in each example site's region, from the catalog itself
    (a machine sold only reserved or as spot counts as spot-only: these topologies name no reservation)."""
    cat = load_catalog()
    out: dict[str, list[tuple[str, int, bool]]] = {}
    for key, site in SITES.items():
        if site["provider"] == "onprem":
            out[key] = [(g, 8, False) for g in cat.logical.gpus]
            continue
        cloud = cat.clouds[site["provider"]]
        out[key] = sorted(
            {(o.gpu, o.gpus, o.spot_only or o.reservation_only) for o in cloud.offerings if o.gpu and site["region"] in cloud.region_names(o)}  # type: ignore[misc]
        )
    return out


CHOICES = _gpu_choices()
keys = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


@st.composite
def topologies(draw: st.DrawFn) -> dict[str, Any]:
    site_keys = draw(st.lists(st.sampled_from(sorted(SITES)), min_size=1, max_size=4, unique=True))
    clusters: dict[str, Any] = {}
    for ckey in draw(st.lists(keys, min_size=1, max_size=4, unique=True)):
        site = draw(st.sampled_from(site_keys))
        onprem = SITES[site]["provider"] == "onprem"
        pools: dict[str, Any] = {}
        if not onprem:
            lo = draw(st.integers(0, 3))
            pools["system"] = {"instance": draw(st.sampled_from(["cpu-4x16", "cpu-8x32"])), "min": max(lo, 1), "max": max(lo, 1) + draw(st.integers(0, 3))}
        for pkey in draw(st.lists(keys.filter(lambda k: k != "system"), min_size=0 if not onprem else 1, max_size=3, unique=True)):
            gpu, count, spot_only = draw(st.sampled_from(CHOICES[site]))
            if onprem:
                pools[pkey] = {"gpu": {"type": gpu, "count": count}, "nodes": draw(st.integers(1, 8))}
            else:
                lo = draw(st.integers(0, 4))
                pools[pkey] = {"gpu": {"type": gpu, "count": count}, "min": lo, "max": lo + draw(st.integers(1, 8)), "spot": spot_only or draw(st.booleans())}
        clusters[ckey] = {"site": site, "node_pools": pools}
    return {
        "name": "sys",
        "environment": draw(st.sampled_from(["dev", "prod", "staging"])),
        "labels": {"owner": "team-a"},
        "sites": {k: SITES[k] for k in site_keys},
        "clusters": clusters,
    }


def _shuffle(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffle(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffle(v, rng) for v in value]
    return value


def _plan_json(doc: dict[str, Any]) -> str:
    return plan(Topology.model_validate(doc)).to_json()


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(topologies(), st.integers(0, 2**32))
def test_plans_are_deterministic_and_ignore_key_order(doc: dict[str, Any], seed: int) -> None:
    first = _plan_json(doc)
    assert _plan_json(doc) == first
    assert _plan_json(_shuffle(doc, random.Random(seed))) == first


@PROPERTY
@given(topologies())
def test_names_are_unique_within_limits_and_derived_from_keys(doc: dict[str, Any]) -> None:
    p = plan(Topology.model_validate(doc))
    assert len({c.name for c in p.clusters.values()}) == len(p.clusters)
    assert len({c.spec["cluster_name"] for c in p.clusters.values()}) == len(p.clusters)
    for key, c in p.clusters.items():
        assert c.name == f"sys-{key}"
        assert len(c.spec["cluster_name"]) <= PROFILES[c.provider].cluster_name_limit
        names = [pool.get("name") for pool in c.spec["node_pools"].values() if "name" in pool]
        assert len(names) == len(set(names))


@PROPERTY
@given(topologies())
def test_every_gpu_pool_is_labelled_and_tainted_and_cpu_pools_are_not(doc: dict[str, Any]) -> None:
    p = plan(Topology.model_validate(doc))
    for c in p.clusters.values():
        for key, pool in c.spec["node_pools"].items():
            gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
            assert pool["labels"]["topoform.io/pool"] == key
            if "gpu_type" in pool:
                assert pool["labels"]["topoform.io/accelerator"] == pool["gpu_type"]
                assert gpu_taint in pool["taints"]
            else:
                assert "topoform.io/accelerator" not in pool["labels"]
                assert gpu_taint not in pool["taints"]


@PROPERTY
@given(topologies(), keys)
def test_adding_a_cluster_changes_no_other_cluster(doc: dict[str, Any], new_key: str) -> None:
    if new_key in doc["clusters"]:
        return
    before = plan(Topology.model_validate(doc))
    site = next(iter(doc["sites"]))
    grown = json.loads(json.dumps(doc))
    pools = {"a": {"gpu": {"type": CHOICES[site][0][0], "count": CHOICES[site][0][1]}, "nodes": 1}}
    if SITES[site]["provider"] != "onprem":
        pools = {"system": {"instance": "cpu-4x16", "min": 1, "max": 1}}
    grown["clusters"][new_key] = {"site": site, "node_pools": pools}
    after = plan(Topology.model_validate(grown))
    for key, cluster in before.clusters.items():
        assert after.clusters[key] == cluster


def test_protected_defaults_to_true_for_prod_only() -> None:
    doc = {"name": "s", "sites": {"dc1": SITES["dc1"]}}
    assert Topology.model_validate({**doc, "environment": "prod"}).protected is True
    assert Topology.model_validate({**doc, "environment": "dev"}).protected is False
    assert Topology.model_validate({**doc, "environment": "dev", "protect": True}).protected is True
    assert Topology.model_validate({**doc, "environment": "prod", "protect": False}).protected is False


def test_gcp_spot_only_machines_need_spot() -> None:
    doc = {
        "name": "s",
        "environment": "dev",
        "sites": {"g": SITES["gcp-central"]},
        "clusters": {"c": {"site": "g", "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 1}, "h": {"gpu": {"type": "H100", "count": 1}, "min": 0, "max": 1}}}},
    }
    with pytest.raises(TopologyError) as err:
        plan(Topology.model_validate(doc))
    assert "a3-highgpu-1g (H100 x1) is sold only as spot capacity on gcp; set spot: true" in str(err.value)
    doc["clusters"]["c"]["node_pools"]["h"]["spot"] = True  # type: ignore[index]
    assert plan(Topology.model_validate(doc)).clusters["c"].spec["node_pools"]["h"]["machine_type"] == "a3-highgpu-1g"


def test_overrides_name_the_machine_for_one_cloud_only() -> None:
    doc = {
        "name": "s",
        "environment": "dev",
        "sites": {"a": SITES["aws-east"]},
        "clusters": {"c": {"site": "a", "node_pools": {"system": {"instance": "cpu-4x16", "min": 1, "max": 1, "overrides": {"aws": {"machine_type": "m7a.xlarge"}}}}}},
    }
    assert plan(Topology.model_validate(doc)).clusters["c"].spec["node_pools"]["system"]["machine_type"] == "m7a.xlarge"
    doc["clusters"]["c"]["node_pools"]["system"]["overrides"] = {"gcp": {"machine_type": "n2-standard-4"}}  # type: ignore[index]
    with pytest.raises(TopologyError) as err:
        plan(Topology.model_validate(doc))
    assert err.value.problems[0].path == ("clusters", "c", "node_pools", "system", "overrides", "gcp")


def test_capability_gaps_are_data_with_a_reason() -> None:
    from topoform.providers import capability_table

    table = {row["capability"]: row for row in capability_table()}
    assert table["autoscale node pools (min/max)"]["onprem"].startswith("on-prem pools are existing nodes")
    assert table["autoscale node pools (min/max)"]["aws"] is None
    assert all(row["aws"] is None for name, row in table.items() if "existing nodes" not in name and "flex-start" not in name)
    # what a cloud lacks is a reason in the table, shown where a topology asks for it
    assert table["use flex-start capacity (GCP's Dynamic Workload Scheduler)"]["aws"].startswith("flex-start is GCP's")
    assert all(table["consume a named capacity reservation"][cloud] is None for cloud in ("aws", "gcp", "azure"))
    assert table["choose where a pool's nodes come from (capacity)"]["onprem"] is not None
    # every cloud builds a fabric now (which machines' fabrics, the catalog and fabric_gaps say); on-prem nodes are as they are
    fabric = table["join a pool's nodes with the machine's fabric (interconnect: fast)"]
    assert [fabric[cloud] for cloud in ("aws", "gcp", "azure")] == [None, None, None] and fabric["onprem"] is not None
    assert table["choose a node pool's disk type"]["azure"].startswith("AKS gives node pools managed OS disks")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_golden_plan(env: str) -> None:
    """The example stacks' plans, reviewed like code. Regenerate: TOPOFORM_UPDATE_GOLDEN=1 pytest."""
    _, p = load_plan(str(STACKS / f"{env}.topology.yaml"))
    path = GOLDEN / f"plan-{env}.json"
    if os.environ.get("TOPOFORM_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(p.to_json())
    assert p.to_json() == path.read_text(), f"plan of {env} changed; review, then TOPOFORM_UPDATE_GOLDEN=1"

"""`topoform cost`: figures a reviewer can check by hand, budgets, and differences between topologies.

Expected figures are computed here from the catalog files and the topology files as a person
would (price x nodes x 730 hours), never copied from the program's output.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, STACKS, run_cli
from topoform.cost import HOURS_PER_MONTH, diff, estimate
from topoform.loader import load_plan

CATALOG = ROOT / "components" / "topoform" / "catalog"


def catalog_price(cloud: str, machine: str, kind: str) -> Decimal:
    """The reference-region price of ``machine`` as written in the catalog file."""
    data = yaml.safe_load((CATALOG / f"{cloud}.yaml").read_text())
    (offering,) = [o for o in data["offerings"] if o["machine"] == machine]
    return Decimal(str(offering["price"][kind]))


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def items(out: str) -> dict[str, dict[str, Any]]:
    return {i["path"]: i for i in json.loads(out)["items"]}


def test_prod_json_gives_a_range_whose_totals_add_up() -> None:
    result = run_cli("cost", "prod", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    total = data["monthly_usd"]
    assert 0 < total["min"] <= total["max"]
    assert total["min"] < total["max"]  # prod autoscales: the range is a real range
    for bound in ("min", "max"):
        assert sum(i["monthly_usd"][bound] for i in data["items"]) == pytest.approx(total[bound], abs=0.005)
        assert sum(c[bound] for c in data["by_cloud"].values()) == pytest.approx(total[bound], abs=0.005)
    assert {i["monthly_usd"]["min"] <= i["monthly_usd"]["max"] for i in data["items"]} == {True}
    assert set(data["by_cloud"]) == {"aws", "gcp", "azure", "onprem"}
    assert data["prices_read"] == "2026-11-30"  # the newest read among the sources used (VPC endpoints)
    assert all(i["source"].startswith("https://") for i in data["items"] if i["pricing"] != "not priced")
    kinds = {i["kind"] for i in data["items"]}
    assert {"pool", "control plane", "nat", "storage", "replica", "replication", "endpoint"} <= kinds


def test_an_on_demand_pool_by_hand_to_the_cent() -> None:
    """prod's train/h100: on-demand p5.48xlarge after its reservation, from min to max nodes
    less the reserved ones (which are billed at the on-demand price whether they run or not)."""
    topo = yaml.safe_load((STACKS / "base.topology.yaml").read_text())
    pool = topo["clusters"]["train"]["node_pools"]["h100"]
    (reservation, step) = yaml.safe_load((STACKS / "prod.topology.yaml").read_text())["clusters"]["train"]["node_pools"]["h100"]["capacity"]
    assert step == "on-demand"
    price = catalog_price("aws", "p5.48xlarge", "on_demand")
    lines = items(run_cli("cost", "prod", "--json").out)
    line = lines["clusters.train.node_pools.h100.capacity.1"]
    assert line["pricing"] == "on-demand"
    assert line["unit_usd"] == float(price)
    assert line["monthly_usd"]["min"] == cents(price * pool["min"] * HOURS_PER_MONTH)
    assert line["monthly_usd"]["max"] == cents(price * (pool["max"] - reservation["nodes"]) * HOURS_PER_MONTH)
    held = lines["clusters.train.node_pools.h100.capacity.0"]
    assert held["monthly_usd"]["min"] == held["monthly_usd"]["max"] == cents(price * reservation["nodes"] * HOURS_PER_MONTH)


def test_a_spot_pool_is_priced_at_the_spot_price() -> None:
    topo = yaml.safe_load((STACKS / "dev.topology.yaml").read_text())
    pool = topo["clusters"]["train"]["node_pools"]["h100"]
    assert pool["spot"] is True
    spot = catalog_price("aws", "p5.48xlarge", "spot")
    line = items(run_cli("cost", "dev", "--json").out)["clusters.train.node_pools.h100"]
    assert line["pricing"] == "spot"
    assert line["unit_usd"] == float(spot) != float(catalog_price("aws", "p5.48xlarge", "on_demand"))
    assert line["monthly_usd"]["max"] == cents(spot * pool["max"] * HOURS_PER_MONTH)


def test_storage_and_replication_follow_size_and_change_rate(tmp_path: Path) -> None:
    topo = tmp_path / "t.topology.yaml"
    topo.write_text(
        "name: c\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\nsites:\n  a: {provider: aws, region: us-east-1, backup_region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "storage:\n  s: {site: a, size_gb: 1000, backup: true, monthly_change_percent: 25}\n"
    )
    got = items(run_cli("cost", str(topo), "--json").out)
    data = yaml.safe_load((CATALOG / "aws.yaml").read_text())["services"]
    per_gb, transfer = Decimal(str(data["object_storage"]["usd"])), Decimal(str(data["inter_region_transfer"]["usd"]))
    assert got["storage.s"]["monthly_usd"]["max"] == cents(per_gb * 1000)
    assert got["storage.s.replica"]["monthly_usd"]["max"] == cents(per_gb * 1000)
    assert got["storage.s.replication"]["monthly_usd"]["max"] == cents(transfer * 250)
    assert set(got) == {"storage.s", "storage.s.replica", "storage.s.replication"}


def _topology(tmp_path: Path, budget: int | None, gpu_max: int = 2) -> Path:
    topo = tmp_path / f"b{budget}-{gpu_max}.topology.yaml"
    topo.write_text(
        "name: bud\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml}\n"
        + (f"budget: {{monthly_usd: {budget}}}\n" if budget is not None else "")
        + "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}, "
        f"gpu: {{gpu: {{type: L4, count: 1}}, min: 0, max: {gpu_max}}}}}}}\n"
    )
    return topo


def test_check_exits_1_naming_the_budget_rule_when_the_maximum_exceeds_the_budget(tmp_path: Path) -> None:
    est = json.loads(run_cli("cost", str(_topology(tmp_path, None)), "--json").out)["monthly_usd"]
    over = run_cli("check", str(_topology(tmp_path, int(est["max"]) - 1)), "--json")
    assert over.code == 1, over.err
    violations = json.loads(over.out)["violations"]
    assert {v["policy"] for v in violations if v["enforcement"] == "mandatory"} == {"budget-within-limit"}
    assert "exceeds the budget" in violations[0]["message"]

    within = run_cli("check", str(_topology(tmp_path, int(est["max"] / 0.5))), "--json")
    assert within.code == 0, within.out
    assert json.loads(within.out)["violations"] == []

    near = run_cli("check", str(_topology(tmp_path, int(est["max"] / 0.9))), "--json")
    assert near.code == 0
    assert [(v["policy"], v["enforcement"]) for v in json.loads(near.out)["violations"]] == [("budget-headroom", "advisory")]


def test_the_pack_sees_the_same_pools_and_control_planes_the_estimate_prices(tmp_path: Path) -> None:
    """The budget rules price resources (what a hand-made pool also shows); on topoform's own
    resources that must agree with `topoform cost`'s pool and control-plane lines."""
    from topoform.preview import record
    from topoform_policies import Subject
    from topoform_policies.budget import seen_monthly_max

    topo = tmp_path / "m.topology.yaml"
    topo.write_text(
        "name: m\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\nsites:\n"
        "  a: {provider: aws, region: us-west-2, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n  g: {provider: gcp, project: acme-m, region: us-central1}\n  z: {provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}\n"
        "clusters:\n"
        "  ca: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 3}, h: {gpu: {type: H100, count: 8}, min: 0, max: 2, spot: true}}}\n"
        "  cg: {site: g, overrides: {gcp: {security_group: gke-security-groups@acme.example}}, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}, l: {gpu: {type: L4, count: 1}, min: 1, max: 5}}}\n"
        "  cz: {site: z, node_pools: {system: {instance: cpu-4x16, min: 2, max: 3}, a: {gpu: {type: A100-80GB, count: 1}, min: 0, max: 4}}}\n"
    )
    _, plan = load_plan(str(topo))
    est = estimate(plan)
    expected = sum(line.monthly.max for line in est.lines if line.kind in ("pool", "control plane"))
    rec = record(str(topo), stack="dev")
    by_urn = {r["urn"]: r for r in rec.resources}
    subjects = [
        Subject(type=r["type"], name=r["name"], urn=r["urn"], props=r["inputs"], provider=by_urn[r["provider"]]["inputs"] if r["provider"] in by_urn else {})
        for r in rec.resources
        if r["custom"]
    ]
    seen, unknown = seen_monthly_max(subjects)
    assert unknown == []
    assert seen == expected


def test_diff_shows_what_changed_line_by_line_and_ignores_reordering(tmp_path: Path) -> None:
    small = _topology(tmp_path, None, gpu_max=2)
    big = _topology(tmp_path, None, gpu_max=6)
    result = run_cli("cost", str(big), "--diff", str(small), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    (change,) = data["changes"]
    assert change["path"] == "clusters.c.node_pools.gpu" and change["status"] == "changed"
    _, plan = load_plan(str(small))
    machine = plan.clusters["c"].spec["node_pools"]["gpu"]["machine_type"]
    price = catalog_price("aws", machine, "on_demand")
    assert change["delta"]["max"] == pytest.approx(cents(price * 6 * HOURS_PER_MONTH) - cents(price * 2 * HOURS_PER_MONTH), abs=0.001)
    assert data["after"]["max"] - data["before"]["max"] == pytest.approx(change["delta"]["max"], abs=0.005)

    # the same topology with its keys in another order: nothing to report
    data_yaml = yaml.safe_load(big.read_text())
    shuffled = tmp_path / "shuffled.topology.yaml"
    shuffled.write_text(yaml.safe_dump(dict(reversed(list(data_yaml.items()))), sort_keys=False))
    _, a = load_plan(str(big))
    _, b = load_plan(str(shuffled))
    assert diff(estimate(a), estimate(b)) == []


def test_diff_between_environments_lists_added_and_removed_lines_in_markdown() -> None:
    result = run_cli("cost", "prod", "--diff", "dev", "--format", "markdown")
    assert result.code == 0, result.err
    assert result.out.startswith("### topoform cost: `dev` → `prod`")
    rows = [line for line in result.out.splitlines() if line.startswith("| added") or line.startswith("| changed") or line.startswith("| removed")]
    paths = {row.split("`")[1] for row in rows}
    assert "clusters.serve.node_pools.l4" in paths  # only in prod
    assert "clusters.train.node_pools.h100" in paths  # spot in dev, on-demand and larger in prod
    assert "endpoints.notebooks" in paths  # only in dev
    assert any(row.startswith("| removed | `endpoints.notebooks`") for row in rows)


def test_markdown_and_text_carry_every_line_the_totals_and_the_prices_date() -> None:
    data = json.loads(run_cli("cost", "prod", "--json").out)
    md = run_cli("cost", "prod", "--format", "markdown").out
    text = run_cli("cost", "prod").out
    for item in data["items"]:
        assert f"`{item['path']}`" in md
        assert item["path"] in text
    total = f"{data['monthly_usd']['min']:,.2f} .. {data['monthly_usd']['max']:,.2f}"
    assert total in md and total in text
    assert f"prices read {data['prices_read']}" in text and f"prices read {data['prices_read']}" in md
    assert "budget 2,000,000.00" in text


def test_the_policy_config_it_prints_is_what_check_would_pass(tmp_path: Path) -> None:
    from topoform.check import load_policy_config

    out = run_cli("cost", "prod", "--policy-config").out
    config = load_policy_config(out)  # a valid --policy-pack-config file
    est = json.loads(run_cli("cost", "prod", "--json").out)
    assert config["budget-within-limit"] == {"monthly_usd": 2000000.0, "planned_max_usd": est["monthly_usd"]["max"]}


def test_cost_of_an_invalid_topology_is_exit_2_and_one_line(tmp_path: Path) -> None:
    topo = tmp_path / "bad.topology.yaml"
    topo.write_text("name: x\nenvironment: dev\nbudget: {monthly_usd: -5}\nsites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n")
    result = run_cli("cost", str(topo))
    assert result.code == 2
    assert result.err.count("\n") == 1 and ":3: budget.monthly_usd:" in result.err


def test_a_pool_the_catalog_cannot_price_is_never_taken_for_free(tmp_path: Path) -> None:
    """An A4 reservation (GCP sells A4 only reserved, flex-start or spot, and the catalog has no
    price but spot's) counts as nothing in the sum: cost, place and the budget rule say so."""
    topo = tmp_path / "a4.topology.yaml"
    topo.write_text(
        "name: bud\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\nlabels: {owner: ml}\nbudget: {monthly_usd: 100000}\n"
        "sites:\n  g: {provider: gcp, project: acme-ml, region: us-central1}\n"
        "clusters:\n  c: {site: g, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}, "
        "b200: {gpu: {type: B200, count: 8}, min: 0, max: 2, interconnect: fast, capacity: [{reservation: a4-block, zone: us-central1-b, nodes: 2}]}}}\n"
    )
    text = run_cli("cost", str(topo)).out
    assert "(within budget for what is priced: 1 item below is not)" in text
    assert "unpriced: clusters.c.node_pools.b200.capacity.0: no on-demand price for a4-highgpu-8g in the catalog" in text
    assert "  now   gcp us-central1: not priced (the catalog has no on-demand price for its machine)" in run_cli("place", str(topo)).out
    checked = run_cli("check", str(topo), "--json")
    assert checked.code == 0, checked.err
    (finding,) = json.loads(checked.out)["violations"]
    assert (finding["policy"], finding["enforcement"]) == ("budget-headroom", "advisory")
    assert "leaves out node pools the catalog cannot price (gcp a4-highgpu-8g)" in finding["message"]

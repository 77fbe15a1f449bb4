"""`topoform place`: the cheapest offerings for a GPU pool within the topology's constraints.

Expected picks are found here by reading the catalog files directly, not through the program.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conftest import ROOT, run_cli

CATALOG = ROOT / "components" / "topoform" / "catalog"


def topology(tmp_path: Path, placement: str = "", spot: bool = False) -> Path:
    topo = tmp_path / "p.topology.yaml"
    topo.write_text(
        "name: pl\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n" + (f"placement: {placement}\n" if placement else "")
        + "sites:\n  a: {provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}\n"
        "clusters:\n  c: {site: a, node_pools: {system: {instance: cpu-4x16, min: 1, max: 2}, "
        f"h100: {{gpu: {{type: H100, count: 8}}, min: 0, max: 4, spot: {str(spot).lower()}}}}}}}\n"
    )
    return topo


def place(topo: Path) -> dict[str, Any]:
    result = run_cli("place", str(topo), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    (pool,) = data["pools"]
    return pool  # type: ignore[no-any-return]


def catalog_offers(gpu: str, count: int, kind: str, jurisdictions: set[str]) -> list[tuple[float, str, str, str]]:
    """(price, cloud, region, machine) for every priced region in the catalog files."""
    out = []
    for cloud in ("aws", "gcp", "azure"):
        data = yaml.safe_load((CATALOG / f"{cloud}.yaml").read_text())
        for o in data["offerings"]:
            if o.get("gpu") != gpu or o["gpus"] != count:
                continue
            prices = {o["price"]["region"]: o["price"].get(kind)} | {r: p.get(kind) for r, p in (o.get("prices") or {}).items()}
            for region, price in prices.items():
                if price is not None and data["regions"][region]["jurisdiction"] in jurisdictions and not (o.get("spot_only") and kind == "on_demand"):
                    out.append((price, cloud, region, o["machine"]))
    return sorted(out)


def test_an_h100_pool_is_compared_across_clouds_and_the_cheapest_is_picked(tmp_path: Path) -> None:
    pool = place(topology(tmp_path))
    clouds = {o["cloud"] for o in pool["ranked"]}
    assert len(clouds) >= 2
    assert all(o["hourly_usd"] > 0 and o["monthly_max_usd"] > 0 for o in pool["ranked"])
    expected = catalog_offers("H100", 8, "on_demand", {"us"})
    assert pool["best"]["hourly_usd"] == expected[0][0]
    assert [o["hourly_usd"] for o in pool["ranked"]] == sorted(o["hourly_usd"] for o in pool["ranked"])
    assert len(pool["ranked"]) == len(expected)
    assert pool["current"]["cloud"] == "aws" and pool["current"]["region"] == "us-east-1"
    assert pool["saving_monthly_usd"] == round(pool["current"]["monthly_max_usd"] - pool["best"]["monthly_max_usd"], 2)
    assert pool["ranked"][1]["why_not"].endswith(f"{pool['best']['cloud']} {pool['best']['region']}")


def test_a_constraint_excluding_a_cloud_removes_it(tmp_path: Path) -> None:
    pool = place(topology(tmp_path, "{clouds: [gcp, azure]}"))
    assert {o["cloud"] for o in pool["ranked"]} == {"gcp", "azure"}
    assert any(r["cloud"] == "aws" and "placement.clouds" in r["reason"] for r in pool["rejected"])
    expected = [o for o in catalog_offers("H100", 8, "on_demand", {"us"}) if o[1] != "aws"]
    assert (pool["best"]["cloud"], pool["best"]["region"], pool["best"]["hourly_usd"]) == (expected[0][1], expected[0][2], expected[0][0])


def test_regions_and_jurisdictions_limit_the_offerings(tmp_path: Path) -> None:
    pool = place(topology(tmp_path, "{jurisdictions: [eu]}"))
    assert pool["ranked"], "the catalog prices H100 in some EU region"
    assert {o["jurisdiction"] for o in pool["ranked"]} == {"eu"}
    only = place(topology(tmp_path, "{regions: [us-west-2]}"))
    assert {(o["cloud"], o["region"]) for o in only["ranked"]} == {("aws", "us-west-2")}


def test_a_spot_pool_compares_spot_prices_unless_spot_is_ruled_out(tmp_path: Path) -> None:
    spot = place(topology(tmp_path, spot=True))
    assert spot["capacity"] == "spot"
    assert spot["best"]["hourly_usd"] == catalog_offers("H100", 8, "spot", {"us"})[0][0]
    no_spot = place(topology(tmp_path, "{spot: false}", spot=True))
    assert no_spot["capacity"] == "on-demand"
    assert no_spot["best"]["hourly_usd"] == catalog_offers("H100", 8, "on_demand", {"us"})[0][0]


def test_the_text_names_the_pick_and_why_the_others_lose(tmp_path: Path) -> None:
    result = run_cli("place", str(topology(tmp_path, "{clouds: [aws, gcp]}")))
    assert result.code == 0, result.err
    text = result.out
    assert "clusters.c.node_pools.h100: 4 x 8x H100, on-demand" in text
    assert "  pick  " in text and "more than" in text
    assert "out   azure: placement.clouds allows only aws, gcp" in text


def test_a_pool_joined_by_a_fabric_is_compared_only_with_machines_whose_fabric_topoform_builds(tmp_path: Path) -> None:
    topo = topology(tmp_path)
    topo.write_text(topo.read_text().replace("max: 4, spot: false}", "max: 4, spot: false, interconnect: fast}"))
    pool = place(topo)
    from topoform.catalog import load_catalog
    from topoform.providers import profile

    cat = load_catalog()
    builds = {(c, o.machine) for c in ("aws", "gcp", "azure") for o in cat.clouds[c].offerings if o.fabric is not None and o.fabric.kind not in profile(c).fabric_gaps}
    assert pool["ranked"] and all((o["cloud"], o["machine"]) in builds for o in pool["ranked"])
    # GCP's 8x H100 (a3-highgpu-8g, GPUDirect-TCPX) is refused for the fabric, and so not offered as a move
    assert {"cloud": "gcp", "region": "", "machine": "a3-highgpu-8g", "reason": "no fabric topoform builds (interconnect: fast)"} in pool["rejected"]
    # without the fabric the same pool may move to machines without one
    plain = place(topology(tmp_path))
    assert any((o["cloud"], o["machine"]) not in builds for o in plain["ranked"])


def test_the_example_prod_places_every_gpu_pool_but_standbys() -> None:
    result = run_cli("place", "prod", "--json")
    assert result.code == 0, result.err
    paths = [p["path"] for p in json.loads(result.out)["pools"]]
    assert paths == sorted(paths)
    assert "clusters.train.node_pools.h100" in paths
    assert not any(".standby." in p for p in paths)
    assert "clusters.train.node_pools.system" not in paths  # CPU pools are not placed


def test_owned_hardware_is_not_told_to_move(cli) -> None:  # type: ignore[no-untyped-def]
    """Issue 15, F12: on-prem pools have no price to beat; the cheapest cloud is what renting
    would cost, never a "pick"."""
    out = cli("place", "dev").out
    lab = out[out.index("clusters.lab.node_pools.a100") :].split("\n")
    assert lab[1] == "  now   on-prem (owned, not priced)"
    assert lab[2].startswith("  cloud ") and "owned hardware has no saving to compare" in lab[2]
    assert not lab[2].startswith("  pick")

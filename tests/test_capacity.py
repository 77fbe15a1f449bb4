"""Capacity in a stated order: a pool's `capacity` list becomes one pool of the cloud per step,
taken in order by the cluster's autoscaler, priced step by step. Read from what `topoform
preview prod` records (the H100 training pool on AWS: a reservation, then on demand; the A100
pool on Azure: on demand, then spot), from variants, and from `cost` and `place`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from conftest import run_cli
from topoform.kube import priority_config
from topoform.loader import load_plan
from topoform.preview import Recording, record

RESERVATION = "cr-0a1b2c3d4e5f67890"
AWS_SITE = "{provider: aws, region: us-east-1, admins: [arn:aws:iam::123456789012:role/platform-ci]}"
GCP_SITE = "{provider: gcp, project: acme-ml, region: us-central1}"
AZURE_SITE = "{provider: azure, region: eastus, admins: [servicePrincipal:5c2e8f4a-7b1d-4c3e-9a0f-2d6b8e1c4f7a]}"
AZURE_CRG = "/subscriptions/7d1c5e2a-3b4f-4a6e-9c8d-0e1f2a3b4c5d/resourceGroups/acme-capacity/providers/Microsoft.Compute/capacityReservationGroups/a100"


def _one(rec: Recording, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in rec.by_type(type_) if r["name"] == name]
    return found["inputs"]  # type: ignore[no-any-return]


def _topology(tmp_path: Path, site: str, pool: str, cluster: str = "") -> Path:
    path = tmp_path / "t.topology.yaml"
    path.write_text(
        "name: s\nenvironment: dev\ndeployer: {networks: [198.51.100.10/32]}\n"
        f"sites:\n  x: {site}\n"
        f"clusters:\n  c:\n    site: x\n{cluster}    node_pools:\n      system: {{instance: cpu-4x16, min: 1, max: 2}}\n      gpu: {pool}\n"
    )
    return path


def _priorities(config_map: dict[str, Any]) -> dict[int, list[str]]:
    return yaml.safe_load(config_map["data"]["priorities"])  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- AWS (prod)


def test_the_reserved_step_launches_into_its_reservation_in_its_zone_without_a_placement_group(prod_recording: Recording) -> None:
    template = _one(prod_recording, "aws:ec2/launchTemplate:LaunchTemplate", "vision-train-pool-h100-reserved")
    group = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-h100-reserved")
    # the reservation alone: a group's launches would otherwise fall back to plain on-demand
    assert template["capacityReservationSpecification"] == {
        "capacityReservationPreference": "capacity-reservations-only",
        "capacityReservationTarget": {"capacityReservationId": RESERVATION},
    }
    # EC2 places a reservation's instances where it was made: a placement group would fail them
    # (terraform-aws-eks PR #3730); the fabric is still there
    assert "placement" not in template and len(template["networkInterfaces"]) == 33
    assert group["capacityType"] == "ON_DEMAND" and group["instanceTypes"] == ["p5.48xlarge"]
    # the nodes it holds run: they are billed whether they run or not (prod's min is 0)
    assert (group["scalingConfig"]["minSize"], group["scalingConfig"]["maxSize"], group["scalingConfig"]["desiredSize"]) == (4, 4, 4)
    # a full reservation has no machine for a surge node: updates replace a node at a time
    assert group["updateConfig"] == {"maxUnavailable": 1, "updateStrategy": "MINIMAL"}
    subnets = {r["name"]: r["inputs"] for r in prod_recording.by_type("aws:ec2/subnet:Subnet")}
    (subnet,) = [s for name, s in subnets.items() if group["subnetIds"][0].startswith(name + "-")]
    assert subnet["availabilityZoneId"] == "use1-az2"  # the reservation's zone
    assert group["labels"]["topoform.io/capacity"] == "reservation" and group["labels"]["topoform.io/pool"] == "h100"


def test_the_on_demand_step_takes_the_rest_of_max_in_a_placement_group(prod_recording: Recording) -> None:
    template = _one(prod_recording, "aws:ec2/launchTemplate:LaunchTemplate", "vision-train-pool-h100")
    group = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-h100")
    assert "capacityReservationSpecification" not in template and template["placement"]["groupName"].startswith("vision-train-pool-h100")
    assert group["scalingConfig"]["maxSize"] == 16 - 4  # max, less what the reservation holds
    assert group["labels"]["topoform.io/capacity"] == "on-demand" and group["labels"]["topoform.io/pool"] == "h100"
    assert group["updateConfig"] == {"maxUnavailable": 1}  # on demand, a surge node can be had
    # the fabric reaches no further than a zone: the on-demand step runs where the reservation is
    reserved = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-pool-h100-reserved")
    assert group["subnetIds"] == reserved["subnetIds"]


def test_the_eks_autoscaler_takes_the_steps_in_order_by_their_auto_scaling_groups(prod_recording: Recording) -> None:
    flags = _one(prod_recording, "kubernetes:apps/v1:Deployment", "vision-train-autoscaler-deployment")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--expander=priority,least-waste" in flags  # the topology's expander among equals
    config = _one(prod_recording, "kubernetes:core/v1:ConfigMap", "vision-train-autoscaler-priorities")
    assert (config["metadata"]["name"], config["metadata"]["namespace"]) == ("cluster-autoscaler-priority-expander", "kube-system")
    levels = _priorities(config)
    groups = {r["name"]: r for r in prod_recording.resources if r["type"] == "aws:eks/nodeGroup:NodeGroup"}
    # each group by its exact Auto Scaling group (EKS names it: eks-<node group>-<UUID>): the
    # first step with the pools that have no list (a pod several could take goes to a first
    # choice, never to another pool's last resort), the second below them ...
    def named(level: list[str]) -> list[str]:
        assert all(p.startswith("^eks-vision-train-pool-") and p.endswith("$") for p in level)
        return sorted(p.removeprefix("^eks-vision-train-pool-").rsplit("-", 5)[0] for p in level)

    # (eval's spot step spreads across L4, then A10G: one rank each, above its on-demand step)
    assert sorted(levels, reverse=True) == [3, 2, 1, 0]
    assert named(levels[3]) == ["eval-spot", "h100-reserved", "system"]
    assert named(levels[2]) == ["eval-spot-a10g", "h100"]
    assert named(levels[1]) == ["eval"]
    # ... and groups topoform does not make still eligible below them (unmatched ones never grow)
    assert levels[0] == [".*"] and len(groups) > 3
    # the standby's h100 has one step left (the reservation is in us-east-1); eval keeps its order
    standby = _one(prod_recording, "kubernetes:core/v1:ConfigMap", "vision-train-standby-autoscaler-priorities")
    ranks = {name: rank for rank, level in _priorities(standby).items() for name in level}
    spot, a10g, on_demand = (next(r for p, r in ranks.items() if p.startswith(f"^eks-vision-train-standby-pool-{k}-") and p.count("-") == n) for k, n in (("eval-spot", 11), ("eval-spot-a10g", 12), ("eval", 10)))
    assert spot > a10g > on_demand
    assert "vision-train-standby-pool-h100-reserved" not in groups


def test_a_spot_step_spreads_across_gpu_types_one_node_group_each_labelled_with_its_own(prod_recording: Recording) -> None:
    groups = {name: _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", f"vision-train-pool-{name}") for name in ("eval-spot", "eval-spot-a10g", "eval")}
    seen = {name: (g["instanceTypes"], g["capacityType"], g["labels"]["topoform.io/accelerator"], g["labels"]["k8s.amazonaws.com/accelerator"]) for name, g in groups.items()}
    assert seen == {
        "eval-spot": (["g6.xlarge"], "SPOT", "L4", "L4"),
        "eval-spot-a10g": (["g5.xlarge"], "SPOT", "A10G", "A10G"),  # a label that tells the truth: a group per type
        "eval": (["g6.xlarge"], "ON_DEMAND", "L4", "L4"),
    }
    # pods that select the pool land on either type; each type may grow to the pool's max
    assert {g["labels"]["topoform.io/pool"] for g in groups.values()} == {"eval"}
    assert {(g["scalingConfig"]["minSize"], g["scalingConfig"]["maxSize"]) for g in groups.values()} == {(0, 8)}
    assert all(g["taints"] == groups["eval"]["taints"] for g in groups.values())
    # the backup region's machine for each type (A10G is a g5 there too, not the L4's g6)
    standby = _one(prod_recording, "aws:eks/nodeGroup:NodeGroup", "vision-train-standby-pool-eval-spot-a10g")
    assert standby["instanceTypes"] == ["g5.xlarge"] and standby["labels"]["topoform.io/accelerator"] == "A10G"
    # the other type keeps the zones, of those chosen for the pool, where EC2 sells it (the
    # preview's account has no g5 in use1-az4): a zone without it would fail the group's launches
    subnets = {r["name"]: r["inputs"]["availabilityZoneId"] for r in prod_recording.by_type("aws:ec2/subnet:Subnet")}

    def zones(group: dict[str, Any]) -> list[str]:
        return sorted(next(z for name, z in subnets.items() if s.startswith(name + "-")) for s in group["subnetIds"])

    assert zones(groups["eval"]) == zones(groups["eval-spot"]) == ["use1-az1", "use1-az2", "use1-az4"]
    assert zones(groups["eval-spot-a10g"]) == ["use1-az1", "use1-az2"]


def test_every_eks_gpu_group_runs_only_where_ec2_sells_its_machine(tmp_path: Path) -> None:
    """The cluster's zones are the lowest IDs EKS takes, whatever the machines: an A10G pool (g5,
    which the preview's account does not sell in use1-az4) keeps the other two, its own type as
    well as a spread one; CPU pools keep every zone."""
    rec = record(str(_topology(tmp_path, AWS_SITE, "{gpu: {type: A10G, count: 1}, min: 0, max: 4, capacity: [{spot: {also: [L4]}}, on-demand]}")), stack="dev")
    subnets = {r["name"]: r["inputs"]["availabilityZoneId"] for r in rec.by_type("aws:ec2/subnet:Subnet")}
    zones = {
        r["name"]: sorted(next(z for name, z in subnets.items() if s.startswith(name + "-")) for s in r["inputs"]["subnetIds"])
        for r in rec.by_type("aws:eks/nodeGroup:NodeGroup")
    }
    everywhere = zones["s-c-pool-system"]
    assert len(everywhere) == 3 and "use1-az4" in everywhere
    assert zones["s-c-pool-gpu"] == zones["s-c-pool-gpu-spot"] == [z for z in everywhere if z != "use1-az4"]
    assert zones["s-c-pool-gpu-spot-l4"] == everywhere
    # a reservation's group runs in the zone it was made in, whatever EC2 lists for on-demand
    # there (the preview's account lists no p5 in use1-az1)
    reserved = record(str(_topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, capacity: [{{reservation: {RESERVATION}, zone: use1-az1, nodes: 2}}, on-demand]}}")), stack="dev")
    subnets = {r["name"]: r["inputs"]["availabilityZoneId"] for r in reserved.by_type("aws:ec2/subnet:Subnet")}
    groups = {r["name"]: r["inputs"] for r in reserved.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert [next(z for name, z in subnets.items() if s.startswith(name + "-")) for s in groups["s-c-pool-gpu-reserved"]["subnetIds"]] == ["use1-az1"]
    assert "use1-az1" not in [next(z for name, z in subnets.items() if s.startswith(name + "-")) for s in groups["s-c-pool-gpu"]["subnetIds"]]


def test_a_spread_spot_step_takes_its_types_in_the_order_written_and_keeps_min_on_the_first(tmp_path: Path) -> None:
    def cluster(pool: str) -> Any:
        return load_plan(str(_topology(tmp_path, AWS_SITE, pool)))[1].clusters["c"].spec

    spec = cluster("{gpu: {type: T4, count: 1}, min: 2, max: 6, capacity: [{spot: {also: [L4, A10G]}}, on-demand]}")
    pools = spec["node_pools"]
    assert {k: (p["machine_type"], p["min_nodes"], p["max_nodes"], p["spot"]) for k, p in pools.items() if k != "system"} == {
        "gpu-spot": ("g4dn.xlarge", 2, 6, True),
        "gpu-spot-l4": ("g6.xlarge", 0, 6, True),
        "gpu-spot-a10g": ("g5.xlarge", 0, 6, True),
        "gpu": ("g4dn.xlarge", 0, 6, False),
    }
    # the pool's own type, then also's in order, then the next step: each a rank of its own
    assert spec["autoscaler"]["priorities"] == {"system": 4, "gpu-spot": 4, "gpu-spot-l4": 3, "gpu-spot-a10g": 2, "gpu": 1}
    swapped = cluster("{gpu: {type: T4, count: 1}, min: 2, max: 6, capacity: [{spot: {also: [A10G, L4]}}, on-demand]}")
    assert set(swapped["node_pools"]) == set(pools)  # the keys stay: reordering renames nothing
    assert (swapped["autoscaler"]["priorities"]["gpu-spot-a10g"], swapped["autoscaler"]["priorities"]["gpu-spot-l4"]) == (3, 2)
    # a spread step alone is a list of two pools to take in order too
    alone = cluster("{gpu: {type: L4, count: 1}, min: 0, max: 6, capacity: [{spot: {also: [A10G]}}]}")
    assert alone["autoscaler"]["priorities"] == {"system": 2, "gpu-spot": 2, "gpu-spot-a10g": 1}


def test_a_spread_type_the_standby_region_lacks_is_named_where_it_is_written(tmp_path: Path) -> None:
    site = "{provider: aws, region: us-east-1, backup_region: eu-west-3, admins: [arn:aws:iam::123456789012:role/platform-ci]}"
    path = _topology(tmp_path, site, "{gpu: {type: L4, count: 1}, min: 0, max: 4, capacity: [{spot: {also: [A10G]}}]}", cluster="    standby: true\n")
    result = run_cli("validate", str(path))
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{path}:12: clusters.c.node_pools.gpu.capacity[0].spot.also[0]: the standby's region eu-west-3: A10G x1 is not offered in aws eu-west-3" in result.err, result.err


def test_a_spread_pool_says_which_of_its_steps_types_it_is() -> None:
    from topoform.specs import capacity_of

    base: Any = {"machine_type": "g5.xlarge", "spot": True, "min_nodes": 0, "max_nodes": 8}
    assert capacity_of({**base, "capacity": {"kind": "spot", "pool": "eval", "step": 0}}) == "spot, capacity step 1"
    assert capacity_of({**base, "capacity": {"kind": "spot", "pool": "eval", "step": 0, "also": 0}}) == "spot, capacity step 1 (2nd GPU type)"
    assert capacity_of({**base, "capacity": {"kind": "spot", "pool": "eval", "step": 1, "also": 1}}) == "spot, capacity step 2 (3rd GPU type)"


def test_aks_refuses_a_cluster_whose_steps_make_more_pools_than_it_takes(tmp_path: Path) -> None:
    pools = "".join(f"      g{i}: {{gpu: {{type: T4, count: 1}}, min: 0, max: 4, capacity: [on-demand, {{spot: {{also: [A10]}}}}]}}\n" for i in range(33))
    path = _topology(tmp_path, AZURE_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4}\n" + pools)
    result = run_cli("validate", str(path))
    assert result.code == 2 and "Traceback" not in result.err
    # 1 system + 1 gpu + 33 x 3 = 101: one more than AKS takes ("Maximum node pools per cluster: 100")
    assert f"{path}:9: clusters.c.node_pools: makes 101 azure node pools" in result.err and "a cluster takes at most 100" in result.err
    fewer = _topology(tmp_path, AZURE_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4}\n" + pools.replace("      g32:", "      # g32:"))
    assert run_cli("validate", str(fewer)).code == 0


def test_priority_config_puts_each_pattern_under_its_priority_and_the_rest_at_zero() -> None:
    text = priority_config({"a": 3, "b": 1, "c": 3, "gone": 2}, {"a": "^x$", "b": "^y$", "c": "^w$"})
    assert yaml.safe_load(text) == {3: ["^w$", "^x$"], 1: ["^y$"], 0: [".*"]}  # a step without a group yet is left out
    assert text.index("3:") < text.index("1:") < text.index("0:")


# --------------------------------------------------------------------------- AWS variants


def test_a_capacity_block_step_is_launched_as_eks_requires(tmp_path: Path) -> None:
    block = "cr-0123456789abcdef0"
    path = _topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 1, max: 6, interconnect: fast, capacity: [{{capacity_block: {block}, zone: use1-az2, nodes: 2}}, spot]}}")
    rec = record(str(path), stack="dev")
    template = _one(rec, "aws:ec2/launchTemplate:LaunchTemplate", "s-c-pool-gpu-block")
    group = _one(rec, "aws:eks/nodeGroup:NodeGroup", "s-c-pool-gpu-block")
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template["capacityReservationSpecification"] == {"capacityReservationPreference": "capacity-reservations-only", "capacityReservationTarget": {"capacityReservationId": block}}
    assert template["instanceType"] == "p5.48xlarge" and "instanceTypes" not in group  # in the template only
    assert group["capacityType"] == "CAPACITY_BLOCK" and "placement" not in template
    assert group["updateConfig"]["updateStrategy"] == "MINIMAL"
    # a block's nodes exist only while it is active: min goes to the step that keeps nodes
    assert group["scalingConfig"]["minSize"] == 0 and group["scalingConfig"]["maxSize"] == 2
    spot = _one(rec, "aws:eks/nodeGroup:NodeGroup", "s-c-pool-gpu-spot")
    assert spot["capacityType"] == "SPOT" and (spot["scalingConfig"]["minSize"], spot["scalingConfig"]["maxSize"]) == (1, 4)
    assert "placement" in _one(rec, "aws:ec2/launchTemplate:LaunchTemplate", "s-c-pool-gpu-spot")
    assert spot["subnetIds"] == group["subnetIds"]  # one zone for the fabric: the block's


def test_a_fabric_pool_reserves_in_one_zone(tmp_path: Path) -> None:
    steps = "{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 1}, {reservation: cr-0123456789abcdef1, zone: use1-az4, nodes: 1}"
    result = run_cli("validate", str(_topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, interconnect: fast, capacity: [{steps}, on-demand]}}")))
    assert result.code == 2
    assert ":11: clusters.c.node_pools.gpu.capacity[1].zone: a fast interconnect reaches only nodes in one zone: reserve in use1-az2, as capacity[0] does" in result.err, result.err
    # without the fabric, two reservations in two zones are two steps
    assert run_cli("validate", str(_topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, capacity: [{steps}, on-demand]}}"))).code == 0


def test_a_reservation_group_is_targeted_by_its_arn(tmp_path: Path) -> None:
    arn = "arn:aws:resource-groups:us-east-1:123456789012:group/h100-reservations"
    rec = record(str(_topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, capacity: [{{reservation: '{arn}', zone: use1-az4, nodes: 4}}]}}")), stack="dev")
    template = _one(rec, "aws:ec2/launchTemplate:LaunchTemplate", "s-c-pool-gpu-reserved")
    assert template["capacityReservationSpecification"] == {"capacityReservationPreference": "capacity-reservations-only", "capacityReservationTarget": {"capacityReservationResourceGroupArn": arn}}
    # one step: nothing to order
    assert not rec.by_type("kubernetes:core/v1:ConfigMap") or all("priorities" not in r["name"] for r in rec.by_type("kubernetes:core/v1:ConfigMap"))


def test_steps_keep_their_keys_when_the_list_is_reordered_and_fill_min_in_order(tmp_path: Path) -> None:
    def cluster(steps: str, lo: int = 0) -> Any:
        path = _topology(tmp_path, AWS_SITE, f"{{gpu: {{type: H100, count: 8}}, min: {lo}, max: 8, capacity: [{steps}]}}")
        return load_plan(str(path))[1].clusters["c"].spec

    reserved = "{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 3}"
    one, two = cluster(f"{reserved}, on-demand, spot"), cluster(f"{reserved}, spot, on-demand")
    assert set(one["node_pools"]) == set(two["node_pools"]) == {"system", "gpu-reserved", "gpu", "gpu-spot"}
    assert one["autoscaler"]["priorities"] == {"system": 3, "gpu-reserved": 3, "gpu": 2, "gpu-spot": 1}
    assert two["autoscaler"]["priorities"] == {"system": 3, "gpu-reserved": 3, "gpu": 1, "gpu-spot": 2}
    # min fills the steps in order, after the reserved nodes (which always run)
    filled = cluster(f"{reserved}, on-demand, spot", lo=5)["node_pools"]
    assert [(filled[k]["min_nodes"], filled[k]["max_nodes"]) for k in ("gpu-reserved", "gpu", "gpu-spot")] == [(3, 3), (2, 5), (0, 5)]
    low = cluster(f"{reserved}, on-demand, spot", lo=1)["node_pools"]
    assert [low[k]["min_nodes"] for k in ("gpu-reserved", "gpu", "gpu-spot")] == [3, 0, 0]


# --------------------------------------------------------------------------- Azure and GCP


def test_aks_takes_on_demand_first_then_spot_through_its_priority_expander(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 8, capacity: [on-demand, spot]}")), stack="dev")
    pools = {r["inputs"]["agentPoolName"]: r["inputs"] for r in rec.by_type("azure-native:containerservice:AgentPool")}
    (spot_name,) = [name for name in pools if name.startswith("gpuspot")]
    assert pools["gpu"]["scaleSetPriority"] == "Regular" and pools[spot_name]["scaleSetPriority"] == "Spot"
    assert pools[spot_name]["nodeLabels"]["topoform.io/pool"] == pools["gpu"]["nodeLabels"]["topoform.io/pool"] == "gpu"
    assert pools[spot_name]["nodeLabels"]["topoform.io/capacity"] == "spot"
    (cluster,) = rec.by_type("azure-native:containerservice:ManagedCluster")
    assert cluster["inputs"]["autoScalerProfile"]["expander"] == "priority"  # AKS runs one expander
    config = _one(rec, "kubernetes:core/v1:ConfigMap", "s-c-autoscaler-priorities")
    assert (config["metadata"]["name"], config["metadata"]["namespace"]) == ("cluster-autoscaler-priority-expander", "kube-system")
    assert _priorities(config) == {2: ["^aks-gpu-[0-9]+-vmss$", "^aks-system-[0-9]+-vmss$"], 1: [f"^aks-{spot_name}-[0-9]+-vmss$"], 0: [".*"]}


def test_an_aks_reservation_step_consumes_its_group_once_the_cluster_identity_may(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, AZURE_SITE, f"{{gpu: {{type: A100-80GB, count: 1}}, min: 1, max: 6, capacity: [{{reservation: {AZURE_CRG}, zone: '2', nodes: 2}}, on-demand]}}")), stack="dev")
    pools = {r["inputs"]["agentPoolName"]: r for r in rec.by_type("azure-native:containerservice:AgentPool")}
    (reserved_name,) = [name for name in pools if name.startswith("gpures")]
    reserved, on_demand = pools[reserved_name], pools["gpu"]
    # the group's reserved VMs, in the step's zone, always running (billed whether they run or not)
    assert reserved["inputs"]["capacityReservationGroupID"] == AZURE_CRG and reserved["inputs"]["availabilityZones"] == ["2"]
    assert (reserved["inputs"]["minCount"], reserved["inputs"]["maxCount"], reserved["inputs"]["scaleSetPriority"]) == (2, 2, "Regular")
    assert "capacityReservationGroupID" not in on_demand["inputs"] and on_demand["inputs"]["maxCount"] == 4
    # another group is another pool: AKS moves pools between groups only in preview
    assert "capacityReservationGroupID" in reserved["options"]["replaceOnChanges"] and reserved["options"]["deleteBeforeReplace"] is True
    # a reservation holds no VM for a surge node: one node at a time is replaced
    assert reserved["inputs"]["upgradeSettings"] == {"maxSurge": "0", "maxUnavailable": "1"} and "upgradeSettings" not in on_demand["inputs"]
    # the cluster identity may read the group and deploy into it, nothing else (not AKS's
    # Contributor on the whole resource group): a role of its own, assigned on the group alone
    (identity,) = rec.by_type("azure-native:managedidentity:UserAssignedIdentity")
    (role,) = rec.by_type("azure-native:authorization:RoleDefinition")
    subscription = AZURE_CRG.split("/")[2]
    scope = f"/subscriptions/{subscription}/resourceGroups/acme-capacity"
    assert role["inputs"]["scope"] == scope and role["inputs"]["assignableScopes"] == [scope]
    assert role["inputs"]["permissions"] == [{"actions": [
        "Microsoft.Compute/capacityReservationGroups/read",
        "Microsoft.Compute/capacityReservationGroups/capacityReservations/read",
        "Microsoft.Compute/capacityReservationGroups/deploy/action",
    ]}]
    (grant,) = [r for r in rec.by_type("azure-native:authorization:RoleAssignment") if r["name"].startswith("s-c-reservations-")]
    assert grant["inputs"]["scope"] == AZURE_CRG and grant["inputs"]["principalType"] == "ServicePrincipal"
    assert role["inputs"]["roleType"] == "CustomRole" and role["inputs"]["roleName"].startswith("topoform s-dev-c capacity reservation a100 ")
    assert identity["urn"] in grant["options"]["dependsOn"]
    # a new role replicates before it can be assigned: the assignment waits a minute after it
    (role_wait,) = [r for r in rec.by_type("time:index/sleep:Sleep") if r["name"].endswith("-role-wait")]
    assert role["urn"] in role_wait["options"]["dependsOn"] and role_wait["urn"] in grant["options"]["dependsOn"]
    assert role_wait["inputs"]["createDuration"] == "60s"
    # ... and the reserved pool waits for it to apply; the on-demand pool does not
    (sleep,) = [r for r in rec.by_type("time:index/sleep:Sleep") if r["name"] == "s-c-reservations-wait"]
    assert sleep["inputs"]["createDuration"] == "600s" and grant["urn"] in sleep["options"]["dependsOn"]
    assert sleep["urn"] in reserved["options"]["dependsOn"] and sleep["urn"] not in on_demand["options"]["dependsOn"]
    config = _one(rec, "kubernetes:core/v1:ConfigMap", "s-c-autoscaler-priorities")
    assert _priorities(config) == {2: [f"^aks-{reserved_name}-[0-9]+-vmss$", "^aks-system-[0-9]+-vmss$"], 1: ["^aks-gpu-[0-9]+-vmss$"], 0: [".*"]}


def test_a_regional_reservation_group_is_consumed_without_a_zone_but_aws_and_gcp_need_one(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, AZURE_SITE, f"{{gpu: {{type: A100-80GB, count: 1}}, min: 0, max: 6, capacity: [{{reservation: {AZURE_CRG}, nodes: 2}}, on-demand]}}")), stack="dev")
    (reserved,) = [r["inputs"] for r in rec.by_type("azure-native:containerservice:AgentPool") if "capacityReservationGroupID" in r["inputs"]]
    assert "availabilityZones" not in reserved  # Azure places a regional group's VMs in the zone it chose
    for site, step in ((AWS_SITE, "{reservation: cr-0123456789abcdef0, nodes: 2}"), (GCP_SITE, "{reservation: h100-block, nodes: 2}")):
        (tmp_path / site[11:14]).mkdir()
        result = run_cli("validate", str(_topology(tmp_path / site[11:14], site, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, capacity: [{step}, on-demand]}}")))
        assert result.code == 2 and ":11: clusters.c.node_pools.gpu.capacity[0].zone: a reservation lives in one zone on " in result.err, result.err


@pytest.mark.parametrize(
    ("seen", "pool_zones", "error", "warning"),
    [
        # what fits: the cluster's subscription and region, the step's zone, the pool's size
        (("sub", "East US", ["1", "2"], [("Standard_NC24ads_A100_v4", 2, ["1"])]), ["1"], None, None),
        (("sub", "eastus", [], [("standard_nc24ads_a100_v4", 4, [])]), [], None, None),
        (("sub", "eastus", ["1"], [("Standard_NC24ads_A100_v4", 1, ["1"])]), ["1"], None, "reserves 1 Standard_NC24ads_A100_v4, fewer than the step's 2"),
        (("other", "eastus", ["1"], [("Standard_NC24ads_A100_v4", 2, ["1"])]), ["1"], "is in subscription other, not the cluster's (sub)", None),
        (("sub", "westus2", ["1"], [("Standard_NC24ads_A100_v4", 2, ["1"])]), ["1"], "is in westus2, not the cluster's region eastus", None),
        (("sub", "eastus", ["1"], [("Standard_NC24ads_A100_v4", 2, ["1"])]), [], "has zones 1: name the step's zone", None),
        (("sub", "eastus", [], [("Standard_NC24ads_A100_v4", 2, [])]), ["1"], "has no zones (name none on the step), not 1", None),
        (("sub", "eastus", ["1", "2"], [("Standard_NC24ads_A100_v4", 2, ["2"])]), ["1"], "holds no Standard_NC24ads_A100_v4 reservation in zone 1", None),
        (("sub", "eastus", ["1"], [("Standard_NC48ads_A100_v4", 2, ["1"])]), ["1"], "holds no Standard_NC24ads_A100_v4 reservation in zone 1", None),
    ],
)
def test_pulumi_up_stops_before_aks_would_run_a_reserved_pool_unreserved(seen: tuple[Any, ...], pool_zones: list[str], error: str | None, warning: str | None) -> None:
    from topoform.providers.azure.cluster import GroupSeen, reservation_group_problems

    pool: Any = {"machine_type": "Standard_NC24ads_A100_v4", "capacity": {"kind": "reservation", "pool": "gpu", "step": 0, "ref": AZURE_CRG, "nodes": 2}}
    if pool_zones:
        pool["zones"] = pool_zones
    got = reservation_group_problems(GroupSeen(*seen), "sub", "eastus", pool)
    assert (got[0] or "").startswith(error or "") and (got[0] is None) == (error is None), got
    assert (got[1] or "").startswith(warning or "") and (got[1] is None) == (warning is None), got


def test_a_gke_pool_takes_a_reservation_or_flex_start(tmp_path: Path) -> None:
    rec = record(str(_topology(tmp_path, GCP_SITE, "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [{reservation: h100-block, zone: us-central1-b, nodes: 4}]}")), stack="dev")
    reserved = _one(rec, "gcp:container/nodePool:NodePool", "s-c-pool-gpu-reserved")
    assert reserved["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "SPECIFIC_RESERVATION", "key": "compute.googleapis.com/reservation-name", "values": ["h100-block"]}
    assert reserved["nodeLocations"] == ["us-central1-b"]
    # a reservation has no machine for a surge node: upgrades replace a node at a time
    assert reserved["upgradeSettings"] == {"maxSurge": 0, "maxUnavailable": 1}
    (tmp_path / "flex").mkdir()
    rec = record(str(_topology(tmp_path / "flex", GCP_SITE, "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [flex-start]}")), stack="dev")
    flex = _one(rec, "gcp:container/nodePool:NodePool", "s-c-pool-gpu-flex")
    # GKE's flex-start recipe: no reservation, not repaired, nodes from any zone, none to start with
    assert flex["nodeConfig"]["flexStart"] is True and flex["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert flex["management"]["autoRepair"] is False and flex["autoscaling"]["locationPolicy"] == "ANY"
    assert flex["upgradeSettings"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert flex["autoscaling"]["totalMinNodeCount"] == 0 and not flex["nodeConfig"].get("spot")


@pytest.mark.parametrize(
    ("site", "pool", "field", "fragment"),
    [
        (GCP_SITE, "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [flex-start, spot]}", "capacity", "gcp sites cannot obtain a pool's capacity in a stated order (a capacity list of two or more steps): GKE's autoscaler picks among node pools itself"),
        (GCP_SITE, "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [{capacity_block: cr-0123456789abcdef0, zone: us-central1-b, nodes: 2}]}", "capacity[0]", "gcp sites cannot use a Capacity Block for ML (capacity_block)"),
        (GCP_SITE, "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [{reservation: 'Bad_Name', zone: us-central1-b, nodes: 2}]}", "capacity[0].reservation", "'Bad_Name' is not a reservation"),
        (GCP_SITE, "{gpu: {type: L4}, min: 0, max: 4, capacity: [{reservation: l4-block, zone: us-central1-f, nodes: 2}]}", "capacity[0].zone", "us-central1-f"),
        (GCP_SITE, "{instance: cpu-4x16, min: 0, max: 4, capacity: [flex-start]}", "capacity[0]", "flex-start obtains GPUs for jobs that wait for them; this is a CPU pool"),
        (GCP_SITE, "{gpu: {type: H100, count: 8}, min: 2, max: 4, capacity: [flex-start]}", "min", "the steps that keep nodes hold 0 of the 2 asked: lower min, or add a step that keeps nodes"),
        (AWS_SITE, "{gpu: {type: H100, count: 8}, nodes: 3, capacity: [{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 2}]}", "nodes", "the steps that keep nodes hold 2 of the 3 asked: lower nodes"),
        (AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 4, capacity: [{reservation: crg, zone: '1', nodes: 2}, on-demand]}", "capacity[0].reservation", "'crg' is not a capacity reservation group's resource ID"),
        # Azure reserves no ND-series nor NCads H100 v5 capacity
        (AZURE_SITE, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, capacity: [{{reservation: {AZURE_CRG}, zone: '1', nodes: 2}}, on-demand]}}", "capacity[0].reservation", "Azure takes no capacity reservation for Standard_ND96isr_H100_v5"),
        (AZURE_SITE, f"{{gpu: {{type: H100, count: 1}}, min: 0, max: 4, capacity: [{{reservation: {AZURE_CRG}, zone: '1', nodes: 2}}, on-demand]}}", "capacity[0].reservation", "Azure takes no capacity reservation for Standard_NC40ads_H100_v5"),
        (AZURE_SITE, f"{{gpu: {{type: A100-80GB, count: 1}}, min: 0, max: 4, capacity: [{{reservation: {AZURE_CRG}, zone: eastus-1, nodes: 2}}, on-demand]}}", "capacity[0].zone", "'eastus-1' is not a zone of eastus (1, 2 or 3"),
        (AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 4, capacity: [spot, on-demand], labels: {a: b}}", "capacity", None),
        # one group holding reservations in two zones serves a step in each (the same zone twice does not)
        (AZURE_SITE, f"{{gpu: {{type: A100-80GB, count: 1}}, min: 0, max: 6, capacity: [{{reservation: {AZURE_CRG}, zone: '1', nodes: 1}}, {{reservation: {AZURE_CRG}, zone: '2', nodes: 1}}, on-demand]}}", "capacity", None),
        (AZURE_SITE, f"{{gpu: {{type: A100-80GB, count: 1}}, min: 0, max: 6, capacity: [{{reservation: {AZURE_CRG}, zone: '1', nodes: 1}}, {{reservation: {AZURE_CRG}, zone: '1', nodes: 1}}, on-demand]}}", "capacity[1]", "the same step as capacity[0]; name each once"),
    ],
)
def test_what_a_cloud_cannot_do_with_capacity_is_refused_naming_the_field(tmp_path: Path, site: str, pool: str, field: str, fragment: str | None) -> None:
    result = run_cli("validate", str(_topology(tmp_path, site, pool)))
    if fragment is None:  # the control: the same cloud takes a list it can build
        assert result.code == 0, result.err
        return
    assert result.code == 2 and "Traceback" not in result.err
    assert f":11: clusters.c.node_pools.gpu.{field}: {fragment}" in result.err, result.err


def test_zones_outside_the_sites_pinned_ones_are_named_where_they_are_written_once(tmp_path: Path) -> None:
    site = AWS_SITE.replace("us-east-1,", "us-east-1, network: {cidr: 10.0.0.0/16, zones: [use1-az1, use1-az2]},")
    steps = "[{reservation: cr-0123456789abcdef0, zone: use1-az4, nodes: 1}, on-demand, spot]"
    result = run_cli("validate", str(_topology(tmp_path, site, f"{{gpu: {{type: H100, count: 8}}, min: 0, max: 4, overrides: {{aws: {{zones: [use1-az6]}}}}, capacity: {steps}}}")))
    assert result.code == 2
    lines = [ln for ln in result.err.splitlines() if "is not one of the site's zones" in ln]
    assert [ln.split(": ")[1] for ln in lines] == ["clusters.c.node_pools.gpu.capacity[0].zone", "clusters.c.node_pools.gpu.overrides.aws.zones[0]"], result.err


def test_aks_runs_one_expander_so_a_list_refuses_another(tmp_path: Path) -> None:
    path = _topology(tmp_path, AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 4, capacity: [on-demand, spot]}", cluster="    autoscaling: {expander: most-pods}\n")
    result = run_cli("validate", str(path))
    assert result.code == 2
    assert ":9: clusters.c.autoscaling.expander: azure runs one expander, and the capacity lists need priority: remove expander" in result.err, result.err


def test_a_standby_cannot_run_on_reserved_capacity_alone(tmp_path: Path) -> None:
    path = _topology(tmp_path, AWS_SITE.replace("us-east-1,", "us-east-1, backup_region: us-west-2,"), "{gpu: {type: H100, count: 8}, min: 0, max: 4, capacity: [{reservation: cr-0123456789abcdef0, zone: use1-az2, nodes: 4}]}", cluster="    standby: true\n")
    result = run_cli("validate", str(path))
    assert result.code == 2
    assert "clusters.c.node_pools.gpu.capacity: the standby cannot use reserved capacity, which is in the primary's region" in result.err, result.err


# --------------------------------------------------------------------------- cost and place


def test_gke_and_aks_spread_a_spot_step_over_a_pool_per_gpu_type(tmp_path: Path) -> None:
    gke = record(str(_topology(tmp_path, GCP_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4, capacity: [{spot: {also: [L4]}}]}")), stack="dev")
    pools = {r["name"]: r["inputs"] for r in gke.by_type("gcp:container/nodePool:NodePool") if "-gpu-" in r["name"]}
    seen = {name: (p["nodeConfig"]["machineType"], p["nodeConfig"]["guestAccelerators"][0]["type"], p["nodeConfig"]["spot"], p["autoscaling"]["locationPolicy"]) for name, p in pools.items()}
    assert seen == {"s-c-pool-gpu-spot": ("n1-standard-8", "nvidia-tesla-t4", True, "ANY"), "s-c-pool-gpu-spot-l4": ("g2-standard-4", "nvidia-l4", True, "ANY")}
    # each in the zones that offer its own GPU (T4 is also in us-central1-f, L4 is not)
    assert "us-central1-f" in pools["s-c-pool-gpu-spot"]["nodeLocations"] and "us-central1-f" not in pools["s-c-pool-gpu-spot-l4"]["nodeLocations"]
    assert pools["s-c-pool-gpu-spot-l4"]["nodeConfig"]["labels"]["topoform.io/accelerator"] == "L4"
    # GKE orders no node pools: it picks among the types itself, with nothing to rank them
    assert "priorities" not in load_plan(str(_topology(tmp_path, GCP_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4, capacity: [{spot: {also: [L4]}}]}")))[1].clusters["c"].spec["autoscaler"]

    # AKS learns of a failed spot allocation only after 15 minutes: a spread step comes last there
    refused = run_cli("validate", str(_topology(tmp_path, AZURE_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4, capacity: [{spot: {also: [A10]}}, on-demand]}")))
    assert refused.code == 2 and "clusters.c.node_pools.gpu.capacity[0]: azure's autoscaler sees a failed spot allocation only after its node provision time" in refused.err
    aks = record(str(_topology(tmp_path, AZURE_SITE, "{gpu: {type: T4, count: 1}, min: 0, max: 4, capacity: [on-demand, {spot: {also: [A10]}}]}")), stack="dev")
    agents = {r["inputs"]["agentPoolName"]: r["inputs"] for r in aks.by_type("azure-native:containerservice:AgentPool")}
    spot = {a["vmSize"]: name for name, a in agents.items() if a["scaleSetPriority"] == "Spot"}
    assert set(spot) == {"Standard_NC4as_T4_v3", "Standard_NV36ads_A10_v5"}
    assert agents[spot["Standard_NV36ads_A10_v5"]]["nodeLabels"]["topoform.io/accelerator"] == "A10"
    levels = _priorities(_one(aks, "kubernetes:core/v1:ConfigMap", "s-c-autoscaler-priorities"))
    t4, a10 = (f"^aks-{spot[size]}-[0-9]+-vmss$" for size in ("Standard_NC4as_T4_v3", "Standard_NV36ads_A10_v5"))
    assert "^aks-gpu-[0-9]+-vmss$" in levels[3] and levels[2] == [t4] and levels[1] == [a10]


def test_cost_counts_later_steps_as_alternatives_for_the_same_nodes(tmp_path: Path) -> None:
    from topoform.cost import estimate

    path = _topology(tmp_path, AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 8, capacity: [on-demand, spot]}")
    items = {line.path: line for line in estimate(load_plan(str(path))[1]).lines}
    on, spot = items["clusters.c.node_pools.gpu.capacity.0"], items["clusters.c.node_pools.gpu.capacity.1"]
    assert on.unit_usd > spot.unit_usd > 0 and (on.quantity_max, spot.quantity_max) == (8, 0)  # the dearer counts
    assert "its maximum counted at step 1" in spot.note
    # the other way round the dearer is still the one counted
    reordered = estimate(load_plan(str(_topology(tmp_path, AZURE_SITE, "{gpu: {type: A100-80GB, count: 1}, min: 0, max: 8, capacity: [spot, on-demand]}")))[1]).lines
    assert {line.path: line.quantity_max for line in reordered if ".capacity." in line.path} == {"clusters.c.node_pools.gpu.capacity.0": 0, "clusters.c.node_pools.gpu.capacity.1": 8}


def test_cost_and_place_price_each_gpu_type_of_a_spread_spot_step(cli: Any) -> None:
    items = {i["path"]: i for i in json.loads(cli("cost", "prod", "--json").out)["items"]}
    base = "clusters.train.node_pools.eval.capacity"
    own, a10g, on_demand = items[f"{base}.0"], items[f"{base}.0.spot.also.0"], items[f"{base}.1"]
    assert (own["description"].split(",")[0], a10g["description"].split(",")[0]) == ("g6.xlarge (1x L4)", "g5.xlarge (1x A10G)")
    assert a10g["unit_usd"] != own["unit_usd"] and a10g["source"]
    # alternatives for the same nodes: the dearest (on demand) counts at the maximum
    assert (own["quantity_max"], a10g["quantity_max"], on_demand["quantity_max"]) == (0, 0, 8)
    assert "its maximum counted at step 2" in a10g["note"]
    pools = {p["path"]: p for p in json.loads(cli("place", "prod", "--json").out)["pools"]}
    steps = pools["clusters.train.node_pools.eval"]["steps"]
    assert [(s["kind"], s["instead"], s["hourly_usd"]) for s in steps] == [("spot", "", own["unit_usd"]), ("spot", "g5.xlarge (1x A10G)", a10g["unit_usd"]), ("on-demand", "", on_demand["unit_usd"])]
    text = cli("place", "prod").out
    assert "  step 1 spot: up to 8" in text and "    or g5.xlarge (1x A10G): up to 8" in text and "  step 2 on-demand" in text


def test_cost_bills_reserved_nodes_whether_they_run_or_not(cli: Any) -> None:
    result = cli("cost", "prod", "--json")
    assert result.code == 0, result.err
    items = {i["path"]: i for i in json.loads(result.out)["items"]}
    reserved, on_demand = items["clusters.train.node_pools.h100.capacity.0"], items["clusters.train.node_pools.h100.capacity.1"]
    assert (reserved["quantity_min"], reserved["quantity_max"], reserved["pricing"]) == (4, 4, "reservation")
    assert reserved["monthly_usd"]["min"] == reserved["monthly_usd"]["max"] == round(reserved["unit_usd"] * 4 * 730, 2) > 0
    assert reserved["source"] and "billed whether its nodes run or not" in reserved["note"]
    assert (on_demand["quantity_min"], on_demand["quantity_max"]) == (0, 12)
    assert "clusters.train.node_pools.h100" not in items


def test_place_weighs_the_steps_and_compares_only_the_nodes_beyond_the_reservation(cli: Any) -> None:
    result = cli("place", "prod", "--json")
    assert result.code == 0, result.err
    pools = {p["path"]: p for p in json.loads(result.out)["pools"]}
    h100 = pools["clusters.train.node_pools.h100"]
    assert h100["held"] == 4 and h100["max_nodes"] == 16
    assert [(s["kind"], s["ref"], s["nodes"]) for s in h100["steps"]] == [("reservation", RESERVATION, 4), ("on-demand", "", 12)]
    assert h100["current"]["monthly_max_usd"] == round(h100["current"]["hourly_usd"] * 12 * 730, 2)
    text = cli("place", "prod").out
    assert all(s["source"].startswith("https://") and "read 20" in s["source"] for s in h100["steps"])  # the price's source, dated
    assert f"step 1 reservation {RESERVATION}: 4 held" in text and "the comparison below is for the other 12" in text
    assert f"  priced from {h100['steps'][0]['source']}" in text


def test_a_reserved_pool_aks_made_without_its_group_stops_the_run() -> None:
    from topoform.providers.azure.cluster import _associated

    pool: Any = {"machine_type": "Standard_NC24ads_A100_v4", "capacity": {"kind": "reservation", "pool": "gpu", "step": 0, "ref": AZURE_CRG, "nodes": 2}}
    _associated("c", "gpu-reserved", pool, AZURE_CRG.lower())  # Azure may answer in its own letter case
    _associated("c", "gpu-reserved", pool, None)  # not known during a preview
    for got in ("", AZURE_CRG.replace("a100", "other")):
        with pytest.raises(pulumi.RunError, match="AKS made the pool without capacity reservation group"):
            _associated("c", "gpu-reserved", pool, got)

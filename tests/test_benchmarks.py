"""The benchmark generator makes valid topologies of the sizes it claims (its timings are
reported by `python -m benchmarks`, never asserted here)."""

from __future__ import annotations

from benchmarks.generate import pools_topology, topology
from topoform.model import Topology
from topoform.planner import plan


def test_cells_are_valid_and_grow_linearly() -> None:
    one, three = plan(Topology.model_validate(topology(1))), plan(Topology.model_validate(topology(3)))
    assert {s.provider for s in one.sites.values()} == {"aws", "gcp", "azure", "onprem"}
    for attr in ("sites", "clusters", "stores", "identities", "teams", "endpoints"):
        assert len(getattr(three, attr)) == 3 * len(getattr(one, attr)) > 0, attr
    # cells are independent: the first cell plans the same inside a bigger topology
    assert three.clusters["k-aws-0"].spec == one.clusters["k-aws-0"].spec


def test_the_pools_stress_topology_has_exactly_that_many_pools() -> None:
    planned = plan(Topology.model_validate(pools_topology(250, per_cluster=100)))
    assert sum(len(c.spec["node_pools"]) for c in planned.clusters.values()) == 250

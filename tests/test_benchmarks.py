"""The benchmark generator makes valid topologies of the sizes it claims, and the side-by-side
runner's pure parts and floor script do what they say (timings are reported by `python -m
benchmarks`, never asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import pools_topology, topology
from topoform.model import Topology
from topoform.planner import plan

ROOT = Path(__file__).resolve().parent.parent


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


# --------------------------------------------------------------------------- benchmarks.peers: the pure parts


def test_paired_ratios_are_taken_pair_by_pair_and_summarised() -> None:
    from benchmarks.peers import Run, combine, paired_ratio, spread, summarize

    assert spread([3.0, 1.0, 2.0]) == spread([1.0, 2.0, 3.0])
    s = spread([3.0, 1.0, 2.0])
    assert (s.median, s.lo, s.hi, s.n) == (2.0, 1.0, 3.0, 3)
    assert s.fmt() == "2.00 (1.00–3.00)" and spread([1.5]).fmt() == "1.50"
    # pair by pair, not a ratio of medians: the medians' ratio here would be 10/5 = 2
    r = paired_ratio([10.0, 20.0, 4.0], [5.0, 5.0, 4.0])
    assert (r.median, r.lo, r.hi) == (2.0, 1.0, 4.0)
    with pytest.raises(ValueError):
        paired_ratio([1.0, 2.0], [1.0])
    # Checkov is two processes: CPU and wall add up, the peak is the larger one's
    both = combine([Run(cpu=1.0, wall=2.0, rss_kib=100, rcs=(0,)), Run(cpu=0.5, wall=1.0, rss_kib=300, rcs=(1,))])
    assert both == Run(cpu=1.5, wall=3.0, rss_kib=300, rcs=(0, 1))
    a = [Run(cpu=4.0, wall=8.0, rss_kib=2048, rcs=(0,)), Run(cpu=6.0, wall=6.0, rss_kib=1024, rcs=(0,))]
    b = [Run(cpu=2.0, wall=4.0, rss_kib=1024, rcs=(0,)), Run(cpu=2.0, wall=3.0, rss_kib=1024, rcs=(0,))]
    summary = summarize(a, b)
    assert summary["pairs"] == 2 and summary["a_peak_mib"] == 2.0 and summary["b_peak_mib"] == 1.0
    assert (summary["ratio_cpu"].lo, summary["ratio_cpu"].hi) == (2.0, 3.0)
    assert summary["ratio_wall"].median == 2.0


def test_alternate_runs_the_sides_in_turn_and_drops_the_warm_up() -> None:
    from benchmarks.peers import Run, alternate

    order: list[str] = []

    def side(name: str) -> Any:
        def go() -> Run:
            order.append(name)
            return Run(cpu=float(len(order)), wall=0.0, rss_kib=0)

        return go

    runs = alternate([("a", side("a")), ("b", side("b"))], pairs=2, warmup=1)
    assert order == ["a", "b"] * 3
    assert [r.cpu for r in runs["a"]] == [3.0, 5.0] and [r.cpu for r in runs["b"]] == [4.0, 6.0]


def test_a_finished_process_is_measured_from_outside(tmp_path: Path) -> None:
    from benchmarks.peers import run

    out = tmp_path / "out"
    r = run([sys.executable, "-c", "print('hi'); raise SystemExit(1)"], cwd=tmp_path, stdout=out, ok=(0, 1))
    assert r.rcs == (1,) and out.read_text().strip() == "hi"
    assert r.cpu > 0 and r.wall > 0 and r.rss_kib > 0
    with pytest.raises(RuntimeError, match="exited 1"):
        run([sys.executable, "-c", "raise SystemExit(1)"], cwd=tmp_path)


def test_what_check_and_checkov_say_they_did_is_read() -> None:
    from benchmarks.peers import check_counts, checkov_counts

    said = "topoform check: stack bench: 5,348 resources, 40 policies, 0 mandatory and 2 advisory findings\nno mandatory violations\n"
    assert check_counts(said) == {"resources": 5348, "policies": 40, "mandatory": 0, "advisory": 2}
    assert check_counts("nothing") is None

    def report(passed: list[str], failed: list[str], resources: int) -> dict[str, Any]:
        return {
            "results": {"passed_checks": [{"check_id": c} for c in passed], "failed_checks": [{"check_id": c} for c in failed]},
            "summary": {"passed": len(passed), "failed": len(failed), "resource_count": resources, "parsing_errors": 0},
        }

    plan = json.dumps(report(["CKV_AWS_1", "CKV_AWS_2"], ["CKV_AWS_2"], 3))
    k8s = json.dumps([report(["CKV_K8S_1"], ["CKV_K8S_8", "CKV_K8S_8"], 4)])
    assert checkov_counts([plan, k8s]) == {"checks": 4, "failing_checks": 2, "resources": 7, "passed": 3, "failed": 3, "parsing_errors": 0}


@pytest.mark.parametrize("kind", ["typed", "bare"])
def test_the_floor_registers_exactly_n_resources(kind: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.floor", "5", "--kind", kind], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    said = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (said["kind"], said["n"], said["registered"]) == (kind, 5, 5)


def test_the_floor_collects_as_the_preview_does() -> None:
    """Both sides of preview / floor run with the same collector thresholds, so the ratio is
    topoform's own work, not a collector setting one side has."""
    from benchmarks import floor
    from topoform.preview import GC_THRESHOLDS

    assert floor.GC_THRESHOLDS == GC_THRESHOLDS


def test_the_verdicts_name_every_target() -> None:
    from benchmarks.peers import spread, verdicts

    one = spread([1.0])
    summary = {"ratio_cpu": spread([0.9, 1.2]), "pairs": 2}
    result = {
        "check_vs_checkov": [{"cells": 1, "resources": 236, "summary": summary}],
        "preview_vs_floor": [{"cells": 1, "resources": 236, "typed": {"ratio_cpu": spread([2.0])}}, {"cells": 4, "resources": 944, "typed": {"ratio_cpu": one}}],
        "growth": [{"from": 236, "to": 944, **{name: {"ratio_cpu": spread([1.5]), "pairs": 1} for name in ("validate", "preview", "check")}}],
        "validate_cold": [{"resources": 236, "cpu": spread([0.4]), "wall": spread([1.2]), "imports": []}],
    }
    lines = verdicts(result)
    assert lines[0].startswith("MISSED: check / Checkov CPU 1.05") and "236 resources (target <= 1.0)" in lines[0]
    assert lines[1].startswith("met: preview / typed floor CPU 2.00") and "(target <= 3.0)" in lines[1]
    assert not any("944 resources (target" in line for line in lines if "preview / typed" in line)  # no target at 4 cells
    assert sum(line.startswith("met: growth") for line in lines) == 3
    assert lines[-1].startswith("met: cold validate 0.40 s CPU (1.20 s wall)")


@pytest.mark.skipif(not os.access("/usr/bin/time", os.X_OK), reason="GNU time is not installed")
def test_a_childs_peak_memory_is_its_own_not_the_benchmarks() -> None:
    """Linux carries a parent's high-water RSS into an exec'd child: a 50 MiB child of a
    process holding 300 MiB must still be reported at about 50 MiB."""
    from benchmarks.peers import run

    held = bytearray(300 * 1024 * 1024)
    measured = run([sys.executable, "-c", "x = bytearray(50 * 1024 * 1024)"], cwd=Path.cwd())
    assert 50 <= measured.rss_mib < 200, measured
    del held

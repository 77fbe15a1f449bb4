"""Measure topoform at several sizes: ``python -m benchmarks`` from the repository root.

For each size (a number of cells, see :mod:`benchmarks.generate`) it reports: `topoform
validate` cold start (a new process, as CI runs it) and whether any Pulumi SDK was imported;
loading and planning; the offline preview (the program under the mocks) and resources per
second; the policy check; the share of the check's time spent in topoform's own code (a
profile: time in functions defined under ``components/`` and ``policies/``); and the growth
ratio t(4N)/t(N) between sizes four times apart. A separate run plans 10 000 node pools.

Times are this process's CPU seconds (every thread's, so the mocks' executor counts; other
load on a shared machine does not), the median of ``--repeat`` runs for the fast steps. Preview
and check run in this process after a warm-up, so the provider SDKs' one-off import cost
(reported on its own, wall-clock) does not distort growth.

Then, unless ``--no-peers``, the side-by-side section (:mod:`benchmarks.peers`): whole-process
CPU, wall and peak memory, paired, of ``topoform check`` against Checkov and of ``topoform
preview --json`` against the Pulumi SDK's floor (:mod:`benchmarks.floor`), growth of
``validate``, ``preview`` and ``check``, and cold ``validate``, with a markdown table and verdicts.
``--peers-only`` skips the in-process section.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from . import peers
from .generate import pools_topology, topology

ROOT = Path(__file__).resolve().parent.parent
OWN = (str(ROOT / "components" / "topoform"), str(ROOT / "policies" / "topoform_policies"))
TARGETS = {"own_share_max": 0.10, "growth_max": 4.4, "validate_cold_max_s": 1.0, "plan_10k_pools_max_s": 1.0}


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def _write(directory: Path, doc: dict[str, Any], name: str) -> Path:
    path = directory / f"{name}.topology.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def validate_cold(path: Path, repeat: int) -> tuple[float, list[str]]:
    """`topoform validate` in a new interpreter: wall time, and the Pulumi modules it imported."""
    code = (
        "import sys, io, contextlib\n"
        "from topoform.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): rc = main(['validate', {str(path)!r}])\n"
        "print(rc, sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0].startswith('pulumi')}))\n"
    )
    times, imported = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        rc, mods = proc.stdout.strip().split(" ", 1)
        assert rc == "0", proc.stderr
        imported = json.loads(mods.replace("'", '"'))
    return statistics.median(times), imported


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def own_share(profile: cProfile.Profile) -> float:
    """The share of profiled time spent in functions defined in topoform's own files."""
    stats = pstats.Stats(profile)
    total = own = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        if filename.startswith(OWN):
            own += tottime
    return own / total if total else 0.0


def measure(cells: int, directory: Path, repeat: int) -> dict[str, Any]:
    from topoform.check import check
    from topoform.cost import estimate
    from topoform.loader import load, load_plan
    from topoform.planner import plan
    from topoform.preview import record

    path = _write(directory, topology(cells), f"c{cells}")
    row: dict[str, Any] = {"cells": cells}
    row["validate_cold_s"], row["validate_imports"] = validate_cold(path, repeat)
    row["load_s"], loaded = _timed(lambda: load(str(path)), repeat)
    row["plan_s"], planned = _timed(lambda: plan(loaded.topology), repeat)
    row["node_pools"] = sum(len(c.spec["node_pools"]) for c in planned.clusters.values())
    row["cost_s"], _ = _timed(lambda: estimate(load_plan(str(path))[1]), repeat)

    start = time.process_time()
    rec = record(str(path), stack="bench")
    row["preview_s"] = time.process_time() - start
    row["resources"] = len(rec.resources)
    row["resources_per_s"] = row["resources"] / row["preview_s"]
    start = time.process_time()
    result = check(rec)
    row["analyze_s"] = time.process_time() - start
    row["check_s"] = row["preview_s"] + row["analyze_s"]
    row["mandatory"] = len(result.mandatory)

    profile = cProfile.Profile()
    profile.enable()
    check(record(str(path), stack="bench"))
    profile.disable()
    row["own_share"] = own_share(profile)
    return row


def plan_pools(pools: int, repeat: int) -> dict[str, Any]:
    from topoform.model import Topology
    from topoform.planner import plan

    doc = pools_topology(pools)
    validate_s, topo = _timed(lambda: Topology.model_validate(doc), repeat)
    plan_s, planned = _timed(lambda: plan(topo), repeat)
    count = sum(len(c.spec["node_pools"]) for c in planned.clusters.values())
    return {"pools": count, "model_s": validate_s, "plan_s": plan_s}


def sdk_import_s() -> float:
    """The one-off cost of importing what the example prod program needs, in a new process."""
    code = "import time; t = time.perf_counter()\nfrom topoform.preview import record\nrecord('stacks/prod.topology.yaml', stack='prod', program='stacks/__main__.py')\nprint(time.perf_counter() - t)"
    first = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip())
    return first


def table(rows: list[dict[str, Any]], pools: dict[str, Any], info: dict[str, Any], growth: list[dict[str, Any]], cold: float) -> str:
    out = [
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']} ({info['system']}).",
        "",
        "| cells | resources | node pools | validate (cold, wall s) | SDKs imported | load (CPU s) | plan (CPU s) | cost (CPU s) | preview (CPU s) | resources per CPU s | analyze (CPU s) | check (CPU s) | own code |",
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        out.append(
            f"| {r['cells']} | {r['resources']:,} | {r['node_pools']:,} | {r['validate_cold_s']:.2f} | {', '.join(r['validate_imports']) or 'none'} | "
            f"{r['load_s']:.3f} | {r['plan_s']:.3f} | {r['cost_s']:.3f} | {r['preview_s']:.1f} | {r['resources_per_s']:.0f} | {r['analyze_s']:.1f} | {r['check_s']:.1f} | {r['own_share']:.0%} |"
        )
    out.append("")
    for g in growth:
        out.append(f"Growth {g['from']} -> {g['to']} resources ({g['to'] / g['from']:.2f}x): check {g['check']:.2f}, preview {g['preview']:.2f}, plan {g['plan']:.2f}.")
    out.append(f"Planning {pools['pools']:,} node pools: model {pools['model_s']:.2f} s, plan {pools['plan_s']:.2f} s.")
    out.append(f"One-off: a new process importing the SDKs and previewing the example prod takes {cold:.1f} s.")
    return "\n".join(out) + "\n"


def verdicts(rows: list[dict[str, Any]], pools: dict[str, Any], growth: list[dict[str, Any]]) -> list[str]:
    largest = max(rows, key=lambda r: r["resources"])
    checks = [
        (f"own code {largest['own_share']:.0%} of check at {largest['resources']:,} resources (target <= {TARGETS['own_share_max']:.0%})", largest["own_share"] <= TARGETS["own_share_max"]),
        *((f"growth {g['check']:.2f} for {g['to'] / g['from']:.2f}x resources (target <= {TARGETS['growth_max']})", g["check"] <= TARGETS["growth_max"]) for g in growth),
        (
            f"validate cold start {max(r['validate_cold_s'] for r in rows):.2f} s, SDKs imported: {sorted({m for r in rows for m in r['validate_imports']}) or 'none'} (target < 1 s, none)",
            max(r["validate_cold_s"] for r in rows) < TARGETS["validate_cold_max_s"] and not any(r["validate_imports"] for r in rows),
        ),
        (f"planning {pools['pools']:,} pools {pools['plan_s']:.2f} s (target < 1 s)", pools["plan_s"] < TARGETS["plan_10k_pools_max_s"]),
    ]
    return [f"{'met' if ok else 'MISSED'}: {text}" for text, ok in checks]


def _cells(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="1,4,7,28", help="sizes, in cells (a cell is one site of each kind, see benchmarks/generate.py); default 1,4,7,28. Growth is measured between sizes N and 4N both listed")
    parser.add_argument("--pools", type=int, default=10_000, help="node pools for the planning run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each fast step (the median is reported)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw numbers as JSON")
    side = parser.add_argument_group("side by side with the peers (whole processes, paired)")
    side.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True, help="run the side-by-side section (default: yes)")
    side.add_argument("--peers-only", action="store_true", help="run only the side-by-side section")
    side.add_argument("--peer-cells", metavar="CELLS", help="sizes for check vs Checkov and preview vs floor (default: --cells)")
    side.add_argument("--pairs", type=int, default=3, help="measured pairs of each comparison (default 3)")
    side.add_argument("--warmup", type=int, default=None, help="warm-up pairs, not counted (default: 1 below 10 cells, 0 above)")
    side.add_argument("--checkov", type=Path, default=None, help="the Checkov to run (default: .judge-venv's, made from tests/judge/requirements.txt if missing)")
    args = parser.parse_args(argv)
    sizes = _cells(args.cells)
    run_peers = args.peers or args.peers_only
    json_path = Path(args.json).resolve() if args.json else None
    checkov = args.checkov.resolve() if args.checkov else None

    os.chdir(ROOT)
    info = machine()
    raw: dict[str, Any] = {"machine": info}
    if not args.peers_only:
        cold = sdk_import_s()
        with tempfile.TemporaryDirectory() as tmp:
            measure(1, Path(tmp), 1)  # warm-up: imports, caches
            rows = [measure(cells, Path(tmp), args.repeat) for cells in sizes]
        pools = plan_pools(args.pools, args.repeat)
        by_cells = {r["cells"]: r for r in rows}
        growth = [
            {
                "from": by_cells[c]["resources"],
                "to": by_cells[4 * c]["resources"],
                "check": by_cells[4 * c]["check_s"] / by_cells[c]["check_s"],
                "preview": by_cells[4 * c]["preview_s"] / by_cells[c]["preview_s"],
                "plan": by_cells[4 * c]["plan_s"] / by_cells[c]["plan_s"],
            }
            for c in sizes
            if 4 * c in by_cells
        ]
        sys.stdout.write(table(rows, pools, info, growth, cold))
        for line in verdicts(rows, pools, growth):
            print(line)
        sys.stdout.flush()
        raw.update({"rows": rows, "pools": pools, "growth": growth, "cold_prod_preview_s": cold})
    if run_peers:
        peer_cells = _cells(args.peer_cells) if args.peer_cells else sizes
        growth_cells = [(c, 4 * c) for c in sorted(set(sizes)) if 4 * c in sizes]
        result = peers.measure(peer_cells, growth_cells, args.pairs, args.warmup, checkov, log=lambda text: print(f"[peers] {text}", file=sys.stderr, flush=True))
        if not args.peers_only:
            print()
        print(f"Side by side with the peers (whole processes, paired; this section took {result['seconds']:.0f} s):")
        print()
        sys.stdout.write(peers.table(result))
        print()
        for line in peers.verdicts(result):
            print(line)
        raw["peers"] = peers.jsonable(result)
    if json_path:
        json_path.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

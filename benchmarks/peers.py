"""topoform side by side with its peers, whole process: ``python -m benchmarks --peers-only``.

Every figure is a *whole-process figure*: the command is started as a new process and measured
from outside once it has finished (user+sys CPU of the process and the children it waited for,
wall clock, peak RSS of its largest process, from ``os.wait4``). Side-by-side ratios are
*paired*: A and B alternate (A B A B ...) in one loop and A/B is taken pair by pair, so a drift
of the machine's speed hits both sides; each cell gives the median and the min-max.

- **check vs Checkov**: A = ``topoform check FILE`` (the whole command: it builds the preview
  under mocks, then runs the pack); B = Checkov 3.3.30 (pinned in ``tests/judge/requirements.txt``,
  in ``.judge-venv``), offline, two processes summed: ``checkov -f plan.json --framework
  terraform_plan`` and ``checkov -d k8s/ --framework kubernetes`` over the same topology's
  ``topoform render --terraform-plan/--kubernetes`` output, rendered beforehand (not timed).
- **preview vs the Pulumi SDK floor**: A = ``topoform preview FILE --json``; B = ``python -m
  benchmarks.floor N`` (N ``pulumi_aws.s3.Bucket`` under ``set_mocks``, the *typed* floor) and
  C = the same with N ``pulumi.CustomResource`` (the *bare* floor), N = the preview's resources.
- **growth** t(4N)/t(N), CPU, for ``validate``, ``preview --json`` and ``check``: the larger and
  the smaller size alternate.
- **cold validate**: ``topoform validate FILE`` as a new process, and the modules it imports.

CPU ratios are the headline; wall ratios are given beside them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from .generate import topology

ROOT = Path(__file__).resolve().parent.parent
# The judge's environment, as tests/test_judge.py's `checkov` fixture makes it.
JUDGE_VENV = ROOT / ".judge-venv"
JUDGE_REQUIREMENTS = ROOT / "tests" / "judge" / "requirements.txt"
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
CHECKOV_FLAGS = ["--skip-download", "--quiet", "--compact", "-o", "json"]

TARGETS: dict[str, Any] = {
    "check_vs_checkov_cpu_max": 1.0,
    # preview / typed floor, CPU, by cells (1, 7, 28 cells = 191, 1,337, 5,348 resources when set)
    "preview_vs_floor_cpu_max": {1: 3.0, 7: 1.5, 28: 1.5},
    "growth_max": 4.4,
    "validate_cold_cpu_max_s": 1.0,
}
# Top-level modules `validate` must not import: the Pulumi SDKs (pulumi, pulumi_*) and what they pull.
SDK_PREFIXES = ("pulumi", "google", "grpc")
PACKAGES = ("topoform", "pulumi", "pulumi-aws", "pulumi-gcp", "pulumi-azure-native", "pulumi-kubernetes", "pulumi-policy")


# --------------------------------------------------------------------------- measuring one process


@dataclass(frozen=True)
class Run:
    """One finished command (or several, see :func:`combine`)."""

    cpu: float  # user+sys seconds of the process and the children it waited for
    wall: float  # seconds
    rss_kib: int  # peak RSS of its largest process (ru_maxrss: KiB on Linux)
    rcs: tuple[int, ...] = ()  # exit codes

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024


GNU_TIME = "/usr/bin/time"
"""Where available, the peak RSS comes from GNU time wrapped around the command: Linux carries a
parent's high-water RSS into a child across exec, so a child of this (SDK-laden) process would
report at least this process's peak through ``ru_maxrss``; a child of the small ``time`` does not."""


def run(cmd: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, stdout: Path | None = None, ok: Collection[int] = (0,)) -> Run:
    """Start ``cmd`` as a new process and measure it once it has finished: CPU (user+sys, the
    process and what it waited for) and wall from ``os.wait4``, the peak RSS from GNU time."""
    wrapped = os.access(GNU_TIME, os.X_OK)
    with open(stdout if stdout is not None else os.devnull, "wb") as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        full = [GNU_TIME, "-f", "%M", "-o", peak.name, *cmd] if wrapped else list(cmd)
        proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        if rc not in ok:
            err.seek(0)
            tail = err.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{' '.join(cmd)} exited {rc} (expected {sorted(ok)}):\n{tail}")
        reported = peak.read().strip().splitlines() if wrapped else []
    rss = int(reported[-1]) if reported and reported[-1].isdigit() else usage.ru_maxrss
    return Run(cpu=usage.ru_utime + usage.ru_stime, wall=wall, rss_kib=rss, rcs=(rc,))


def combine(runs: Iterable[Run]) -> Run:
    """Processes run one after the other as one side: CPU and wall add up, the peak is the largest."""
    runs = list(runs)
    return Run(cpu=sum(r.cpu for r in runs), wall=sum(r.wall for r in runs), rss_kib=max(r.rss_kib for r in runs), rcs=tuple(c for r in runs for c in r.rcs))


def alternate(sides: Sequence[tuple[str, Callable[[], Run]]], pairs: int, warmup: int = 0, log: Callable[[str], None] | None = None) -> dict[str, list[Run]]:
    """Run the sides in turn (A B A B ...), ``warmup`` rounds first (dropped), then ``pairs`` rounds."""
    runs: dict[str, list[Run]] = {name: [] for name, _ in sides}
    for i in range(warmup + pairs):
        label = "warm-up" if i < warmup else f"pair {i - warmup + 1}/{pairs}"
        for name, fn in sides:
            if log:
                log(f"{name} ({label})")
            result = fn()
            if i >= warmup:
                runs[name].append(result)
    return runs


# --------------------------------------------------------------------------- summaries (pure)


@dataclass(frozen=True)
class Spread:
    """The median of some values, with their min and max."""

    median: float
    lo: float
    hi: float
    n: int

    def fmt(self, digits: int = 2) -> str:
        if self.n == 1:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} ({self.lo:.{digits}f}–{self.hi:.{digits}f})"


def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError("no values")
    return Spread(median=statistics.median(values), lo=min(values), hi=max(values), n=len(values))


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> Spread:
    """A/B taken pair by pair (a[i] / b[i]), summarised."""
    if len(a) != len(b):
        raise ValueError(f"unpaired: {len(a)} A runs, {len(b)} B runs")
    if any(y <= 0 for y in b):
        raise ValueError("B took no time")
    return spread([x / y for x, y in zip(a, b, strict=True)])


def summarize(a: Sequence[Run], b: Sequence[Run]) -> dict[str, Any]:
    """Both sides' medians and spreads, peaks, and the paired A/B ratios (CPU and wall)."""
    return {
        "pairs": len(a),
        "a_cpu": spread([r.cpu for r in a]),
        "b_cpu": spread([r.cpu for r in b]),
        "a_wall": spread([r.wall for r in a]),
        "b_wall": spread([r.wall for r in b]),
        "ratio_cpu": paired_ratio([r.cpu for r in a], [r.cpu for r in b]),
        "ratio_wall": paired_ratio([r.wall for r in a], [r.wall for r in b]),
        "a_peak_mib": max(r.rss_mib for r in a),
        "b_peak_mib": max(r.rss_mib for r in b),
    }


_CHECK_LINE = re.compile(r"(\d[\d,]*) resources?, (\d[\d,]*) polic(?:y|ies), (\d[\d,]*) mandatory and (\d[\d,]*) advisory")


def check_counts(text: str) -> dict[str, int] | None:
    """What `topoform check` says it looked at: resources, policies, mandatory and advisory findings."""
    found = _CHECK_LINE.search(text)
    if not found:
        return None
    resources, policies, mandatory, advisory = (int(g.replace(",", "")) for g in found.groups())
    return {"resources": resources, "policies": policies, "mandatory": mandatory, "advisory": advisory}


def checkov_counts(outputs: Iterable[str]) -> dict[str, int]:
    """Checkov's JSON reports (one per framework) summed: distinct checks that ran (all of them only
    without ``--quiet``, which leaves the passed ones out), resources, results."""
    reports: list[dict[str, Any]] = []
    for text in outputs:
        data = json.loads(text)
        reports += data if isinstance(data, list) else [data]
    ran: set[str] = set()
    failing: set[str] = set()
    for report in reports:
        results = report.get("results", {})
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            ran |= {c["check_id"] for c in results.get(key, [])}
        failing |= {c["check_id"] for c in results.get("failed_checks", [])}
    summary = [r.get("summary", {}) for r in reports]
    return {
        "checks": len(ran),
        "failing_checks": len(failing),
        "resources": sum(s.get("resource_count", 0) for s in summary),
        "passed": sum(s.get("passed", 0) for s in summary),
        "failed": sum(s.get("failed", 0) for s in summary),
        "parsing_errors": sum(s.get("parsing_errors", 0) for s in summary),
    }


# --------------------------------------------------------------------------- the commands


def checkov_binary() -> Path:
    """Checkov in its own environment, made from the pinned requirements on first use (as the judge's tests do)."""
    checkov = JUDGE_VENV / "bin" / "checkov"
    if not checkov.exists():
        subprocess.run([sys.executable, "-m", "venv", str(JUDGE_VENV)], check=True)
        subprocess.run([str(JUDGE_VENV / "bin" / "pip"), "install", "-q", "-r", str(JUDGE_REQUIREMENTS)], check=True)
    return checkov


def topoform_binary() -> str:
    beside = Path(sys.executable).with_name("topoform")
    if beside.exists():
        return str(beside)
    found = shutil.which("topoform")
    if not found:
        raise RuntimeError("no `topoform` command beside this Python or on PATH (pip install -e .)")
    return found


@dataclass
class Size:
    """One generated topology in a work directory of its own, rendered for Checkov."""

    cells: int
    work: Path
    topology: Path
    resources: int | None = None  # topoform's count, from its first preview or check
    previewed: bool = False  # the preview's count was read (and compared with the check's)
    notes: list[str] = field(default_factory=list)


class Peers:
    def __init__(self, work: Path, pairs: int, warmup: int | None = None, checkov: Path | None = None, log: Callable[[str], None] | None = None) -> None:
        self.work = work
        self.pairs = pairs
        self.warmup = warmup
        self.topoform = topoform_binary()
        self.checkov = checkov
        self.sizes: dict[int, Size] = {}
        self._log = log

    def log(self, text: str) -> None:
        if self._log:
            self._log(text)

    def warmups(self, cells: int) -> int:
        """Warm-up rounds: as asked, else one below 10 cells and none above (time)."""
        if self.warmup is not None:
            return self.warmup
        return 1 if cells < 10 else 0

    def size(self, cells: int) -> Size:
        if cells not in self.sizes:
            work = self.work / f"c{cells}"
            work.mkdir(parents=True, exist_ok=True)
            path = work / f"c{cells}.topology.yaml"
            path.write_text(yaml.safe_dump(topology(cells), sort_keys=False))
            self.sizes[cells] = Size(cells=cells, work=work, topology=path)
        return self.sizes[cells]

    # the commands, one process each (each returns a function that runs it once)

    def validate(self, s: Size) -> Callable[[], Run]:
        return lambda: run([self.topoform, "validate", str(s.topology)], cwd=s.work)

    def check(self, s: Size) -> Callable[[], Run]:
        # exit 1 (a mandatory finding) is a finished check too
        return lambda: run([self.topoform, "check", str(s.topology)], cwd=s.work, stdout=s.work / "check.out", ok=(0, 1))

    def preview(self, s: Size) -> Callable[[], Run]:
        def go() -> Run:
            out = s.work / "preview.json"
            result = run([self.topoform, "preview", str(s.topology), "--json"], cwd=s.work, stdout=out)
            if not s.previewed:
                count = len(json.loads(out.read_text())["resources"])
                if s.resources is not None and count != s.resources:
                    s.notes.append(f"preview --json lists {count} resources, check counted {s.resources}")
                s.resources = count
                s.previewed = True
            return result

        return go

    def floor(self, s: Size, kind: str) -> Callable[[], Run]:
        def go() -> Run:
            if s.resources is None:  # N is topoform's count: take it from a preview (not timed)
                self.preview(s)()
            assert s.resources is not None
            out = s.work / f"floor-{kind}.out"
            result = run([sys.executable, "-m", "benchmarks.floor", str(s.resources), "--kind", kind], cwd=ROOT, stdout=out)
            said = json.loads(out.read_text())
            if said["registered"] != s.resources:
                raise RuntimeError(f"the {kind} floor registered {said['registered']} resources, not {s.resources}")
            return result

        return go

    def checkov_run(self, s: Size, quiet: bool = True) -> Callable[[], Run]:
        """Checkov over the plan, then over the Kubernetes objects. ``quiet=False`` (untimed, once):
        its JSON then also lists the passed checks, so the checks that ran can be counted."""
        assert self.checkov is not None
        checkov, env = str(self.checkov), {**os.environ, **CHECKOV_ENV}
        flags = CHECKOV_FLAGS if quiet else [f for f in CHECKOV_FLAGS if f != "--quiet"]
        suffix = "" if quiet else "-full"

        def go() -> Run:
            # exit 1: some checks failed, a finished scan
            plan = run([checkov, "-f", "plan.json", "--framework", "terraform_plan", *flags], cwd=s.work, env=env, stdout=s.work / f"checkov-plan{suffix}.json", ok=(0, 1))
            k8s = run([checkov, "-d", "k8s", "--framework", "kubernetes", *flags], cwd=s.work, env=env, stdout=s.work / f"checkov-k8s{suffix}.json", ok=(0, 1))
            return combine([plan, k8s])

        return go

    def render(self, s: Size) -> float:
        """What Checkov reads, written beforehand (not timed in the comparison): returns its wall seconds."""
        if (s.work / "plan.json").exists():
            return 0.0
        self.log(f"{s.cells} cells: render --terraform-plan --kubernetes (not timed)")
        r = run([self.topoform, "render", str(s.topology), "--terraform-plan", "plan.json", "--kubernetes", "k8s"], cwd=s.work)
        return r.wall

    # the sections

    def check_vs_checkov(self, cells: int) -> dict[str, Any]:
        s = self.size(cells)
        if self.checkov is None:
            self.checkov = checkov_binary()
        render_s = self.render(s)
        runs = alternate([("check", self.check(s)), ("checkov", self.checkov_run(s))], self.pairs, self.warmups(cells), self._prefixed(f"{cells} cells: check vs Checkov: "))
        counts = check_counts((s.work / "check.out").read_text())
        if counts and s.resources is None:
            s.resources = counts["resources"]
        elif counts and counts["resources"] != s.resources:
            s.notes.append(f"check counted {counts['resources']} resources, preview --json lists {s.resources}")
        checkov: dict[str, int] = {}
        try:
            checkov = checkov_counts([(s.work / "checkov-plan.json").read_text(), (s.work / "checkov-k8s.json").read_text()])
            # --quiet leaves the passed checks out of the JSON: count the checks that ran from one more, untimed, run without it
            self.log(f"{cells} cells: Checkov without --quiet, to count the checks that ran (not timed)")
            self.checkov_run(s, quiet=False)()
            full = checkov_counts([(s.work / "checkov-plan-full.json").read_text(), (s.work / "checkov-k8s-full.json").read_text()])
            checkov["checks"] = full["checks"]
        except (ValueError, KeyError, TypeError) as exc:
            s.notes.append(f"could not read Checkov's JSON: {exc}")
        return {
            "cells": cells,
            "resources": s.resources,
            "render_s": render_s,
            "check": counts,
            "checkov": checkov,
            "check_rcs": sorted({c for r in runs["check"] for c in r.rcs}),
            "checkov_rcs": sorted({c for r in runs["checkov"] for c in r.rcs}),
            "summary": summarize(runs["check"], runs["checkov"]),
            "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
        }

    def preview_vs_floor(self, cells: int) -> dict[str, Any]:
        s = self.size(cells)
        runs = alternate(
            [("preview", self.preview(s)), ("typed floor", self.floor(s, "typed")), ("bare floor", self.floor(s, "bare"))],
            self.pairs,
            self.warmups(cells),
            self._prefixed(f"{cells} cells: preview vs floor: "),
        )
        return {
            "cells": cells,
            "resources": s.resources,
            "typed": summarize(runs["preview"], runs["typed floor"]),
            "bare": summarize(runs["preview"], runs["bare floor"]),
            "runs": {k: [asdict(r) for r in v] for k, v in runs.items()},
        }

    def growth(self, small: int, large: int) -> dict[str, Any]:
        lo, hi = self.size(small), self.size(large)
        out: dict[str, Any] = {"from_cells": small, "to_cells": large}
        for name, make in (("validate", self.validate), ("preview", self.preview), ("check", self.check)):
            runs = alternate([("large", make(hi)), ("small", make(lo))], self.pairs, self.warmups(large), self._prefixed(f"growth {small} -> {large} cells, {name}: "))
            out[name] = summarize(runs["large"], runs["small"])
            out[name]["runs"] = {k: [asdict(r) for r in v] for k, v in runs.items()}
        out["from"], out["to"] = lo.resources, hi.resources
        return out

    def validate_cold(self, cells: int) -> dict[str, Any]:
        s = self.size(cells)
        runs = [self.validate(s)() for _ in range(max(self.pairs, 3))]
        return {
            "cells": cells,
            "resources": s.resources,
            "cpu": spread([r.cpu for r in runs]),
            "wall": spread([r.wall for r in runs]),
            "peak_mib": max(r.rss_mib for r in runs),
            "imports": validate_imports(s),
        }

    def _prefixed(self, prefix: str) -> Callable[[str], None]:
        return lambda text: self.log(prefix + text)


def validate_imports(s: Size) -> list[str]:
    """The SDK-ish top-level modules a `topoform validate` process has imported once it is done."""
    code = (
        "import sys, io, json, contextlib\n"
        "from topoform.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): rc = main(['validate', {str(s.topology)!r}])\n"
        f"print(json.dumps([rc, sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0].startswith({SDK_PREFIXES!r})}})]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=s.work)
    rc, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    if rc != 0:
        raise RuntimeError(f"topoform validate {s.topology} exited {rc}: {proc.stderr[-2000:]}")
    return list(modules)


# --------------------------------------------------------------------------- the machine


def machine(checkov: Path | None) -> dict[str, Any]:
    info: dict[str, Any] = {"cpu": platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
        info["memory_gib"] = round(kib / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    versions: dict[str, str] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    if checkov is not None and checkov.exists():
        proc = subprocess.run([str(checkov), "--version"], capture_output=True, text=True, env={**os.environ, **CHECKOV_ENV})
        versions["checkov"] = proc.stdout.strip() or "unknown"
    info["versions"] = versions
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


# --------------------------------------------------------------------------- a whole run, its table and verdicts


def measure(peer_cells: Sequence[int], growth_cells: Sequence[tuple[int, int]], pairs: int, warmup: int | None = None, checkov: Path | None = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Everything, in one run: check vs Checkov and preview vs floor at each of ``peer_cells``,
    growth for each (small, large) of ``growth_cells``, cold validate at every size met."""
    started, load = time.perf_counter(), round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="topoform-peers-") as tmp:
        peers = Peers(Path(tmp), pairs=pairs, warmup=warmup, checkov=checkov, log=log)
        result: dict[str, Any] = {"pairs": pairs, "warmup": warmup}
        result["check_vs_checkov"] = [peers.check_vs_checkov(c) for c in peer_cells]
        result["preview_vs_floor"] = [peers.preview_vs_floor(c) for c in peer_cells]
        result["growth"] = [peers.growth(a, b) for a, b in growth_cells]
        result["validate_cold"] = [peers.validate_cold(c) for c in sorted(peers.sizes)]
        result["resources"] = {c: s.resources for c, s in sorted(peers.sizes.items())}
        result["notes"] = [f"{c} cells: {n}" for c, s in sorted(peers.sizes.items()) for n in s.notes]
        result["machine"] = machine(peers.checkov)
        result["machine"]["load_average_at_start"] = load
    result["seconds"] = time.perf_counter() - started
    return result


def _n(value: int | None) -> str:
    return f"{value:,}" if value is not None else "?"


def _mib(value: float) -> str:
    return f"{value:,.0f}"


def table(result: dict[str, Any]) -> str:
    """The results as markdown, ready for the README."""
    info = result["machine"]
    v = info["versions"]
    sdk = ", ".join(f"{p} {v[p]}" for p in PACKAGES[1:])
    out = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info.get('memory_gib', '?')} GiB, Python {info['python']}, topoform {v['topoform']} ({sdk}), "
        f"Checkov {v.get('checkov', '?')}. Load average {info.get('load_average_at_start', '?')} at the start, {info['load_average'][0]} at the end. Whole-process figures: median (min–max); "
        "ratios are paired (A and B alternate, A/B pair by pair); CPU = user+sys of the finished process(es).",
        "",
    ]
    if result["check_vs_checkov"]:
        out += [
            "| resources | pairs | topoform `check` CPU s | Checkov CPU s | **ratio topoform/Checkov, CPU** | ratio, wall | peak MiB topoform / Checkov | policies / Checkov checks that ran | resources seen topoform / Checkov | findings topoform / Checkov failed |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in result["check_vs_checkov"]:
            s, c, k = row["summary"], row["check"] or {}, row["checkov"] or {}
            findings = f"{c['mandatory'] + c['advisory']:,}" if c else "?"
            out.append(
                f"| {_n(row['resources'])} | {s['pairs']} | {s['a_cpu'].fmt()} | {s['b_cpu'].fmt()} | **{s['ratio_cpu'].fmt()}** | {s['ratio_wall'].fmt()} | "
                f"{_mib(s['a_peak_mib'])} / {_mib(s['b_peak_mib'])} | {c.get('policies', '?')} / {k.get('checks', '?')} | "
                f"{_n(c.get('resources'))} / {_n(k.get('resources'))} | {findings} (exit {', '.join(map(str, row['check_rcs']))}) / {_n(k.get('failed'))} |"
            )
        out.append("")
    if result["preview_vs_floor"]:
        out += [
            "| resources | pairs | `preview --json` CPU s | typed floor (N s3.Bucket) CPU s | **ratio preview / typed floor, CPU** | ratio, wall | bare floor (N CustomResource) CPU s | preview / bare floor, CPU | peak MiB preview / typed / bare |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in result["preview_vs_floor"]:
            t, b = row["typed"], row["bare"]
            out.append(
                f"| {_n(row['resources'])} | {t['pairs']} | {t['a_cpu'].fmt()} | {t['b_cpu'].fmt()} | **{t['ratio_cpu'].fmt()}** | {t['ratio_wall'].fmt()} | "
                f"{b['b_cpu'].fmt()} | {b['ratio_cpu'].fmt(1)} | {_mib(t['a_peak_mib'])} / {_mib(t['b_peak_mib'])} / {_mib(b['b_peak_mib'])} |"
            )
        out.append("")
    if result["growth"]:
        heads = [f"{_n(g['from'])} → {_n(g['to'])}" for g in result["growth"]]
        out += ["| t(4N)/t(N), CPU, paired | " + " | ".join(heads) + " |", "| --- |" + " ---: |" * len(heads)]
        for name, label in (("validate", "`validate`"), ("preview", "`preview --json`"), ("check", "`check`")):
            out.append(f"| {label} | " + " | ".join(f"{g[name]['ratio_cpu'].fmt()}{'' if g[name]['pairs'] == result['pairs'] else ', n=' + str(g[name]['pairs'])}" for g in result["growth"]) + " |")
        by_cells = {row["cells"]: row["summary"]["b_cpu"].median for row in result["check_vs_checkov"]}
        cross = [f"{by_cells[g['to_cells']] / by_cells[g['from_cells']]:.2f}" if g["from_cells"] in by_cells and g["to_cells"] in by_cells else "–" for g in result["growth"]]
        if any(x != "–" for x in cross):
            out.append("| Checkov (cross-call: ratio of medians) | " + " | ".join(cross) + " |")
        out.append("")
    if result["validate_cold"]:
        out += ["| resources | cold `validate` CPU s | wall s | peak MiB | SDKs imported |", "| ---: | ---: | ---: | ---: | --- |"]
        for row in result["validate_cold"]:
            out.append(f"| {_n(row['resources'])} | {row['cpu'].fmt()} | {row['wall'].fmt()} | {row['peak_mib']:.1f} | {', '.join(row['imports']) or 'none'} |")
        out.append("")
    out += [f"Note: {n}" for n in result["notes"]]
    return "\n".join(out).rstrip("\n") + "\n"


def verdicts(result: dict[str, Any]) -> list[str]:
    checks: list[tuple[str, bool]] = []
    for row in result["check_vs_checkov"]:
        r = row["summary"]["ratio_cpu"]
        checks.append((f"check / Checkov CPU {r.fmt()} at {_n(row['resources'])} resources (target <= {TARGETS['check_vs_checkov_cpu_max']})", r.median <= TARGETS["check_vs_checkov_cpu_max"]))
    for row in result["preview_vs_floor"]:
        target = TARGETS["preview_vs_floor_cpu_max"].get(row["cells"])
        if target is not None:
            r = row["typed"]["ratio_cpu"]
            checks.append((f"preview / typed floor CPU {r.fmt()} at {_n(row['resources'])} resources (target <= {target})", r.median <= target))
    for g in result["growth"]:
        for name in ("validate", "preview", "check"):
            r = g[name]["ratio_cpu"]
            checks.append((f"growth of {name} {r.fmt()} for {_n(g['from'])} -> {_n(g['to'])} resources (target <= {TARGETS['growth_max']})", r.median <= TARGETS["growth_max"]))
    for row in result["validate_cold"]:
        cpu, wall = row["cpu"], row["wall"]
        checks.append(
            (
                f"cold validate {cpu.fmt()} s CPU ({wall.fmt()} s wall) at {_n(row['resources'])} resources, SDKs imported: {', '.join(row['imports']) or 'none'} (target < {TARGETS['validate_cold_cpu_max_s']} s, none)",
                cpu.median < TARGETS["validate_cold_cpu_max_s"] and not row["imports"],
            )
        )
    return [f"{'met' if ok else 'MISSED'}: {text}" for text, ok in checks]


def jsonable(value: Any) -> Any:
    """The raw numbers, for ``--json``."""
    if isinstance(value, Spread):
        return asdict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value

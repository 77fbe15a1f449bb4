"""The Pulumi SDK's floor: register N resources under mocks and nothing else.

``python -m benchmarks.floor N [--kind typed|bare]`` from the repository root. *typed*
registers N ``pulumi_aws.s3.Bucket`` (a generated provider type, as topoform's resources are);
*bare* registers N ``pulumi.CustomResource``. It runs the body the way topoform's offline
preview does (``run_pulumi_func`` under ``set_mocks``), waits for every registration, checks
that the mocks saw exactly N resources and prints one JSON line: kind, n, registered and the
in-process seconds. :mod:`benchmarks.peers` times this whole process beside ``topoform
preview --json`` for the same N.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import threading
import time
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

KINDS = ("typed", "bare")
GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's thresholds topoform's preview runs a program with (``topoform.preview.GC_THRESHOLDS``,
not imported: the floor loads nothing of topoform), so both sides collect alike."""


class CountingMocks(pulumi.runtime.Mocks):
    """Trivial mocks: every resource gets an id and its inputs back as outputs."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        with self._lock:
            self.count += 1
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def register(n: int, kind: str = "typed") -> int:
    """Register ``n`` resources of ``kind`` under fresh mocks; returns how many the mocks saw."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    gc.set_threshold(*GC_THRESHOLDS)
    mocks = CountingMocks()
    pulumi.runtime.settings.reset_options(project="floor", stack="floor", preview=True)
    pulumi.runtime.set_mocks(mocks, project="floor", stack="floor", preview=True)

    def body() -> None:
        if kind == "typed":
            from pulumi_aws import s3

            for i in range(n):
                s3.Bucket(f"bucket-{i}")
        else:
            for i in range(n):
                pulumi.CustomResource("floor:index:Thing", f"thing-{i}", {"index": i})

    _sync_await(run_pulumi_func(body))
    return mocks.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="how many resources to register")
    parser.add_argument("--kind", choices=KINDS, default="typed", help="typed: pulumi_aws.s3.Bucket (default); bare: pulumi.CustomResource")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    registered = register(args.n, args.kind)
    seconds = time.perf_counter() - start
    print(json.dumps({"kind": args.kind, "n": args.n, "registered": registered, "seconds": round(seconds, 4)}))
    if registered != args.n:
        print(f"floor: registered {registered} resources, expected {args.n}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

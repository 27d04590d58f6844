"""Scaling of the Ray driver, queue and store: problems/s with 1, 2, 4 and 8 simulated GPU workers.

The simulated load is kept below what 2 CPU cores can grade, so what is measured is the harness's
own ceiling (driver, queue, store), not the machine's.

Each worker holds the scripted engine with a simulated GPU latency: a request of n samples takes
`seconds_per_token` x (longest sample's tokens), whatever else is in flight — a GPU decodes a batch
in parallel, so per-request latency does not grow with concurrency until it saturates. Every worker
keeps the same number of problems in flight, so with no central bottleneck throughput grows
linearly: efficiency(W) = (problems/s with W workers) / (W x problems/s with 1 worker).
Also prints the driver's own CPU time per problem (dispatch, grading hand-off, DuckDB commits).

    .venv/bin/python bench/scaling.py [--problems-per-worker 48] [--seconds-per-token 0.01]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a one-machine cluster on loopback


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--problems-per-worker", type=int, default=32)
    ap.add_argument("--inflight-per-worker", type=int, default=4)
    ap.add_argument("--seconds-per-token", type=float, default=0.1)
    args = ap.parse_args()

    import ray

    from harness.config import load_config
    from harness.runner import run
    from harness.store import Store

    ray.init(num_cpus=max(2, os.cpu_count() or 2), include_dashboard=False, logging_level="ERROR",
             _node_ip_address="127.0.0.1")
    rows = []
    tmp = Path(tempfile.mkdtemp())
    # The first run pays one-off start-up (Ray worker processes, grader pools): warm up, then measure.
    for w in [0] + [int(x) for x in args.workers.split(",")]:
        warmup = w == 0
        w = w or 1
        n = args.problems_per_worker * w
        cfg = load_config(None, {
            "suite": f"arith:digits=1-2,n={n},seed={w + 100 * warmup}", "engine.kind": "scripted",
            "engine.seconds_per_token": args.seconds_per_token, "strategy.name": "self_consistency",
            "strategy.params.n": 8, "workers": w, "max_inflight": args.inflight_per_worker * w,
            "commit_every": 32, "db": str(tmp / f"w{w}{'-warmup' if warmup else ''}.duckdb"),
        })
        run(cfg, out=io.StringIO())
        manifest = Store(cfg.db, read_only=True).run_record(
            Store(cfg.db, read_only=True).runs()[0].run_id)["manifest"]
        session = manifest["last_session"]
        if warmup:
            continue
        rows.append((w, n, session["seconds"], n / session["seconds"], session["driver_cpu_ms_per_problem"]))
    base = rows[0][3]
    print(f"machine: {platform.node()} {os.cpu_count()} cores; date {date.today()}; ray {ray.__version__}")
    print(f"simulated GPU: {args.seconds_per_token * 1000:.0f} ms per decode step, self_consistency n=8, "
          f"{args.inflight_per_worker} problems in flight per worker, {args.problems_per_worker} problems per worker")
    print(f"{'workers':>8}{'problems':>10}{'seconds':>10}{'problems/s':>12}{'efficiency':>12}{'driver ms/problem':>19}")
    for w, n, sec, pps, drv in rows:
        print(f"{w:>8}{n:>10}{sec:>10.2f}{pps:>12.2f}{pps / (w * base):>12.2f}{drv:>19.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()

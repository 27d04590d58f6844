"""How fast the leaderboard analysis is: curves, ranking, the leaderboard query and the app's first render.

Builds two synthetic stores (leaderboard.synthetic) under out/bench/ (kept between runs; --fresh rebuilds):
  A: 500 problems x 256 samples x 20 configurations (2.56 M samples)
  B: 20 configurations x 200 problems x 256 samples (about a million samples)
and prints: time to read the pools, to compute every curve (majority@k, best-of-k, pass@k for all k),
to rank with the paired bootstrap, the whole leaderboard query (read + curves + rank) on B, and the
app's first render on B in a fresh process (Streamlit's AppTest, imports included).
Targets (from the issue): all curves < 1 s on A, with intervals on every point; leaderboard query < 1 s on B;
first render < 3 s on B.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from leaderboard import analysis, curves, ranking, snapshot, synthetic  # noqa: E402 - needs the sys.path entry above


def make(path: Path, configs: int, problems: int, n: int, fresh: bool) -> None:
    if path.exists() and not fresh:
        return
    path.unlink(missing_ok=True)
    t = time.perf_counter()
    cfgs = [synthetic.SynthConfig(model=f"model-{i % 5}", skill=-1 + 0.15 * i, n=n, temperature=0.6 + 0.05 * (i % 4),
                                  scores=i % 2 == 0, tokens=200 + 40 * (i % 7), seed=i) for i in range(configs)]
    synthetic.write(path, "bench:synthetic", cfgs, problems)
    print(f"  wrote {path} ({configs} x {problems} x {n}) in {time.perf_counter() - t:.1f} s")


def timed(label: str, fn: Callable[[], Any], repeat: int = 3) -> Any:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:<58}{best:8.3f} s")
    return out


APP_RENDER = """
import sys, time
t = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
assert not at.exception, at.exception
assert at.dataframe, "no leaderboard table rendered"
print(f"{time.perf_counter() - t:.3f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fresh", action="store_true", help="rebuild the synthetic stores")
    ap.add_argument("--dir", default=str(REPO / "out" / "bench"))
    a = ap.parse_args()
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    big, million = d / "analysis_500x256x20.duckdb", d / "analysis_1M.duckdb"
    print("building stores (first time only)...")
    make(big, 20, 500, 256, a.fresh)
    make(million, 20, 200, 256, a.fresh)
    curves.build(snapshot.load(million, run_ids=None))  # compile/load the numba kernels once

    print("\nStore A: 500 problems x 256 samples x 20 configurations")
    snap = timed("read pools (read-only, one connection)", lambda: snapshot.load(big))
    print(f"  {snap.pools.n_samples:,} samples")
    configs = timed("all curves (majority@k, best-of-k, pass@k; every k)", lambda: curves.build(snap))
    everywhere = [c for c in configs if not c.oracle]
    timed("all curves + 95% intervals on every point (200 resamples)",
          lambda: [analysis.points(c, None, "generated") for c in curves.build(snap)])
    print(f"  ({len(everywhere)} ranked configurations)")
    axis = "generated"
    problems = ranking.common_problems([c for c in configs if not c.oracle])
    budget = ranking.default_budget(configs, axis, problems)
    table = timed("ranking at the default budget (2000 paired resamples)",
                  lambda: ranking.rank(configs, budget, axis, problems=problems))
    timed("Pareto frontier + log-compute AUC", lambda: (ranking.frontier(configs, axis, problems),
                                                       ranking.summary(configs, axis, problems)))
    print(f"  {len(configs)} curves; leader {table.label[0]} acc {table.accuracy[0]:.3f}; "
          f"{int((table['rank'] == 1).sum())} configuration(s) share rank 1")

    print("\nStore B: about a million samples")

    def query() -> tuple[snapshot.Snapshot, Any]:
        s = snapshot.load(million)
        cs = curves.build(s)
        p = ranking.common_problems([c for c in cs if not c.oracle])
        return s, ranking.rank(cs, ranking.default_budget(cs, axis, p), axis, problems=p)

    s, _ = timed("leaderboard query (read + all curves + ranking)", query)
    print(f"  {s.pools.n_samples:,} samples; store held open {s.read_seconds:.3f} s")
    env = {**os.environ, "THINKBENCH_DB": str(million)}
    render = subprocess.run([sys.executable, "-c", APP_RENDER, str(REPO / "leaderboard" / "app.py")],
                            capture_output=True, text=True, env=env, cwd=REPO)
    if render.returncode:
        print(render.stderr[-2000:])
        raise SystemExit("app render failed")
    seconds = float(render.stdout.split()[-1])
    print(f"{'app first render, fresh process (AppTest, imports included)':<58}{seconds:8.3f} s")


if __name__ == "__main__":
    main()

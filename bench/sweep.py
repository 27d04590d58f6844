"""A sweep against the same configurations run one by one: wall time, and identical stored results.

Six configurations on the embedded SmolLM2-135M-Instruct (vLLM CPU): self-consistency and best-of-N at several N
and temperatures, two of them greedy. `thinkbench sweep` starts one engine and drives every (configuration,
problem) through one queue; the separate runs start an engine each. Prints both wall times and their ratio
(target <= 0.5), and checks that each configuration got the same run id both ways and that the greedy ones
stored identical rows.

    .venv/bin/python bench/sweep.py [--problems 16] [--max-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
THINKBENCH = str(Path(sys.executable).parent / "thinkbench")

CONFIGS = [
    {"strategy.name": "self_consistency", "strategy.params.n": 4, "strategy.params.temperature": 0.7},
    {"strategy.name": "self_consistency", "strategy.params.n": 8, "strategy.params.temperature": 0.7},
    {"strategy.name": "self_consistency", "strategy.params.n": 4, "strategy.params.temperature": 0.0},
    {"strategy.name": "best_of_n", "strategy.params.n": 4, "strategy.params.temperature": 0.7},
    {"strategy.name": "best_of_n", "strategy.params.n": 8, "strategy.params.temperature": 1.0},
    {"strategy.name": "best_of_n", "strategy.params.n": 4, "strategy.params.temperature": 0.0},
]


def _rows(db: Path, rid: str) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [con.execute("SELECT problem_id, final_text, final_answer, correct, generated_tokens FROM attempts "
                            "WHERE run_id = ? ORDER BY problem_id", [rid]).fetchall(),
                con.execute("SELECT problem_id, sample_idx, text, correct FROM samples WHERE run_id = ? "
                            "ORDER BY problem_id, sample_idx", [rid]).fetchall()]
    finally:
        con.close()


def _run_ids(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM runs").fetchall()}
    finally:
        con.close()


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=48)
    args = ap.parse_args()
    from harness.config import config_from

    base = {"suite": f"arith:digits=1-2,ops=1,operators=+,n={args.problems},seed=5", "model": "embedded",
            "engine": {"kind": "vllm", "max_model_len": 1024}, "strategy": {"params": {"max_tokens": args.max_tokens}}}
    work = Path(tempfile.mkdtemp(prefix="tb-sweep-"))
    (work / "grid.yaml").write_text(yaml.safe_dump({**base, "configs": CONFIGS}))
    sweep_db, alone_db = work / "sweep.duckdb", work / "alone.duckdb"
    print(f"sweep of {len(CONFIGS)} configurations, {args.problems} problems each ...", flush=True)
    sweep_s = _timed([THINKBENCH, "sweep", "grid.yaml", "--db", str(sweep_db)], work)
    separate_s = 0.0
    for i, setting in enumerate(CONFIGS):
        cfg = config_from(base, setting).model_dump(mode="json", exclude_none=True)
        (work / f"c{i}.yaml").write_text(yaml.safe_dump(cfg))
        print(f"separate run {i + 1}/{len(CONFIGS)} ...", flush=True)
        separate_s += _timed([THINKBENCH, "run", "--config", f"c{i}.yaml", "--db", str(alone_db)], work)
    ids = _run_ids(sweep_db)
    assert ids == _run_ids(alone_db), "a sweep stores each configuration under the run id of its separate run"
    greedy = [config_from(base, s) for s in CONFIGS if s["strategy.params.temperature"] == 0.0]
    from harness.runner import plan_run
    from harness.store import Store

    store = Store(str(sweep_db), read_only=True)
    same = [_rows(sweep_db, plan_run(c, store).run_id) == _rows(alone_db, plan_run(c, store).run_id) for c in greedy]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} | date: {date.today()}")
    print(f"{len(CONFIGS)} configurations x {args.problems} problems (max_tokens {args.max_tokens}), embedded model, "
          "vLLM CPU")
    print(f"  one sweep:       {sweep_s:8.1f} s")
    print(f"  separate runs:   {separate_s:8.1f} s")
    print(f"  ratio sweep / separate: {sweep_s / separate_s:.2f} (target <= 0.5)")
    print(f"  run ids equal: {len(ids)}/{len(CONFIGS)}; greedy configurations with identical stored rows: "
          f"{sum(same)}/{len(same)}")


if __name__ == "__main__":
    main()

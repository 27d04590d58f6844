"""Grade the 164 canonical HumanEval solutions through the full sandbox, cold, and print throughput.

Cold: a fresh sandbox (zygote start-up included in the total). Prints programs/s and per-program
latency p50/p99 as the grader sees it, plus the isolation layers in force, and for comparison the
two baselines named in the issue measured on this machine: a bare fork-and-pipe per program and a
fresh `python -I` per program (neither isolates anything).

    .venv/bin/python bench/sandbox_throughput.py [--data-dir DIR] [--workers N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.code import CodeItem, Sandbox
from evaluators.code.check import to_grade

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _loadavg() -> str:
    """1, 5 and 15 minute load averages (runnable tasks; compare with cpus): throughput taken on a
    busy machine is not comparable with a quiet one."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def bench_sandbox(items: list[CodeItem], workers: int) -> dict[str, Any]:
    sandbox = Sandbox()  # a private one: cold start is part of the measurement
    latencies: list[float] = []
    t0 = time.perf_counter()

    retried: list[int] = []

    def one(item: CodeItem) -> bool:
        s = time.perf_counter()
        outcome = sandbox.run(item.job())
        latencies.append(time.perf_counter() - s)
        if outcome.attempts > 1:
            retried.append(outcome.attempts - 1)
        return to_grade(outcome).correct

    with ThreadPoolExecutor(workers) as pool:
        ok = list(pool.map(one, items))
    total = time.perf_counter() - t0
    layers = sandbox.layers
    sandbox.close()
    return {"n": len(items), "passed": sum(ok), "seconds": total, "per_s": len(items) / total,
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * _pct(latencies, 0.99),
            "layers": ",".join(layers), "retried": len(retried)}


def bench_fork_pipe(n: int) -> float:
    """Baseline: fork, run a trivial program in the child, send 'ok' back through a pipe."""
    t0 = time.perf_counter()
    for _ in range(n):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            exec("def f(x):\n    return x * x\nassert f(3) == 9", {})
            os.write(w, b"ok")
            os._exit(0)
        os.close(w)
        os.read(r, 2)
        os.close(r)
        os.waitpid(pid, 0)
    return n / (time.perf_counter() - t0)


def bench_fresh_python(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([sys.executable, "-I", "-c", "def f(x):\n    return x * x\nassert f(3) == 9"], check=True)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("THINKBENCH_DATA_DIR") or str(DEFAULT_DATA))
    ap.add_argument("--workers", type=int, default=4 * (os.cpu_count() or 1))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rows = [json.loads(line) for line in (Path(args.data_dir) / "humaneval" / "HumanEval.jsonl").open()]
    items = [CodeItem(r["prompt"] + "\n" + r["canonical_solution"], r["entry_point"], test=r["test"],
                      context=r["prompt"]) for r in rows]
    print(f"cpus={os.cpu_count()} workers={args.workers} programs={len(items)} load average={_loadavg()}")
    for i in range(args.rounds):
        r = bench_sandbox(items, args.workers)
        print(f"sandbox round {i + 1}: {r['per_s']:.1f} programs/s  "
              f"p50={r['p50_ms']:.1f} ms  p99={r['p99_ms']:.1f} ms  "
              f"passed={r['passed']}/{r['n']}  load retries={r['retried']}  total={r['seconds']:.2f}s "
              "(cold, zygote start included)")
    print(f"layers: {r['layers']}")
    print(f"load average after: {_loadavg()}")
    print(f"baseline bare fork-and-pipe: {bench_fork_pipe(300):.0f}/s;  "
          f"fresh python -I: {bench_fresh_python(40):.0f}/s")


if __name__ == "__main__":
    main()

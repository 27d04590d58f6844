"""Latency fit and the cost of recording calls, on the embedded SmolLM2-135M-Instruct (vLLM CPU, float32, eager).

(a) Fit: calls made through the harness's strategy layer (`solve`, which records one CallRecord per engine call)
    on the in-process vLLM engine, at a fixed concurrency, with token limits drawn from 8..128. Least squares
    call seconds = a + b x generated tokens; its decode speed 1/b against vLLM's own per-request decode throughput
    for the same calls (its request metrics: tokens after the first over first-to-last-token time), target within
    15%; a against the measured first-token times.
(b) Overhead, two parts:
    - vLLM's stats (which the engine turns on for per-request metrics, with a silent logger): engine tokens/s with
      `request_metrics` on against off, same requests (target: costs < 3%).
    - The harness's call records: `thinkbench run` generated tokens/s over the generation phase with call records
      against the same run with the recording made a no-op (a `sitecustomize` shim, loaded by the driver and every
      Ray worker, that stubs `StrategyContext._record_call` and `grading.call_rows`), alternating runs, medians
      (target: ratio >= 0.97).

    .venv/bin/python bench/cost_latency.py [--calls 48] [--concurrency 4] [--problems 16] [--reps 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

NO_CALLS_SHIM = '''
import os
if os.environ.get("THINKBENCH_BENCH_NO_CALLS") == "1":
    from harness import grading
    from harness.strategies import base
    base.StrategyContext._record_call = lambda self, *args, **kwargs: None
    grading.call_rows = lambda *args, **kwargs: []
'''


class Capture:
    """Wraps an engine and keeps what it reported of each call (vLLM's request metrics are in `meta`)."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.name = engine, engine.name
        self.metas: list[dict[str, Any]] = []

    async def generate(self, prompt: Any, params: Any) -> Any:
        result = await self.engine.generate(prompt, params)
        self.metas.append(result.meta)
        return result

    def info(self) -> dict[str, Any]:
        return self.engine.info()

    async def close(self) -> None:
        await self.engine.close()


async def fit_workload(engine: Any, calls: int, concurrency: int) -> tuple[list[Any], list[dict[str, Any]]]:
    from harness.solve import SuiteView, solve
    from suites import load_suite

    suite = load_suite(f"arith:digits=1-2,operators=+,n={calls},seed=7")
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    rng = random.Random(0)
    limits = [rng.randint(8, 128) for _ in suite.problems]
    sem = asyncio.Semaphore(concurrency)
    cap = Capture(engine)

    async def one(problem: Any, limit: int) -> Any:
        async with sem:
            params = {"n": 1, "temperature": 1.0, "max_tokens": limit}
            return await solve(cap, view, problem.question(), "self_consistency", params, 0, model="embedded")

    attempts = await asyncio.gather(*(one(p, k) for p, k in zip(suite.problems, limits)))
    records = sorted((c for a in attempts for c in a.calls), key=lambda c: c.started)
    return records, cap.metas


def fit(records: list[Any], metas: list[dict[str, Any]]) -> dict[str, float]:
    import numpy as np

    x = np.array([c.generated_tokens for c in records], dtype=float)
    y = np.array([c.seconds for c in records])
    b, a = np.polyfit(x, y, 1)
    r2 = 1 - float(np.sum((y - (a + b * x)) ** 2) / np.sum((y - y.mean()) ** 2))
    decode_tokens = sum(m["engine_generated_tokens"] - 1 for m in metas)
    decode_s = sum(m["engine_decode_seconds"] for m in metas)
    firsts = [c.first_token - c.started for c in records if c.first_token is not None]
    return {"a": float(a), "b": float(b), "r2": r2, "calls": len(records), "tokens": float(x.sum()),
            "vllm_tps": decode_tokens / decode_s, "first_token_p50": statistics.median(firsts)}


async def engine_throughput(engine: Any, prompts: list[Any], n: int, max_tokens: int) -> float:
    from harness.engines.base import SamplingParams

    start = time.perf_counter()
    results = await asyncio.gather(*(engine.generate(p, SamplingParams(n=n, temperature=0.7, max_tokens=max_tokens,
                                                                       seed=i)) for i, p in enumerate(prompts)))
    return sum(r.generated_tokens for r in results) / (time.perf_counter() - start)


def in_process(args: argparse.Namespace) -> dict[str, Any]:
    from harness.engines.base import Prompt
    from harness.engines.vllm_engine import VLLMEngine, VLLMSettings
    from harness.models import resolve_model
    from suites import load_suite

    model = resolve_model("embedded")
    suite = load_suite(f"arith:digits=1-2,operators=+,n={args.problems},seed=1")
    prompts = [Prompt.chat(suite.template.render(p.question())) for p in suite.problems]
    out: dict[str, Any] = {"tps": {}}
    for metrics in (True, False):
        engine = VLLMEngine(VLLMSettings(model_path=model.path, max_model_len=1024, request_metrics=metrics))

        async def work(engine: Any = engine, metrics: bool = metrics) -> None:
            await engine_throughput(engine, prompts, 8, 48)  # warm up: the first full batch runs slower
            out["tps"][metrics] = [await engine_throughput(engine, prompts, 8, 48) for _ in range(args.reps)]
            if metrics:
                out["fit"] = fit(*await fit_workload(engine, args.calls, args.concurrency))
            await engine.close()

        asyncio.run(work())
    return out


def harness_run(suite: str, record: bool, shim: Path) -> float:
    db = Path(tempfile.mkdtemp()) / "bench.duckdb"
    env = {**os.environ, "PYTHONPATH": f"{shim}:{os.environ.get('PYTHONPATH', '')}",
           "THINKBENCH_BENCH_NO_CALLS": "0" if record else "1"}
    cmd = [str(Path(sys.executable).parent / "thinkbench"), "run", "--suite", suite, "--strategy", "self_consistency",
           "--n", "8", "--temperature", "0.7", "--max-tokens", "48", "--max-model-len", "1024", "--db", str(db)]
    # stdout (the engine's and Ray workers' logs) to a file: with it sent to /dev/null the engine core died
    # (EngineDeadError) in 5 of 5 runs here, in 0 of 3 with a file.
    log = db.with_suffix(".log")
    with log.open("w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=db.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"thinkbench run failed ({proc.returncode}), log in {log}")
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    manifest = json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])
    calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    con.close()
    if record != (calls > 0):
        raise RuntimeError(f"recording {'on' if record else 'off'} but {calls} call rows stored")
    session = manifest["last_session"]
    return session["generated_tokens"] / session["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()

    # The thinkbench runs go first: right after this process's engines shut down, a new engine's core died
    # (EngineDeadError) in 2 of 2 tries on the 2-core machine.
    shim = Path(tempfile.mkdtemp())
    (shim / "sitecustomize.py").write_text(NO_CALLS_SHIM)
    suite = f"arith:digits=1-2,operators=+,n={args.problems},seed=1"
    runs: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.reps):
        for record in (True, False):
            runs[record].append(harness_run(suite, record, shim))

    res = in_process(args)
    f = res["fit"]
    on, off = statistics.median(res["tps"][True]), statistics.median(res["tps"][False])
    print(f"machine: {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; date {date.today()}")
    print("model: SmolLM2-135M-Instruct float32 eager on vLLM CPU")
    print(f"(a) fit over {f['calls']} calls ({f['tokens']:.0f} tokens, concurrency {args.concurrency}): "
          f"first token {f['a']:.3f} s, decode {1 / f['b']:.1f} tok/s, R^2 {f['r2']:.3f}")
    print(f"    vLLM's own decode throughput, same calls: {f['vllm_tps']:.1f} tok/s; fit/vLLM "
          f"{(1 / f['b']) / f['vllm_tps']:.3f} (target within 0.85-1.15); measured first token p50 "
          f"{f['first_token_p50']:.3f} s")
    print(f"(b) vLLM stats on/off: {on:.1f} / {off:.1f} tok/s = {on / off:.3f} (runs {res['tps']})", flush=True)
    h_on, h_off = statistics.median(runs[True]), statistics.median(runs[False])
    print(f"    thinkbench run with/without call records: {h_on:.1f} / {h_off:.1f} tok/s = {h_on / h_off:.3f} "
          f"(target >= 0.97; runs {runs})")


if __name__ == "__main__":
    main()

"""Benchmark: generated tokens/s of best_of_n, beam_search and dvts at the same N, on the embedded model.

Run: `python bench/strategy_throughput.py [--n 8] [--problems 32]`. One in-process vLLM engine
(CPU: float32, eager) serves all three strategies in turn; each strategy runs the same generated
problems concurrently, as the runner would. Tokens/s = generated tokens (from the attempts'
ledgers) / wall seconds of the whole batch. The target from the issue: beam_search and dvts reach
at least 0.67 of best_of_n's tokens/s, which only holds if step search batches across problems
and beams (the public reference runs step search one problem at a time, about 20x slower).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")

from harness.engines.vllm_engine import VLLMEngine, VLLMSettings
from harness.models import resolve_model
from harness.solve import SuiteView, solve
from suites import Suite, load_suite


async def _run(engine: VLLMEngine, view: SuiteView, suite: Suite, strategy: str, params: dict) -> dict:
    start = time.perf_counter()
    attempts = await asyncio.gather(*(solve(engine, view, p.question(), strategy, params, 0) for p in suite.problems))
    wall = time.perf_counter() - start
    errors = [a.error for a in attempts if a.error]
    if errors:
        raise SystemExit(f"{strategy} failed: {errors[0]}")
    gen = sum(a.ledger.generated_tokens for a in attempts)
    calls = sum(a.ledger.engine_calls for a in attempts)
    prompt = sum(a.ledger.prompt_tokens for a in attempts)
    cached = sum(a.ledger.cached_prompt_tokens for a in attempts)
    correct = sum(a.final_answer is not None and suite.grade(a.final_text, p).correct
                  for a, p in zip(attempts, suite.problems))
    return {"strategy": strategy, "tokens": gen, "calls": calls, "wall": wall, "tps": gen / wall,
            "prompt": prompt, "cached": cached,
            "accuracy": correct / len(attempts)}


async def main(args: argparse.Namespace) -> None:
    model = resolve_model("embedded")
    # block_size None = the engine's own choice (32 on CPU: vLLM caches whole KV blocks only).
    engine = VLLMEngine(VLLMSettings(model_path=model.path, max_model_len=1024, seed=0, cpu_kv_cache_gib=2,
                                     block_size=args.block_size or None, max_num_seqs=args.max_num_seqs or None))
    suite = load_suite(args.suite, limit=args.problems)
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    common = {"n": args.n, "temperature": 0.8, "max_tokens": args.max_tokens}
    step = {**common, "beam_width": args.width, "max_depth": args.depth, "step_max_tokens": args.step_tokens,
            "step_delimiter": args.delimiter}
    configs = [(n, common if n == "best_of_n" else step) for n in args.strategies.split(",")]
    await _run(engine, view, load_suite(args.suite, limit=2), "best_of_n", {**common, "n": 2})  # warm-up
    rows = []
    for name, params in configs:
        row = await _run(engine, view, suite, name, params)
        rows.append(row)
        print(f"{name:<12} {row['tokens']:>7} tokens {row['calls']:>6} engine calls {row['wall']:>8.1f} s "
              f"{row['tps']:>8.1f} tokens/s  accuracy {row['accuracy']:.3f}  prompt tokens {row['prompt']} "
              f"({row['cached']} cached)", flush=True)
    base = rows[0]["tps"]
    print(f"(vLLM KV block size: {engine.info()['block_size']})")
    for row in rows[1:]:
        verdict = "meets" if row["tps"] / base >= 0.67 else "misses"
        print(f"{row['strategy']} / best_of_n tokens/s ratio: {row['tps'] / base:.2f} ({verdict} the 0.67 target)")
    await engine.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--strategies", default="best_of_n,beam_search,dvts", help="comma-separated; the first is the base")
    ap.add_argument("--width", type=int, default=4)
    ap.add_argument("--problems", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--step-tokens", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--block-size", type=int, default=0,
                    help="vLLM KV block size (0: the engine's choice, "
                         "32 on CPU; 128 is vLLM's CPU default, which caches nothing here)")
    ap.add_argument("--suite", default="arith:digits=2,ops=2,seed=11",
                    help="suite spec (the first --problems problems)")
    ap.add_argument("--max-num-seqs", type=int, default=0, help="sequences vLLM decodes at once (0: its default)")
    ap.add_argument("--delimiter", default="\n", help="step delimiter (the default blank line rarely occurs "
                                                     "in the embedded model's short answers)")
    asyncio.run(main(ap.parse_args()))

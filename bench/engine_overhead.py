"""Harness overhead: the same prompts and sampling through vLLM directly, then through `thinkbench run`.

Both use the embedded SmolLM2-135M-Instruct on vLLM's CPU build (float32, eager), self-consistency
with n=8 at temperature 0.7 over the same generated problems, each request with the seed the run gives it, so
both generate exactly the same tokens (checked and printed). Raw throughput is one offline `LLM.generate` call over
every prompt (vLLM's best case); the harness figure is generated tokens
over the run's generation phase (engine ready -> last commit: strategies, Ray, grading, DuckDB).
Start-up is excluded from both. Prints both tokens/s and their ratio (target >= 0.95), for each thread binding:
`all` (the model's threads on every CPU, ThinkBench's default on small machines) and `vllm` (vLLM's own "auto"
binding, which keeps a core for its scheduler). Each raw measurement runs in a fresh interpreter, since vLLM reads
the binding once per process. Under each figure, a CPU ledger (bench/cpu_ledger.py) says where the machine's CPU went in
that window: vLLM's engine processes, Ray's daemons, the driver, graders; and how often the engine's threads were
preempted. A harness run whose engine died and restarted says so (its figure is then not overhead).

    .venv/bin/python bench/engine_overhead.py [--problems 32] [--max-tokens 48] [--binding all|vllm|both] [--verbose]
                                              [--repeat N]

On shared machines one pair's ratio moves by +-0.06 from run to run (neighbours' load, not the harness: the ledger
shows the same harness CPU either way); `--repeat N` measures N back-to-back pairs per binding and prints their median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from cpu_ledger import CpuLedger, describe

REPO = Path(__file__).resolve().parents[1]
RUN_SEED = 0  # `thinkbench run`'s default seed: the raw requests carry the seeds the run's requests carry
sys.path.insert(0, str(REPO))


def raw_vllm(model_path: str, prompts: list[list[int]], seeds: list[int], n: int, temperature: float,
             max_tokens: int, max_model_len: int) -> tuple[int, float, float]:
    from harness.engines.vllm_engine import CPU_STEP_TOKENS, cpu_thread_binding

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", cpu_thread_binding())
    from vllm import LLM, SamplingParams

    # The same engine settings as the harness's vLLM engine on CPU (32-token KV blocks, prefix caching, whole
    # prompts per step since requests are seeded) and the same requests: each prompt with the seed the run sends,
    # so both generate exactly the same samples (the same tokens, the same number of steps).
    llm = LLM(model=model_path, dtype="float32", enforce_eager=True, max_model_len=max_model_len, seed=0,
              enable_prefix_caching=True, block_size=32, enable_chunked_prefill=False,
              max_num_batched_tokens=max(CPU_STEP_TOKENS, max_model_len))
    params = [SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed) for seed in seeds]
    start = time.perf_counter()
    outs = llm.generate([{"prompt_token_ids": p} for p in prompts], params, use_tqdm=False)
    seconds = time.perf_counter() - start
    ended = time.time()
    tokens = sum(len(c.token_ids) for o in outs for c in o.outputs)
    del llm
    return tokens, seconds, ended


def _binding_env(binding: str) -> dict[str, str]:
    from harness.engines.vllm_engine import cpu_thread_binding

    return {**os.environ, "VLLM_CPU_OMP_THREADS_BIND": cpu_thread_binding() if binding == "all" else "auto"}


def raw_in_fresh_interpreter(binding: str, args: argparse.Namespace) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, __file__, "--raw-only", "--problems", str(args.problems), "--n", str(args.n),
                          "--max-tokens", str(args.max_tokens), "--temperature", str(args.temperature)],
                         check=True, capture_output=True, text=True, env=_binding_env(binding)).stdout
    tokens, seconds, ended = json.loads(out.strip().splitlines()[-1])
    _wait_for_engine_exit()
    return tokens, seconds, ended


def _wait_for_engine_exit(limit_s: float = 120.0) -> None:
    """A finished raw run's engine core may outlive its interpreter for a while; measured beside it, the harness
    run lost up to three quarters of its throughput (108 against 333-393 tok/s)."""
    import psutil

    deadline = time.time() + limit_s
    while time.time() < deadline and any("EngineCore" in " ".join(p.info["cmdline"] or []) or
                                         "EngineCore" in (p.info["name"] or "")
                                         for p in psutil.process_iter(["name", "cmdline"])):
        time.sleep(0.5)


def harness_run(suite: str, n: int, temperature: float, max_tokens: int, max_model_len: int,
                env: dict[str, str] | None = None, prefix: list[str] | None = None) -> tuple[int, float, float]:
    db = Path(tempfile.mkdtemp()) / "bench.duckdb"
    cmd = [*(prefix or []), str(Path(sys.executable).parent / "thinkbench"), "run", "--suite", suite,
           "--strategy", "self_consistency", "--n", str(n), "--temperature", str(temperature),
           "--max-tokens", str(max_tokens), "--max-model-len", str(max_model_len), "--db", str(db),
           "--plot", str(db.with_suffix(".png"))]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    manifest = json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])
    last_token = con.execute("SELECT max(epoch(finished_at)) FROM calls").fetchone()[0]
    events = con.execute("SELECT kind, detail FROM run_events").fetchall()
    con.close()
    if events:  # an engine that died and restarted inside the window is not overhead: say so
        print(f"  the harness run recorded {len(events)} events: {events[:4]}", flush=True)
    session = manifest["last_session"]
    print(f"  thinkbench run: {session['ended_unix'] - last_token:.2f} s from its last token to its last commit "
          f"(grading and storing the final attempts); grading held for the end: "
          f"{manifest['engine'].get('cpu_threads') == 'all'}", flush=True)
    return session["generated_tokens"], session["seconds"], session["ended_unix"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=32)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--binding", choices=["all", "vllm", "both"], default="both")
    ap.add_argument("--verbose", action="store_true", help="also list the processes that used the most CPU")
    ap.add_argument("--prefix", default="", help="a command to run `thinkbench run` under (e.g. 'chrt --batch 0')")
    ap.add_argument("--repeat", type=int, default=1, help="raw/harness pairs per binding (their median is printed)")
    ap.add_argument("--raw-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    max_model_len = 1024

    from transformers import AutoTokenizer

    from harness.engines.base import Prompt
    from harness.models import resolve_model
    from harness.strategies.base import request_seed
    from suites import load_suite

    suite_name = f"arith:digits=1-2,operators=+,n={args.problems},seed=1"
    suite = load_suite(suite_name)
    model = resolve_model("embedded")
    tok = AutoTokenizer.from_pretrained(model.path)
    prompts, seeds = [], []
    for p in suite.problems:  # rendered exactly as the harness's vLLM engine renders them, seeded as a run seeds them
        question = p.question()
        prompt = Prompt.chat(suite.template.render(question))
        text = tok.apply_chat_template(prompt.as_messages(), tokenize=False, add_generation_prompt=True)
        prompts.append(tok.encode(text, add_special_tokens=False))
        seeds.append(request_seed(RUN_SEED, question.id, prompt))

    if args.raw_only:  # a fresh interpreter's raw measurement, under the binding its environment sets
        print(json.dumps(raw_vllm(model.path, prompts, seeds, args.n, args.temperature, args.max_tokens,
                                  max_model_len)))
        return
    print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
          f"date {date.today()}")
    print(f"workload: {suite_name}, self_consistency n={args.n}, T={args.temperature}, max_tokens={args.max_tokens}, "
          f"SmolLM2-135M-Instruct float32 eager on vLLM CPU")
    for binding in ["all", "vllm"] if args.binding == "both" else [args.binding]:
        ratios = [_pair(binding, args, suite_name, max_model_len) for _ in range(args.repeat)]
        if args.repeat > 1:
            print(f"binding {binding:<4}: median ratio {statistics.median(ratios):.2f} over {len(ratios)} pairs "
                  f"({', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.95)", flush=True)


def _pair(binding: str, args: argparse.Namespace, suite_name: str, max_model_len: int) -> float:
    """One raw measurement, then one harness run, back to back under `binding`: their ratio."""
    with CpuLedger() as ledger:
        raw_tokens, raw_s, raw_end = raw_in_fresh_interpreter(binding, args)
        h_tokens, h_s, h_end = harness_run(suite_name, args.n, args.temperature, args.max_tokens,
                                           max_model_len, _binding_env(binding), args.prefix.split())
    raw_tps, h_tps = raw_tokens / raw_s, h_tokens / h_s
    print(f"binding {binding:<4}: raw vLLM LLM.generate {raw_tokens:6d} tokens in {raw_s:6.1f} s = "
          f"{raw_tps:6.1f} tok/s | thinkbench run {h_tokens:6d} tokens in {h_s:6.1f} s = {h_tps:6.1f} tok/s | "
          f"ratio {h_tps / raw_tps:.2f} (target >= 0.95); same samples: "
          f"{'yes' if raw_tokens == h_tokens else 'NO (token counts differ)'}", flush=True)
    print("  raw:\n" + describe(*ledger.window(raw_end - raw_s, raw_end), raw_s))
    print("  thinkbench run:\n" + describe(*ledger.window(h_end - h_s, h_end), h_s), flush=True)
    if args.verbose:
        for name, (end, secs) in (("raw", (raw_end, raw_s)), ("thinkbench run", (h_end, h_s))):
            print(f"  top processes, {name}:\n" + "\n".join(f"    {c:6.1f} {cmd}"
                                                          for c, cmd in ledger.top(end - secs, end)))
    return h_tps / raw_tps


if __name__ == "__main__":
    main()

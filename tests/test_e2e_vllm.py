"""End to end through the real vLLM CPU engine and the embedded SmolLM2-135M-Instruct.

They share one vLLM server (conftest), so each costs seconds; the in-actor engine, killed and resumed, is
tested in test_engine_faults.
"""

from __future__ import annotations

import asyncio

import duckdb
import pytest

from harness.engines.base import Prompt, SamplingParams
from harness.engines.openai_engine import OpenAIEngine
from tests.conftest import check_call_timings, run_cli

pytestmark = pytest.mark.e2e

SUITE = "arith:digits=1,ops=1,operators=+,n=10,seed=3"


def test_openai_engine_against_real_vllm_server(tmp_path, vllm_server, ray_address):
    base, name = vllm_server
    db = tmp_path / "o.duckdb"
    proc = run_cli("run", "--ray-address", ray_address, "--suite", SUITE, "--engine", "openai", "--base-url", base,
                   "--strategy",
                   "self_consistency", "--n", "4", "--max-tokens", "24", "--limit", "6", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not comparable" in proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    n_samples, gen, prompt = con.execute(
        "SELECT count(*), sum(generated_tokens), sum(prompt_tokens) FROM samples").fetchone()
    att_gen, att_prompt, calls = con.execute(
        "SELECT sum(generated_tokens), sum(prompt_tokens), sum(engine_calls) FROM attempts").fetchone()
    con.close()
    assert n_samples == 24 and calls == 6
    assert gen == att_gen > 0, "per-sample token counts add up to the server-reported usage"
    assert att_prompt > 6 * 10
    check_call_timings(db, 6)  # streamed: the first token's time comes from the first chunk with output

    bad = run_cli("run", "--suite", SUITE, "--engine", "openai", "--base-url", base, "--served-model", "nope",
                  "--limit", "1", "--db", str(db), cwd=tmp_path)
    assert bad.returncode == 2 and "does not serve 'nope'" in bad.stderr


def test_llm_judge_served_by_a_real_vllm_server(tmp_path, vllm_server, ray_address):
    """The judge on its own OpenAI-compatible server (`base_url`): P("Yes") read from the server's real logprobs."""
    base, name = vllm_server
    db = tmp_path / "judge.duckdb"
    proc = run_cli("run", "--ray-address", ray_address, "--suite", SUITE, "--engine", "scripted", "--strategy",
                   "best_of_n", "--n", "3",
                   "--verifier", "llm_judge", "--verifier-model", name, "--verifier-option", f"base_url={base}",
                   "--limit", "4", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    scores = [s for (s,) in con.execute("SELECT score FROM samples").fetchall()]
    vtokens, vcalls, manifest = con.execute(
        "SELECT sum(verifier_tokens), sum(verifier_calls), any_value(manifest) FROM attempts, runs").fetchone()
    con.close()
    assert len(scores) == 12 and all(0.0 <= s <= 1.0 for s in scores)
    assert any(0.0 < s < 1.0 for s in scores), "scores come from top logprobs, not from the sampled text alone"
    assert vcalls == 12 and vtokens > 12 * 20, "judge prompts are charged as verifier tokens"
    assert '"engine": "openai"' in manifest


def _few_shot(a: int, b: int) -> Prompt:
    """Three worked examples that think between <think> tags: the embedded model then does the same (greedy)."""
    shots: list[dict[str, str]] = [{"role": "system", "content": "Think inside <think> </think> tags, then answer."}]
    for x, y in [(2, 2), (5, 1), (3, 6)]:
        shots += [{"role": "user", "content": f"What is {x} + {y}?"},
                  {"role": "assistant", "content": f"<think>{x} plus {y} makes {x + y}.</think>The answer is {x + y}."}]
    return Prompt.chat(shots + [{"role": "user", "content": f"What is {a} + {b}?"}])


def test_reasoning_text_from_a_real_reasoning_parser_is_kept_apart(vllm_server):
    """vLLM's server splits <think> text into `reasoning`; the engine keeps it out of the answer, streamed or not,
    and a thought cut off by the token limit reads as truncated with no answer."""
    base, name = vllm_server

    async def ask(stream: bool, max_tokens: int):
        engine = OpenAIEngine(base, name, stream=stream, per_request_seed=False)
        try:
            return await asyncio.gather(*(engine.generate(_few_shot(a, b), SamplingParams(max_tokens=max_tokens))
                                          for a, b in [(3, 4), (1, 8)]))
        finally:
            await engine.close()

    streamed, plain = asyncio.run(ask(True, 40)), asyncio.run(ask(False, 40))
    for r, total in zip(streamed, (7, 9)):
        c = r.completions[0]
        assert c.reasoning_text.strip() and "<think>" not in c.text and "</think>" not in c.text, c
        assert c.text.strip() and c.finish_reason == "stop" and f"{total}" in c.reasoning_text + c.text
        assert 0 < c.reasoning_tokens < c.generated_tokens, "the server counts the reasoning tokens"
        assert r.first_token_seconds is not None and 0 < r.first_token_seconds <= r.wall_seconds
    assert [r.completions for r in streamed] == [r.completions for r in plain], "streaming changes nothing"

    # 8 tokens: "<think>" takes 3 of them, and the worked examples' thoughts take more than 5 more before "</think>".
    for r in asyncio.run(ask(True, 8)) + asyncio.run(ask(False, 8)):
        c = r.completions[0]
        assert c.finish_reason == "length" and c.text == "" and c.reasoning_text, c


CASCADE_PRICES = """models:
  cheap: {input: 0.10, output: 0.20, source: test, read: "2026-12-01"}
  expensive: {input: 5.00, output: 15.00, source: test, read: "2026-12-01"}
"""


def test_cascade_of_two_served_tiers_prices_reprices_and_caps(tmp_path, vllm_server, ray_address):
    """The embedded model served as `cheap` and `expensive`, two prices: a cascade escalates the problems whose cheap
    votes disagree, every call is stored under its tier with streamed timings, dollars follow each tier's price,
    reprice changes them without regenerating, and a dollars cap stops a run partway (exit 3)."""
    base, _ = vllm_server
    prices, dearer = tmp_path / "prices.yaml", tmp_path / "dearer.yaml"
    prices.write_text(CASCADE_PRICES)
    dearer.write_text(CASCADE_PRICES.replace("15.00", "30.00"))
    cfg = tmp_path / "cascade.yaml"
    cfg.write_text(f"""strategy:
  name: cascade
  params:
    stages:
      - {{strategy: self_consistency, params: {{n: 3, temperature: 1.0, max_tokens: 16}}}}
      - {{strategy: cot, params: {{max_tokens: 16}}, base_url: "{base}", served_model: expensive}}
    escalate: {{agreement_below: 0.9}}
""")
    db = tmp_path / "c.duckdb"
    common = ["--ray-address", ray_address, "--suite", SUITE, "--engine", "openai", "--base-url", base,
              "--model", "cheap", "--config", str(cfg), "--db", str(db)]
    proc = run_cli("run", *common, "--prices", str(prices), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    calls = con.execute("SELECT problem_id, model, stage, dollars, first_token_seconds, seconds FROM calls").fetchall()
    attempts = con.execute("SELECT problem_id, dollars, meta FROM attempts").fetchall()
    con.close()
    escalated = {pid for pid, _, meta in attempts if '"escalated": true' in (meta or "")}
    assert 0 < len(escalated) < 10, "some problems escalate, not all"
    by_model = {m for _, m, _, _, _, _ in calls}
    assert by_model == {"cheap", "expensive"}
    assert {pid for pid, m, *_ in calls if m == "expensive"} == escalated
    assert all(s.startswith("stage1:") for _, m, s, *_ in calls if m == "expensive")
    assert all(0 < ft <= sec for *_, ft, sec in calls), "streamed first-token times within each call"
    per_problem = {pid: sum(d for p, _, _, d, _, _ in calls if p == pid) for pid, *_ in attempts}
    assert all(abs(d - per_problem[pid]) < 1e-12 for pid, d, _ in attempts), "an attempt costs its calls"
    dear = max(per_problem[p] for p in escalated)
    assert dear > max(per_problem[p] for p in per_problem if p not in escalated), "escalation costs the dear tier"

    again = run_cli("reprice", "--db", str(db), proc.stdout.split()[1], "--prices", str(dearer), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    con = duckdb.connect(str(db), read_only=True)
    repriced = dict(con.execute("SELECT problem_id, dollars FROM attempts").fetchall())
    con.close()
    assert all(repriced[p] > per_problem[p] for p in escalated)
    assert all(abs(repriced[p] - per_problem[p]) < 1e-12 for p in per_problem if p not in escalated)

    capped_db = tmp_path / "capped.duckdb"
    cap = 1.5 * min(per_problem.values())  # the first wave (2 problems) already passes it: no more are dispatched
    capped = run_cli("run", *common[:-1], str(capped_db), "--prices", str(prices), "--max-dollars", f"{cap:.9f}",
                     cwd=tmp_path)
    assert capped.returncode == 3, capped.stderr[-2000:]
    assert "stopped at its cap" in capped.stderr
    con = duckdb.connect(str(capped_db), read_only=True)
    (done,) = con.execute("SELECT count(*) FROM attempts").fetchone()
    (status,) = con.execute("SELECT status FROM runs").fetchone()
    con.close()
    assert 1 <= done < 10 and status == "capped"

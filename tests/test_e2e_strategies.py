"""Every strategy end to end on the embedded model through vLLM CPU, on a few generated problems.

One in-process `VLLMEngine` serves the whole module (starting one costs about a minute on 2 cores),
and all strategies' problems run concurrently on it, as the runner runs them. Budgets are tiny:
this checks the real code paths (continuation prompts, stop strings, logprobs, verifier calls,
the compute ledger) rather than accuracy.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from harness.engines.base import GenerateResult, Prompt, SamplingParams
from harness.engines.vllm_engine import VLLMEngine, VLLMSettings
from harness.models import resolve_model
from harness.solve import SuiteView, solve
from harness.verifiers import make_verifier
from harness.verifiers.tiny import make_tiny_prm
from suites import load_suite
from tests.conftest import run_in_fresh_interpreter

pytestmark = pytest.mark.e2e

SUITE = "arith:digits=1,ops=1,operators=+,n=2,seed=3"
STEP = {"n": 4, "beam_width": 2, "max_depth": 2, "step_max_tokens": 12, "max_tokens": 24, "temperature": 0.8}
CASES: list[tuple[str, dict, str]] = [  # (strategy, params, verifier)
    ("best_of_n", {"n": 4, "max_tokens": 16}, "confidence"),
    ("self_consistency", {"n": 2, "temperature": 0.0, "max_tokens": 12}, "confidence"),  # greedy n > 1: n requests
    ("best_of_n", {"n": 2, "max_tokens": 16}, "llm_judge"),
    ("weighted_best_of_n", {"n": 4, "max_tokens": 16}, "confidence"),
    ("beam_search", STEP, "confidence"),
    ("beam_search", STEP, "prm"),
    ("dvts", STEP, "confidence"),
    ("lookahead", {**STEP, "lookahead": 1}, "confidence"),
    ("revision", {"n": 2, "max_tokens": 16, "select": "vote"}, "confidence"),
    ("budget_forcing", {"max_tokens": 12, "num_waits": 1, "answer_max_tokens": 8}, "confidence"),
    ("adaptive", {"n": 4, "pilot_n": 2, "max_tokens": 16, "table": {"0": "self_consistency"}, "default": "best_of_n"},
     "confidence"),
]


class Counting:
    """Forwards to the engine and keeps what it reported, to check ledgers against."""

    def __init__(self, engine: VLLMEngine) -> None:
        self.engine = engine
        self.name = engine.name
        self.prompt = self.generated = self.calls = 0

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        r = await self.engine.generate(prompt, params)
        self.prompt += r.prompt_tokens
        self.generated += r.generated_tokens
        self.calls += 1
        return r


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model = resolve_model("embedded")
    prm_dir = make_tiny_prm(tmp_path_factory.mktemp("prm") / "tiny", model.path, "token")
    loop = asyncio.new_event_loop()

    async def start() -> VLLMEngine:
        return VLLMEngine(VLLMSettings(model_path=model.path, max_model_len=512, seed=0, cpu_kv_cache_gib=1))

    engine = loop.run_until_complete(start())
    yield loop, engine, str(prm_dir)
    loop.run_until_complete(engine.close())
    loop.close()


def every_strategy_runs_on_vllm_and_accounts_exactly(served):
    loop, engine, prm_dir = served
    suite = load_suite(SUITE)
    view = SuiteView(suite.template, suite.extract, suite.vote_key)

    async def case(strategy: str, params: dict, kind: str):
        counting = Counting(engine)
        verifier = make_verifier(kind, prm_dir if kind == "prm" else None, {"style": "token"} if kind == "prm" else {},
                                 engine=counting)
        attempts = await asyncio.gather(*(solve(counting, view, p.question(), strategy, params, 0, verifier)
                                          for p in suite.problems))
        return counting, verifier, attempts

    async def every_case():
        return await asyncio.wait_for(asyncio.gather(*(case(*c) for c in CASES)), timeout=200)

    results = loop.run_until_complete(every_case())
    strategies = set()
    for (strategy, params, kind), (counting, verifier, attempts) in zip(CASES, results):
        label = f"{strategy}/{kind}"
        strategies.add(strategy)
        for a in attempts:
            assert a.error is None, f"{label}: {a.error}"
            truncated_only = params.get("temperature") == 0.0  # its 12-token greedy samples never vote
            assert (a.final_text is not None or truncated_only) and a.samples, label
            assert a.ledger.generated_tokens > 0 and a.ledger.engine_calls > 0, label
        led = {k: sum(getattr(a.ledger, k) for a in attempts) for k in ("prompt_tokens", "generated_tokens",
                                                                         "verifier_tokens", "engine_calls")}
        if kind == "llm_judge":  # the judge's calls go through the same engine, charged as verifier tokens
            assert led["verifier_tokens"] > 0
            charged = led["prompt_tokens"] + led["generated_tokens"] + led["verifier_tokens"]
            assert charged == counting.prompt + counting.generated
        else:
            assert (led["prompt_tokens"], led["generated_tokens"], led["engine_calls"]) == (
                counting.prompt, counting.generated, counting.calls), label
        if kind == "prm":
            assert led["verifier_tokens"] > 0 and all(a.ledger.verifier_calls >= 1 for a in attempts)
            assert max(verifier.batcher.batches) >= 2, "both problems' step scores went through one forward pass"
            assert all(0.0 <= s.score <= 1.0 for a in attempts for s in a.samples)
        if strategy == "budget_forcing":
            cap = params["max_tokens"] + params["answer_max_tokens"]
            assert all(a.ledger.generated_tokens <= cap for a in attempts)
        if strategy in ("beam_search", "dvts", "lookahead"):
            # every kept step ends at its delimiter, so the text splits into at most max_depth non-empty steps
            assert all(len([x for x in s.text.split("\n\n") if x.strip()]) <= STEP["max_depth"]
                       for a in attempts for s in a.samples), label
        if strategy == "adaptive":
            assert all(len(a.samples) == params["n"] for a in attempts), "pilot + chosen strategy = the budget"
        if params.get("temperature") == 0.0:  # vLLM refuses greedy n > 1: the engine asks n times, each charged
            assert all(len(a.samples) == 2 and a.samples[0].text == a.samples[1].text for a in attempts), label
    assert strategies == {"best_of_n", "weighted_best_of_n", "beam_search", "dvts", "lookahead", "revision",
                          "budget_forcing", "adaptive", "self_consistency"}


# The engine must not be built inside the shared pytest process: by the time this file runs, other tests have
# imported llvmlite (numba, for the leaderboard), and vLLM's CPU worker, which scans every loaded module for
# kernels to rebind, trips over llvmlite's objects. So the test runs in a fresh interpreter, as `thinkbench
# run` builds its engine in a fresh Ray actor.
if os.environ.get("THINKBENCH_E2E_INNER") == "1":
    test_every_strategy_runs_on_vllm_and_accounts_exactly = every_strategy_runs_on_vllm_and_accounts_exactly
else:
    def test_every_strategy_runs_on_vllm_and_accounts_exactly_in_a_fresh_interpreter():
        run_in_fresh_interpreter(__file__)

"""Verifiers: micro-batching, the PRM code path on tiny local models, the judge's P(Yes), confidence,
public tests, the oracle's labelling, and how a run's `verifier:` section reaches the engine actor."""

from __future__ import annotations

import asyncio
import math
import sys
import types

import pytest

from core.errors import UserError
from core.records import Question
from harness.config import RunConfig, load_config
from harness.engines.base import Completion, GenerateResult, Prompt, SamplingParams
from harness.engines.scripted import ScriptedEngine
from harness.models import resolve_model
from harness.runner import identity
from harness.solve import SuiteView, solve
from harness.verifiers import make_verifier
from harness.verifiers.base import Candidate, aggregate
from harness.verifiers.batching import MicroBatcher
from harness.verifiers.confidence import confidence
from harness.verifiers.llm_judge import p_yes
from harness.verifiers.prm import PRMSettings, TransformersPRM
from harness.verifiers.tiny import make_tiny_prm
from harness.worker import EngineWorker
from suites import load_suite

Q = Question("q1", {"expression": "3 + 4"})


def test_micro_batcher_gathers_concurrent_calls_and_routes_results():
    seen: list[list[int]] = []

    def square(items: list[int]) -> list[int]:
        seen.append(list(items))
        return [i * i for i in items]

    batcher = MicroBatcher(square, max_batch=64)

    async def go():
        return await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(10)))

    out = asyncio.run(go())
    assert out == [[i * i, (i + 100) ** 2] for i in range(10)]
    assert len(seen) == 1 and len(seen[0]) == 20, "ten concurrent callers, one forward pass"

    small = MicroBatcher(square, max_batch=4)

    async def go_small():
        return await asyncio.gather(*(small.submit([i]) for i in range(10)))

    assert asyncio.run(asyncio.wait_for(go_small(), 5)) == [[i * i] for i in range(10)]
    assert max(small.batches) <= 4 and sum(small.batches) == 10


def test_micro_batcher_failure_reaches_every_waiter():
    def boom(items):
        raise RuntimeError("prm died")

    batcher = MicroBatcher(boom)

    async def go():
        return await asyncio.gather(*(batcher.submit([i]) for i in range(3)), return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(asyncio.wait_for(go(), 5)))


@pytest.fixture(scope="module")
def tiny_prms(tmp_path_factory):
    tok = resolve_model("embedded").path
    root = tmp_path_factory.mktemp("prms")
    return {style: str(make_tiny_prm(root / style, tok, style)) for style in ("token", "classifier")}


@pytest.mark.parametrize("style", ["token", "classifier"])
def test_prm_scores_each_step_batched_and_padding_free(tiny_prms, style):
    prm = TransformersPRM(PRMSettings.from_options(tiny_prms[style], {"style": style, "step_tag": "\n\n"}))
    cands = [Candidate("a", ("Add 3 and 4.", "That is 7.")), Candidate("b", ("Add 3 and 4.",)),
             Candidate("c", ("Add 3 and 4.", "So it is 8.", "The answer is 8."))]

    async def together():
        return await asyncio.gather(*(prm.score(Q, "What is 3 + 4?", [c]) for c in cands))

    batched = asyncio.run(together())
    assert prm.batcher.batches == [3], "three problems' requests, one forward pass"
    assert [len(r.step_scores[0]) for r in batched] == [2, 1, 3]
    assert all(0.0 < s < 1.0 for r in batched for s in r.step_scores[0])
    # a step's score depends only on what precedes it: same first step, same score, whatever the padding
    firsts = {round(r.step_scores[0][0], 6) for r in batched}
    assert len(firsts) == 1
    alone = asyncio.run(prm.score(Q, "What is 3 + 4?", [cands[2]]))
    assert alone.step_scores[0] == pytest.approx(batched[2].step_scores[0], abs=1e-5)
    assert batched[2].tokens == alone.tokens > batched[1].tokens and alone.calls == 1
    assert prm.parameters and prm.parameters > 1000


def test_prm_presets_and_config_errors(tiny_prms):
    s = PRMSettings.from_options("x", {"preset": "qwen2.5-math-prm"})
    assert (s.style, s.step_tag, s.template) == ("classifier", "<extra_0>", "chat")
    assert PRMSettings.from_options("x", {"preset": "math-shepherd", "step_tag": "<s>"}).step_tag == "<s>"
    with pytest.raises(ValueError, match="preset"):
        PRMSettings.from_options("x", {"preset": "nope"})
    assert PRMSettings.from_options("x", {"preset": "qwen2.5-math-prm", "backend": "vllm"}).backend == "vllm"
    with pytest.raises(ValueError, match="unknown PRM backend 'sglang'; choose one of transformers, vllm"):
        PRMSettings.from_options("x", {"backend": "sglang"})
    with pytest.raises(ValueError, match="unknown PRM style"):
        PRMSettings.from_options("x", {"style": "outcome"})
    with pytest.raises(UserError, match="verifier prm: bad option"):
        make_verifier("prm", "x", {"backend": "vllm", "gpu_mem": 0.5})
    with pytest.raises(UserError, match="needs model"):
        make_verifier("prm")
    chat = make_verifier("prm", tiny_prms["token"], {"template": "chat", "system": "Be careful."})
    ids, positions = chat.encode("What is 3 + 4?", ["Add.", "7."])
    assert len(positions) == 2 and positions[-1] == len(ids) - 1
    assert "Be careful." in chat.tok.decode(ids)


class JudgeEngine:
    """Answers the judge's one-token question with fixed top logprobs; policy calls get a short text."""

    name = "judge-test"

    def __init__(self, top: dict[str, float] | None):
        self.top = top
        self.calls: list[SamplingParams] = []

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        self.calls.append(params)
        if params.max_tokens == 1 and params.logprobs:
            tops = [self.top] if self.top is not None else None
            return GenerateResult([Completion("Yes", "length", 1, [-0.1], tops)], prompt_tokens=30)
        return GenerateResult([Completion("The answer is 7", "stop", 4) for _ in range(params.n)], prompt_tokens=12)


def test_llm_judge_reads_p_yes_from_logprobs_and_charges_verifier_tokens():
    top = {"Yes": math.log(0.6), " yes": math.log(0.1), "No": math.log(0.2), "Maybe": math.log(0.05)}
    engine = JudgeEngine(top)
    judge = make_verifier("llm_judge", engine=engine, policy_params=135)
    r = asyncio.run(judge.score(Q, "What is 3 + 4?", [Candidate("7"), Candidate("8")]))
    assert r.step_scores == [[pytest.approx(0.7 / 0.9)]] * 2
    assert (r.tokens, r.calls) == (2 * 31, 2) and judge.parameters == 135
    assert all(c.temperature == 0 and c.max_tokens == 1 and c.logprobs == 20 for c in engine.calls)
    assert p_yes(None, "No, it is wrong") == 0.0 and p_yes({}, "yes") == 1.0
    assert p_yes({"No": -0.01, "Yes": -5.0}, "No") < 0.01


def test_confidence_mean_and_lowest_window():
    lps = [-0.1] * 20 + [-3.0] * 4 + [-0.1] * 20
    assert confidence(lps, "mean") == pytest.approx(math.exp(sum(lps) / len(lps)))
    assert confidence(lps, "lowest_window", window=4) == pytest.approx(math.exp(-3.0))
    assert confidence(lps, "lowest_window", window=4) < confidence(lps, "mean")
    assert confidence([], "mean") == 0.0
    v = make_verifier("confidence", options={"mode": "lowest_window", "window": 2})
    assert v.needs_logprobs
    r = asyncio.run(v.score(Q, "p", [Candidate("x", token_logprobs=(-1.0, -1.0, -0.1))]))
    assert r.step_scores == [[pytest.approx(math.exp(-1.0))]] and (r.tokens, r.calls) == (0, 0)
    with pytest.raises(UserError, match="bad option"):
        make_verifier("confidence", options={"nope": 1})


def test_confidence_strategies_request_logprobs():
    suite = load_suite("arith:n=2,seed=1")
    seen: list[SamplingParams] = []

    class Spy(ScriptedEngine):
        async def generate(self, prompt, params):
            seen.append(params)
            return await super().generate(prompt, params)

    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    a = asyncio.run(solve(Spy(), view, suite.problems[0].question(), "best_of_n", {"n": 4}, 0))
    assert all(p.logprobs == 0 for p in seen), "the default verifier (confidence) needs token logprobs"
    assert a.meta["verifier"] == "confidence" and all(0 < s.score <= 1 for s in a.samples)
    assert a.final_text == max(a.samples, key=lambda s: s.score).text


def test_public_tests_verifier_wraps_the_sandbox_scorer(monkeypatch):
    fake = types.ModuleType("evaluators.code.public_tests")
    calls = []
    fake.public_test_score = lambda program, question: calls.append((program, question.id)) or 0.5
    monkeypatch.setitem(sys.modules, "evaluators.code.public_tests", fake)
    v = make_verifier("public_tests")
    r = asyncio.run(v.score(Q, "p", [Candidate("```python\ndef f():\n    return 1\n```"), Candidate("no code here")]))
    assert r.step_scores[0] == [0.5] and calls == [("def f():\n    return 1", "q1")]
    assert r.step_scores[1] == [0.0], "no program, no score; the sandbox is not called"


def test_oracle_best_of_n_is_pass_at_n_and_labelled():
    suite = load_suite("arith:n=6,seed=4")
    problems = {p.id: p for p in suite.problems}
    def gold(q, text):
        return suite.grade(text, problems[q.id]).correct

    oracle = make_verifier("oracle", gold_check=gold)
    view = SuiteView(suite.template, suite.extract, suite.vote_key)

    async def go():
        return await asyncio.gather(*(solve(ScriptedEngine(), view, p.question(), "best_of_n", {"n": 6}, 0, oracle)
                                      for p in suite.problems))

    for a, p in zip(asyncio.run(go()), suite.problems):
        assert a.meta["oracle"] is True and a.meta["verifier"] == "oracle"
        any_right = any(suite.grade(s.text, p).correct for s in a.samples)
        assert suite.grade(a.final_text, p).correct == any_right
    with pytest.raises(UserError, match="gold"):
        make_verifier("oracle")


def test_verifier_section_is_part_of_the_run_identity_only_when_set():
    plain = RunConfig()
    assert "verifier" not in identity(plain, "s", "t", "m", {})
    prm = load_config(None, {"verifier.kind": "prm", "verifier.model": "/models/prm", "verifier.options.preset":
                             "math-shepherd", "suite": "arith:n=3"})
    ident = identity(prm, "s", "t", "m", {})
    assert ident["verifier"] == {"kind": "prm", "model": "/models/prm", "options": {"preset": "math-shepherd"},
                                 "oracle": False}
    assert prm.actor_context()["verifier"]["kind"] == "prm" and prm.actor_context()["suite"] == "arith:n=3"
    assert "verifier" not in str(prm.engine.identity())
    assert identity(load_config(None, {"verifier.kind": "oracle"}), "s", "t", "m", {})["verifier"]["oracle"] is True
    with pytest.raises(UserError, match="verifier prm needs model"):
        load_config(None, {"verifier.kind": "prm"})


class _RayContext:
    def get_node_id(self) -> str:
        return "node-test"

    def get_accelerator_ids(self) -> dict:
        return {}


def test_worker_builds_verifier_and_oracle_gold_check(monkeypatch):
    """The `verifier:` section reaches the engine actor, which alone reads gold, and only for the oracle."""
    import ray

    monkeypatch.setattr(ray, "get_runtime_context", lambda: _RayContext())  # the actor is used here without Ray
    suite = load_suite("arith:n=3,seed=8")
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    cfg = load_config(None, {"engine.kind": "scripted", "verifier.kind": "oracle", "suite": "arith:n=3,seed=8"})
    worker = EngineWorker(cfg.engine.model_dump(), cfg.model, 0, view, "w0", cfg.actor_context())

    async def go(w, strategy, params):
        info = await w.start()
        return info, [await w.solve(p.question(), strategy, params) for p in suite.problems]

    info, attempts = asyncio.run(go(worker, "best_of_n", {"n": 4}))
    assert info["verifier"]["oracle"] is True and info["verifier"]["kind"] == "oracle"
    for a, p in zip(attempts, suite.problems):
        assert a.meta["oracle"] is True and a.meta["verifier"] == "oracle"
        assert suite.grade(a.final_text, p).correct == any(suite.grade(s.text, p).correct for s in a.samples)

    plain = load_config(None, {"engine.kind": "scripted"})
    other = EngineWorker(plain.engine.model_dump(), plain.model, 0, view, "w1", plain.actor_context())
    info, attempts = asyncio.run(go(other, "adaptive", {"n": 4, "pilot_n": 2}))
    assert "verifier" not in info and other.verifier is None
    assert all(a.error is None and "oracle" not in a.meta for a in attempts)


def test_aggregate():
    assert aggregate([0.5, 0.2, 0.9], "last") == 0.9
    assert aggregate([0.5, 0.2, 0.9], "min") == 0.2
    assert aggregate([0.5, 0.2], "product") == pytest.approx(0.1)
    assert aggregate([], "last") == 0.0

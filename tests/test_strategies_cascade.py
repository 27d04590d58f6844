"""Cascade logic on scripted engines: escalation on the cheap stage's own signal, per-model call records."""

from __future__ import annotations

import asyncio
import re

import pytest

from core.errors import UserError
from harness.engines.base import Prompt, SamplingParams
from harness.engines.scripted import ScriptedEngine
from harness.solve import SuiteView, solve
from harness.strategies import make_params
from suites import load_suite
from suites.generated.arith import evaluate

SERVED = {"base_url": "http://strong.invalid/v1", "served_model": "strong", "parameters": 7_000_000_000}


def exact(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """The strong tier: always right."""
    m = re.search(r"What is ([-\d+* ]+)\?", prompt.messages[-1][1])
    return f"The answer is {evaluate(m.group(1).split())}" if m else "?"


def _run(escalate: dict, n_problems: int = 12, cheap_temperature: float = 0.9):
    suite = load_suite(f"arith:n={n_problems},seed=5")
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    built: list[dict] = []
    strong = ScriptedEngine(exact)

    async def provider(settings: dict):
        built.append(settings)
        return strong

    params = {"stages": [{"strategy": "self_consistency", "params": {"n": 4, "temperature": cheap_temperature}},
                         {"strategy": "cot", **SERVED}], "escalate": escalate}

    async def go():
        return await asyncio.gather(*[solve(ScriptedEngine(), view, p.question(), "cascade", params, 0,
                                            model="cheap", engines=provider) for p in suite.problems])

    return suite, asyncio.run(go()), built


def test_cascade_escalates_only_unsure_problems_and_records_each_model():
    suite, attempts, built = _run({"agreement_below": 0.75})
    escalated = [a for a in attempts if a.meta["escalated"]]
    kept = [a for a in attempts if not a.meta["escalated"]]
    assert escalated and kept, "noisy votes escalate some problems, not all"
    assert all(a.meta["signals"]["agreement"] >= 0.75 for a in kept)
    assert all(a.meta["stage"] == 1 and {c.model for c in a.calls} == {"cheap", "strong"} for a in escalated)
    assert all({c.model for c in a.calls} == {"cheap"} for a in kept)
    assert all(c.stage.startswith("stage1:") for a in escalated for c in a.calls if c.model == "strong")
    gold = {p.id: p.answer for p in suite.problems}
    assert all(a.final_answer == gold[a.problem_id] for a in escalated), "the strong tier answers escalations"
    for a in attempts:  # samples of both tiers are kept, indexed in order, labelled with their stage
        assert [s.index for s in a.samples] == list(range(len(a.samples)))
        assert a.ledger.engine_calls == len(a.calls)
        assert sum(c.generated_tokens for c in a.calls) == a.ledger.generated_tokens
    assert all(s["served_model"] == "strong" for s in built)


def test_cascade_threshold_one_always_escalates_and_zero_never():
    _, always, _ = _run({"agreement_below": 1.01})
    _, never, built = _run({"agreement_below": 0.0}, cheap_temperature=0.0)
    assert all(a.meta["escalated"] for a in always)
    assert not any(a.meta["escalated"] for a in never) and not built, "a stage never used is never built"


def test_cascade_scores_with_the_verifier_when_asked():
    _, attempts, _ = _run({"score_below": 0.99, "agreement_below": None})
    assert all("score" in a.meta["signals"] or a.meta["stage"] == 1 for a in attempts)
    cheap_calls = [c for a in attempts for c in a.calls if c.model == "cheap"]
    assert cheap_calls, "the cheap tier ran"


def test_cascade_parameters_are_checked_before_running():
    with pytest.raises(UserError, match="at least two stages"):
        make_params("cascade", {"stages": [{"strategy": "cot"}]})
    with pytest.raises(UserError, match="served_model"):
        make_params("cascade", {"stages": [{"strategy": "cot"}, {"strategy": "cot", "base_url": "http://x/v1"}]})
    with pytest.raises(UserError, match="temperature"):
        make_params("cascade", {"stages": [{"strategy": "cot"}, {"strategy": "cot", "params": {"temperature": -1},
                                                                 **SERVED}]})
    assert make_params("cascade", {"stages": [{"strategy": "cot"}, {"strategy": "cot", **SERVED}]}).models() == \
        {"strong": 7_000_000_000}

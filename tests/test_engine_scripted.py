"""The scripted engine's simulated latency: a known first-token time and per-token time, reported exactly,
so that a latency fit (call seconds = a + b x output tokens) can be checked against the values it should find."""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np

from harness.engines import engine_settings, make_engine
from harness.engines.base import Prompt, SamplingParams
from harness.engines.scripted import ScriptedEngine
from harness.models import ModelRef
from harness.solve import SuiteView, solve
from suites import load_suite

FIRST, PER_TOKEN = 0.05, 0.004


def words(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """A reply whose length (5 to 80 words) depends on the problem, so calls span a range of token counts."""
    n = 5 + hashlib.sha256(prompt.messages[-1][1].encode()).digest()[0] % 76
    return " ".join(["w"] * n)


def test_first_token_time_is_reported_exactly_and_the_wall_time_follows_it():
    e = ScriptedEngine(words, first_token_seconds=FIRST, seconds_per_token=PER_TOKEN)
    r = asyncio.run(e.generate(Prompt.chat([{"role": "user", "content": "hi"}]), SamplingParams(n=2)))
    assert r.first_token_seconds == FIRST
    assert e.info()["first_token_seconds"] == FIRST
    plain = asyncio.run(ScriptedEngine(words).generate(Prompt.chat([{"role": "user", "content": "hi"}]),
                                                       SamplingParams()))
    assert plain.first_token_seconds is None, "no simulated latency: the engine times nothing"


def test_settings_carry_the_first_token_time_without_changing_the_identity():
    cfg = engine_settings({"kind": "scripted", "first_token_seconds": 0.3, "seconds_per_token": 0.01})
    assert cfg.identity() == engine_settings({"kind": "scripted"}).identity()
    e = make_engine(cfg, ModelRef("m", "m"), 0)
    assert isinstance(e, ScriptedEngine) and (e.first_token_seconds, e.seconds_per_token) == (0.3, 0.01)


def test_a_least_squares_fit_of_the_call_records_finds_the_simulated_latency():
    suite = load_suite("arith:n=24,seed=5")
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    engine = ScriptedEngine(words, first_token_seconds=FIRST, seconds_per_token=PER_TOKEN)

    async def all_problems():
        return await asyncio.gather(*(solve(engine, view, p.question(), "self_consistency", {"n": 1}, 0, model="m")
                                      for p in suite.problems))

    asyncio.run(solve(engine, view, suite.problems[0].question(), "self_consistency", {"n": 1}, 0))  # warm imports
    calls = [c for a in asyncio.run(all_problems()) for c in a.calls]
    assert len(calls) == 24 and len({c.generated_tokens for c in calls}) > 10
    assert all(abs((c.first_token - c.started) - FIRST) < 1e-6 for c in calls if c.first_token is not None)
    x = np.array([c.generated_tokens for c in calls], dtype=float)
    y = np.array([c.seconds for c in calls])
    b, a = np.polyfit(x, y, 1)
    assert abs(a - FIRST) < 0.02 and abs(b - PER_TOKEN) / PER_TOKEN < 0.1, (a, b)

"""The `prm` verifier on vLLM's pooling runner scores exactly as on transformers, for both PRM styles.

Tiny random PRMs (written locally) are served one after the other by a real in-process vLLM CPU
engine; many problems' score calls run concurrently, as the runner issues them, and every step
score must match the transformers backend's on the same weights and the same input ids.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.records import Question
from harness.models import resolve_model
from harness.verifiers import make_verifier
from harness.verifiers.base import Candidate, ScoreResult, Verifier
from harness.verifiers.prm import VLLMPRM, TransformersPRM
from harness.verifiers.tiny import make_tiny_prm
from tests.conftest import run_in_fresh_interpreter

pytestmark = pytest.mark.e2e

Q = Question("q1", {"expression": "3 + 4"})
PROBLEMS = [f"What is {a} + {b}?" for a in range(4) for b in range(4)]  # 16 problems in flight at once
CANDIDATES = [Candidate("a", ("Add the two numbers.", "That is 7.")), Candidate("b", ("Add them.",)),
              Candidate("long", tuple(f"Step {i}: carry on adding." for i in range(30)))]  # > max_length: cut
OPTIONS = {"step_tag": "\n\n", "max_length": 128}


async def score_all(prm: Verifier) -> list[ScoreResult]:
    return await asyncio.wait_for(asyncio.gather(*(prm.score(Q, p, CANDIDATES) for p in PROBLEMS)), 120)


def vllm_prm_matches_transformers(tmp_path: Path) -> None:
    tokenizer = resolve_model("embedded").path
    for style in ("token", "classifier"):  # one engine at a time: two would fight over 2 cores
        model = str(make_tiny_prm(tmp_path / style, tokenizer, style))
        ref = make_verifier("prm", model, {**OPTIONS, "style": style})
        assert isinstance(ref, TransformersPRM)
        want = asyncio.run(score_all(ref))
        loop = asyncio.new_event_loop()
        prm = make_verifier("prm", model, {**OPTIONS, "style": style, "backend": "vllm"})
        try:
            assert isinstance(prm, VLLMPRM)
            got = loop.run_until_complete(score_all(prm))
        finally:
            loop.run_until_complete(prm.close())
            loop.close()
        assert len(got) == len(PROBLEMS)
        for problem, g, w in zip(PROBLEMS, got, want):
            assert [len(s) for s in g.step_scores] == [2, 1, 30], style
            for gs, ws in zip(g.step_scores, w.step_scores):
                assert gs == pytest.approx(ws, abs=1e-3), style
            inputs = sum(len(prm.encode(problem, c.step_list())[0]) for c in CANDIDATES)
            assert g.tokens == w.tokens == inputs and g.calls == 1, "tokens = the PRM's input tokens"
        scores = [s for r in got for c in r.step_scores for s in c]
        assert all(0.0 < s < 1.0 for s in scores) and max(scores) - min(scores) > 1e-2, "scores tell steps apart"
        assert prm.parameters == ref.parameters and prm.info()["backend"] == "vllm"


# Like tests/test_e2e_strategies.py: vLLM's CPU worker must start in an interpreter that has not loaded
# llvmlite (numba, imported by other test modules), so the body runs in a fresh one.
if os.environ.get("THINKBENCH_E2E_INNER") == "1":
    test_vllm_prm_matches_transformers = vllm_prm_matches_transformers
else:
    def test_vllm_prm_matches_transformers_in_a_fresh_interpreter():
        run_in_fresh_interpreter(__file__)

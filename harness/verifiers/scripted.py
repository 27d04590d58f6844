"""A deterministic test verifier: scores from a function of (problem, step), token counts from words.

Lets tests check search algorithms step by step (which beams were kept, given known scores) and
lets `--engine scripted` runs exercise verifier strategies without a model.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence

from core.records import Question
from harness.verifiers.base import Candidate, ScoreResult
from harness.verifiers.spec import VERIFIERS, VerifierSpec

StepScorer = Callable[[str, list[str]], list[float]]  # (problem, steps) -> one score per step


def hash_scorer(problem: str, steps: list[str]) -> list[float]:
    """A stable pseudo-random score in [0, 1) for each step given the steps before it."""
    out = []
    for i in range(len(steps)):
        digest = hashlib.sha256("\x1f".join([problem, *steps[: i + 1]]).encode()).digest()
        out.append(int.from_bytes(digest[:8], "big") / 2**64)
    return out


class ScriptedVerifier:
    name = "scripted"
    oracle = False

    def __init__(self, scorer: StepScorer = hash_scorer, needs_logprobs: bool = False) -> None:
        self.scorer = scorer
        self.needs_logprobs = needs_logprobs
        self.parameters = None
        self.log: list[tuple[str, float]] = []  # (candidate text, last-step score) in scoring order
        self.reported = {"tokens": 0, "calls": 0}

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        scores = [self.scorer(problem, c.step_list()) for c in candidates]
        tokens = sum(len(problem.split()) + len(c.text.split()) for c in candidates)
        for c, s in zip(candidates, scores):
            self.log.append((c.text, s[-1]))
        self.reported["tokens"] += tokens
        self.reported["calls"] += 1
        return ScoreResult(scores, tokens=tokens, calls=1)

    def info(self) -> dict[str, Any]:
        return {"kind": "scripted"}

    async def close(self) -> None:
        return None


VERIFIERS.register(VerifierSpec("scripted", lambda v: ScriptedVerifier(**v.options), "scripted scores for tests"))

"""`oracle`: scores 1 for a candidate the grader marks correct against gold, else 0.

Only for upper bounds (pass@N: best-of-N with a perfect verifier). It is the one verifier that
sees gold, and only through a callback the worker builds when a run asks for it; every run and
attempt that used it is labelled `oracle: true`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from core.records import Question
from harness.verifiers.base import Candidate, ScoreResult

GoldCheck = Callable[[Question, str], bool]


class OracleVerifier:
    name = "oracle"
    oracle = True
    needs_logprobs = False
    parameters = None

    def __init__(self, check: GoldCheck) -> None:
        self.check = check

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        return ScoreResult([[1.0 if self.check(question, c.text) else 0.0] for c in candidates])

    def info(self) -> dict[str, Any]:
        return {"kind": "oracle", "oracle": True}

    async def close(self) -> None:
        return None

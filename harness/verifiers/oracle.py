"""`oracle`: scores 1 for a candidate the grader marks correct against gold, else 0.

Only for upper bounds (pass@N: best-of-N with a perfect verifier). It is the one verifier that
sees gold, and only through a callback the worker builds when a run asks for it; every run and
attempt that used it is labelled `oracle: true`.
"""

from __future__ import annotations

from typing import Any, Sequence

from core.records import Question
from harness.verifiers.base import Candidate, ScoreResult
from harness.verifiers.spec import VERIFIERS, GoldCheck, VerifierInputs, VerifierSpec


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


def _build(v: VerifierInputs) -> OracleVerifier:
    assert v.gold_check is not None  # reads_gold: the worker always hands it over
    return OracleVerifier(v.gold_check)


VERIFIERS.register(VerifierSpec("oracle", _build, "UPPER BOUND ONLY: 1 for a correct candidate by the gold answer",
                                reads_gold=True))

"""`public_tests` (code suites): the fraction of the prompt's own examples a program passes.

Only the examples a strategy can see (HumanEval docstring examples, MBPP's shown assert) are run,
in the same sandbox as grading (`evaluators.code.public_tests`); hidden tests are never read. The
evaluator is imported when first used, so this module loads without the code sandbox installed.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from core.records import Question
from harness.verifiers.base import Candidate, ScoreResult
from harness.verifiers.spec import VERIFIERS, VerifierSpec


def _score_one(text: str, question: Question) -> float:
    from evaluators.code.extract import extract_code  # noqa: PLC0415 - the sandbox loads only where a verifier runs programs
    from evaluators.code.public_tests import public_test_score  # noqa: PLC0415 - the sandbox loads only where a verifier runs programs

    program = extract_code(text)
    return 0.0 if program is None else float(public_test_score(program, question))


class PublicTestsVerifier:
    name = "public_tests"
    oracle = False
    needs_logprobs = False
    parameters = None

    def __init__(self, max_parallel: int = 4) -> None:
        self.max_parallel = max_parallel
        self._sem: asyncio.Semaphore | None = None

    async def _one(self, text: str, question: Question) -> float:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_parallel)
        async with self._sem:
            return await asyncio.to_thread(_score_one, text, question)

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        scores = await asyncio.gather(*(self._one(c.text, question) for c in candidates))
        return ScoreResult([[s] for s in scores], calls=len(candidates))

    def info(self) -> dict[str, Any]:
        return {"kind": "public_tests"}

    async def close(self) -> None:
        return None


VERIFIERS.register(VerifierSpec("public_tests", lambda v: PublicTestsVerifier(**v.options),
                                "runs a program against the public tests in its prompt, in the sandbox"))

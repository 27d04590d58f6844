"""`confidence`: scores from the policy's own token logprobs; no second model, no extra tokens.

`mean`: the geometric-mean token probability, exp(mean log-probability) (as in Kang et al. 2025,
"Scalable best-of-N selection via self-certainty", in spirit). `lowest_window`: exp of the
lowest mean log-probability over a sliding window of `window` tokens, the "lowest group
confidence" of DeepConf (Fu et al. 2025), which catches a confident solution's one shaky stretch.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Sequence

from core.records import Question
from harness.verifiers.base import Candidate, ScoreResult
from harness.verifiers.spec import VERIFIERS, VerifierSpec


def confidence(logprobs: Sequence[float], mode: Literal["mean", "lowest_window"] = "mean", window: int = 16) -> float:
    lps = [lp for lp in logprobs if not math.isinf(lp)]
    if not lps:
        return 0.0
    if mode == "mean" or len(lps) <= window:
        return math.exp(sum(lps) / len(lps))
    run = sum(lps[:window])
    lowest = run
    for i in range(window, len(lps)):
        run += lps[i] - lps[i - window]
        lowest = min(lowest, run)
    return math.exp(lowest / window)


class ConfidenceVerifier:
    name = "confidence"
    oracle = False
    needs_logprobs = True
    parameters = None

    def __init__(self, mode: Literal["mean", "lowest_window"] = "mean", window: int = 16) -> None:
        if mode not in ("mean", "lowest_window"):
            raise ValueError(f"confidence mode {mode!r}: choose mean or lowest_window")
        if window < 1:
            raise ValueError("confidence window must be at least 1")
        self.mode = mode
        self.window = window

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        return ScoreResult([[confidence(c.token_logprobs or (), self.mode, self.window)] for c in candidates])

    def info(self) -> dict[str, Any]:
        return {"kind": "confidence", "mode": self.mode, "window": self.window}

    async def close(self) -> None:
        return None


VERIFIERS.register(VerifierSpec("confidence", lambda v: ConfidenceVerifier(**v.options),
                                "the policy's own token log-probabilities (mean, or lowest window)"))

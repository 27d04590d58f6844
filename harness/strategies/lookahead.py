"""`lookahead`: beam search whose step scores come from rolling each candidate k steps ahead.

Snell et al. 2024 (Sec. 5, "lookahead search"): before a candidate step is scored, it is
continued greedily (temperature 0) for `lookahead` more steps and the verifier scores the end of
that rollout; the rollout is discarded but its tokens are charged. Beam search with lookahead 0
is plain beam search. Parameters: those of `beam_search` plus lookahead (k, 1).
"""

from __future__ import annotations

from pydantic import model_validator

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategySpec
from harness.strategies.beam_search import beam_search
from harness.strategies.step_search import StepSearchParams


class LookaheadParams(StepSearchParams):
    lookahead: int = 1

    @model_validator(mode="after")
    def _k(self) -> "LookaheadParams":
        if self.lookahead < 1:
            raise ValueError(f"lookahead must be at least 1, got {self.lookahead}")
        return self


async def lookahead(ctx: StrategyContext, p: LookaheadParams) -> Decision:
    return await beam_search(ctx, p, lookahead=p.lookahead)  # type: ignore[arg-type] # LookaheadParams has every BeamSearchParams field


STRATEGIES.register(StrategySpec("lookahead", lookahead, LookaheadParams,
                                 "beam search scored after k-step greedy rollouts"))

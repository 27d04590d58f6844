"""`weighted_best_of_n`: n samples; answers vote with the sum of their samples' verifier scores.

Weighted majority voting of Li et al. 2023 (DiVeRSe) and Uesato et al. 2022; Snell et al. 2024
call it "best-of-N weighted". Parameters as `best_of_n` (n, temperature, step_delimiter, agg).
"""

from __future__ import annotations

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategySpec
from harness.strategies.best_of_n import BestOfNParams, sample_and_score
from harness.strategies.scoring import weighted_vote


class WeightedBestOfNParams(BestOfNParams):
    pass


async def weighted_best_of_n(ctx: StrategyContext, p: WeightedBestOfNParams) -> Decision:
    await sample_and_score(ctx, p)
    winner = weighted_vote(ctx.samples, ctx.vote_key)
    if winner is None:
        return Decision(None, None)
    weight = sum(s.score or 0.0 for s in ctx.samples
                 if s.extracted is not None and winner.extracted is not None
                 and ctx.vote_key(s.extracted) == ctx.vote_key(winner.extracted))
    return Decision(winner.text, winner.extracted, {"weight": weight})


STRATEGIES.register(StrategySpec("weighted_best_of_n", weighted_best_of_n, WeightedBestOfNParams,
                                 "n samples, answers vote with summed verifier scores", sample_pool=True))

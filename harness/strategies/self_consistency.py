"""`self_consistency`: n samples, majority vote over normalised answers (Wang et al. 2022)."""

from __future__ import annotations

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.voting import majority


class SelfConsistencyParams(StrategyParams):
    n: int = 8
    temperature: float = 0.7


async def self_consistency(ctx: StrategyContext, p: SelfConsistencyParams) -> Decision:
    await ctx.generate(ctx.prompt(), p.sampling())
    winner = majority(ctx.samples, ctx.vote_key)
    if winner is None:
        return Decision(None, None, {"votes": 0})
    return Decision(winner.text, winner.extracted)


STRATEGIES.register(StrategySpec("self_consistency", self_consistency, SelfConsistencyParams,
                                 "n samples, majority vote", sample_pool=True))

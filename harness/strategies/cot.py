"""`cot`: one chain-of-thought sample (greedy at temperature 0, sampled otherwise). The baseline."""

from __future__ import annotations

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec


class CotParams(StrategyParams):
    n: int = 1


async def cot(ctx: StrategyContext, p: CotParams) -> Decision:
    result = await ctx.generate(ctx.prompt(), p.sampling(n=1))
    sample = ctx.samples[-1]
    return Decision(sample.text if result.completions else None, sample.extracted)


STRATEGIES.register(StrategySpec("cot", cot, CotParams, "one chain-of-thought sample", sample_pool=True))

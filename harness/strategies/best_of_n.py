"""`best_of_n`: n samples, the one the verifier scores highest (Cobbe et al. 2021; Lightman et al. 2023).

Parameters: n (samples, 8), temperature (0.7), max_tokens, step_delimiter (how a PRM splits a
solution into steps, a blank line), agg (how step scores make one: last, min, product or mean).
Samples already in the pool (an adaptive pilot) are scored and compete too.
"""

from __future__ import annotations

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.scoring import best_scored, score_samples
from harness.verifiers.base import Aggregation


class BestOfNParams(StrategyParams):
    n: int = 8
    temperature: float = 0.7
    step_delimiter: str = "\n\n"
    agg: Aggregation = "last"


async def sample_and_score(ctx: StrategyContext, p: BestOfNParams) -> None:
    await ctx.generate(ctx.prompt(), p.sampling(logprobs=0 if ctx.needs_logprobs else None))
    await score_samples(ctx, ctx.samples, p.step_delimiter, p.agg)


async def best_of_n(ctx: StrategyContext, p: BestOfNParams) -> Decision:
    await sample_and_score(ctx, p)
    best = best_scored(ctx.samples)
    if best is None:
        return Decision(None, None)
    return Decision(best.text, best.extracted, {"score": best.score})


STRATEGIES.register(StrategySpec("best_of_n", best_of_n, BestOfNParams,
                                 "n samples, the verifier's top-scored one", sample_pool=True))

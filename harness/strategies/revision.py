"""`revision`: sequential self-revision; each attempt sees the previous ones and revises them.

Snell et al. 2024 (Sec. 6) and Madaan et al. 2023 (Self-Refine): the model answers, then is
shown its last `context` attempts as earlier turns of the conversation and asked to revise,
n times per chain; `chains` chains run in parallel. The answer is chosen over all attempts by
majority vote (`vote`), the verifier's best (`verifier`), verifier-weighted vote (`weighted`),
or the vote over each chain's last attempt (`last`). Parameters: n (attempts per chain, 4),
chains (1), context (4), temperature (0.7), revise_prompt, select, step_delimiter, agg.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import model_validator

from core.records import Sample
from harness.engines.base import Prompt
from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.scoring import best_scored, score_samples, weighted_vote
from harness.strategies.voting import majority
from harness.verifiers.base import Aggregation

REVISE = ("Look at your previous answer above. If it contains a mistake, correct it; otherwise confirm it. "
          "Then give your final answer.")


class RevisionParams(StrategyParams):
    n: int = 4
    temperature: float = 0.7
    chains: int = 1
    context: int = 4
    revise_prompt: str = REVISE
    select: Literal["vote", "verifier", "weighted", "last"] = "vote"
    step_delimiter: str = "\n\n"
    agg: Aggregation = "last"

    @model_validator(mode="after")
    def _sizes(self) -> "RevisionParams":
        if self.chains < 1 or self.context < 1:
            raise ValueError("chains and context must be at least 1")
        return self


async def _chain(ctx: StrategyContext, p: RevisionParams, chain: int) -> list[Sample]:
    attempts: list[Sample] = []
    for turn in range(p.n):
        messages = ctx.template.render(ctx.question)
        for previous in attempts[-p.context:]:
            messages += [{"role": "assistant", "content": previous.text}, {"role": "user", "content": p.revise_prompt}]
        await ctx.generate(Prompt.chat(messages), p.sampling(n=1, logprobs=0 if ctx.needs_logprobs else None),
                           meta={"chain": chain, "turn": turn})
        attempts.append(ctx.samples[-1])  # appended by this call: no await between its append and here
    return attempts


async def revision(ctx: StrategyContext, p: RevisionParams) -> Decision:
    chains = await asyncio.gather(*(_chain(ctx, p, c) for c in range(p.chains)))
    pool = [s for chain in chains for s in chain]
    if p.select in ("verifier", "weighted"):
        await score_samples(ctx, pool, p.step_delimiter, p.agg)
        chosen = best_scored(pool) if p.select == "verifier" else weighted_vote(pool, ctx.vote_key)
    elif p.select == "last":
        chosen = majority([chain[-1] for chain in chains], ctx.vote_key)
    else:
        chosen = majority(pool, ctx.vote_key)
    if chosen is None:
        return Decision(None, None)
    return Decision(chosen.text, chosen.extracted, {"chosen_turn": chosen.meta.get("turn")})


STRATEGIES.register(StrategySpec("revision", revision, RevisionParams,
                                 "sequential self-revision, vote or verifier over attempts"))

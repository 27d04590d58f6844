"""`budget_forcing`: s1-style control of thinking length (Muennighoff et al. 2025, "s1").

The model thinks inside a partial assistant turn that stops at the end-of-thinking delimiter.
If it runs out of its thinking budget (`max_tokens`), the thinking is cut there and the answer
forced: the delimiter and `answer_prefix` are appended and at most `answer_max_tokens` more are
generated. If it stops early, `num_waits` times the delimiter is suppressed and `wait` appended
so it thinks on. Delimiters are plain strings and continuation uses `Prompt.assistant_prefix` plus
`stop`, so it works on any engine that can continue an assistant turn (vLLM, OpenAI-compatible
servers). Generated tokens never exceed max_tokens + answer_max_tokens per chain.
Parameters: max_tokens (thinking budget, 512), think_start ("" : text opening the thinking),
think_end ("</think>"), answer_prefix ("\\nFinal answer: "), wait ("Wait"), num_waits (0),
answer_max_tokens (32), n (independent chains, majority vote; 1), temperature (0).
"""

from __future__ import annotations

import asyncio

from pydantic import model_validator

from core.records import Sample
from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.voting import majority


class BudgetForcingParams(StrategyParams):
    max_tokens: int = 512
    think_start: str = ""
    think_end: str = "</think>"
    answer_prefix: str = "\nFinal answer: "
    wait: str = "Wait"
    num_waits: int = 0
    answer_max_tokens: int = 32

    @model_validator(mode="after")
    def _strings(self) -> "BudgetForcingParams":
        if not self.think_end:
            raise ValueError("think_end must be a non-empty string")
        if self.num_waits < 0 or self.answer_max_tokens < 1:
            raise ValueError("num_waits >= 0 and answer_max_tokens >= 1 are required")
        return self


async def _chain(ctx: StrategyContext, p: BudgetForcingParams, chain: int) -> Sample:
    trace, used, waits, forced = p.think_start, 0, 0, False
    while True:
        remaining = p.max_tokens - used
        if remaining <= 0:
            forced = True
            break
        r = await ctx.generate(ctx.prompt(trace), p.sampling(n=1, max_tokens=remaining, stop=(p.think_end, *p.stop)),
                               keep=False)
        c = r.completions[0]
        trace += c.text
        used += c.generated_tokens
        if c.finish_reason == "length":  # budget spent mid-thought: cut here and force the answer
            forced = True
            break
        if waits < p.num_waits:  # suppress the end of thinking and make it go on
            trace += ("" if trace.endswith((" ", "\n")) or not trace else " ") + p.wait
            waits += 1
            continue
        break
    head = trace + p.think_end + p.answer_prefix
    r = await ctx.generate(ctx.prompt(head), p.sampling(n=1, max_tokens=p.answer_max_tokens), keep=False)
    answer = r.completions[0].text
    return ctx.add_sample(head + answer, r.completions[0].finish_reason, used + r.generated_tokens,
                          extract_from=answer,
                          meta={"chain": chain, "thinking_tokens": used, "waits": waits, "forced": forced,
                                "answer": answer})


async def budget_forcing(ctx: StrategyContext, p: BudgetForcingParams) -> Decision:
    chains = await asyncio.gather(*(_chain(ctx, p, c) for c in range(p.n)))
    chosen = majority(list(chains), ctx.vote_key) or chains[0]
    return Decision(chosen.meta["answer"], chosen.extracted,
                    {k: chosen.meta[k] for k in ("thinking_tokens", "waits", "forced")})


STRATEGIES.register(StrategySpec("budget_forcing", budget_forcing, BudgetForcingParams,
                                 "s1 budget forcing: cut thinking at a budget or extend it with Wait"))

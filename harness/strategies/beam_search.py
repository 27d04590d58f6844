"""`beam_search`: step-level search guided by a (process) verifier (Snell et al. 2024, Sec. 5).

N first steps are sampled; each step, the N candidates are scored, finished ones are set apart,
the best N/M unfinished are kept and each is expanded M ways, until no beam is left or
`max_depth` steps. Parameters: n (N, 8), beam_width (M, 4), max_depth (10), step_delimiter
("\\n\\n"), step_max_tokens (256), max_tokens (per beam, 1024), temperature (0.8),
agg (step-score aggregation: last, min, product, mean), final_marker (None), select (best | weighted).
"""

from __future__ import annotations

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategySpec
from harness.strategies.step_search import Beam, StepSearchParams, decide, expand, search


class BeamSearchParams(StepSearchParams):
    pass


async def beam_search(ctx: StrategyContext, p: BeamSearchParams, lookahead: int = 0) -> Decision:
    trace: list[dict] = []
    first = await expand(ctx, p, Beam([]), p.n)
    finished = await search(ctx, p, first, keep=p.n // p.beam_width, width=p.beam_width, lookahead=lookahead,
                            trace=trace)
    return decide(ctx, p, finished, {"trace": trace})


STRATEGIES.register(StrategySpec("beam_search", beam_search, BeamSearchParams,
                                 "step-level beam search guided by a verifier"))

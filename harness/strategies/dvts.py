"""`dvts`: diverse verifier tree search (Beeching, Tunstall & Rush 2024, "Scaling test-time compute").

The N first steps are split into N/M independent subtrees of M; each subtree is a beam search
that keeps its single best beam and expands it M ways per step, never seeing the other subtrees'
beams, so one high-scoring line of thought cannot take over the whole budget (more diversity
than beam search at large N). Parameters as `beam_search`; here beam_width is M, the subtree width.
"""

from __future__ import annotations

import asyncio

from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategySpec
from harness.strategies.step_search import Beam, StepSearchParams, decide, expand, search


class DvtsParams(StepSearchParams):
    pass


async def dvts(ctx: StrategyContext, p: DvtsParams) -> Decision:
    first = await expand(ctx, p, Beam([]), p.n)
    m = p.beam_width
    trees = [first[i: i + m] for i in range(0, len(first), m)]
    for t, tree in enumerate(trees):
        for beam in tree:
            beam.tree = t
    traces: list[list[dict]] = [[] for _ in trees]
    results = await asyncio.gather(*(search(ctx, p, tree, keep=1, width=m, trace=tr)
                                     for tree, tr in zip(trees, traces)))
    return decide(ctx, p, [b for r in results for b in r], {"subtrees": len(trees)})


STRATEGIES.register(StrategySpec("dvts", dvts, DvtsParams, "diverse verifier tree search: N/M independent subtrees"))

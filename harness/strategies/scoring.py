"""Verifier scoring of a sample pool and the two verifier selection rules (best, weighted vote)."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from core.records import Sample
from harness.strategies.base import StrategyContext
from harness.verifiers.base import Aggregation, Candidate, aggregate


def candidate_of(ctx: StrategyContext, sample: Sample, delimiter: str) -> Candidate:
    return Candidate.split(sample.text, delimiter, ctx.sample_logprobs.get(sample.index))


async def score_samples(ctx: StrategyContext, samples: list[Sample], delimiter: str, agg: Aggregation) -> None:
    """Give every not-yet-scored sample its aggregated verifier score, in one verifier call."""
    todo = [s for s in samples if s.score is None]
    scores = await ctx.score([candidate_of(ctx, s, delimiter) for s in todo])
    for s, steps in zip(todo, scores):
        s.score = aggregate(steps, agg)


def best_scored(samples: list[Sample]) -> Sample | None:
    """Highest score; ties go to the earliest sample."""
    scored = [s for s in samples if s.score is not None]
    return max(scored, key=lambda s: (s.score, -s.index)) if scored else None


def weighted_vote(samples: list[Sample], vote_key: Callable[[str], str]) -> Sample | None:
    """The answer with the largest summed score wins (Li et al. 2023); its best-scored sample stands for it.
    Truncated samples do not vote, as in `majority`."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if s.votes and s.extracted is not None:
            groups[vote_key(s.extracted)].append(s)
    if not groups:
        return best_scored(samples)
    total = {k: sum(s.score or 0.0 for s in g) for k, g in groups.items()}
    winner = max(groups, key=lambda k: (total[k], -groups[k][0].index))
    return best_scored(groups[winner])

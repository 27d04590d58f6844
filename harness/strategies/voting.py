"""Answer aggregation shared by voting strategies: groups samples by their normalised answer."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from core.records import Sample


def majority(samples: list[Sample], vote_key: Callable[[str], str],
             weight: Callable[[Sample], float] = lambda s: 1.0) -> Sample | None:
    """The first sample of the heaviest answer group; ties go to the group seen first (stable).

    Samples with no answer, or cut off at their token limit, do not vote."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    totals: dict[str, float] = defaultdict(float)
    for s in samples:
        if not s.votes or s.extracted is None:
            continue
        key = vote_key(s.extracted)
        groups[key].append(s)
        totals[key] += weight(s)
    if not groups:
        return None
    best = max(groups, key=lambda k: (totals[k], -groups[k][0].index))
    return groups[best][0]

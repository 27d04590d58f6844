"""Accuracy against compute from one sample pool: pass@k and majority@k for every k <= n.

Pure functions over arrays, usable from the CLI, the app and tests.
- pass@k: the unbiased estimator of Chen et al. 2021, 1 - C(n-c, k) / C(n, k).
- majority@k: the exact expectation over all size-k subsets of the n samples when there are at
  most `exact_limit` subsets, else the mean over `draws` random subsets (an unbiased estimate,
  seeded). Ties between answer groups give fractional credit (the chance a uniform tie-break
  picks a correct group). Samples with no extracted answer never win a vote.
- compute at k: k times the problem's mean tokens per sample (expected cost of k samples).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _vote(keys: Sequence[str | None], correct: Sequence[bool]) -> float:
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    winners = [k for k, v in counts.items() if v == top]
    right = {k for k, ok in zip(keys, correct) if ok and k is not None}
    return sum(1 for w in winners if w in right) / len(winners)


def majority_at_k(keys: Sequence[str | None], correct: Sequence[bool], k: int, exact_limit: int = 20000,
                  draws: int = 2000, seed: int = 0) -> float:
    n = len(keys)
    if k > n or k <= 0:
        raise ValueError(f"k={k} outside 1..{n}")
    if math.comb(n, k) <= exact_limit:
        subsets = itertools.combinations(range(n), k)
        total, count = 0.0, 0
        for sub in subsets:
            total += _vote([keys[i] for i in sub], [correct[i] for i in sub])
            count += 1
        return total / count
    rng = random.Random(seed)
    return sum(_vote(*zip(*[(keys[i], correct[i]) for i in rng.sample(range(n), k)])) for _ in range(draws)) / draws


@dataclass
class CurvePoint:
    k: int
    tokens_per_problem: float
    pass_at_k: float
    majority_at_k: float


def pool_curve(problems: list[tuple[list[str | None], list[bool], list[int]]],
               ks: list[int] | None = None) -> list[CurvePoint]:
    """Mean over problems of pass@k and majority@k, with expected generated tokens per problem at k.

    Delegates to the vectorised estimators (leaderboard.estimators); the scalar functions above are
    the readable reference they are tested against."""
    import numpy as np  # noqa: PLC0415 - deferred with the estimators below

    from leaderboard import estimators as est  # noqa: PLC0415 - deferred: numba loads only when a curve is computed

    problems = [p for p in problems if p[0]]
    if not problems:
        return []
    n = min(len(p[0]) for p in problems)
    ks = ks or [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= n] or [n]
    off = np.cumsum([0] + [len(p[0]) for p in problems])
    codes: dict[str, int] = {}
    label = np.array([-1 if key is None else codes.setdefault(key, len(codes))
                      for keys, _, _ in problems for key in keys])
    correct = np.array([bool(c) for _, cs, _ in problems for c in cs])
    K = max(ks)
    maj = est.majority_curves(off, label, correct, K).mean(axis=0)
    pas = est.pass_curves(np.diff(off), np.add.reduceat(correct.astype(int), off[:-1]), K).mean(axis=0)
    per_sample = sum(sum(t) / len(t) for _, _, t in problems if t) / len(problems)
    return [CurvePoint(k, k * per_sample, float(pas[k - 1]), float(maj[k - 1])) for k in ks]

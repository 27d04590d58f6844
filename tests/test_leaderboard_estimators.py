"""The vectorised pool estimators against brute-force enumeration over all k-subsets."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter

import numpy as np
import pytest

from leaderboard import estimators as est

CODES = {"a": 0, "b": 1, "c": 2, None: -1}


def brute_majority(keys, correct, k):
    right = {key for key, ok in zip(keys, correct) if ok and key is not None}
    subsets = list(itertools.combinations(range(len(keys)), k))
    total = 0.0
    for sub in subsets:
        counts = Counter(keys[i] for i in sub if keys[i] is not None)
        if counts:
            top = max(counts.values())
            winners = [a for a, c in counts.items() if c == top]
            total += sum(w in right for w in winners) / len(winners)
    return total / len(subsets)


def brute_best_of(scores, correct, k):
    subsets = list(itertools.combinations(range(len(scores)), k))
    key = [(-math.inf if math.isnan(s) else s) for s in scores]
    total = 0.0
    for sub in subsets:
        top = max(key[i] for i in sub)
        best = [i for i in sub if key[i] == top]
        total += sum(correct[i] for i in best) / len(best)
    return total / len(subsets)


def brute_pass(correct, k):
    subsets = list(itertools.combinations(correct, k))
    return sum(any(s) for s in subsets) / len(subsets)


def random_pool(rng: random.Random, n: int):
    keys = [rng.choice(["a", "a", "b", "c", None]) for _ in range(n)]
    correct = [k == "a" for k in keys]
    scores = [rng.choice([0.1, 0.5, 0.9, float("nan")]) for _ in range(n)]
    return keys, correct, scores


def csr(pools):
    off = np.cumsum([0] + [len(p[0]) for p in pools])
    label = np.array([CODES[k] for p in pools for k in p[0]])
    correct = np.array([c for p in pools for c in p[1]])
    score = np.array([s for p in pools for s in p[2]], dtype=float)
    return off, label, correct, score


@pytest.mark.parametrize("seed", range(6))
def test_exact_paths_match_enumeration(seed):
    rng = random.Random(seed)
    pools = [random_pool(rng, rng.randint(3, 10)) for _ in range(8)]
    off, label, correct, score = csr(pools)
    K = min(len(p[0]) for p in pools)
    maj = est.majority_curves(off, label, correct, K)
    bok = est.best_of_k_curves(off, score, correct, K)
    pas = est.pass_curves(np.diff(off), np.add.reduceat(correct.astype(int), off[:-1]), K)
    for i, (keys, ok, sc) in enumerate(pools):
        for k in range(1, K + 1):
            assert maj[i, k - 1] == pytest.approx(brute_majority(keys, ok, k), abs=1e-12)
            assert bok[i, k - 1] == pytest.approx(brute_best_of(sc, ok, k), abs=1e-12)
            assert pas[i, k - 1] == pytest.approx(brute_pass(ok, k), abs=1e-12)


def test_every_k_up_to_n_single_pool():
    rng = random.Random(7)
    keys, ok, sc = random_pool(rng, 11)
    off, label, correct, score = csr([(keys, ok, sc)])
    maj = est.majority_curves(off, label, correct, 11)[0]
    assert maj == pytest.approx([brute_majority(keys, ok, k) for k in range(1, 12)], abs=1e-12)
    bok = est.best_of_k_curves(off, score, correct, 11)[0]
    assert bok == pytest.approx([brute_best_of(sc, ok, k) for k in range(1, 12)], abs=1e-12)


def test_large_pool_estimate_is_close_and_exact_at_the_ends():
    """n=15 is above the exact limit (Monte Carlo) yet small enough to enumerate."""
    rng = random.Random(3)
    pools = [random_pool(rng, 15) for _ in range(4)]
    off, label, correct, _ = csr(pools)
    mc = est.majority_curves(off, label, correct, 15, draws=3000)
    for i, (keys, ok, _) in enumerate(pools):
        exact = [brute_majority(keys, ok, k) for k in range(1, 16)]
        assert mc[i, 0] == pytest.approx(exact[0], abs=1e-12)    # k=1 is set exactly
        assert mc[i, -1] == pytest.approx(exact[-1], abs=1e-12)  # k=n: every ordering agrees
        assert np.max(np.abs(mc[i] - exact)) < 0.03


def test_estimate_is_unbiased_across_seeds():
    """The mean over independent seeds converges to the exact value (no systematic error)."""
    rng = random.Random(11)
    keys, ok, _ = random_pool(rng, 14)
    off, label, correct, _ = csr([(keys, ok, [0.0] * 14)])
    exact = np.array([brute_majority(keys, ok, k) for k in range(1, 15)])
    runs = np.stack([est.majority_curves(off, label, correct, 14, draws=32, seed=s)[0] for s in range(60)])
    se = runs.std(axis=0) / np.sqrt(len(runs)) + 1e-9
    assert np.all(np.abs(runs.mean(axis=0) - exact) < 4 * se + 1e-9)


def test_ragged_pools_and_k_up_to_smallest_pool():
    rng = random.Random(5)
    pools = [random_pool(rng, n) for n in (4, 7, 13, 20)]
    off, label, correct, score = csr(pools)
    maj = est.majority_curves(off, label, correct, 4, draws=4000)
    bok = est.best_of_k_curves(off, score, correct, 4)
    for i, (keys, ok, sc) in enumerate(pools):
        for k in range(1, 5):
            assert bok[i, k - 1] == pytest.approx(brute_best_of(sc, ok, k), abs=1e-12)
            if len(keys) <= 13:
                tolerance = 0.03 if len(keys) > 12 else 1e-12
                assert maj[i, k - 1] == pytest.approx(brute_majority(keys, ok, k), abs=tolerance)


def test_no_answers_never_win_and_all_right_is_one():
    off = np.array([0, 4, 8])
    label = np.array([-1, -1, -1, -1, 0, 0, 0, 0])
    correct = np.array([True, True, False, False, True, True, True, True])
    maj = est.majority_curves(off, label, correct, 4)
    assert maj[0].tolist() == [0, 0, 0, 0]
    assert maj[1].tolist() == [1, 1, 1, 1]


def test_draws_scale_with_pool_size():
    assert est.draws_for(10) == est.MAX_DRAWS
    assert est.draws_for(10**9) == est.MIN_DRAWS

"""Vectorised pool estimators: for each problem, expected accuracy of every k <= n from one pool of n samples.

A pool is given in CSR form: samples of problem i are rows off[i]:off[i+1], with an integer answer
label per sample (-1: no extracted answer, never votes), a correctness flag and an optional verifier
score (NaN: none). Each estimator returns a (problems, K) matrix whose column k-1 is the expected
accuracy of a uniformly random k-subset of the pool, for k = 1..K with K = min n.

- pass@k: the unbiased closed form 1 - C(n-c, k) / C(n, k) (Chen et al. 2021), as a cumulative product.
- best-of-k by verifier: exact. The best of a random k-subset is the sample ranked i-th by score
  (0-based, descending) with probability C(n-1-i, k-1) / C(n, k); samples with equal scores share
  their block's mean correctness (uniform tie-break); samples without a score rank last.
- majority@k: an answer group counts as correct when any of its samples is graded correct; ties
  between groups give fractional credit (the chance a uniform tie-break picks a correct group).
  Exact by enumerating all 2^n subsets when n <= `exact_n`. Above that, the exact expectation costs
  far too much (the joint law of all group counts), so we use an unbiased estimate: R fixed-seed
  random orderings of the pool, whose first k samples are a uniform k-subset for every k at once.
  Every problem and every configuration uses the same orderings (common random numbers), so paired
  comparisons do not pick up independent Monte Carlo noise. k = 1 and k = n are exact.
  R is chosen so a configuration costs about `mc_steps` sample visits (at least 16, at most 256);
  its noise is part of the per-problem values the bootstrap resamples.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

EXACT_N = 12
MC_STEPS = 1_500_000
MIN_DRAWS, MAX_DRAWS = 16, 256


def pool_sizes(off: np.ndarray) -> np.ndarray:
    return np.diff(off).astype(np.int64)


def pass_curves(n: np.ndarray, c: np.ndarray, K: int) -> np.ndarray:
    """pass@k for k = 1..K (K <= min n): 1 - prod_{j<k} (n-c-j)/(n-j)."""
    n = np.asarray(n, dtype=np.float64)[:, None]
    c = np.asarray(c, dtype=np.float64)[:, None]
    j = np.arange(K, dtype=np.float64)[None, :]
    fail = np.clip(n - c - j, 0, None) / (n - j)
    return 1.0 - np.cumprod(fail, axis=1)


def _bok_weights(n: int, K: int) -> np.ndarray:
    """W[i, k-1] = C(n-1-i, k-1) / C(n, k): chance the i-th best sample is the best of a random k-subset."""
    i = np.arange(n, dtype=np.float64)[:, None]
    k = np.arange(1, K + 1, dtype=np.float64)[None, :]
    ratio = np.clip(n - i[:-1] - k, 0, None) / (n - 1 - i[:-1])  # w(i+1,k) / w(i,k)
    w = np.empty((n, K))
    w[0] = k[0] / n
    if n > 1:
        w[1:] = w[0] * np.cumprod(ratio, axis=0)
    return w


def best_of_k_curves(off: np.ndarray, score: np.ndarray, correct: np.ndarray, K: int) -> np.ndarray:
    """Expected correctness of the top-scored sample of a random k-subset, exactly."""
    sizes = pool_sizes(off)
    P = len(sizes)
    prob = np.repeat(np.arange(P), sizes)
    s = np.where(np.isnan(score), -np.inf, score)
    if P and (sizes == sizes[0]).all():  # equal pools: sort each row, cheaper than one global lexsort
        n0 = int(sizes[0])
        order = (np.argsort(-s.reshape(P, n0), axis=1, kind="stable") + off[:-1, None]).ravel()
    else:
        order = np.lexsort((-s, prob))  # by problem, then score descending
    s_sorted, y_sorted, p_sorted = s[order], correct[order].astype(np.float64), prob[order]
    block_start = np.ones(len(s_sorted), dtype=bool)
    block_start[1:] = (s_sorted[1:] != s_sorted[:-1]) | (p_sorted[1:] != p_sorted[:-1])
    starts = np.flatnonzero(block_start)
    block_id = np.cumsum(block_start) - 1
    means = np.add.reduceat(y_sorted, starts) / np.diff(np.append(starts, len(s_sorted)))
    y_tied = means[block_id]
    out = np.empty((P, K))
    rank = np.arange(len(s_sorted)) - np.repeat(off[:-1], sizes)
    for n in np.unique(sizes):
        rows = np.flatnonzero(sizes == n)
        Y = np.zeros((len(rows), n))
        mask = np.isin(p_sorted, rows)
        Y[np.searchsorted(rows, p_sorted[mask]), rank[mask]] = y_tied[mask]
        out[rows] = Y @ _bok_weights(int(n), K)
    return out


@njit(cache=True, nogil=True)
def _group_correct(off, label, correct, gcorr):  # pragma: no cover - compiled
    """Per sample: whether its answer group (same label in the same problem) has any correct sample."""
    G = gcorr.shape[0]
    flag = np.zeros(G, np.bool_)
    out = np.zeros(label.shape[0], np.bool_)
    for p in range(off.shape[0] - 1):
        for i in range(off[p], off[p + 1]):
            if label[i] >= 0 and correct[i]:
                flag[label[i]] = True
        for i in range(off[p], off[p + 1]):
            if label[i] >= 0:
                out[i] = flag[label[i]]
        for i in range(off[p], off[p + 1]):
            if label[i] >= 0:
                flag[label[i]] = False
    return out


@njit(cache=True, nogil=True)
def _majority_exact(off, label, gright, K, G, out):  # pragma: no cover - compiled
    """Sum the vote credit of all 2^n subsets, by subset size; divide by C(n, k)."""
    counts = np.zeros(G, np.int32)
    for p in range(off.shape[0] - 1):
        a, n = off[p], off[p + 1] - off[p]
        acc = np.zeros(n + 1)
        for mask in range(1, 1 << n):
            size = 0
            M = 0
            ties = 0
            good = 0
            for j in range(n):
                if (mask >> j) & 1:
                    size += 1
                    g = label[a + j]
                    if g >= 0:
                        c = counts[g] + 1
                        counts[g] = c
                        if c > M:
                            M, ties, good = c, 1, (1 if gright[a + j] else 0)
                        elif c == M:
                            ties += 1
                            good += 1 if gright[a + j] else 0
            if M > 0:
                acc[size] += good / ties
            for j in range(n):
                if (mask >> j) & 1 and label[a + j] >= 0:
                    counts[label[a + j]] = 0
        binom = 1.0
        for k in range(1, K + 1):
            binom = binom * (n - k + 1) / k
            out[p, k - 1] = acc[k] / binom


@njit(cache=True, nogil=True)
def _majority_mc(off, label, gright, perms, K, G, out):  # pragma: no cover - compiled
    """Vote credit of every prefix of R shared random orderings; a prefix of length k is a uniform k-subset."""
    R, N = perms.shape
    counts = np.zeros(N, np.int32)
    local = np.full(G, -1, np.int64)
    lab = np.empty(N, np.int64)   # the pool's answers relabelled 0..G_p-1 (-1: no answer)
    right = np.zeros(N, np.int64)  # per local label: 1 when that answer group is correct
    inv = np.empty(N + 2)
    inv[0] = 0.0
    for t in range(1, N + 2):
        inv[t] = 1.0 / t
    order = np.empty(N, np.int64)
    acc = np.empty(N)
    for p in range(off.shape[0] - 1):
        a, n = off[p], off[p + 1] - off[p]
        used = 0
        for i in range(n):
            g = label[a + i]
            if g < 0:
                lab[i] = -1
                continue
            if local[g] < 0:
                local[g] = used
                right[used] = 1 if gright[a + i] else 0
                used += 1
            lab[i] = local[g]
        for i in range(n):
            if label[a + i] >= 0:
                local[label[a + i]] = -1
        acc[:n] = 0.0
        for r in range(R):
            if n == N:
                for t in range(n):
                    order[t] = perms[r, t]
            else:
                m = 0
                for t in range(N):  # restricting a permutation of 0..N-1 to values < n permutes 0..n-1
                    v = perms[r, t]
                    if v < n:
                        order[m] = v
                        m += 1
            M = 0
            ties = 1
            good = 0
            for t in range(n):
                g = lab[order[t]]
                if g >= 0:
                    c = counts[g] + 1
                    counts[g] = c
                    if c > M:
                        M, ties, good = c, 1, right[g]
                    elif c == M:
                        ties += 1
                        good += right[g]
                acc[t] += good * inv[ties]
            counts[:used] = 0
        for k in range(K):
            out[p, k] = acc[k] / R


def draws_for(total_samples: int, mc_steps: int = MC_STEPS) -> int:
    return int(np.clip(mc_steps // max(total_samples, 1), MIN_DRAWS, MAX_DRAWS))


def shared_orderings(draws: int, n_max: int, seed: int = 0) -> np.ndarray:
    """The fixed-seed orderings every problem and configuration shares (common random numbers)."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((draws, n_max)), axis=1).astype(np.int64)


def majority_curves(off: np.ndarray, label: np.ndarray, correct: np.ndarray, K: int, exact_n: int = EXACT_N,
                    draws: int | None = None, seed: int = 0) -> np.ndarray:
    """majority@k for k = 1..K per problem: exact for small pools, an unbiased estimate for large ones."""
    off = np.asarray(off, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    correct = np.asarray(correct, dtype=np.bool_)
    sizes = pool_sizes(off)
    P = len(sizes)
    out = np.zeros((P, K))
    if P == 0 or K == 0:
        return out
    G = int(label.max()) + 1 if len(label) else 1
    gright = _group_correct(off, label, correct, np.zeros(max(G, 1), np.bool_))
    small = sizes <= exact_n
    for rows, exact in ((np.flatnonzero(small), True), (np.flatnonzero(~small), False)):
        if len(rows) == 0:
            continue
        sub_off, sub_label, sub_right = _take(off, rows, label, gright)
        part = np.zeros((len(rows), K))
        if exact:
            _majority_exact(sub_off, sub_label, sub_right, K, max(G, 1), part)
        else:
            R = draws or draws_for(int(sizes[rows].sum()))
            perms = shared_orderings(R, int(sizes[rows].max()), seed)
            _majority_mc(sub_off, sub_label, sub_right, perms, K, max(G, 1), part)
            voting = (sub_label >= 0) & sub_right  # k = 1 exactly; k = n is exact already (every ordering agrees)
            part[:, 0] = np.add.reduceat(voting.astype(np.float64), sub_off[:-1]) / pool_sizes(sub_off)
        out[rows] = part
    return out


def keep_samples(off: np.ndarray, keep: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """The CSR pool of the kept samples only (a pool may become smaller, or empty)."""
    sizes = pool_sizes(off)
    counts = np.bincount(np.repeat(np.arange(len(sizes)), sizes)[keep], minlength=len(sizes))
    new_off = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_off[1:])
    return (new_off, *(c[keep] for c in cols))


def by_pool_size(off: np.ndarray, K: int, curve: Callable[..., np.ndarray], *cols: np.ndarray) -> np.ndarray:
    """(P, K) curves of ragged pools: `curve(off, *cols, K_m)` on each group of pools of size m with K_m = min(m, K);
    NaN where k exceeds a pool's size (an empty pool is NaN throughout)."""
    sizes = pool_sizes(off)
    out = np.full((len(sizes), K), np.nan)
    for m in np.unique(sizes[sizes > 0]):
        rows = np.flatnonzero(sizes == m)
        sub_off, *sub = _take(off, rows, *cols)
        km = min(int(m), K)
        out[rows, :km] = curve(sub_off, *sub, km)[:, :km]
    return out


def _take(off: np.ndarray, rows: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """The CSR sub-pool of the given problems."""
    sizes = pool_sizes(off)[rows]
    new_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sizes, out=new_off[1:])
    idx = np.repeat(off[rows] - new_off[:-1], sizes) + np.arange(new_off[-1])
    return (new_off, *(c[idx] for c in cols))

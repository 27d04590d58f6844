"""Compute-matched ranking with paired-bootstrap intervals, the Pareto frontier, log-compute AUC, breakdowns.

Budget rule: at budget B on an axis, a configuration scores its accuracy at the largest k whose
expected cost per problem is <= B; a configuration with no point within B is "over budget".

Intervals: every configuration is evaluated on the same problems (those all of them share), and one
set of bootstrap resamples of those problems serves every configuration (paired), so the intervals,
the differences to the leader and the ranks all come from the same resamples. 95% percentile
intervals by default.

Ties: a configuration whose interval overlaps the leader's is marked tied with it. Ranks are
"competition" ranks that only count configurations better beyond noise: rank = 1 + the number of
configurations whose whole interval lies above this one's. Two configurations are therefore never
ranked apart while their intervals overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard.curves import Config

N_BOOT = 2000
N_BAND = 200  # resamples for the interval of every curve point (curve_band)


@dataclass
class Point:
    key: str
    k: int
    cost: float
    acc: float


def common_problems(configs: list[Config]) -> np.ndarray:
    """Problems every configuration has, in the first configuration's order."""
    if not configs:
        return np.array([], dtype=object)
    shared = set(configs[0].problems)
    for c in configs[1:]:
        shared &= set(c.problems)
    return np.array([p for p in configs[0].problems if p in shared], dtype=object)


def pick_k(cost: np.ndarray, budget: float) -> int | None:
    """Index of the largest curve point within budget (costs rise with k), or None."""
    within = np.flatnonzero(cost <= budget * (1 + 1e-9))
    return int(within[-1]) if len(within) else None


@lru_cache(maxsize=4)
def bootstrap_weights(n_problems: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, P) resample counts / P: the mean over a resample is weights @ values.

    Cached (read-only): every configuration of a view shares the same resamples, drawn once."""
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems), size=n_boot) / n_problems
    w.flags.writeable = False
    return w


def default_budget(configs: list[Config], axis: str, problems: np.ndarray | None = None) -> float:
    """The largest budget at which every configuration still runs its whole pool: the smallest full cost."""
    fulls = [c.cost(axis, c.rows(problems))[-1] for c in configs if not c.oracle]
    fulls = [f for f in fulls if np.isfinite(f)]
    if not fulls:
        raise UserError(f"no configuration records compute on axis {axis!r}; pick another --axis")
    return float(min(fulls))


def rank(configs: list[Config], budget: float, axis: str = "generated", alpha: float = 0.05,
         n_boot: int = N_BOOT, seed: int = 0, problems: np.ndarray | None = None) -> pd.DataFrame:
    """The compute-matched leaderboard at `budget` (oracle configurations excluded)."""
    configs = [c for c in configs if not c.oracle]
    cols = ["rank", "tied", "label", "key", "suite", "method", "k", "cost", "cost_p50", "cost_p95", "accuracy", "lo",
            "hi", "delta", "delta_lo", "delta_hi", "truncated", "accuracy_excl", "problems", "status"]
    if not configs:
        return pd.DataFrame(columns=cols)
    problems = common_problems(configs) if problems is None else problems
    if len(problems) == 0:
        raise UserError("the configurations share no problems; pick runs of the same suite")
    rows, over = [], []
    for c in configs:
        idx = c.rows(problems)
        j = pick_k(c.cost(axis, idx), budget)
        if j is None:
            over.append(c)
            continue
        rows.append((c, j, c.cost(axis, idx)[j], c.acc[idx, j], idx))
    if not rows:
        return pd.DataFrame(columns=cols)
    A = np.stack([r[3] for r in rows], axis=1)  # (P, C)
    point = A.mean(axis=0)
    boot = bootstrap_weights(len(problems), n_boot, seed) @ A  # (n_boot, C)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    lead = int(np.argmax(point))
    diff = boot - boot[:, [lead]]
    dlo, dhi = np.quantile(diff, [alpha / 2, 1 - alpha / 2], axis=0)
    ranks = 1 + (lo[None, :] > hi[:, None]).sum(axis=1)
    tied = (lo <= hi[lead]) & (hi >= lo[lead]) & (np.arange(len(rows)) != lead)
    df = pd.DataFrame({
        "rank": ranks, "tied": tied, "label": [r[0].label for r in rows], "key": [r[0].key for r in rows],
        "suite": [r[0].suite for r in rows], "method": [r[0].method for r in rows],
        "k": [int(r[0].ks[r[1]]) for r in rows], "cost": [float(r[2]) for r in rows], "accuracy": point,
        "lo": lo, "hi": hi, "delta": point - point[lead], "delta_lo": dlo, "delta_hi": dhi,
        "cost_p50": [float(r[0].cost_quantile(axis, 0.5, r[4])[r[1]]) for r in rows],
        "cost_p95": [float(r[0].cost_quantile(axis, 0.95, r[4])[r[1]]) for r in rows],
        "truncated": [r[0].truncation(r[4]) for r in rows],
        "accuracy_excl": [float(r[0].accuracy_excl(r[4])[r[1]]) for r in rows],
        "problems": len(problems), "status": [r[0].status for r in rows],
    })
    df = df.sort_values(["rank", "accuracy"], ascending=[True, False], kind="stable").reset_index(drop=True)
    df.attrs["over_budget"] = [c.label for c in over]
    df.attrs["budget"], df.attrs["axis"] = budget, axis
    return df


def rank_label(df: pd.DataFrame) -> list[str]:
    """'1', '=1' ... : '=' marks a rank shared with another configuration (tied within noise)."""
    counts = df["rank"].value_counts()
    return [f"={r}" if counts[r] > 1 else str(r) for r in df["rank"]]


def frontier(configs: list[Config], axis: str, problems: np.ndarray | None = None) -> list[Point]:
    """(compute, accuracy) points across configurations that no other point beats on both."""
    pts = []
    for c in configs:
        if c.oracle:
            continue
        idx = c.rows(problems)
        for j, (x, y) in enumerate(zip(c.cost(axis, idx), c.accuracy(idx))):
            if np.isfinite(x):
                pts.append(Point(c.key, int(c.ks[j]), float(x), float(y)))
    pts.sort(key=lambda p: (p.cost, -p.acc))
    out, best = [], -np.inf
    for p in pts:
        if p.acc > best:
            out.append(p)
            best = p.acc
    return out


def log_auc(cost: np.ndarray, acc: np.ndarray, lo: float, hi: float) -> float:
    """Mean compute-matched accuracy over log-budgets in [lo, hi]: the area under the step curve
    acc(B) = accuracy at the largest point within B (0 below the first point), over log10(hi/lo)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo or lo <= 0:
        return float(acc[-1]) if len(acc) else float("nan")
    order = np.argsort(cost)
    cost, acc = np.asarray(cost)[order], np.asarray(acc)[order]
    best = np.maximum.accumulate(acc)  # a larger budget can always use a smaller k
    edges = np.clip(np.log10(np.append(cost, hi)), np.log10(lo), np.log10(hi))
    widths = np.diff(edges)
    return float((best * widths).sum() / np.log10(hi / lo))


def summary(configs: list[Config], axis: str, problems: np.ndarray | None = None) -> pd.DataFrame:
    """Per configuration: full-pool accuracy and cost, and the log-compute AUC over the shared range."""
    recs = []
    curves = [(c, c.cost(axis, c.rows(problems)), c.accuracy(c.rows(problems))) for c in configs]
    finite = [x for _, x, _ in curves if np.isfinite(x).all() and len(x)]
    lo = min(x[0] for x in finite) if finite else np.nan
    hi = max(x[-1] for x in finite) if finite else np.nan
    for c, x, y in curves:
        recs.append({"label": c.label, "key": c.key, "method": c.method, "oracle": c.oracle, "k_max": int(c.ks[-1]),
                     "cost_max": float(x[-1]), "accuracy_max": float(y[-1]), "auc_log": log_auc(x, y, lo, hi)})
    return pd.DataFrame(recs)


def difficulty_bins(values: np.ndarray, max_levels: int = 8, n_bins: int = 4) -> np.ndarray:
    """Labels per problem: each level when there are few distinct difficulties, else quantile bins."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), "unknown", dtype=object)
    ok = np.isfinite(v)
    levels = np.unique(v[ok])
    if len(levels) == 0:
        return out
    if len(levels) <= max_levels:
        out[ok] = [f"{x:g}" for x in v[ok]]
        return out
    edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, n_bins + 1)))
    idx = np.clip(np.searchsorted(edges, v[ok], side="right") - 1, 0, len(edges) - 2)
    out[ok] = [f"[{edges[i]:g}, {edges[i + 1]:g}{']' if i == len(edges) - 2 else ')'}" for i in idx]
    return out


def breakdown(configs: list[Config], budget: float, axis: str = "generated", by: str = "difficulty",
              alpha: float = 0.05, n_boot: int = 400, seed: int = 0) -> pd.DataFrame:
    """Accuracy at the budget per configuration within each group (suite, subject or difficulty bin)."""
    if by not in ("suite", "subject", "difficulty"):
        raise UserError(f"breakdown by {by!r}: choose suite, subject or difficulty")
    recs = []
    for c in configs:
        if c.oracle:
            continue
        j = pick_k(c.cost(axis), budget)
        if j is None:
            continue
        groups = {"suite": np.full(len(c.problems), c.suite, dtype=object),
                  "subject": np.array([s if isinstance(s, str) and s else "-" for s in c.subject], dtype=object),
                  "difficulty": difficulty_bins(c.difficulty)}[by]
        for g in pd.unique(groups):
            vals = c.acc[groups == g, j]
            boot = bootstrap_weights(len(vals), n_boot, seed) @ vals
            lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
            recs.append({"group": g, "label": c.label, "key": c.key, "k": int(c.ks[j]), "problems": len(vals),
                         "accuracy": float(vals.mean()), "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(recs, columns=["group", "label", "key", "k", "problems", "accuracy", "lo", "hi"])


def curve_band(config: Config, problems: np.ndarray | None = None, alpha: float = 0.05, n_boot: int = N_BAND,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bootstrap interval of the mean accuracy at every k (the CI bands and every table's points).

    N_BAND resamples (every k of every configuration, so fewer than the ranked table's N_BOOT): a point's interval
    is the same in the CLI table, the PNG, the app and the export; the ranked table's may differ in the third digit."""
    acc = config.acc[config.rows(problems)]
    boot = bootstrap_weights(len(acc), n_boot, seed) @ acc
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi

"""Configurations and their accuracy-vs-compute curves, built from a snapshot of the store.

A configuration is one run read out with one selection method:
- `majority`: majority@k over the run's sample pool (needs no gold, no verifier);
- `best_of_k`: the top verifier-scored sample of k (only when the run stored verifier scores);
- `pass`: pass@k, an oracle upper bound (it peeks at gold), drawn but never ranked;
- `as_run`: strategies whose samples are not independent draws (beam search, revision, ...) give one
  point, the attempt as it was run.
Only runs whose samples are i.i.d. draws yield curves for k < n: the run's manifest says so
(`sample_pool`, from its strategy's spec); runs stored before the manifest carried it ask the
strategy registry (`is_sample_pool`).

Compute at k: a uniform k-subset of a problem's n samples costs, in expectation, k/n of what the whole
attempt cost on the chosen axis. That is exact for generated tokens (k times the mean sample length)
and the documented convention for the prompt, verifier, FLOPs and wall-time shares of the attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from leaderboard import estimators as est
from leaderboard.snapshot import Pools, Snapshot

AXES = {
    "generated": "generated tokens per problem",
    "total": "total tokens per problem (prompt + generated + verifier)",
    "flops": "FLOPs per problem",
    "wall": "wall seconds per problem",
}
METHODS = {"majority": "majority@k", "best_of_k": "best-of-k (verifier)", "pass": "pass@k (oracle)", "as_run": "as run"}
HIDDEN_PARAMS = {"top_p", "max_tokens", "stop"}


@dataclass
class Config:
    key: str
    run_id: str
    suite: str
    label: str
    method: str
    model: str
    strategy: str
    status: str
    problems: np.ndarray            # (P,) problem ids
    ks: np.ndarray                  # (K,) samples drawn at each curve point
    acc: np.ndarray                 # (P, K) expected accuracy per problem at each k
    unit_cost: dict[str, np.ndarray]  # axis -> (P,) cost of one sample (k=1); NaN where unknown
    difficulty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    subject: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    @property
    def oracle(self) -> bool:
        return self.method == "pass"

    def rows(self, problems: np.ndarray | None) -> np.ndarray:
        if problems is None:
            return np.arange(len(self.problems))
        index = pd.Index(self.problems)
        return index.get_indexer(problems)

    def cost(self, axis: str, rows: np.ndarray | None = None) -> np.ndarray:
        unit = self.unit_cost[axis] if rows is None else self.unit_cost[axis][rows]
        return self.ks * (float(np.mean(unit)) if len(unit) else np.nan)

    def accuracy(self, rows: np.ndarray | None = None) -> np.ndarray:
        a = self.acc if rows is None else self.acc[rows]
        return a.mean(axis=0) if len(a) else np.full(len(self.ks), np.nan)


def label_for(model: str, strategy: str, identity_json: str | None, method: str) -> str:
    params = json.loads(identity_json or "{}").get("params", {})
    bits = [f"{k}={v}" for k, v in sorted(params.items()) if k not in HIDDEN_PARAMS]
    seed = json.loads(identity_json or "{}").get("seed")
    if seed:
        bits.append(f"seed={seed}")
    head = f"{model} · {strategy} {' '.join(bits)}".strip()
    return head if method == "as_run" else f"{head} · {METHODS[method]}"


def is_sample_pool(strategy: str, manifest_json: str | dict | None) -> bool:
    """Whether a run's samples are i.i.d. draws, so that any k of its n samples are a valid smaller budget.

    The run's manifest records it (`sample_pool`); a run stored before that key existed is read by
    its strategy's spec, so an old store still ranks and compares as it did.
    """
    manifest = json.loads(manifest_json or "{}") if not isinstance(manifest_json, dict) else manifest_json
    if "sample_pool" in manifest:
        return bool(manifest["sample_pool"])
    return _registry_sample_pool(strategy)


@lru_cache(maxsize=None)
def _registry_sample_pool(strategy: str) -> bool:
    """The strategy spec's `sample_pool`; False for a strategy no longer registered (one point, as run)."""
    from harness.strategies import STRATEGIES  # noqa: PLC0415 - deferred: only runs stored before the manifest key need it

    if strategy not in STRATEGIES:
        return False
    return STRATEGIES[strategy].sample_pool


def _axis_costs(att: pd.DataFrame) -> dict[str, np.ndarray]:
    def f(c: str) -> np.ndarray:
        return pd.to_numeric(att[c], errors="coerce").astype(float).to_numpy()

    gen = np.nan_to_num(f("generated_tokens"))
    return {
        "generated": gen,
        "total": np.nan_to_num(f("prompt_tokens")) + gen + np.nan_to_num(f("verifier_tokens")),
        "flops": f("flops"),
        "wall": f("wall_seconds"),
    }


def build(snap: Snapshot, methods: tuple[str, ...] = tuple(METHODS), draws: int | None = None) -> list[Config]:
    """Every configuration of every run in the snapshot (runs with no finished problem are skipped)."""
    pools = snap.pools
    att_all = snap.attempts
    att_all = att_all[att_all["error"].isna()] if len(att_all) else att_all
    by_run = dict(tuple(att_all.groupby("run_id", sort=False))) if len(att_all) else {}
    run_bounds = _run_bounds(pools.pool_run)
    out: list[Config] = []
    for run in snap.runs.itertuples(index=False):
        att = by_run.get(run.run_id)
        if att is None or att.empty:
            continue
        base = dict(run_id=run.run_id, suite=run.suite, model=run.model, strategy=run.strategy,
                    status=run.status)
        a, b = run_bounds.get(run.run_id, (0, 0))
        if is_sample_pool(run.strategy, run.manifest) and b > a:
            out += _pool_configs(run, att, pools, a, b, methods, draws, base)
        elif "as_run" in methods:
            cost = _axis_costs(att)
            label = label_for(run.model, run.strategy, run.identity, "as_run")
            out.append(Config(key=f"{run.run_id}:as_run", label=label,
                              method="as_run", problems=att.problem_id.to_numpy(dtype=object), ks=np.ones(1),
                              acc=att.correct.fillna(False).astype(float).to_numpy()[:, None], unit_cost=cost,
                              difficulty=att.difficulty.astype(float).to_numpy(),
                              subject=att.subject.to_numpy(dtype=object), **base))
    return out


def _run_bounds(pool_run: np.ndarray) -> dict[str, tuple[int, int]]:
    if len(pool_run) == 0:
        return {}
    change = np.flatnonzero(pool_run[1:] != pool_run[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(pool_run)]])
    return {pool_run[s]: (int(s), int(e)) for s, e in zip(starts, ends)}


def _pool_configs(run: Any, att: pd.DataFrame, pools: Pools, a: int, b: int, methods: tuple[str, ...],
                  draws: int | None, base: dict[str, Any]) -> list[Config]:
    """A pool run's curves (majority, best-of-k, pass) over pools a:b, on the problems it finished."""
    att = att.set_index("problem_id")
    probs = pools.pool_problem[a:b]
    keep = np.flatnonzero(pd.Index(probs).isin(att.index))
    if len(keep) == 0:
        return []
    off, label, correct, score = est._take(pools.off, a + keep, pools.label, pools.correct, pools.score)
    probs = probs[keep]
    sizes = est.pool_sizes(off)
    K = int(sizes.min())
    att = att.loc[probs]
    unit = {ax: v / sizes for ax, v in _axis_costs(att).items()}
    ks = np.arange(1, K + 1, dtype=float)
    common = dict(problems=probs, ks=ks, unit_cost=unit, difficulty=att.difficulty.astype(float).to_numpy(),
                  subject=att.subject.to_numpy(dtype=object), **base)
    out = []

    def mk(m: str, acc: np.ndarray) -> Config:
        return Config(key=f"{run.run_id}:{m}", label=label_for(run.model, run.strategy, run.identity, m),
                      method=m, acc=acc, **common)

    if "majority" in methods:
        out.append(mk("majority", est.majority_curves(off, label, correct, K, draws=draws)))
    if "best_of_k" in methods and np.isfinite(score).any():
        out.append(mk("best_of_k", est.best_of_k_curves(off, score, correct, K)))
    if "pass" in methods:
        c = np.add.reduceat(correct.astype(np.int64), off[:-1])
        out.append(mk("pass", est.pass_curves(sizes, c, K)))
    return out

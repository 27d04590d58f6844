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

Truncation: a sample whose generation stopped at its token limit (finish_reason 'length') never committed to an
answer. In majority@k and best-of-k it counts as no answer (it never wins a vote and is never a correct pick),
exactly like a sample with no extracted answer; pass@k, the oracle bound, still counts it when it was graded
correct. Every configuration also carries its truncation rate (share of pool samples truncated; for `as_run`,
share of attempts whose meta says `truncated`, unknown where none says) and its accuracy excluding truncated
samples (the same estimator over each problem's untruncated samples; a problem with fewer than k of them is left
out at k).

Compute at k: a uniform k-subset of a problem's n samples costs, in expectation, k/n of what the whole
attempt cost on the chosen axis. That is exact for generated tokens (k times the mean sample length)
and the documented convention for the prompt, verifier, FLOPs, wall-time, dollar and latency shares of the
attempt (for latency a convention, not a measurement: parallel samples overlap, so k of them take about as long as
n; only the full pool's point is the latency the run measured).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from leaderboard import estimators as est
from leaderboard.snapshot import Pools, Snapshot

AXES = {
    "generated": "generated tokens per problem",
    "total": "total tokens per problem (prompt + generated + verifier)",
    "flops": "FLOPs per problem",
    "wall": "wall seconds per problem",
    "dollars": "dollars per problem",
    "latency": "critical-path seconds per problem",
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
    trunc: np.ndarray | None = None     # (P,) share of the problem's samples (attempt) truncated; NaN: unknown
    acc_excl: np.ndarray | None = None  # (P, K) accuracy over untruncated samples; NaN: fewer than k of them

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

    def cost_quantile(self, axis: str, q: float, rows: np.ndarray | None = None) -> np.ndarray:
        """The q-quantile over problems of the cost per problem at each k (k x the problem's one-sample cost):
        the p50 / p95 shown beside the mean on the latency axis."""
        unit = self.unit_cost[axis] if rows is None else self.unit_cost[axis][rows]
        return self.ks * (float(np.quantile(unit, q)) if len(unit) else np.nan)

    def accuracy(self, rows: np.ndarray | None = None) -> np.ndarray:
        a = self.acc if rows is None else self.acc[rows]
        return a.mean(axis=0) if len(a) else np.full(len(self.ks), np.nan)

    def truncation(self, rows: np.ndarray | None = None) -> float:
        """Share of truncated samples over the problems (NaN when no problem says)."""
        if self.trunc is None:
            return 0.0
        t = self.trunc if rows is None else self.trunc[rows]
        return _nanmean(t[:, None])[0]

    def accuracy_excl(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Accuracy at each k with truncated samples left out (NaN at a k no problem reaches)."""
        if self.acc_excl is None:
            return self.accuracy(rows)
        return _nanmean(self.acc_excl if rows is None else self.acc_excl[rows])


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Column means over finite entries; NaN for a column with none (no RuntimeWarning)."""
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    return np.where(n > 0, np.where(ok, a, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)


def label_for(model: str, strategy: str, identity_json: str | None, method: str) -> str:
    params = json.loads(identity_json or "{}").get("params", {})
    bits = [f"{k}={_shown(v)}" for k, v in sorted(params.items()) if k not in HIDDEN_PARAMS]
    seed = json.loads(identity_json or "{}").get("seed")
    if seed:
        bits.append(f"seed={seed}")
    head = f"{model} · {strategy} {' '.join(bits)}".strip()
    return head if method == "as_run" else f"{head} · {METHODS[method]}"


def _shown(value: Any) -> str:
    """A parameter value on one line: strings with whitespace or control characters are quoted and escaped;
    nested settings (a cascade's stages) compactly, unset entries left out."""
    if isinstance(value, str) and (not value.isprintable() or " " in value or not value):
        return json.dumps(value)
    if isinstance(value, dict):
        items = {k: v for k, v in value.items() if v is not None and v != {}}
        if "strategy" in items:  # a nested strategy: name(params, where)
            inner = {**items.pop("params", {}), **{k: v for k, v in items.items() if k != "strategy"}}
            return f"{items['strategy']}({','.join(f'{k}={_shown(v)}' for k, v in sorted(inner.items()))})"
        return "{" + ",".join(f"{k}={_shown(v)}" for k, v in sorted(items.items())) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return str(value)


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
        "dollars": f("dollars") if "dollars" in att else np.full(len(att), np.nan),
        "latency": f("critical_path_seconds") if "critical_path_seconds" in att else np.full(len(att), np.nan),
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
            out.append(_as_run_config(run, att, base))
    return out


def _as_run_config(run: Any, att: pd.DataFrame, base: dict[str, Any]) -> Config:
    """One point: the attempt as run, at the cost its ledger recorded."""
    acc = att.correct.fillna(False).astype(float).to_numpy()
    flag = att["truncated"] if "truncated" in att else pd.Series([None] * len(att))
    trunc = pd.to_numeric(flag.astype(object).map({True: 1.0, False: 0.0}), errors="coerce").to_numpy(dtype=float)
    return Config(key=f"{run.run_id}:as_run", label=label_for(run.model, run.strategy, run.identity, "as_run"),
                  method="as_run", problems=att.problem_id.to_numpy(dtype=object), ks=np.ones(1),
                  acc=acc[:, None], unit_cost=_axis_costs(att), difficulty=att.difficulty.astype(float).to_numpy(),
                  subject=att.subject.to_numpy(dtype=object), trunc=trunc,
                  acc_excl=np.where(trunc == 1.0, np.nan, acc)[:, None], **base)


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
    off, label, correct, score, cut = est._take(pools.off, a + keep, pools.label, pools.correct, pools.score,
                                                pools.truncated)
    probs = probs[keep]
    sizes = est.pool_sizes(off)
    K = int(sizes.min())
    att = att.loc[probs]
    unit = {ax: v / sizes for ax, v in _axis_costs(att).items()}
    common = dict(problems=probs, ks=np.arange(1, K + 1, dtype=float), unit_cost=unit,
                  difficulty=att.difficulty.astype(float).to_numpy(), subject=att.subject.to_numpy(dtype=object),
                  trunc=np.add.reduceat(cut.astype(np.float64), off[:-1]) / sizes, **base)
    out = []
    for m, curve in _estimators(methods, draws, score):
        acc = curve(off, label, correct, score, cut, K)
        if cut.any():  # the same estimator over each problem's untruncated samples
            sub = est.keep_samples(off, ~cut, label, correct, score, cut)
            excl = est.by_pool_size(sub[0], K, curve, *sub[1:])
        else:
            excl = acc
        out.append(Config(key=f"{run.run_id}:{m}", label=label_for(run.model, run.strategy, run.identity, m),
                          method=m, acc=acc, acc_excl=excl, **common))
    return out


Curve = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def _estimators(methods: tuple[str, ...], draws: int | None, score: np.ndarray) -> list[tuple[str, Curve]]:
    """(method, curve(off, label, correct, score, truncated, K)) for the requested methods this pool supports.
    A truncated sample votes as no answer and is never a correct best-of-k pick; pass@k counts it as graded."""

    def majority(off: np.ndarray, label: np.ndarray, correct: np.ndarray, score: np.ndarray, cut: np.ndarray,
                 K: int) -> np.ndarray:
        return est.majority_curves(off, np.where(cut, -1, label), correct, K, draws=draws)

    def best_of_k(off: np.ndarray, label: np.ndarray, correct: np.ndarray, score: np.ndarray, cut: np.ndarray,
                  K: int) -> np.ndarray:
        return est.best_of_k_curves(off, score, correct & ~cut, K)

    def pass_(off: np.ndarray, label: np.ndarray, correct: np.ndarray, score: np.ndarray, cut: np.ndarray,
              K: int) -> np.ndarray:
        return est.pass_curves(est.pool_sizes(off), np.add.reduceat(correct.astype(np.int64), off[:-1]), K)

    table: list[tuple[str, Curve]] = [("majority", majority), ("best_of_k", best_of_k), ("pass", pass_)]
    return [(m, f) for m, f in table if m in methods and (m != "best_of_k" or np.isfinite(score).any())]

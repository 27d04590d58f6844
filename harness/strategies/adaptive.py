"""`adaptive`: compute-optimal allocation by estimated difficulty (Snell et al. 2024, Sec. 3-4).

A small pilot (`pilot_n` samples) estimates how hard the problem is for this model, without gold:
`agreement` (1 - share of the pilot's most common answer) or `verifier` (1 - mean verifier
score). The difficulty falls in a bin (`bin_edges` over [0, 1]); the bin's entry of `table` says
which strategy spends the rest of the budget. The budget `n` counts generations (samples, or
beams for step search) per problem, pilot included: the chosen strategy runs with n - pilot_n,
and sampling strategies (self_consistency, best_of_n, weighted_best_of_n) reuse the pilot
samples in their pool, so a problem costs exactly n generations.

The table is calibration data, not something this strategy learns: `calibration_table` below
builds it from stored runs on a held-out calibration split (the first `split` of the problems)
and `allocation_report` compares adaptive, uniform and oracle-difficulty runs on the rest.
`difficulty_from: oracle` bins by the pilot's true pass rate (gold, through the worker's gold
check): an upper bound, labelled `oracle: true` on every attempt.

Parameters: n (16), pilot_n (4), temperature (0.7), difficulty_from (agreement | verifier |
oracle), bin_edges ((0.2, 0.4, 0.6, 0.8): five bins as in Snell et al.), table (bin index ->
strategy name, or {strategy: name, **its params except n}), default (self_consistency),
step_delimiter, agg.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import model_validator

from core.records import Sample
from harness import queries
from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.scoring import score_samples
from harness.verifiers.base import Aggregation

if TYPE_CHECKING:
    from harness.store import Store

Entry = str | dict[str, Any]


class AdaptiveParams(StrategyParams):
    n: int = 16
    temperature: float = 0.7
    pilot_n: int = 4
    difficulty_from: Literal["agreement", "verifier", "oracle"] = "agreement"
    bin_edges: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
    table: dict[str, Entry] = {}
    default: Entry = "self_consistency"
    step_delimiter: str = "\n\n"
    agg: Aggregation = "last"

    @model_validator(mode="after")
    def _budget(self) -> "AdaptiveParams":
        if not 1 <= self.pilot_n < self.n:
            raise ValueError(f"pilot_n must lie in [1, n), got pilot_n={self.pilot_n}, n={self.n}")
        if list(self.bin_edges) != sorted(self.bin_edges) or not all(0 < e < 1 for e in self.bin_edges):
            raise ValueError("bin_edges must be increasing and inside (0, 1)")
        for entry in [*self.table.values(), self.default]:
            name, extra = split_entry(entry)
            if name == "adaptive" or "n" in extra:
                raise ValueError(f"table entry {entry!r}: a strategy other than adaptive, without n (n is the budget)")
        return self


def split_entry(entry: Entry) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    extra = dict(entry)
    return str(extra.pop("strategy")), extra


def agreement_difficulty(answers: list[str | None], vote_key: Callable[[str], str]) -> float:
    """1 - the share of the most common answer (no answer counts against agreement)."""
    keys = [vote_key(a) for a in answers if a is not None]
    if not answers or not keys:
        return 1.0
    return 1.0 - Counter(keys).most_common(1)[0][1] / len(answers)


def difficulty_bin(difficulty: float, edges: tuple[float, ...] | list[float]) -> int:
    return bisect.bisect_right(list(edges), difficulty)


async def estimate_difficulty(ctx: StrategyContext, p: AdaptiveParams, pilot: list[Sample]) -> float:
    if p.difficulty_from == "agreement":
        return agreement_difficulty([s.extracted for s in pilot], ctx.vote_key)
    if p.difficulty_from == "verifier":
        await score_samples(ctx, pilot, p.step_delimiter, p.agg)
        return 1.0 - sum(s.score or 0.0 for s in pilot) / len(pilot)
    return 1.0 - sum(ctx.is_correct(s.text) for s in pilot) / len(pilot)


async def adaptive(ctx: StrategyContext, p: AdaptiveParams) -> Decision:
    await ctx.generate(ctx.prompt(), p.sampling(n=p.pilot_n, logprobs=0 if ctx.needs_logprobs else None),
                       meta={"pilot": True})
    pilot = list(ctx.samples)
    difficulty = await estimate_difficulty(ctx, p, pilot)
    b = difficulty_bin(difficulty, p.bin_edges)
    name, extra = split_entry(p.table.get(str(b), p.default))
    spec = STRATEGIES.get(name)
    common: dict[str, Any] = {"n": p.n - p.pilot_n, "temperature": p.temperature, "top_p": p.top_p,
                              "max_tokens": p.max_tokens, "stop": p.stop}
    sub = spec.params(**{k: v for k, v in common.items() if k in spec.params.model_fields}, **extra)
    decision = await spec.fn(ctx, sub)
    return Decision(decision.text, decision.answer,
                    {**decision.meta, "difficulty": difficulty, "bin": b, "chosen": name, "pilot_n": p.pilot_n})


# --- calibration and reporting from stored runs (no engine needed) -------------------------------------------


def _split_ids(store: Store, run_id: str, split: float) -> tuple[set[str], set[str]]:
    """(calibration, held-out) problem ids: the first `split` of the suite's problems calibrate."""
    rows = store.query(queries.RUN_PROBLEM_ORDER, [run_id])
    cut = int(round(split * len(rows)))
    return {r[0] for r in rows[:cut]}, {r[0] for r in rows[cut:]}


def pilot_difficulties(store: Store, pilot_run: str, pilot_n: int, source: str = "agreement") -> dict[str, float]:
    """Difficulty per problem from the first `pilot_n` stored samples of a sampling run.

    `agreement` needs no gold (what `adaptive` estimates online); `oracle` uses the samples'
    grades (true pass rate), for the oracle-difficulty comparison only.
    """
    rows = store.query(queries.PILOT_SAMPLES, [pilot_run, pilot_n])
    by: dict[str, list[tuple[str | None, bool]]] = defaultdict(list)
    for pid, key, correct in rows:
        by[pid].append((key, bool(correct)))
    if source == "oracle":
        return {pid: 1.0 - sum(c for _, c in v) / len(v) for pid, v in by.items()}
    return {pid: agreement_difficulty([k for k, _ in v], lambda a: a) for pid, v in by.items()}


def calibration_table(store: Store, pilot_run: str, candidate_runs: list[str], split: float = 0.5, pilot_n: int = 4,
                      bin_edges: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8),
                      source: str = "agreement") -> dict[str, Entry]:
    """Per difficulty bin, the candidate run (strategy + params) most accurate on the calibration split.

    Candidate runs should all have spent the same budget (their n = adaptive's n - pilot_n); ties
    go to the run with fewer generated tokens. Bins with no calibration problem are left out
    (adaptive then uses its `default`).
    """
    calib, _ = _split_ids(store, pilot_run, split)
    diff = pilot_difficulties(store, pilot_run, pilot_n, source)
    bins = {pid: difficulty_bin(d, bin_edges) for pid, d in diff.items() if pid in calib}
    best: dict[int, tuple[float, float, Entry]] = {}
    for rid in candidate_runs:
        strategy, ident = store.query(queries.RUN_STRATEGY_IDENTITY, [rid])[0]
        params = json.loads(ident)["params"] if isinstance(ident, str) else ident["params"]
        defaults = StrategyParams().model_dump(mode="json")
        extra = {k: v for k, v in params.items() if k not in defaults and k != "n"}
        entry: Entry = {"strategy": strategy, **extra} if extra else strategy
        per_bin: dict[int, list[tuple[bool, int]]] = defaultdict(list)
        for pid, correct, gen in store.query(queries.RUN_ATTEMPT_OUTCOMES, [rid]):
            if pid in bins:
                per_bin[bins[pid]].append((bool(correct), int(gen or 0)))
        for b, results in per_bin.items():
            acc = sum(c for c, _ in results) / len(results)
            tokens = sum(g for _, g in results) / len(results)
            if b not in best or (acc, -tokens) > (best[b][0], -best[b][1]):
                best[b] = (acc, tokens, entry)
    return {str(b): entry for b, (_, _, entry) in sorted(best.items())}


def allocation_report(store: Store, runs: dict[str, str], split_run: str, split: float = 0.5) -> list[dict[str, Any]]:
    """Accuracy and mean generated tokens of each labelled run (adaptive, uniform, oracle) on the held-out split."""
    _, held = _split_ids(store, split_run, split)
    out = []
    for label, rid in runs.items():
        rows = [r for r in store.query(queries.RUN_ATTEMPT_COSTS, [rid]) if r[0] in held]
        n = len(rows)
        out.append({"label": label, "run_id": rid, "problems": n,
                    "accuracy": sum(bool(r[1]) for r in rows) / n if n else None,
                    "generated_tokens": sum(int(r[2] or 0) for r in rows) / n if n else None,
                    "verifier_tokens": sum(int(r[3] or 0) for r in rows) / n if n else None})
    return out


STRATEGIES.register(StrategySpec("adaptive", adaptive, AdaptiveParams,
                                 "compute-optimal: pilot difficulty picks the strategy"))

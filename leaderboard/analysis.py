"""The one analysis path: what the CLI report, the PNG, the app, `export` and `compare` read.

Built on `snapshot` (one brief read-only read), `curves` (configurations: pool curves for i.i.d. runs, one point
as run for the others, truncation rule) and `ranking` (paired bootstrap, ties). Every view takes its numbers
and labels from here, so a number means the same thing wherever it appears.

- `select`: the configurations a request asks for, or a one-line `UserError` when a run cannot provide the
  method or axis asked for (majority@k of a beam search run; FLOPs with unknown parameter counts).
- `points`: one row per curve point: cost, accuracy, 95% interval, truncation rate, accuracy excluding truncation.
- `suite_view`: a suite's configurations on one axis, the shared problems, the default budget and the ranked table.
- `tie_warning`, `lift`: whether the ranking and a configuration's gain from k = 1 to its largest k are beyond noise.
- `errors`: each run's failed attempts (engine died past its retries, prompt too long, ...), counted apart from wrong
  answers: accuracy is over the graded problems, and `error_warning` speaks up past `ERROR_WARN`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard import curves, ranking, snapshot
from leaderboard.curves import Config
from leaderboard.snapshot import Snapshot

SHORT = {"majority": "majority@", "best_of_k": "best-of-", "pass": "pass@"}
NO_AXIS_HINT = {"flops": " (its parameter counts are unknown)", "wall": " (no wall times were recorded)",
                "latency": " (it was stored before engine calls were recorded)"}


def select(snap: Snapshot, configs: list[Config], methods: list[str] | None = None, axis: str | None = None,
           ) -> list[Config]:
    """The configurations of the requested methods; a run that can provide none of them, or no cost on `axis`,
    is bad input (one line naming the run and what it can provide)."""
    if axis is not None and axis not in curves.AXES:
        raise UserError(f"--axis {axis!r}: choose one of {', '.join(curves.AXES)}")
    for m in methods or []:
        if m not in curves.METHODS:
            raise UserError(f"--method {m!r}: choose one of {', '.join(curves.METHODS)}")
    chosen = [c for c in configs if not methods or c.method in methods]
    for run in snap.runs.itertuples(index=False):
        own = [c for c in configs if c.run_id == run.run_id]
        if not own:
            continue
        mine = [c for c in chosen if c.run_id == run.run_id]
        if not mine:
            has = ", ".join(curves.METHODS[c.method] for c in own)
            why = "" if curves.is_sample_pool(run.strategy, run.manifest) else \
                ": its samples are not an i.i.d. pool, so it is one point as run"
            raise UserError(f"run {run.run_id} ({run.strategy}) provides {has} only{why}; "
                            f"no {' or '.join(curves.METHODS[m] for m in methods or [])}")
        if axis is not None and not all(np.isfinite(c.cost(axis)).all() for c in mine):
            raise UserError(no_axis_message(snap.path, run.run_id, run.strategy, axis))
    return chosen


def no_axis_message(db: str | Path | None, run_id: str, strategy: str, axis: str) -> str:
    """Why a run has no cost on an axis, in one line; on the dollars axis, which model lacks a price and how to
    add it (read from the run's calls, only when asked)."""
    if axis == "dollars":
        from harness.reprice import unpriced_message  # noqa: PLC0415 - deferred: needed only on this error path

        return unpriced_message(run_id, snapshot.unpriced_calls(db, run_id))
    return f"run {run_id} ({strategy}) records no {curves.AXES[axis]}{NO_AXIS_HINT.get(axis, '')}; pick another --axis"


def points(c: Config, problems: np.ndarray | None, axis: str) -> pd.DataFrame:
    """Every curve point of one configuration on the given problems: k, cost on `axis` (mean per problem, and its
    p50 and p95 over problems), accuracy with its 95% bootstrap interval over problems, truncation rate and
    accuracy excluding truncated samples."""
    idx = c.rows(problems)
    lo, hi = ranking.curve_band(c, problems)
    return pd.DataFrame({"key": c.key, "label": c.label, "method": c.method, "oracle": c.oracle,
                         "k": c.ks.astype(int), "cost": c.cost(axis, idx), "cost_p50": c.cost_quantile(axis, 0.5, idx),
                         "cost_p95": c.cost_quantile(axis, 0.95, idx), "accuracy": c.accuracy(idx),
                         "lo": lo, "hi": hi, "truncated": c.truncation(idx), "accuracy_excl": c.accuracy_excl(idx)})


@dataclass
class SuiteView:
    suite: str
    axis: str
    configs: list[Config]   # every configuration with a cost on the axis (oracle ones included)
    problems: np.ndarray    # shared by every ranked configuration
    budget: float
    table: pd.DataFrame     # ranking.rank at the budget
    errors: dict[str, "Errors"] = field(default_factory=dict)  # run id -> its failed attempts (`errors(snap)`)

    @property
    def ranked(self) -> list[Config]:
        return [c for c in self.configs if not c.oracle]


def suite_view(configs: list[Config], suite: str, axis: str = "generated", budget: float | None = None) -> SuiteView:
    """A suite's configurations ranked at `budget` (default: the smallest full-pool cost) on `axis`."""
    drawn = [c for c in configs if c.suite == suite and np.isfinite(c.cost(axis)).all()]
    ranked = [c for c in drawn if not c.oracle]
    if not ranked:
        raise UserError(f"no finished configuration of suite {suite!r} records {curves.AXES[axis]}")
    problems = ranking.common_problems(ranked)
    if len(problems) == 0:
        raise UserError(f"the configurations of suite {suite!r} share no problems; pick runs with --run")
    budget = ranking.default_budget(ranked, axis, problems) if budget is None else budget
    return SuiteView(suite, axis, drawn, problems, budget, ranking.rank(ranked, budget, axis, problems=problems))


def tie_warning(table: pd.DataFrame) -> str | None:
    """One line when ranking's tie rule puts configurations on a shared rank (their intervals overlap)."""
    if len(table) < 2:
        return None
    counts = table["rank"].value_counts()
    shared = counts[counts > 1]
    if shared.empty:
        return None
    ranks = ", ".join(f"={r}" for r in sorted(shared.index))
    return (f"warning: {int(shared.sum())} of {len(table)} configurations share a rank ({ranks}): their 95% "
            "intervals overlap, so their order at this budget is a tie within noise")


@dataclass
class Lift:
    label: str
    method: str
    k: int
    diff: float
    lo: float
    hi: float

    @property
    def beyond_noise(self) -> bool:
        return self.lo > 0 or self.hi < 0

    def line(self) -> str:
        m = SHORT[self.method]
        verdict = "beyond noise" if self.beyond_noise else "within noise"
        return (f"lift {m}{self.k} - {m}1: {self.diff:+.2f} [{self.lo:+.2f}, {self.hi:+.2f}] ({verdict}) "
                f"for {self.label}")


def lift(c: Config, problems: np.ndarray | None = None, alpha: float = 0.05, n_boot: int = ranking.N_BOOT,
         seed: int = 0) -> Lift | None:
    """The gain from k = 1 to the largest k, with a paired-bootstrap interval over problems (None: one point)."""
    if c.oracle or len(c.ks) < 2:
        return None
    acc = c.acc[c.rows(problems)]
    d = acc[:, -1] - acc[:, 0]
    boot = ranking.bootstrap_weights(len(d), n_boot, seed) @ d
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return Lift(c.label, c.method, int(c.ks[-1]), float(d.mean()), float(lo), float(hi))


def run_breakdown(configs: list[Config], by: str) -> pd.DataFrame:
    """One run's accuracy per difficulty bin or subject at each configuration's largest k (as run for one-point
    runs), with 95% bootstrap intervals over the group's problems: `ranking.breakdown` at an unlimited budget, so
    a run page's table is the report's breakdown read at the run's own compute."""
    return ranking.breakdown([c for c in configs if not c.oracle], float("inf"), "generated", by=by)


LEDGER_ITEMS = ("prompt_tokens", "cached_prompt_tokens", "generated_tokens", "reasoning_tokens", "verifier_tokens",
                "engine_calls", "verifier_calls", "wall_seconds", "critical_path_seconds", "flops", "dollars")
"""A run's compute ledger, in the order a run page lists it (`queries.RUN_LEDGERS` sums each per run)."""


def ledger(row: dict) -> list[tuple[str, float | None, float | None]]:
    """(item, run total, mean per finished problem) from one `queries.RUN_LEDGERS` row; None where the store
    recorded nothing for the item (an older store, an unpriced model)."""
    done = row.get("problems") or 0
    out = []
    for item in LEDGER_ITEMS:
        total, known = row.get(item), row.get(f"{item}_known") or 0
        value = float(total) if total is not None and known else None
        out.append((item, value, value / done if value is not None and done else None))
    return out


ERROR_WARN = 0.02  # share of a run's attempts that failed past which every view warns


@dataclass(frozen=True)
class Errors:
    """A run's failed attempts: not answers, so never counted as wrong; its accuracy is over the graded ones."""

    run_id: str
    attempted: int
    failed: int
    cause: str  # the commonest first line of their errors

    @property
    def graded(self) -> int:
        return self.attempted - self.failed

    @property
    def rate(self) -> float:
        return self.failed / self.attempted if self.attempted else 0.0

    def line(self) -> str:
        """`48 attempted, 45 failed (93.8%): rerun to retry them; accuracy is over the 3 graded (commonest: ...)`."""
        return (f"{self.attempted} attempted, {self.failed} failed ({self.rate:.1%}): rerun to retry them; accuracy "
                f"is over the {self.graded} graded (commonest cause: {self.cause})")

    def as_dict(self) -> dict[str, object]:
        return {"attempted": self.attempted, "failed": self.failed, "graded": self.graded,
                "error_rate": round(self.rate, 5), "cause": self.cause}


def errors(snap: Snapshot) -> dict[str, Errors]:
    """Every run's failed attempts (runs without any are left out)."""
    att = snap.attempts
    if not len(att):
        return {}
    out = {}
    for run_id, g in att.groupby("run_id", sort=False):
        bad = g.error.dropna().astype(str)
        if len(bad):
            first = bad.map(lambda e: (e.strip().splitlines() or ["unknown error"])[0][:200])
            out[str(run_id)] = Errors(str(run_id), len(g), len(bad), str(first.value_counts().index[0]))
    return out


def error_warning(errs: dict[str, Errors], run_ids: list[str] | None = None) -> str | None:
    """One line when any of the runs failed on more than `ERROR_WARN` of its attempts."""
    over = [e for r, e in errs.items() if (run_ids is None or r in run_ids) and e.rate > ERROR_WARN]
    if not over:
        return None
    return "warning: failed attempts are not wrong answers, and these runs have many: " + "; ".join(
        f"run {e.run_id}: {e.line()}" for e in over)

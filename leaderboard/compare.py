"""The CI regression gate: is a candidate run significantly worse than a base run on the problems both share?

Per shared problem we take each run's accuracy: as run (the attempt's grade) by default, or at a
compute budget, its curve point within the budget (majority@k, or best-of-k when asked, for sample pools; the
one point as run for other strategies; asking a method a run cannot provide is bad input, exit 2). The test is a
paired bootstrap of the mean difference over problems (default) or, for as-run grades, the exact
McNemar test on discordant problems. "Significantly worse" means the (1 - alpha) interval of
candidate - base lies wholly below 0 (bootstrap) or McNemar rejects at alpha with the candidate behind.

Failed attempts are not wrong answers: only problems both runs graded are compared, and each run's failures are
counted apart and reported, with a warning past `analysis.ERROR_WARN` (a candidate that fails where the base
answered is a problem the gate cannot judge, so it says so rather than scoring it wrong or dropping it silently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import UserError
from harness.store import Store
from leaderboard import analysis, curves, ranking, snapshot


@dataclass
class Comparison:
    base: str
    candidate: str
    base_label: str
    candidate_label: str
    suite: str
    problems: int
    base_acc: float
    candidate_acc: float
    diff: float
    lo: float
    hi: float
    alpha: float
    test: str
    p_value: float | None
    worse: bool
    detail: str
    base_errors: analysis.Errors | None = None
    candidate_errors: analysis.Errors | None = None


def mcnemar_p(base: np.ndarray, cand: np.ndarray) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs."""
    b = int(np.sum((base > 0.5) & (cand < 0.5)))  # base right, candidate wrong
    c = int(np.sum((base < 0.5) & (cand > 0.5)))
    m = b + c
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(b, c) + 1)) / 2**m
    return min(1.0, 2 * tail)


def _values(snap: snapshot.Snapshot, run_id: str, problems: np.ndarray, budget: float | None, axis: str,
            method: str | None) -> tuple[np.ndarray, str, str]:
    """Per-problem accuracy of one run: as run (no budget), or its curve point within the budget. Labels are
    `curves.label_for`'s, as in the report, the app and the export."""
    run = snap.runs.set_index("run_id").loc[run_id]
    if budget is None:
        att = snap.attempts[(snap.attempts.run_id == run_id) & snap.attempts.error.isna()].set_index("problem_id")
        label = curves.label_for(run.model, run.strategy, run.identity, "as_run")
        return att.loc[problems, "correct"].fillna(False).astype(float).to_numpy(), label, ""
    one = snapshot.Snapshot(snap.path, snap.runs[snap.runs.run_id == run_id], snap.attempts, snap.pools,
                            snap.taken_at, snap.read_seconds)
    built = [c for c in curves.build(one, methods=("majority", "best_of_k", "as_run")) if c.run_id == run_id]
    configs = analysis.select(one, built, [method] if method else None, axis)
    if not configs:
        raise UserError(f"run {run_id} has no finished problems to compare")
    c = configs[0]  # majority before as_run when no --method was given
    rows = c.rows(problems)
    j = ranking.pick_k(c.cost(axis, rows), budget)
    if j is None:
        raise UserError(f"run {run_id} has no point within budget {budget:g} on axis {axis} "
                        f"(its cheapest costs {c.cost(axis, rows)[0]:.4g}); raise --budget")
    at = "as run" if c.method == "as_run" else f"k={int(c.ks[j])}"
    return c.acc[rows, j], c.label, f"{at} at {c.cost(axis, rows)[j]:.4g}"


def compare(base: str, candidate: str, db: str | None = None, base_db: str | None = None,
            budget: float | None = None, axis: str = "generated", alpha: float = 0.05, test: str = "bootstrap",
            method: str | None = None, n_boot: int = 10000, seed: int = 0) -> Comparison:
    if not 0 < alpha < 1:
        raise UserError(f"--alpha {alpha} must lie between 0 and 1")
    if axis not in curves.AXES:
        raise UserError(f"--axis {axis!r}: choose one of {', '.join(curves.AXES)}")
    if test == "mcnemar" and budget is not None:
        raise UserError("McNemar needs right/wrong grades: drop --budget or use --test bootstrap")
    base_id = Store(base_db or db, read_only=True).resolve_run(base)
    cand_id = Store(db, read_only=True).resolve_run(candidate)
    if base_db:
        sb, sc = snapshot.load(base_db, run_ids=[base_id]), snapshot.load(db, run_ids=[cand_id])
    else:
        sb = sc = snapshot.load(db, run_ids=[base_id, cand_id])
    rb = sb.runs.set_index("run_id").loc[base_id]
    rc = sc.runs.set_index("run_id").loc[cand_id]
    if rb.suite != rc.suite:
        raise UserError(f"runs not comparable: base is on suite {rb.suite!r}, candidate on {rc.suite!r}")
    ab = sb.attempts[(sb.attempts.run_id == base_id) & sb.attempts.error.isna()].set_index("problem_id")
    ac = sc.attempts[(sc.attempts.run_id == cand_id) & sc.attempts.error.isna()].set_index("problem_id")
    shared = ab.index.intersection(ac.index)
    if len(shared) == 0:
        raise UserError(f"runs {base_id} and {cand_id} share no finished problems; nothing to compare")
    mismatch = (ab.loc[shared, "gold"].astype(str) != ac.loc[shared, "gold"].astype(str))
    if mismatch.any():
        raise UserError(f"runs not comparable: {int(mismatch.sum())} shared problems have different gold answers "
                        f"(e.g. {mismatch[mismatch].index[0]})")
    problems = shared.to_numpy(dtype=object)
    vb, lb, db_ = _values(sb, base_id, problems, budget, axis, method)
    vc, lc, dc = _values(sc, cand_id, problems, budget, axis, method)
    d = vc - vb
    boot = ranking.bootstrap_weights(len(d), n_boot, seed) @ d
    lo, hi = (float(x) for x in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    p = None
    if test == "mcnemar":
        p = mcnemar_p(vb, vc)
        worse = p < alpha and d.mean() < 0
    elif test == "bootstrap":
        worse = hi < 0
    else:
        raise UserError(f"--test {test!r}: choose bootstrap or mcnemar")
    detail = "" if budget is None else f"base {db_}, candidate {dc} ({axis})"
    return Comparison(base_id, cand_id, lb, lc, str(rb.suite),
                      len(problems), float(vb.mean()), float(vc.mean()), float(d.mean()), lo, hi, alpha, test, p,
                      bool(worse), detail, analysis.errors(sb).get(base_id), analysis.errors(sc).get(cand_id))


def format_comparison(c: Comparison) -> str:
    level = f"{100 * (1 - c.alpha):g}%"
    lines = [
        f"base      {c.base}  {c.base_label}",
        f"candidate {c.candidate}  {c.candidate_label}",
        f"suite {c.suite}: {c.problems} shared problems" + (f"; {c.detail}" if c.detail else ""),
        f"accuracy base {c.base_acc:.4f}  candidate {c.candidate_acc:.4f}",
        f"difference (candidate - base) {c.diff:+.4f}  {level} paired-bootstrap CI [{c.lo:+.4f}, {c.hi:+.4f}]",
    ]
    if c.p_value is not None:
        lines.append(f"McNemar exact p = {c.p_value:.4g}")
    for name, err in (("base", c.base_errors), ("candidate", c.candidate_errors)):
        if err is not None:
            lines.append(f"{name} failures (not counted as wrong; only problems both runs graded are compared): "
                         f"{err.line()}")
    warning = analysis.error_warning({e.run_id: e for e in (c.base_errors, c.candidate_errors) if e is not None})
    if warning:
        lines.append(warning)
    lines.append("verdict: candidate is significantly WORSE (exit 1)" if c.worse
                 else "verdict: no significant regression (exit 0)")
    return "\n".join(lines)

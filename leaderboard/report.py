"""The end-of-run report (`thinkbench run`, `thinkbench report`): a compute-matched table and a PNG.

Both are drawn from `leaderboard.analysis` (the path the app, `export` and `compare` read), so labels and
numbers match everywhere: pool runs as curves over k, other strategies as one point at their ledger's cost,
95% bootstrap intervals over problems on every point, truncation rate and accuracy excluding truncation. Failed
attempts (an engine that died past its retries, a prompt too long) are not wrong answers: a configuration's line says
how many of its run's attempts failed, and a warning names runs where more than a few percent did.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard import analysis, curves, ranking, snapshot


def load(db: str | Path | None, suite: str, axis: str = "generated", methods: list[str] | None = None,
         run_ids: list[str] | None = None) -> analysis.SuiteView:
    """The suite's view for the report; bad requests (method or axis a run lacks) are one-line errors."""
    snap = snapshot.load(db, suites=[suite], run_ids=run_ids)
    missing = sorted(set(run_ids or []) - set(snap.runs.run_id))
    if missing:
        raise UserError(f"run {missing[0]} is not a run of suite {suite!r} in {snap.path}")
    snapshot.require_runs(snap)
    configs = analysis.select(snap, curves.build(snap), methods, axis)
    view = analysis.suite_view(configs, suite, axis)
    view.errors = analysis.errors(snap)
    return view


def shown_ks(ks: np.ndarray) -> set[int]:
    """Powers of two and the largest k: the table's rows (the PNG draws every k)."""
    top = int(ks[-1])
    return {k for k in (2 ** i for i in range(top.bit_length())) if k <= top} | {top}


def _pct(v: float) -> str:
    return "?" if not np.isfinite(v) else f"{100 * v:.1f}%"


def _num(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.3f}"


def _k(c_method: str, k: int) -> str:
    return "-" if c_method == "as_run" else str(k)


SPREAD_AXES = {"latency"}  # axes whose p50 / p95 over problems are shown beside the mean


def _spread(axis: str, p50: float, p95: float) -> str:
    return f"{p50:>10.4g}{p95:>10.4g}" if axis in SPREAD_AXES else ""


def curve_lines(view: analysis.SuiteView) -> list[str]:
    unit = curves.AXES[view.axis].split(" per problem")[0]
    spread = f"{'p50':>10}{'p95':>10}" if view.axis in SPREAD_AXES else ""
    head = (f"  {'k':>4}{'cost/problem':>14}{spread}{'accuracy':>10}  {'95% interval':<16}{'truncated':>10}"
            f"{'excl. trunc':>12}")
    lines = [f"Suite {view.suite}: accuracy against {curves.AXES[view.axis]} ({len(view.problems)} shared problems;",
             f"intervals: 95% bootstrap over problems; truncated: share of samples cut off at the token limit, "
             f"which never vote; cost in {unit}{'; cost: mean, p50, p95 over problems' if spread else ''})", "",
             head, "  " + "-" * (len(head) - 2)]
    for c in view.configs:
        pts = analysis.points(c, view.problems, view.axis)
        err = view.errors.get(c.run_id)
        failed = f"  ({err.failed} of {err.attempted} attempts failed: not counted)" if err else ""
        lines.append(c.label + ("  *" if c.oracle else "") + failed)
        for p in pts[pts.k.isin(shown_ks(c.ks))].itertuples():
            lines.append(f"  {_k(c.method, p.k):>4}{p.cost:>14.4g}{_spread(view.axis, p.cost_p50, p.cost_p95)}"
                         f"{p.accuracy:>10.3f}  {f'[{p.lo:.3f}, {p.hi:.3f}]':<16}{_pct(p.truncated):>10}"
                         f"{_num(p.accuracy_excl):>12}")
    if any(c.oracle for c in view.configs):
        lines += ["", "* pass@k (oracle) peeks at gold: an upper bound, never ranked; it counts a truncated sample "
                      "graded correct."]
    return lines


def ranking_lines(view: analysis.SuiteView) -> list[str]:
    t = view.table
    lines = ["", f"Compute-matched at {view.budget:.4g} {curves.AXES[view.axis]} "
                 "(rank counts only configurations better beyond noise):"]
    for shown, r in zip(ranking.rank_label(t), t.itertuples()):
        at = "as run" if r.method == "as_run" else f"k={r.k}"
        spread = f" (p50 {r.cost_p50:.4g}, p95 {r.cost_p95:.4g})" if view.axis in SPREAD_AXES else ""
        lines.append(f"  {shown:>3}. {r.accuracy:.3f} [{r.lo:.3f}, {r.hi:.3f}]  {at:<7} "
                     f"cost {r.cost:.4g}{spread}  {r.label}")
    for warning in (analysis.tie_warning(t), analysis.error_warning(view.errors, [c.run_id for c in view.configs])):
        if warning:
            lines.append(warning)
    if t.attrs.get("over_budget"):
        lines.append("  over budget: " + "; ".join(t.attrs["over_budget"]))
    lifts = [x for x in (analysis.lift(c, view.problems) for c in view.ranked) if x is not None]
    if lifts:
        lines += ["", "Gain from k = 1 to the largest k (95% paired bootstrap over problems):"]
        lines += ["  " + x.line() for x in lifts]
    return lines


def difficulty_lines(view: analysis.SuiteView) -> list[str]:
    bd = ranking.breakdown(view.ranked, view.budget, view.axis, by="difficulty")
    if bd.empty or bd.group.nunique() < 2:
        return []
    lines = ["", "By difficulty at the budget (accuracy [95% interval]):"]
    for label, g in bd.groupby("label", sort=False):
        cells = [f"d={r.group}: {r.accuracy:.3f} [{r.lo:.2f}, {r.hi:.2f}]" for r in g.itertuples()]
        lines.append(f"  {label}: " + "; ".join(cells))
    return lines


def format_table(view: analysis.SuiteView) -> str:
    return "\n".join(curve_lines(view) + ranking_lines(view) + difficulty_lines(view))


def _draw_curves(ax: Any, view: analysis.SuiteView) -> None:
    for c in view.configs:
        p = analysis.points(c, view.problems, view.axis)
        style = {"linestyle": "--", "alpha": 0.6} if c.oracle else {}
        if c.method == "as_run":
            ax.errorbar(p.cost, p.accuracy, yerr=[p.accuracy - p.lo, p.hi - p.accuracy], fmt="s", capsize=4,
                        markersize=7, label=c.label)
            continue
        line, = ax.plot(p.cost, p.accuracy, marker="o", markersize=3, label=c.label, **style)
        ax.fill_between(p.cost, p.lo, p.hi, color=line.get_color(), alpha=0.08 if c.oracle else 0.18, linewidth=0)
        last = p.iloc[-1]
        ax.annotate(f"k={int(last.k)}", (last.cost, last.accuracy), fontsize=7, textcoords="offset points",
                    xytext=(3, -10))
    ax.axvline(view.budget, color="#c62828", linestyle=":", linewidth=1, label="budget (compute-matched)")


def _draw_difficulty(ax: Any, view: analysis.SuiteView, bd: pd.DataFrame) -> None:
    groups = list(pd.unique(bd.group))
    labels = list(pd.unique(bd.label))
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        g = bd[bd.label == label].set_index("group").reindex(groups)
        x = np.arange(len(groups)) + (i - (len(labels) - 1) / 2) * width
        ax.bar(x, g.accuracy, width, yerr=[g.accuracy - g.lo, g.hi - g.accuracy], capsize=2, label=label)
    ax.set_xticks(np.arange(len(groups)), [f"d={g}" for g in groups])
    ax.set_ylabel("accuracy at the budget (95% interval)")
    ax.set_ylim(0, 1)
    ax.set_title(f"by difficulty at {view.budget:.4g}", fontsize=9)
    ax.grid(alpha=0.3, axis="y")


def plot(view: analysis.SuiteView, path: Path) -> Path:
    """Accuracy against compute with 95% bands (and, when difficulties vary, accuracy by difficulty at the budget)."""
    import matplotlib  # noqa: PLC0415 - deferred: matplotlib loads only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after use("Agg"): pyplot picks its backend on import
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415 - deferred with matplotlib above

    bd = ranking.breakdown(view.ranked, view.budget, view.axis, by="difficulty")
    panels = 2 if not bd.empty and bd.group.nunique() > 1 else 1
    lines = sum(1 + len(c.label) // 125 for c in view.configs) + 1
    legend_h = 0.17 * lines + 0.2  # inches: the legend (a line or two per configuration) below the panels
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.5 + legend_h), squeeze=False)
    ax = axes[0][0]
    _draw_curves(ax, view)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    ax.set_xlabel(f"{curves.AXES[view.axis]} (log)")
    ax.set_ylabel("accuracy (bands: 95% bootstrap over problems)")
    ax.set_ylim(0, 1)
    ax.set_title(view.suite, fontsize=9)
    ax.grid(alpha=0.3)
    if panels == 2:
        _draw_difficulty(axes[0][1], view, bd)
    handles, labels = ax.get_legend_handles_labels()
    wrapped = [textwrap.fill(x, 125, subsequent_indent="    ") for x in labels]
    fig.legend(handles, wrapped, loc="lower left", bbox_to_anchor=(0.01, 0.0), fontsize=7, ncol=1, frameon=False)
    fig.tight_layout(rect=(0, legend_h / (4.5 + legend_h), 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

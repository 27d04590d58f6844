"""The end-of-run report: a compute-matched table over the runs of one suite, and a PNG plot."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from harness import queries
from harness.store import Store
from leaderboard.analysis import CurvePoint, pool_curve


@dataclass
class RunCurve:
    run_id: str
    label: str
    n_problems: int
    attempt_accuracy: float
    attempt_tokens: float
    points: list[CurvePoint]
    by_difficulty: dict[float, list[CurvePoint]]


def _label(strategy: str, identity_json: str) -> str:
    params = json.loads(identity_json or "{}").get("params", {})
    bits = [f"{k}={params[k]}" for k in ("n", "temperature") if k in params]
    return f"{strategy} {' '.join(bits)}".strip()


def suite_curves(store: Store, suite: str, run_ids: list[str] | None = None) -> list[RunCurve]:
    """Each run of a suite as curves from its sample pool, overall and per difficulty (the CLI table and PNG)."""
    runs = store.query(queries.SUITE_RUNS, [suite])
    out = []
    for rid, strategy, config in runs:
        if run_ids and rid not in run_ids:
            continue
        att = store.query(queries.RUN_FINISHED_ATTEMPTS, [rid])
        if not att:
            continue
        rows = store.query(queries.RUN_SAMPLE_POOL, [rid])
        pools: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
        for pid, key, ok, tok in rows:
            keys, oks, toks = pools[pid]
            keys.append(key)
            oks.append(bool(ok))
            toks.append(int(tok or 0))
        diff = {pid: d for pid, _, _, d in att}
        done = [pools[pid] for pid, *_ in att if pid in pools]
        by_diff: dict[float, list] = defaultdict(list)
        for pid, *_ in att:
            if pid in pools and diff[pid] is not None:
                by_diff[diff[pid]].append(pools[pid])
        out.append(RunCurve(
            run_id=rid, label=_label(strategy, config), n_problems=len(att),
            attempt_accuracy=sum(bool(a[1]) for a in att) / len(att),
            attempt_tokens=sum(int(a[2] or 0) for a in att) / len(att),
            points=pool_curve(done), by_difficulty={d: pool_curve(p) for d, p in sorted(by_diff.items())},
        ))
    return out


def format_table(suite: str, curves: list[RunCurve]) -> str:
    lines = [f"Suite {suite}: accuracy against generated tokens per problem (one sample pool per run)", ""]
    head = f"{'run':<13}{'configuration':<40}{'k':>4}{'tokens/problem':>16}{'majority@k':>12}{'pass@k*':>9}"
    lines += [head, "-" * len(head)]
    for c in curves:
        for p in c.points:
            lines.append(f"{c.run_id:<13}{c.label:<40}{p.k:>4}{p.tokens_per_problem:>16.1f}"
                         f"{p.majority_at_k:>12.3f}{p.pass_at_k:>9.3f}")
        lines.append(f"{c.run_id:<13}{'  (strategy as run)':<40}{'':>4}{c.attempt_tokens:>16.1f}"
                     f"{c.attempt_accuracy:>12.3f}{'':>9}")
    lines += ["", "* pass@k is an oracle upper bound (it peeks at gold); majority@k needs no gold."]
    if curves:
        with_points = [c for c in curves if c.points]
        budget = min(c.points[-1].tokens_per_problem for c in with_points) if with_points else 0
        lines.append("")
        lines.append(f"Compute-matched at {budget:.0f} generated tokens per problem:")
        ranked = []
        for c in curves:
            within = [p for p in c.points if p.tokens_per_problem <= budget + 1e-9]
            if within:
                ranked.append((within[-1].majority_at_k, c.label, within[-1].k))
        for i, (acc, label, k) in enumerate(sorted(ranked, reverse=True), 1):
            lines.append(f"  {i}. {label} (k={k}): majority accuracy {acc:.3f}")
        diffs = {d for c in curves for d in c.by_difficulty}
        if len(diffs) > 1:
            lines += ["", "By difficulty (majority@k at the largest k):"]
            for c in curves:
                cells = [f"d={d:g}: {pts[-1].majority_at_k:.3f} (pass@1 {pts[0].pass_at_k:.3f})"
                         for d, pts in c.by_difficulty.items() if pts]
                lines.append(f"  {c.label}: " + "; ".join(cells))
    return "\n".join(lines)


def plot(suite: str, curves: list[RunCurve], path: Path) -> Path:
    import matplotlib  # noqa: PLC0415 - deferred: matplotlib loads only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after use("Agg"): pyplot picks its backend on import

    panels = 2 if any(len(c.by_difficulty) > 1 for c in curves) else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.5), squeeze=False)
    ax = axes[0][0]
    for c in curves:
        xs = [p.tokens_per_problem for p in c.points]
        line, = ax.plot(xs, [p.majority_at_k for p in c.points], marker="o", label=f"{c.label}: majority@k")
        ax.plot(xs, [p.pass_at_k for p in c.points], linestyle="--", color=line.get_color(), alpha=0.6,
                label=f"{c.label}: pass@k (oracle)")
        for p in c.points:
            ax.annotate(f"k={p.k}", (p.tokens_per_problem, p.majority_at_k), fontsize=7,
                        textcoords="offset points", xytext=(3, -10))
    ax.set_xscale("log")
    ax.set_xlabel("generated tokens per problem (log)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(suite, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if panels == 2:
        ax2 = axes[0][1]
        for c in curves:
            for d, pts in c.by_difficulty.items():
                ax2.plot([p.tokens_per_problem for p in pts], [p.majority_at_k for p in pts], marker="o",
                         label=f"{c.label}, difficulty {d:g}")
        ax2.set_xscale("log")
        ax2.set_xlabel("generated tokens per problem (log)")
        ax2.set_ylabel("majority@k accuracy")
        ax2.set_ylim(0, 1)
        ax2.set_title("by difficulty", fontsize=9)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=7)
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415 - deferred with matplotlib above

    for a in axes[0]:
        for axis in (a.xaxis,):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "235" else ""))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

"""Accuracy against difficulty level per configuration at matched compute (`thinkbench difficulty`).

A difficulty sweep is a set of stored runs whose suites differ only in `level` (reasoning-gym's curriculum level:
`rg:basic_arithmetic:level=0`, `level=1`, ...; `configs/rg_difficulty.yaml` is such a grid). At each level the
suite's configurations go through the one analysis path (`analysis.suite_view`: the same estimators, intervals and
budget rule as `report`, the app and the site), ranked at a matched budget on the chosen axis: `--budget` at every
level, or by default each level's own largest budget at which every configuration still runs its whole pool. A
configuration (model, strategy, parameters, selection method) is one line across the levels, in a table and a PNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard import analysis, curves, snapshot
from suites.base import parse_suite_name
from suites.spec import SUITES

BY = "level"
MAX_LABEL = 100  # characters of a configuration's label in the table (longer ones lose their middle)


def fit(label: str, width: int) -> str:
    """The label within `width`, keeping its head (model, strategy) and its tail (the selection method)."""
    if len(label) <= width:
        return label
    tail = label.rsplit(" · ", 1)[-1]
    return f"{label[:max(0, width - len(tail) - 3)]}… {tail}"[:width]


@dataclass(frozen=True)
class Sweep:
    base: str  # the suite without its parameters: rg:basic_arithmetic
    suites: dict[int, str]  # level -> stored (canonical) suite name
    fixed: str  # the parameters every level shares, spelled as in the names

    @property
    def title(self) -> str:
        return f"{self.base}:{self.fixed}" if self.fixed else self.base


def _expected(base: str, raw: dict[str, str]) -> dict[str, set[str | None]]:
    """Values a stored name may spell for each parameter the user gave: as given, or canonical (the suite's own
    spelling at level 0; None where the canonical name leaves a default out)."""
    family, _, member = base.partition(":")
    try:
        spec = SUITES.get(family).member(member) if member else SUITES.get(family)
        canonical = parse_suite_name(spec.parse({**raw, BY: "0"}).suite_name(spec.name))[1]
    except UserError:
        canonical = {}
    return {k: {v, canonical.get(k)} for k, v in raw.items()}


def find_sweep(stored: list[str], spec: str) -> Sweep:
    """The stored suites that are `spec` at some level; one line when there are none, or several sweeps."""
    base, raw = parse_suite_name(spec)
    raw.pop(BY, None)
    expected = _expected(base, raw)
    groups: dict[str, dict[int, str]] = {}
    for name in stored:
        b, r = parse_suite_name(name)
        if b != base or BY not in r or not r[BY].isdigit():
            continue
        if any(r.get(k) not in allowed for k, allowed in expected.items()):
            continue
        fixed = ",".join(f"{k}={v}" for k, v in r.items() if k != BY)
        groups.setdefault(fixed, {})[int(r[BY])] = name
    if not groups:
        raise UserError(f"no stored runs of {spec} at more than one {BY}: run the grid first "
                        "(e.g. `thinkbench sweep configs/rg_difficulty.yaml`)")
    if len(groups) > 1:
        shown = "; ".join(sorted(groups)[:4])
        raise UserError(f"{spec} matches {len(groups)} sweeps with different settings ({shown}); "
                        "name the settings in --suite, e.g. --suite " + f"{base}:{sorted(groups)[0]}")
    fixed, suites = next(iter(groups.items()))
    return Sweep(base, dict(sorted(suites.items())), fixed)


def table(db: str | Path | None, sweep: Sweep, axis: str = "generated", budget: float | None = None,
          methods: list[str] | None = None) -> pd.DataFrame:
    """One row per (level, configuration) at the level's matched budget: accuracy with its 95% interval, the k
    and cost it was read at; oracle pass@k is left out, as on every leaderboard."""
    snap = snapshot.load(db, suites=list(sweep.suites.values()))
    snapshot.require_runs(snap)
    configs = analysis.select(snap, curves.build(snap), methods, axis)
    frames = []
    for level, suite in sweep.suites.items():
        if not any(c.suite == suite for c in configs):
            continue
        view = analysis.suite_view(configs, suite, axis, budget)
        t = view.table[["label", "method", "k", "cost", "accuracy", "lo", "hi", "problems"]].copy()
        t.insert(0, "budget", view.budget)
        t.insert(0, "level", level)
        frames.append(t)
    if not frames:
        raise UserError(f"no finished configuration of {sweep.title} records {curves.AXES[axis]}")
    return pd.concat(frames, ignore_index=True)


def format_table(df: pd.DataFrame, sweep: Sweep, axis: str) -> str:
    """Configurations down, levels across: accuracy [95% interval] and the k read at the level's budget."""
    levels = sorted(df.level.unique())
    width = 22
    first = min(max(len(x) for x in df.label) + 2, MAX_LABEL + 2)
    head = [f"difficulty sweep {sweep.title}: accuracy by {BY} at matched {curves.AXES[axis]}",
            f"{'':<{first}}" + "".join(f"{f'{BY} {lv}':>{width}}" for lv in levels),
            f"{'budget':<{first}}" + "".join(f"{df[df.level == lv].budget.iloc[0]:>{width}.4g}" for lv in levels)]
    lines = []
    for label in dict.fromkeys(df.label):
        cells = []
        for lv in levels:
            row = df[(df.level == lv) & (df.label == label)]
            if row.empty:
                cells.append(f"{'over budget / absent':>{width}}")
                continue
            r = row.iloc[0]
            k = "" if r.method == "as_run" else f" k={int(r.k)}"
            cells.append(f"{f'{100 * r.accuracy:.1f}% [{100 * r.lo:.0f},{100 * r.hi:.0f}]{k}':>{width}}")
        lines.append(f"{fit(label, first - 2):<{first}}" + "".join(cells))
    return "\n".join(head + lines)


def plot(df: pd.DataFrame, sweep: Sweep, axis: str, path: Path) -> Path:
    """Accuracy against level, one line per configuration, 95% intervals as error bars."""
    import matplotlib  # noqa: PLC0415 - deferred: matplotlib loads only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after use("Agg"): pyplot picks its backend on import

    labels = list(dict.fromkeys(df.label))
    fig, ax = plt.subplots(figsize=(7, 4.5 + 0.2 * len(labels)))
    for label in labels:
        d = df[df.label == label].sort_values("level")
        err = np.vstack([d.accuracy - d.lo, d.hi - d.accuracy]).clip(min=0)
        ax.errorbar(d.level, d.accuracy, yerr=err, marker="o", capsize=3, label=fit(label, 110))
    ax.set_xticks(sorted(df.level.unique()))
    ax.set_xlabel(f"{BY} (curriculum difficulty)")
    ax.set_ylabel("accuracy (95% bootstrap interval)")
    ax.set_ylim(0, 1)
    ax.set_title(f"{sweep.title}\nat matched {curves.AXES[axis]}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=7, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def difficulty(db: str | Path | None, spec: str, axis: str = "generated", budget: float | None = None,
               methods: list[str] | None = None, plot_path: Path | None = None) -> tuple[str, Path | None]:
    """The table (text) and, when asked, the PNG of a stored difficulty sweep."""
    sweep = find_sweep(snapshot.suites(db), spec)
    df = table(db, sweep, axis, budget, methods)
    return format_table(df, sweep, axis), plot(df, sweep, axis, plot_path) if plot_path else None


def of_sweep(db: str | Path | None, suites: list[str], plot_path: Path) -> tuple[str, Path] | None:
    """The difficulty table and PNG of a `thinkbench sweep` whose suites are one suite at several levels (the
    sweep's own closing figure); None when its suites are not such a sweep."""
    levelled = {parse_suite_name(s)[0] for s in suites if BY in parse_suite_name(s)[1]}
    if len(levelled) != 1 or len(suites) < 2:
        return None
    try:
        sweep = find_sweep(suites, levelled.pop())
    except UserError:  # levels under several different settings: `thinkbench difficulty --suite` picks one
        return None
    if len(sweep.suites) < 2:
        return None
    df = table(db, sweep)
    return format_table(df, sweep, "generated"), plot(df, sweep, "generated", plot_path)

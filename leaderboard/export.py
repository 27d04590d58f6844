"""`thinkbench export --out site/`: a static, self-contained leaderboard for any static host.

Writes index.html (tables and interactive SVG charts drawn by inline JavaScript from inline JSON; no
server, no network), results.parquet (every curve point with its interval and its compute on every
axis) and ranking.parquet (the ranked tables at each precomputed budget). Rankings need the
per-problem bootstrap, so they are computed here for a ladder of budgets per axis and the page
switches between them.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard import analysis, curves, ranking, snapshot
from leaderboard.site_template import render

N_BUDGETS = 8


def budget_ladder(configs: list[curves.Config], axis: str, problems: np.ndarray) -> list[float]:
    """Log-spaced budgets from the cheapest first point to the largest full pool, plus the default."""
    xs = [c.cost(axis, c.rows(problems)) for c in configs if not c.oracle]
    xs = [x for x in xs if len(x) and np.isfinite(x).all() and x[0] > 0]
    if not xs:
        return []
    lo, hi = min(x[0] for x in xs), max(x[-1] for x in xs)
    ladder = set(np.geomspace(lo, hi, N_BUDGETS).tolist()) if hi > lo else {lo}
    ladder.add(min(x[-1] for x in xs))
    return sorted(round_up(b) for b in ladder)


def round_up(b: float) -> float:
    """Four significant digits, never below b (rounding down could drop a configuration's last point)."""
    r = float(f"{b:.4g}")
    return r if r >= b else r + 10 ** (math.floor(math.log10(b)) - 3)


def _finite(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def suite_payload(configs: list[curves.Config]) -> tuple[dict, list[dict], list[dict]]:
    problems = ranking.common_problems([c for c in configs if not c.oracle] or configs)
    rows, rank_rows, payload_configs = [], [], []
    for c in configs:
        idx = c.rows(problems)
        pts = analysis.points(c, problems, "generated")
        cost = {ax: c.cost(ax, idx) for ax in curves.AXES}
        payload_configs.append({
            "key": c.key, "label": c.label, "method": c.method, "oracle": c.oracle, "status": c.status,
            "ks": c.ks.astype(int).tolist(), "acc": pts.accuracy.round(5).tolist(), "lo": pts.lo.round(5).tolist(),
            "hi": pts.hi.round(5).tolist(), "cost": {ax: [_finite(x) for x in v] for ax, v in cost.items()},
            "truncated": _finite(c.truncation(idx)),
            "acc_excl": [_finite(round(x, 5)) for x in pts.accuracy_excl],
        })
        for p in pts.itertuples():
            j = p.Index
            rows.append({"suite": c.suite, "key": c.key, "run_id": c.run_id, "label": c.label, "method": c.method,
                         "oracle": c.oracle, "k": int(p.k), "accuracy": float(p.accuracy), "lo": float(p.lo),
                         "hi": float(p.hi), "truncated": float(p.truncated), "accuracy_excl": float(p.accuracy_excl),
                         "problems": len(idx), **{f"cost_{ax}": float(v[j]) for ax, v in cost.items()}})
    rankings: dict[str, dict[str, Any]] = {}
    for axis in curves.AXES:
        usable = [c for c in configs if np.isfinite(c.cost(axis, c.rows(problems))).all()]
        if not [c for c in usable if not c.oracle]:
            continue
        tables = []
        default = round_up(ranking.default_budget(usable, axis, problems)) if usable else None
        for b in budget_ladder(usable, axis, problems):
            df = ranking.rank(usable, b, axis, problems=problems)
            if df.empty:
                continue
            df.insert(0, "shown", ranking.rank_label(df))
            recs = json.loads(df.drop(columns=["problems"]).to_json(orient="records"))
            tables.append({"budget": b, "default": b == default, "rows": recs, "over": df.attrs.get("over_budget", []),
                           "warning": analysis.tie_warning(df)})
            rank_rows += [{**r, "axis": axis, "budget": b} for r in recs]
        if tables:
            auc = ranking.summary(usable, axis, problems)
            rankings[axis] = {"tables": tables, "auc": json.loads(auc.to_json(orient="records")),
                              "frontier": [p.__dict__ for p in ranking.frontier(usable, axis, problems)]}
    return {"configs": payload_configs, "rankings": rankings, "problems": len(problems)}, rows, rank_rows


def export(db: str | None, out: Path, suites: list[str] | None = None, methods: list[str] | None = None) -> list[Path]:
    snap = snapshot.load(db, suites=suites)
    snapshot.require_runs(snap)
    configs = analysis.select(snap, curves.build(snap), methods)
    if not configs:
        raise UserError(f"no finished problems in {snap.path} to export; let a run commit first")
    data: dict[str, Any] = {"suites": {}, "axes": curves.AXES, "methods": curves.METHODS}
    rows: list[dict] = []
    rank_rows: list[dict] = []
    for suite in pd.unique(np.array([c.suite for c in configs], dtype=object)):
        payload, r, rr = suite_payload([c for c in configs if c.suite == suite])
        data["suites"][suite] = payload
        rows += r
        rank_rows += [{**x, "suite": suite} for x in rr]
    data["generated_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data["store"] = snap.path.name
    out.mkdir(parents=True, exist_ok=True)
    results, ranks, index = out / "results.parquet", out / "ranking.parquet", out / "index.html"
    pd.DataFrame(rows).to_parquet(results, index=False)
    pd.DataFrame(rank_rows).to_parquet(ranks, index=False)
    index.write_text(render(data), encoding="utf-8")
    return [index, results, ranks]

"""`thinkbench export --out site/`: a static, self-contained leaderboard site for any static host.

Writes index.html (every suite's leaderboard: tables and interactive SVG charts drawn by inline JavaScript from
inline JSON, and its runs), runs/<id>/index.html per run and runs/<id>/samples.html with its sample shards
(leaderboard/site_pages.py), results.parquet (every curve point with its interval and its compute on every
axis) and ranking.parquet (the ranked tables at each precomputed budget). Nothing loads from the network, and
the same store gives byte-identical files (no timestamps; every iteration sorted). Rankings need the
per-problem bootstrap, so they are computed here for a ladder of budgets per axis and the page
switches between them.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import UserError
from leaderboard import analysis, curves, ranking, site_pages, snapshot
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


def suite_payload(configs: list[curves.Config], errs: dict[str, analysis.Errors] | None = None,
                  ) -> tuple[dict, list[dict], list[dict]]:
    """A suite's page data; `errs` (`analysis.errors`): runs' failed attempts, counted apart from wrong answers."""
    errs = errs or {}
    problems = ranking.common_problems([c for c in configs if not c.oracle] or configs)
    error_note = analysis.error_warning(errs, [c.run_id for c in configs])
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
            "errors": errs[c.run_id].as_dict() if c.run_id in errs else None,
        })
        for p in pts.itertuples():
            j = p.Index
            rows.append({"suite": c.suite, "key": c.key, "run_id": c.run_id, "label": c.label, "method": c.method,
                         "oracle": c.oracle, "k": int(p.k), "accuracy": float(p.accuracy), "lo": float(p.lo),
                         "hi": float(p.hi), "truncated": float(p.truncated), "accuracy_excl": float(p.accuracy_excl),
                         "problems": len(idx), **{f"cost_{ax}": float(v[j]) for ax, v in cost.items()},
                         "failed_attempts": errs[c.run_id].failed if c.run_id in errs else 0})
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
                           "warning": " ".join(w for w in (analysis.tie_warning(df), error_note) if w) or None})
            rank_rows += [{**r, "axis": axis, "budget": b} for r in recs]
        if tables:
            auc = ranking.summary(usable, axis, problems)
            rankings[axis] = {"tables": tables, "auc": json.loads(auc.to_json(orient="records")),
                              "frontier": [p.__dict__ for p in ranking.frontier(usable, axis, problems)]}
    return {"configs": payload_configs, "rankings": rankings, "problems": len(problems)}, rows, rank_rows


def export(db: str | None, out: Path, suites: list[str] | None = None, methods: list[str] | None = None,
           browse_samples: int | None = None) -> list[Path]:
    """Write the site into `out`: built in a temporary folder beside it and moved in whole, so a failed export
    leaves the previous site as it was. Returns the top-level files (index and Parquet). `browse_samples`: keep
    only the first that many samples per problem in the sample browsers (a smaller site)."""
    if browse_samples is not None and browse_samples < 0:
        raise UserError(f"--browse-samples {browse_samples} must be 0 or more")
    snap = snapshot.load(db, suites=suites)
    snapshot.require_runs(snap)
    configs = analysis.select(snap, curves.build(snap), methods)
    if not configs:
        raise UserError(f"no finished problems in {snap.path} to export; let a run commit first")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; pass a folder for the site")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_index(snap, configs, tmp)
        site_pages.write_runs(snap, configs, tmp / "runs", browse_samples)
        _move_into(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / "index.html", out / "results.parquet", out / "ranking.parquet"]


def _write_index(snap: snapshot.Snapshot, configs: list[curves.Config], out: Path) -> None:
    """index.html (every suite's leaderboard and its runs) and the two Parquet tables."""
    data: dict[str, Any] = {"suites": {}, "axes": curves.AXES, "methods": curves.METHODS}
    rows: list[dict] = []
    rank_rows: list[dict] = []
    for suite in sorted(set(c.suite for c in configs)):
        payload, r, rr = suite_payload([c for c in configs if c.suite == suite], analysis.errors(snap))
        payload["runs"] = site_pages.run_list(snap, suite, configs)
        data["suites"][suite] = payload
        rows += r
        rank_rows += [{**x, "suite": suite} for x in rr]
    data["store"] = snap.path.name
    pd.DataFrame(rows).to_parquet(out / "results.parquet", index=False)
    pd.DataFrame(rank_rows).to_parquet(out / "ranking.parquet", index=False)
    (out / "index.html").write_text(render(data), encoding="utf-8")


def _move_into(tmp: Path, out: Path) -> None:
    """Replace each top-level entry of `out` with the freshly built one (other files in `out` stay)."""
    out.mkdir(exist_ok=True)
    for entry in sorted(tmp.iterdir()):
        target = out / entry.name
        if target.is_dir():
            old = out / f".{entry.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            entry.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            entry.replace(target)

"""The static site's per-run pages: runs/<id>/index.html (leaderboard/site_run.py), runs/<id>/samples.html with
its shards (leaderboard/site_samples.py) and runs/<id>/run.yaml, gathered from the snapshot, analysis and three
named reads (ledger sums, provenance, sample texts one run at a time, so memory stays one run's samples)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness import queries
from harness.store import Reader, Store
from leaderboard import analysis, curves, site_run, site_samples, snapshot


def run_list(snap: snapshot.Snapshot, suite: str, configs: list[curves.Config]) -> list[dict[str, Any]]:
    """The index's table of a suite's runs: id, label, status, problems finished, accuracy at the largest k of its
    first ranked configuration (majority or as run), sorted by label then id."""
    runs = snap.runs[snap.runs.suite == suite]
    done = snap.attempts[snap.attempts.error.isna()].groupby("run_id").size() if len(snap.attempts) else {}
    out = []
    for r in runs.itertuples():
        mine = [c for c in configs if c.run_id == r.run_id and not c.oracle]
        pts = analysis.points(mine[0], None, "generated").iloc[-1] if mine else None
        out.append({"run_id": r.run_id, "label": curves.label_for(r.model, r.strategy, r.identity, "as_run"),
                    "status": r.status, "done": int(done.get(r.run_id, 0)), "n_problems": int(r.n_problems or 0),
                    "method": mine[0].method if mine else None, "k": int(pts.k) if pts is not None else None,
                    "accuracy": _f(pts.accuracy) if pts is not None else None,
                    "lo": _f(pts.lo) if pts is not None else None, "hi": _f(pts.hi) if pts is not None else None})
    return sorted(out, key=lambda x: (x["label"], x["run_id"]))


def _f(v: Any) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else round(float(v), 5)


def write_runs(snap: snapshot.Snapshot, configs: list[curves.Config], root: Path,
               browse_samples: int | None = None) -> None:
    """Every run's folder under `root`, runs in id order; `browse_samples`: the sample browser keeps only the first
    that many samples of each problem (the site's size grows with them; the numbers always use every sample)."""
    ids = sorted(snap.runs.run_id)
    with Store(snap.path, read_only=True).reading() as r:
        ledgers = {row["run_id"]: row for row in _dicts(r, queries.run_ledgers(len(ids), r.columns("attempts")), ids)}
        has_prov = "run_provenance" in r.tables()
        errs = analysis.errors(snap)
        for rec in snap.runs.sort_values("run_id").itertuples():
            folder = root / rec.run_id
            folder.mkdir(parents=True)
            mine = [c for c in configs if c.run_id == rec.run_id]
            att = snap.attempts[snap.attempts.run_id == rec.run_id]
            prov = r.rows(queries.RUN_PROVENANCE, [rec.run_id]) if has_prov else []
            page = _run_page(rec, mine, att, ledgers.get(rec.run_id, {}), prov)
            if rec.run_id in errs:
                page.extra.append(("failed attempts (not counted as wrong)", errs[rec.run_id].line()))
            (folder / "index.html").write_text(site_run.render(page), encoding="utf-8")
            (folder / "run.yaml").write_text(site_run.reproduction(page.config), encoding="utf-8")
            first = browse_samples is not None
            sql = queries.run_browser_samples(1, first)
            samples = site_samples.sample_rows(r.df(sql, [rec.run_id, *([browse_samples] if first else [])]))
            label = curves.label_for(rec.model, rec.strategy, rec.identity, "as_run")
            site_samples.write(folder, rec.run_id, label, site_samples.problem_rows(att), samples, browse_samples)


def _dicts(r: Reader, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    if not params:
        return []
    return r.df(sql, params).to_dict("records")


def _run_page(rec: Any, mine: list[curves.Config], att: Any, ledger: dict, prov: list[tuple]) -> site_run.RunPage:
    results = []
    for c in mine:
        p = analysis.points(c, None, "generated").iloc[-1]
        results.append({"label": c.label, "method": curves.METHODS[c.method], "k": int(p.k),
                        "accuracy": float(p.accuracy), "lo": float(p.lo), "hi": float(p.hi),
                        "truncated": _f(p.truncated), "cost": _f(p.cost)})
    done = int(att.error.isna().sum()) if len(att) else 0
    return site_run.RunPage(
        run_id=rec.run_id, suite=rec.suite, model=rec.model, strategy=rec.strategy, engine=rec.engine,
        status=rec.status, n_problems=int(rec.n_problems or 0), done=done, config=_json(rec.config),
        manifest=_json(rec.manifest), results=results, by_difficulty=analysis.run_breakdown(mine, "difficulty"),
        by_subject=analysis.run_breakdown(mine, "subject"), ledger=analysis.ledger(ledger), provenance=prov)


def _json(v: Any) -> dict:
    if isinstance(v, dict):
        return v
    return json.loads(v) if v else {}

"""The Streamlit leaderboard: `thinkbench leaderboard [--db PATH]` (or `streamlit run leaderboard/app.py -- --db PATH`).

Three pages: the compute-matched leaderboard, one run, and a sample explorer. It only ever reads the
store through `leaderboard.snapshot` (brief read-only connections, retried while a run commits) and
caches what it read for a few seconds, so a run writing to the same store is never blocked for long.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.errors import UserError
from harness import latency
from leaderboard import analysis, curves, ranking, snapshot

TTL_SECONDS = 5
MANIFEST_KEYS = ["model", "engine", "engine_version", "dtype", "seed", "prompt_template", "git_revision",
                 "grader_version", "thinkbench_version", "policy_params"]


def db_path() -> str | None:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db")
    known, _ = p.parse_known_args(sys.argv[1:])
    return known.db or os.environ.get("THINKBENCH_DB")


@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)
def cached_suites(db: str | None) -> list[str]:
    return snapshot.suites(db)


@st.cache_resource(ttl=TTL_SECONDS, show_spinner="Reading the store…")
def cached_build(db: str | None, suites: tuple[str, ...]) -> tuple[snapshot.Snapshot, list[curves.Config]]:
    snap = snapshot.load(db, suites=list(suites))
    return snap, curves.build(snap)


@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)
def cached_calls(db: str | None, run_id: str) -> pd.DataFrame:
    return snapshot.run_calls(db, run_id)


@st.cache_resource(ttl=TTL_SECONDS, show_spinner=False)
def cached_samples(db: str | None, problem: str, runs: tuple[str, ...]) -> pd.DataFrame:
    return snapshot.problem_samples(db, problem, list(runs))


def progress(snap: snapshot.Snapshot) -> None:
    """Runs still writing: how far they are (refreshes with the cache)."""
    live = snap.runs[snap.runs.status == "running"]
    if live.empty:
        return
    done = snap.attempts.groupby("run_id").size() if len(snap.attempts) else pd.Series(dtype=int)
    st.subheader("Runs in progress")
    for r in live.itertuples():
        d = int(done.get(r.run_id, 0))
        total = max(int(r.n_problems or 0), 1)
        st.progress(min(d / total, 1.0), text=f"{r.run_id} · {r.model} · {r.strategy}: {d}/{total} problems")


def curve_frame(configs: list[curves.Config], axis: str, problems: np.ndarray) -> pd.DataFrame:
    frames = [analysis.points(c, problems, axis).rename(columns={"label": "configuration", "cost": "compute"})
              for c in configs]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return df[np.isfinite(df.compute) & (df.compute > 0)] if len(df) else df


def curve_chart(df: pd.DataFrame, front: list[ranking.Point], configs: list[curves.Config], axis: str,
                budget: float) -> alt.LayerChart:
    x = alt.X("compute:Q", scale=alt.Scale(type="log"), title=f"{curves.AXES[axis]} (log)")
    base = alt.Chart(df)
    band = base.mark_area(opacity=0.15).encode(x=x, y=alt.Y("lo:Q", title="accuracy"), y2="hi:Q",
                                               color="configuration:N")
    line = base.mark_line(point=True).encode(
        x=x, y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])), color="configuration:N",
        strokeDash=alt.condition("datum.oracle", alt.value([5, 4]), alt.value([1, 0])),
        tooltip=["configuration", "k", alt.Tooltip("compute:Q", format=".4g"), alt.Tooltip("accuracy:Q", format=".3f"),
                 alt.Tooltip("lo:Q", format=".3f"), alt.Tooltip("hi:Q", format=".3f"),
                 alt.Tooltip("truncated:Q", format=".1%"), alt.Tooltip("accuracy_excl:Q", format=".3f")])
    labels = {c.key: c.label for c in configs}
    fr = pd.DataFrame([{"compute": p.cost, "accuracy": p.acc, "k": p.k, "configuration": labels[p.key]} for p in front])
    frontier = alt.Chart(fr).mark_line(color="black", strokeWidth=3, opacity=0.7, point=alt.OverlayMarkDef(
        color="black", size=60)).encode(x=x, y="accuracy:Q", tooltip=["configuration", "k"])
    rule = alt.Chart(pd.DataFrame({"compute": [budget]})).mark_rule(color="#c62828", strokeDash=[4, 3]).encode(x=x)
    return (band + line + frontier + rule).properties(height=420)


def ranking_frame(table: pd.DataFrame, axis: str = "generated",
                  errs: dict[str, analysis.Errors] | None = None) -> pd.DataFrame:
    """The ranked table as shown: intervals and the gap to the leader as text, so ties read at a glance; on the
    latency axis the p50 and p95 over problems beside the mean; each run's failed attempts (not counted as wrong)."""
    spread = {"p50": table.cost_p50.map(lambda v: f"{v:.4g}"), "p95": table.cost_p95.map(lambda v: f"{v:.4g}")} \
        if axis == "latency" else {}
    found = [(errs or {}).get(str(k).split(":")[0]) for k in table.key]
    return pd.DataFrame({
        "rank": ranking.rank_label(table), "configuration": table.label, "k": table.k,
        "compute": table.cost.map(lambda v: f"{v:.4g}"), **spread, "accuracy": table.accuracy.round(3),
        "95% CI": [f"[{a:.3f}, {b:.3f}]" for a, b in zip(table.lo, table.hi)],
        "Δ vs leader": ["leader" if i == 0 else f"{d:+.3f} [{a:+.3f}, {b:+.3f}]"
                        for i, (d, a, b) in enumerate(zip(table.delta, table.delta_lo, table.delta_hi))],
        "tie": ["" if i == 0 else ("tied with leader" if t else "") for i, t in enumerate(table.tied)],
        "truncated": table.truncated.map(lambda v: f"{v:.1%}" if np.isfinite(v) else "?"),
        "acc. excl. truncated": table.accuracy_excl.round(3),
        "failed (not counted)": [f"{e.failed}/{e.attempted} ({e.rate:.1%})" if e else "0" for e in found],
    })


def leaderboard_page(db: str | None) -> None:
    """Rank the chosen suites' configurations at one budget on one axis, with curves, AUC and breakdowns."""
    st.title("Compute-matched leaderboard")
    all_suites = cached_suites(db)
    if not all_suites:
        st.info("The store holds no runs yet. Start one with `thinkbench run`.")
        return
    chosen = st.sidebar.multiselect("Suites", all_suites, default=all_suites[:1], key="suites")
    axis = st.sidebar.selectbox("Compute axis", list(curves.AXES), format_func=lambda a: curves.AXES[a], key="axis")
    methods = st.sidebar.multiselect("Selection methods", ["majority", "best_of_k", "as_run"],
                                     default=["majority", "best_of_k", "as_run"],
                                     format_func=lambda m: curves.METHODS[m], key="methods")
    oracle = st.sidebar.checkbox("Draw pass@k (oracle upper bound)", value=False, key="oracle")
    partial = st.sidebar.checkbox("Include runs still in progress", value=False, key="partial")
    if not chosen:
        st.info("Pick at least one suite.")
        return
    snap, configs = cached_build(db, tuple(chosen))
    progress(snap)
    for suite in chosen:
        cs = [c for c in configs if c.suite == suite and (c.method in methods or (oracle and c.oracle))
              and (partial or c.status != "running")]
        st.header(suite)
        suite_board(db, suite, cs, axis, analysis.errors(snap))


def suite_board(db: str | None, suite: str, cs: list[curves.Config], axis: str,
                errs: dict[str, analysis.Errors] | None = None) -> None:
    """One suite's section of the leaderboard: the ranked table at a budget, the curves, AUC and a breakdown;
    runs whose failed attempts pass `analysis.ERROR_WARN` are named (failures are never counted as wrong)."""
    ranked = [c for c in cs if not c.oracle and np.isfinite(c.cost(axis)).all()]
    missing = {c.run_id: c.strategy for c in cs if not c.oracle and not np.isfinite(c.cost(axis)).all()}
    if missing:
        st.caption("Left out on this axis: " + "; ".join(
            analysis.no_axis_message(db, rid, strategy, axis) for rid, strategy in list(missing.items())[:5]))
    if not ranked:
        st.info("No finished configuration records this axis yet.")
        return
    problems = ranking.common_problems(ranked)
    if len(problems) == 0:
        st.warning("These configurations share no problems; untick runs in progress.")
        return
    default = ranking.default_budget(ranked, axis, problems)
    budget = st.number_input(f"Budget ({curves.AXES[axis]})", min_value=0.0, value=float(default),
                             format="%.6g", key=f"budget-{suite}-{axis}")
    table = ranking.rank(ranked, budget, axis, problems=problems)
    st.caption(f"{len(problems)} shared problems · 95% paired-bootstrap intervals · rank counts only "
               "configurations better beyond noise; '=' marks a shared rank")
    if table.empty:
        st.warning("No configuration has a point within this budget; raise it.")
    else:
        st.dataframe(ranking_frame(table, axis, errs), hide_index=True, width="stretch")
        for warning in (analysis.tie_warning(table), analysis.error_warning(errs or {}, [c.run_id for c in ranked])):
            if warning:
                st.warning(warning)
        if table.attrs.get("over_budget"):
            st.caption("Over budget: " + "; ".join(table.attrs["over_budget"]))
    drawn = [c for c in cs if np.isfinite(c.cost(axis, c.rows(problems))).all()]
    front = ranking.frontier(ranked, axis, problems)
    st.altair_chart(curve_chart(curve_frame(drawn, axis, problems), front, drawn, axis, budget),
                    width="stretch")
    st.caption("Bands: 95% bootstrap intervals over problems. Black: the Pareto frontier. Red: the budget.")
    st.subheader("Area under accuracy vs log-compute")
    auc = ranking.summary(drawn, axis, problems).drop(columns=["key"]).sort_values("auc_log", ascending=False)
    st.dataframe(auc, hide_index=True, width="stretch")
    by = st.selectbox("Breakdown by", ["difficulty", "subject", "suite"], key=f"by-{suite}")
    bd = ranking.breakdown(ranked, budget, axis, by=by)
    if len(bd):
        bd["cell"] = [f"{a:.3f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in zip(bd.accuracy, bd.lo, bd.hi)]
        st.dataframe(bd.pivot_table(index="group", columns="label", values="cell", aggfunc="first"),
                     width="stretch")


def run_page(db: str | None) -> None:
    st.title("Run")
    all_suites = cached_suites(db)
    if not all_suites:
        st.info("The store holds no runs yet.")
        return
    snap, configs = cached_build(db, tuple(all_suites))
    runs = snap.runs
    labels = {r.run_id: f"{r.run_id} · {r.model} · {r.strategy} · {r.suite} ({r.status})" for r in runs.itertuples()}
    rid = st.selectbox("Run", list(labels), format_func=lambda r: labels[r], key="run")
    rec = runs.set_index("run_id").loc[rid]
    manifest = json.loads(rec.manifest or "{}")
    engine = manifest.get("engine", {}) if isinstance(manifest.get("engine"), dict) else {}
    config = json.loads(rec.config or "{}")
    flat = {**{k: v for k, v in manifest.items() if not isinstance(v, (dict, list))}, **engine}
    flat.setdefault("dtype", (config.get("engine") or {}).get("dtype"))
    st.subheader("Manifest")
    st.table(pd.DataFrame({"field": MANIFEST_KEYS, "value": [str(flat.get(k, "–")) for k in MANIFEST_KEYS]}))
    att = snap.attempts[snap.attempts.run_id == rid]
    err = analysis.errors(snap).get(rid)
    st.metric("Problems attempted", f"{len(att)}/{int(rec.n_problems or 0)}", help=f"status: {rec.status}")
    if err is not None:
        st.metric("Failed (not counted as wrong)", f"{err.failed} ({err.rate:.1%})", help=f"commonest: {err.cause}")
        if err.rate > analysis.ERROR_WARN:
            st.warning(err.line())
        else:
            st.caption(err.line())
    att = att[att.error.isna()]  # accuracy is over the graded problems
    if len(att):
        att = att.assign(bin=ranking.difficulty_bins(att.difficulty.astype(float).to_numpy()),
                         ok=att.correct.fillna(False).astype(float),
                         grader_error=att.grade_status.isin(["timeout", "error"]))
        by = att.groupby("bin").agg(problems=("ok", "size"), accuracy=("ok", "mean"),
                                    tokens_per_problem=("generated_tokens", "mean"),
                                    grader_errors=("grader_error", "sum"))
        st.subheader("Results by difficulty (as run)")
        st.dataframe(by.reset_index().rename(columns={"bin": "difficulty"}), hide_index=True, width="stretch")
    latency_section(db, rid, att)
    st.subheader("Configuration")
    st.json(config, expanded=False)


MAX_PLOTTED_CALLS = 5000  # a random subset beyond this: the fit uses every call, the chart need not


def latency_chart(calls: pd.DataFrame, fits: list[latency.LatencyFit]) -> alt.LayerChart:
    """Call wall time against output tokens per sequence, one colour per model, with each model's fitted line."""
    pts = calls.assign(tokens=latency.output_tokens(calls))
    if len(pts) > MAX_PLOTTED_CALLS:
        pts = pts.sample(MAX_PLOTTED_CALLS, random_state=0)
    x = alt.X("tokens:Q", title="output tokens per sequence (generated / n, reasoning included)")
    y = alt.Y("seconds:Q", title="call wall time (s)")
    dots = alt.Chart(pts[["model", "tokens", "seconds"]]).mark_circle(size=18, opacity=0.45).encode(
        x=x, y=y, color="model:N", tooltip=["model", "tokens", alt.Tooltip("seconds:Q", format=".3f")])
    top = float(pts.tokens.max()) if len(pts) else 1.0
    line = pd.DataFrame([{"model": f.model, "tokens": t, "seconds": f.intercept + f.slope * t}
                         for f in fits for t in (0.0, top)])
    fitted = alt.Chart(line).mark_line(strokeWidth=2).encode(x=x, y=y, color="model:N")
    return (dots + fitted).properties(height=320)


def latency_section(db: str | None, rid: str, att: pd.DataFrame) -> None:
    """The run's latency fit with its chart, and critical-path seconds and dollars per problem."""
    st.subheader("Latency and cost")
    calls = cached_calls(db, rid)
    results = latency.fits(calls) if len(calls) else []
    for line in latency.fit_lines(calls, results):
        st.text(line)
    costs = [(r.problem_id, _or_none(r.critical_path_seconds), _or_none(r.dollars))
             for r in att[att.error.isna()].itertuples()] if len(att) else []
    unpriced = snapshot.unpriced_calls(db, rid) if any(d is None for *_, d in costs) else {}
    for line in latency.problem_lines(costs, unpriced, rid):
        st.text(line)
    if len(calls):
        fitted = [f for f in results if isinstance(f, latency.LatencyFit)]
        st.altair_chart(latency_chart(calls, fitted), width="stretch")
        st.caption("Each dot is one engine call; lines: least-squares fit seconds = a + b x tokens per model "
                   "(a: first-token latency, 1/b: decode tokens/s).")


def _or_none(v: float | None) -> float | None:
    """A stored cost, None where it is NULL (NaN in a frame)."""
    return None if v is None or not np.isfinite(v) else float(v)


def samples_page(db: str | None) -> None:
    st.title("Sample explorer")
    all_suites = cached_suites(db)
    if not all_suites:
        st.info("The store holds no runs yet.")
        return
    suite = st.selectbox("Suite", all_suites, key="sx-suite")
    snap, _ = cached_build(db, (suite,))
    att = snap.attempts
    if att.empty:
        st.info("No finished problems yet.")
        return
    problems = att.drop_duplicates("problem_id").sort_values("problem_index")
    meta = {r.problem_id: f"{r.problem_id} (gold {r.gold}, difficulty {r.difficulty})" for r in problems.itertuples()}
    pid = st.selectbox("Problem", list(meta), format_func=lambda p: meta[p], key="sx-problem")
    run_ids = tuple(att[att.problem_id == pid].run_id.unique())
    samples = cached_samples(db, pid, run_ids)
    runs = snap.runs.set_index("run_id")
    cols = st.columns(max(1, min(len(run_ids), 4)))
    for i, rid in enumerate(run_ids):
        with cols[i % len(cols)]:
            r = runs.loc[rid]
            a = att[(att.run_id == rid) & (att.problem_id == pid)].iloc[0]
            st.markdown(f"**{r.model} · {r.strategy}**  \n`{rid}` · final `{a.final_answer}` · "
                        f"{'✅ correct' if a.correct else '❌ wrong'} · {a.generated_tokens} tokens")
            s = samples[samples.run_id == rid]
            st.dataframe(s[["sample_idx", "extracted", "score", "correct", "grade_status", "generated_tokens"]],
                         hide_index=True, width="stretch")
            for row in s.head(8).itertuples():
                with st.expander(f"#{row.sample_idx}: {row.extracted} ({'right' if row.correct else 'wrong'})"):
                    st.text(row.text or "")


def main() -> None:
    st.set_page_config(page_title="ThinkBench leaderboard", layout="wide")
    db = db_path()
    page = st.sidebar.radio("Page", ["Leaderboard", "Run", "Samples"], key="page")
    if st.sidebar.button("Refresh now"):
        st.cache_resource.clear()
    st.sidebar.caption(f"store: {db or 'thinkbench.duckdb'} (read-only)")
    try:
        {"Leaderboard": leaderboard_page, "Run": run_page, "Samples": samples_page}[page](db)
    except UserError as e:
        st.error(str(e))


main()

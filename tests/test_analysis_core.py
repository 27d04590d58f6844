"""The one analysis path: report, app, export and compare give the same numbers and labels; non-pool strategies are
one point at their ledger's cost; truncated samples never vote; bad requests are one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from harness.store import RunStart, Store
from leaderboard import analysis, compare, curves, export, report, snapshot, synthetic

SUITE = "synth:one"


def _run(store: Store, rid: str, strategy: str, pool: bool | None, samples: list[list[tuple]], attempt_ok: list[bool],
         attempt_tokens: list[int], attempt_meta: list[dict | None] | None = None) -> None:
    """A run with hand-made rows: samples[p] = [(vote_key, correct, generated_tokens, finish_reason), ...]."""
    manifest = {"model": "m"} if pool is None else {"model": "m", "sample_pool": pool}
    identity = {"params": {"n": len(samples[0]), "temperature": 0.7}, "seed": 0}
    start = RunStart(rid, SUITE, "m", "scripted", strategy, {}, identity, manifest, len(samples), False)
    store.begin_run(start)
    atts, rows = [], []
    for p, pool_rows in enumerate(samples):
        pid = f"p{p:02d}"
        atts.append({"run_id": rid, "problem_id": pid, "problem_index": p, "gold": "5", "difficulty": 1.0 + p % 2,
                     "correct": attempt_ok[p], "generated_tokens": attempt_tokens[p], "prompt_tokens": 10,
                     "verifier_tokens": 0, "n_samples": len(pool_rows), "wall_seconds": 1.0, "flops": None,
                     "meta": json.dumps(attempt_meta[p]) if attempt_meta and attempt_meta[p] is not None else None})
        rows += [{"run_id": rid, "problem_id": pid, "sample_idx": i, "vote_key": key, "extracted": key,
                  "correct": ok, "generated_tokens": tok, "finish_reason": fin}
                 for i, (key, ok, tok, fin) in enumerate(pool_rows)]
    store.commit(atts, rows)
    store.end_run(rid, "complete")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Self-consistency (a pool, one sample truncated per problem) and beam search (one point, its full ledger)."""
    path = tmp_path_factory.mktemp("one") / "one.duckdb"
    store = Store(path)
    rng = np.random.default_rng(0)
    pools, oks = [], []
    for p in range(30):
        keys = ["5" if rng.random() < 0.6 else str(rng.integers(6, 9)) for _ in range(6)]
        pools.append([(k, k == "5", 20 + i, "length" if i == 0 else "stop") for i, k in enumerate(keys)])
        oks.append(max(set(keys), key=keys.count) == "5")
    _run(store, "sc0000000001", "self_consistency", True, pools, oks, [sum(t for *_, t, _ in x) for x in pools])
    beams = [[("5" if p % 3 else "7", p % 3 != 0, 30, "stop")] * 4 for p in range(30)]
    _run(store, "beam00000001", "beam_search", None, beams, [p % 3 != 0 for p in range(30)], [400] * 30,
         [{"truncated": p % 10 == 0} for p in range(30)])
    return path


def test_non_pool_is_one_point_at_its_ledger_cost(db):
    cs = curves.build(snapshot.load(db))
    beam = [c for c in cs if c.run_id == "beam00000001"]
    assert [c.method for c in beam] == ["as_run"]  # the strategy spec says beam search is not a pool
    assert beam[0].cost("generated").tolist() == [400.0]  # the attempt's ledger, not k x a final beam's tokens
    assert beam[0].truncation() == pytest.approx(3 / 30)
    sc = {c.method: c for c in cs if c.run_id == "sc0000000001"}
    assert set(sc) == {"majority", "pass"} and sc["majority"].truncation() == pytest.approx(1 / 6)


def test_report_app_export_and_compare_agree(db, tmp_path):
    snap = snapshot.load(db)
    configs = curves.build(snap)
    view = report.load(db, SUITE)
    text = report.format_table(view)
    app_points = pd.concat([analysis.points(c, view.problems, "generated") for c in view.configs])
    payload, rows, _ = export.suite_payload(configs)
    exported = pd.DataFrame(rows)
    for c in view.configs:
        assert c.label in text
        mine = app_points[app_points.key == c.key]
        theirs = exported[exported.key == c.key]
        assert theirs.label.iloc[0] == c.label
        np.testing.assert_allclose(theirs[["accuracy", "lo", "hi", "cost_generated"]].to_numpy(),
                                   mine[["accuracy", "lo", "hi", "cost"]].to_numpy())
        last = mine.iloc[-1]
        assert f"{last.accuracy:.3f}  [{last.lo:.3f}, {last.hi:.3f}]" in text
    assert any("beam_search" in x for x in view.table.attrs["over_budget"])  # default budget: the pool's full cost
    budget = 400.0  # beam search's ledger cost: both configurations have a point within it
    table = analysis.suite_view(view.configs, SUITE, "generated", budget).table.set_index("key")
    cmp = compare.compare("sc0000000001", "beam00000001", db=str(db), budget=budget)
    assert cmp.base_label == table.loc["sc0000000001:majority", "label"]
    assert cmp.candidate_label == table.loc["beam00000001:as_run", "label"]
    assert cmp.base_acc == pytest.approx(table.loc["sc0000000001:majority", "accuracy"])
    assert cmp.candidate_acc == pytest.approx(table.loc["beam00000001:as_run", "accuracy"])
    shown = {c["key"]: c for c in payload["configs"]}
    assert shown["beam00000001:as_run"]["label"] == table.loc["beam00000001:as_run", "label"]


def test_truncated_samples_never_vote_but_pass_counts_them(tmp_path):
    store = Store(tmp_path / "t.duckdb")
    pool = [("5", True, 10, "length"), ("5", True, 10, "length"), ("7", False, 10, "stop"), ("5", True, 10, "stop")]
    _run(store, "trunc0000001", "self_consistency", True, [pool], [True], [40])
    cs = {c.method: c for c in curves.build(snapshot.load(tmp_path / "t.duckdb"))}
    assert cs["majority"].accuracy()[0] == pytest.approx(0.25)  # only the two untruncated samples vote
    assert cs["pass"].accuracy()[0] == pytest.approx(0.75)  # the oracle bound counts the graded truncated ones
    assert cs["majority"].truncation() == pytest.approx(0.5)
    excl = cs["majority"].accuracy_excl()
    assert excl[:2] == pytest.approx([0.5, 0.5]) and np.isnan(excl[2:]).all()


def test_tie_warning_and_lift(db, capsys):
    assert main(["report", SUITE, "--db", str(db), "--plot", str(db.parent / "r.png")]) == 0
    out = capsys.readouterr().out
    assert "lift majority@6 - majority@1: " in out and ("beyond noise" in out or "within noise" in out)
    table = analysis.suite_view(report.load(db, SUITE).configs, SUITE, "generated", 400.0).table
    assert len(table) == 2
    shared = table["rank"].nunique() == 1
    assert (analysis.tie_warning(table) is not None) == shared  # ranking's own tie rule decides
    assert analysis.tie_warning(table.assign(rank=1)).startswith("warning: 2 of 2 configurations share a rank (=1)")
    assert analysis.tie_warning(table.assign(rank=[1, 2])) is None


def test_lift_is_beyond_noise_on_a_real_gain(tmp_path):
    db = tmp_path / "lift.duckdb"
    synthetic.write(db, "synth:lift", [synthetic.SynthConfig("m", 0.3, 8)], problems=200)
    c = next(c for c in curves.build(snapshot.load(db)) if c.method == "majority")
    lift = analysis.lift(c)
    assert lift is not None and lift.beyond_noise and lift.diff > 0
    assert lift.line().startswith("lift majority@8 - majority@1: +")


@pytest.mark.parametrize("args, words", [
    (["report", SUITE, "--method", "majority"], "beam_search) provides as run only"),
    (["report", SUITE, "--axis", "flops"], "parameter counts are unknown"),
    (["report", SUITE, "--axis", "joules"], "--axis 'joules'"),
    (["report", SUITE, "--run", "beam00000001", "--method", "best_of_k"], "no best-of-k"),
    (["compare", "sc0000000001", "beam00000001", "--budget", "500", "--method", "majority"], "as run only"),
    (["compare", "sc0000000001", "beam00000001", "--budget", "500", "--axis", "flops"], "parameter counts"),
    (["export", "--out", "OUT", "--method", "best_of_k"], "no best-of-k"),
])
def test_a_method_or_axis_a_run_lacks_is_one_line_exit_2(db, tmp_path, capsys, args, words):
    args = [str(tmp_path / "site") if a == "OUT" else a for a in args]
    assert main([*args, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err

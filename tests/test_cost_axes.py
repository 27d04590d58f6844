"""Dollars and latency as compute axes of report, export and compare, with the one k/n convention for pools; an
unpriced model on the dollars axis is one line and exit 2; a store written before the calls table still opens
read-only, ranks and compares (its missing columns read as NULL) and is left unchanged."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from leaderboard import curves, snapshot, synthetic

SUITE = "synth:cost"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = tmp_path_factory.mktemp("cost") / "cost.duckdb"
    ids = synthetic.write(db, SUITE, [synthetic.SynthConfig("short", 0.5, 8, tokens=100),
                                      synthetic.SynthConfig("long", 1.5, 8, tokens=400)], problems=60)
    return db, ids


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("thinkbench: error: "), err
    return err[0]


def test_pool_cost_at_k_is_k_over_n_of_the_attempt_on_both_axes(store):
    db, ids = store
    snap = snapshot.load(db)
    att = snap.attempts.set_index("run_id")
    for c in curves.build(snap, methods=("majority",)):
        a = att.loc[c.run_id]
        for axis, col in (("dollars", "dollars"), ("latency", "critical_path_seconds")):
            assert np.allclose(c.cost(axis), c.ks / 8 * a[col].mean()), axis


def test_report_ranks_on_dollars_and_latency(store, capsys, tmp_path):
    db, _ = store
    assert main(["report", SUITE, "--db", str(db), "--axis", "dollars", "--plot", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    assert "accuracy against dollars per problem" in out and "Compute-matched at" in out
    assert main(["report", SUITE, "--db", str(db), "--axis", "latency", "--plot", str(tmp_path / "l.png")]) == 0
    out = capsys.readouterr().out
    assert "critical-path seconds per problem" in out and "cost: mean, p50, p95 over problems" in out
    head = next(x for x in out.splitlines() if "cost/problem" in x)
    assert head.split()[:4] == ["k", "cost/problem", "p50", "p95"]
    assert " (p50 " in next(x for x in out.splitlines() if x.strip().startswith(("1.", "=1.")))


def test_export_and_compare_take_the_new_axes(store, capsys, tmp_path):
    db, ids = store
    assert main(["export", "--out", str(tmp_path / "site"), "--db", str(db)]) == 0
    results = pd.read_parquet(tmp_path / "site" / "results.parquet")
    assert results.cost_dollars.notna().all() and results.cost_latency.notna().all()
    assert {"dollars", "latency"} <= set(pd.read_parquet(tmp_path / "site" / "ranking.parquet").axis)
    assert '"dollars":"dollars per problem"' in (tmp_path / "site" / "index.html").read_text()
    capsys.readouterr()
    for axis in ("dollars", "latency"):
        cost = results[(results.run_id == ids[1]) & (results.method == "majority")][f"cost_{axis}"].max()
        assert main(["compare", ids[0], ids[1], "--db", str(db), "--axis", axis, "--budget", str(cost)]) == 0
        assert f"({axis})" in capsys.readouterr().out


@pytest.fixture
def unpriced(store, tmp_path):
    """A copy of the store where the `long` run's model has no price: NULL dollars on its calls and attempts."""
    db, ids = store
    copy = tmp_path / "unpriced.duckdb"
    shutil.copy(db, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE attempts SET dollars = NULL WHERE run_id = ?", [ids[1]])
    con.execute("INSERT INTO calls (run_id, problem_id, call_idx, model, seconds, generated_tokens, n, dollars) "
                "SELECT run_id, problem_id, 0, 'mystery-7b', 1.0, generated_tokens, 8, NULL FROM attempts "
                "WHERE run_id = ?", [ids[1]])
    con.close()
    return copy, ids


def test_an_unpriced_model_on_the_dollars_axis_is_one_line_naming_it(unpriced, capsys, tmp_path):
    db, ids = unpriced
    hint = (f"no price for model mystery-7b of run {ids[1]}; add it to a price file: models: {{mystery-7b: "
            f"{{input: ..., output: ...}}}} and pass --prices FILE, then thinkbench reprice {ids[1]} --prices FILE")
    assert main(["report", SUITE, "--db", str(db), "--axis", "dollars", "--plot", str(tmp_path / "x.png")]) == 2
    assert _one_line(capsys) == f"thinkbench: error: {hint}"
    assert main(["compare", ids[0], ids[1], "--db", str(db), "--axis", "dollars", "--budget", "1"]) == 2
    assert _one_line(capsys) == f"thinkbench: error: {hint}"
    # Other axes, and the priced run alone, are unaffected.
    assert main(["report", SUITE, "--db", str(db), "--axis", "latency", "--plot", str(tmp_path / "y.png")]) == 0
    assert main(["report", SUITE, "--db", str(db), "--axis", "dollars", "--run", ids[0],
                 "--plot", str(tmp_path / "z.png")]) == 0


@pytest.fixture
def old_store(tmp_path):
    """A store as schema 1 wrote it: no calls table, no attempts.dollars or critical_path_seconds."""
    db = tmp_path / "old.duckdb"
    ids = synthetic.write(db, SUITE, [synthetic.SynthConfig("a", 1.0, 4), synthetic.SynthConfig("b", 0.0, 4)],
                          problems=40)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE calls")
    con.execute("ALTER TABLE attempts DROP COLUMN dollars")
    con.execute("ALTER TABLE attempts DROP COLUMN critical_path_seconds")
    con.execute("UPDATE thinkbench_meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    return db, ids


def test_a_store_from_before_the_calls_table_opens_read_only_ranks_and_compares(old_store, capsys, tmp_path):
    db, ids = old_store
    before = db.read_bytes()
    assert main(["report", SUITE, "--db", str(db), "--plot", str(tmp_path / "p.png")]) == 0
    assert main(["compare", ids[0], ids[1], "--db", str(db)]) in (0, 1)
    assert main(["compare", ids[0], ids[1], "--db", str(db), "--budget", "500"]) in (0, 1)
    assert main(["export", "--out", str(tmp_path / "site"), "--db", str(db)]) == 0
    assert main(["ls", "--db", str(db)]) == 0
    assert main(["show", ids[0], "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "latency fit: no engine calls recorded" in out and "critical path per problem: not recorded" in out
    assert "stored no engine calls" in out  # dollars per problem: unknown, and why
    assert main(["report", SUITE, "--db", str(db), "--axis", "dollars", "--plot", str(tmp_path / "q.png")]) == 2
    assert "stored no engine calls (it was written before ThinkBench recorded them)" in _one_line(capsys)
    assert main(["report", SUITE, "--db", str(db), "--axis", "latency", "--plot", str(tmp_path / "q.png")]) == 2
    assert "records no critical-path seconds per problem" in _one_line(capsys)
    assert db.read_bytes() == before, "a read-only reader must not migrate the store"
    results = pd.read_parquet(tmp_path / "site" / "results.parquet")
    assert results.cost_dollars.isna().all() and results.cost_generated.notna().all()

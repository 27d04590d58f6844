"""Regrading a stored run with the current grader, and the math-verify second opinion kept beside it."""

from __future__ import annotations

import duckdb

from harness.store import RunStart, Store
from suites import load_suite
from tests.conftest import DATA, run_cli

INT_ID, FRAC_ID = "test/number_theory/572.json", "test/algebra/2584.json"  # gold 9 and \frac{14}{3}


def _seed_store(path):
    suite = load_suite("math500", str(DATA))
    gold = {p.id: p.answer for p in suite.problems}
    assert gold[INT_ID] == "9" and gold[FRAC_ID] == "\\frac{14}{3}"
    store = Store(path)
    store.begin_run(RunStart("r1", "math500", "m", "scripted", "self_consistency", {"data_dir": str(DATA)}, {}, {},
                             500, False))
    store.end_run("r1", "complete")
    stale = [  # (problem, sample, text, stored verdict: deliberately stale)
        (INT_ID, 0, "So the answer is \\boxed{9}.", False),
        (INT_ID, 1, "Therefore \\boxed{10}.", True),
        (FRAC_ID, 0, "Numerically \\boxed{4.666666667}.", False),
    ]
    store.commit(
        [{"run_id": "r1", "problem_id": INT_ID, "final_text": stale[0][2], "correct": False, "grader_version": "old"},
         {"run_id": "r1", "problem_id": FRAC_ID, "final_text": stale[2][2], "correct": True, "grader_version": "old"}],
        [{"run_id": "r1", "problem_id": p, "sample_idx": i, "text": t, "correct": c} for p, i, t, c in stale],
    )


def test_regrade_fixes_stale_grades_and_records_disagreements(tmp_path):
    db = tmp_path / "r.duckdb"
    _seed_store(db)
    proc = run_cli("regrade", "r1", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "3 samples (2 changed)" in proc.stdout and "(2 changed)" in proc.stdout.split("samples")[1]
    con = duckdb.connect(str(db), read_only=True)
    sample_rows = con.execute("SELECT problem_id, sample_idx, correct FROM samples").fetchall()
    verdicts = dict(((p, i), c) for p, i, c in sample_rows)
    assert verdicts == {(INT_ID, 0): True, (INT_ID, 1): False, (FRAC_ID, 0): False}
    versions = {v for (v,) in con.execute("SELECT grader_version FROM attempts").fetchall()}
    assert versions == {load_suite("math500", str(DATA)).grader_version} == {"math-2.0"}
    # 4.666666667 is not 14/3 exactly; math-verify's numeric tolerance says it is: a stored disagreement.
    rows = con.execute("SELECT problem_id, ours, theirs FROM grader_disagreements").fetchall()
    con.close()
    assert (FRAC_ID, False, True) in rows
    listing = run_cli("grader-disagreements", "r1", "--db", str(db), cwd=tmp_path)
    assert listing.returncode == 0 and FRAC_ID in listing.stdout and "math-verify=correct" in listing.stdout
    assert "Timeout is disabled" not in listing.stdout + listing.stderr + proc.stderr


def test_regrade_refuses_running_run(tmp_path):
    db = tmp_path / "r.duckdb"
    _seed_store(db)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE runs SET status='running'")
    proc = run_cli("regrade", "r1", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr

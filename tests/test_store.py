from __future__ import annotations

import duckdb
import pytest

from core.errors import UserError
from harness.store import RunStart, Store


def _attempt(pid: str, correct: bool = True) -> dict:
    return {"run_id": "r1", "problem_id": pid, "problem_index": 0, "correct": correct, "generated_tokens": 5,
            "grade_status": "correct" if correct else "wrong"}


def _sample(pid: str, idx: int) -> dict:
    return {"run_id": "r1", "problem_id": pid, "sample_idx": idx, "text": f"t{idx}", "generated_tokens": 5}


def _begin(store: Store) -> str:
    return store.begin_run(RunStart("r1", "arith", "m", "scripted", "cot", {}, {}, {}, 3, False, 100))


def test_commit_is_idempotent(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    assert _begin(store) == "new"
    store.commit([_attempt("p1")], [_sample("p1", 0), _sample("p1", 1)])
    store.commit([_attempt("p1", correct=False)], [_sample("p1", 0)])  # a replay changes nothing
    assert store.query("SELECT count(*), bool_and(correct) FROM attempts")[0] == (1, True)
    assert store.query("SELECT count(*) FROM samples")[0][0] == 2
    assert store.completed_problems("r1") == {"p1"}
    assert _begin(store) == "running"  # re-begin keeps the run


def test_failed_batch_leaves_nothing(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    _begin(store)
    bad_sample = {"run_id": "r1", "problem_id": "p2", "sample_idx": "not-an-int"}
    with pytest.raises(duckdb.Error):
        store.commit([_attempt("p2")], [bad_sample])
    assert store.completed_problems("r1") == set()


def test_runs_listing_and_prefix(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    _begin(store)
    store.commit([_attempt("p1"), _attempt("p2", False)], [])
    (row,) = store.runs()
    assert (row.done, row.correct, row.n_problems) == (2, 1, 3)
    assert store.resolve_run("r") == "r1"
    with pytest.raises(UserError, match="no run"):
        store.resolve_run("zz")


def test_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(UserError, match="not a ThinkBench store"):
        Store(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="DuckDB|ThinkBench"):
        Store(path)
    assert path.read_bytes().startswith(b"this is not a database")  # nothing overwritten


def test_read_only_missing(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_failed_attempts_are_counted_and_cleared_with_their_samples(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    _begin(store)
    failed = {**_attempt("p2", False), "error": "boom", "generated_tokens": 7}
    store.commit([_attempt("p1"), failed], [_sample("p1", 0), _sample("p2", 0), _sample("p2", 1)])
    assert store.failed_problems("r1") == {"p2"} and store.count_failed("r1") == 1
    assert store.attempt_totals("r1") == (2, 1, 12)
    store.clear_failed("r1")
    assert store.completed_problems("r1") == {"p1"} and store.failed_problems("r1") == set()
    assert store.query("SELECT problem_id FROM samples") == [("p1",)]
    assert store.attempt_totals("r1") == (1, 1, 5) and store.count_failed("r1") == 0
    store.set_param_counts("r1", 135, 7)
    rec = store.run_record("r1")
    assert (rec["policy_params"], rec["verifier_params"]) == (135, 7)


def test_no_sql_outside_store_and_queries():
    """Writes are Store methods and reads are named in harness/queries.py, so a schema change has two files to read."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sql = re.compile(r"""["'](SELECT|INSERT|UPDATE|DELETE)\s""")
    files = [root / "harness" / "cli.py", root / "harness" / "regrade.py", *(root / "leaderboard").glob("*.py"),
             *(root / "evaluators").rglob("*.py")]
    offenders = [f"{f.relative_to(root)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
                 if sql.search(line)]
    assert offenders == []

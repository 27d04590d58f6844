"""`thinkbench merge` / `thinkbench dump`: runs move between stores whole, once, or not at all."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from harness.cli import main
from harness.store import RunStart, Store

TABLES = ("runs", "attempts", "samples", "calls", "run_events", "grader_disagreements")


def _store(path, run_id: str = "r1", text: str = "the answer is 4", problems: int = 3):
    """A small store whose run has a row in every per-run table."""
    s = Store(path)
    s.begin_run(RunStart(run_id, "arith", "m", "scripted", "cot", {"suite": "arith"}, {"seed": 0}, {"git": "x"},
                         problems, False, 100))
    pids = [f"p{i}" for i in range(problems)]
    s.commit([{"run_id": run_id, "problem_id": p, "problem_index": i, "correct": True, "generated_tokens": 5,
               "dollars": 0.5} for i, p in enumerate(pids)],
             [{"run_id": run_id, "problem_id": p, "sample_idx": j, "text": text, "vote_key": "4"}
              for p in pids for j in range(2)],
             disagreements=[{"run_id": run_id, "problem_id": "p0", "sample_idx": 0, "ours": True, "theirs": False,
                             "grader_version": "math-2.0"}],
             events=[{"run_id": run_id, "occurred_at": datetime(2026, 1, 1), "worker": "w0", "kind": "failure",
                     "problem_id": "p1", "detail": "boom"}],
             calls=[{"run_id": run_id, "problem_id": p, "call_idx": 0, "model": "m", "seconds": 0.1} for p in pids])
    s.end_run(run_id, "complete")
    return path


def _counts(path, run_id: str | None = None) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        where = f" WHERE run_id='{run_id}'" if run_id else ""
        return {t: con.execute(f"SELECT count(*) FROM {t}{where}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def test_merge_copies_every_table_once_and_records_provenance(tmp_path, capsys):
    a = _store(tmp_path / "a.duckdb", "ra")
    b = _store(tmp_path / "b.duckdb", "rb", problems=2)
    dst = tmp_path / "all.duckdb"
    assert main(["merge", str(a), str(b), "--into", str(dst)]) == 0
    assert _counts(dst, "ra") == _counts(a) and _counts(dst, "rb") == _counts(b)
    assert "2 run(s) copied" in capsys.readouterr().out
    assert main(["merge", str(a), str(b), "--into", str(dst)]) == 0  # again: identical, skipped
    assert "2 already present" in capsys.readouterr().out
    assert _counts(dst, "ra") == _counts(a)
    prov = Store(dst, read_only=True).query("SELECT run_id, source, host, source_schema FROM run_provenance "
                                             "ORDER BY run_id")
    assert [(r[0], r[1].endswith(n)) for r, n in zip(prov, ("a.duckdb", "b.duckdb"))] == [("ra", True), ("rb", True)]
    assert all(r[2] and r[3] >= 2 for r in prov)
    assert main(["show", "ra", "--db", str(dst)]) == 0
    out = capsys.readouterr().out
    assert "merged from" in out and "\n  suite  arith\n" in out and "\n  git    x\n" not in out  # aligned, per block
    assert "\nmanifest:\n  git  x\n" in out and "{" not in out.split("difficulty")[0]
    assert main(["show", "ra", "--db", str(dst), "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert raw["config"] == {"suite": "arith"} and raw["provenance"][0]["source"].endswith("a.duckdb")


def test_conflicting_run_is_refused_and_nothing_is_copied(tmp_path, capsys):
    a = _store(tmp_path / "a.duckdb", "r1")
    other = _store(tmp_path / "other.duckdb", "r2")
    clash = _store(tmp_path / "clash.duckdb", "r1", text="the answer is 5")  # same run id, another response
    dst = tmp_path / "dst.duckdb"
    assert main(["merge", str(a), "--into", str(dst)]) == 0
    before = _counts(dst)
    capsys.readouterr()
    assert main(["merge", str(other), str(clash), "--into", str(dst)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run r1" in err and "nothing merged" in err
    assert _counts(dst) == before  # r2 was fine, but the merge is all or nothing
    assert main(["merge", str(a), str(clash), "--into", str(tmp_path / "new.duckdb")]) == 2
    assert "differs between" in capsys.readouterr().err
    assert not (tmp_path / "new.duckdb").exists()


def test_parquet_dump_round_trips_through_merge(tmp_path, capsys):
    a = _store(tmp_path / "a.duckdb", "ra")
    dumped = tmp_path / "dump"
    assert main(["dump", "--db", str(a), "--out", str(dumped)]) == 0
    assert {p.stem for p in dumped.glob("*.parquet")} >= {*TABLES, "thinkbench_meta"}
    first = {p.name: p.read_bytes() for p in dumped.glob("*.parquet")}
    assert main(["dump", "--db", str(a), "--out", str(dumped)]) == 0  # again: same bytes, replaced whole
    assert {p.name: p.read_bytes() for p in dumped.glob("*.parquet")} == first
    dst = tmp_path / "from-parquet.duckdb"
    assert main(["merge", str(dumped), "--into", str(dst)]) == 0
    assert _counts(dst, "ra") == _counts(a)
    capsys.readouterr()
    assert main(["merge", str(a), "--into", str(dst)]) == 0  # the .duckdb original is the same content
    assert "1 already present" in capsys.readouterr().out
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    assert main(["dump", "--db", str(a), "--out", str(tmp_path / "junk")]) == 2
    assert "not an earlier dump" in capsys.readouterr().err


def test_older_schema_is_migrated_and_newer_refused(tmp_path, capsys):
    old = _store(tmp_path / "old.duckdb", "rold")
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE calls; DROP TABLE run_provenance; ALTER TABLE attempts DROP COLUMN dollars; "
                "UPDATE thinkbench_meta SET value='1'")
    con.close()
    dst = tmp_path / "dst.duckdb"
    assert main(["merge", str(old), "--into", str(dst)]) == 0
    rows = Store(dst, read_only=True).query("SELECT count(*), count(dollars) FROM attempts")
    assert rows == [(3, 0)]
    assert main(["merge", str(old), "--into", str(dst)]) == 0  # NULL columns hash as they read: still identical
    assert "1 already present" in capsys.readouterr().out
    new = _store(tmp_path / "new.duckdb", "rnew")
    con = duckdb.connect(str(new))
    con.execute("UPDATE thinkbench_meta SET value='99'")
    con.close()
    assert main(["merge", str(new), "--into", str(dst)]) == 2
    assert "newer ThinkBench (schema 99" in capsys.readouterr().err


@pytest.mark.parametrize("make", ["missing", "foreign", "self"])
def test_bad_sources_are_one_line_errors(tmp_path, capsys, make):
    dst = _store(tmp_path / "dst.duckdb", "r1")
    src = {"missing": tmp_path / "nope.duckdb", "foreign": tmp_path / "f.duckdb", "self": dst}[make]
    if make == "foreign":
        con = duckdb.connect(str(src))
        con.execute("CREATE TABLE t (x INT)")
        con.close()
    assert main(["merge", str(src), "--into", str(dst)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thinkbench: error:") and err.count("\n") == 1
    assert {"missing": "does not exist", "foreign": "not a ThinkBench store", "self": "destination"}[make] in err

"""`thinkbench sweep`: a grid's configurations share one set of engine actors, and each is stored as exactly the
run `thinkbench run` would have made (same id, same rows), so sweeps resume and skip what is complete.

The scripted engine keeps this fast and deterministic; bench/sweep.py measures the same on vLLM.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from conftest import run_cli

from core.errors import UserError
from harness.sweep import expand

SUITE = "arith:digits=1-2,ops=1,operators=+,n=10,seed=3"
GRID = f"""
suite: "{SUITE}"
engine: {{kind: scripted}}
strategy: {{params: {{max_tokens: 48}}}}
configs:
  - {{strategy.name: self_consistency}}
  - {{strategy: {{name: best_of_n}}}}
grid:
  strategy:
    params:
      n: [2, 3]
"""


def _rows(db, rid: str) -> tuple[list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        attempts = con.execute("SELECT problem_id, final_answer, correct, generated_tokens, error FROM attempts "
                               "WHERE run_id = ? ORDER BY problem_id", [rid]).fetchall()
        samples = con.execute("SELECT problem_id, sample_idx, text, extracted, score, correct FROM samples "
                              "WHERE run_id = ? ORDER BY problem_id, sample_idx", [rid]).fetchall()
    finally:
        con.close()
    return attempts, samples


def _runs(db) -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT run_id, status, manifest FROM runs").fetchall()
    finally:
        con.close()
    return {rid: {"status": status, "manifest": json.loads(m)} for rid, status, m in rows}


def test_grid_expands_listed_configurations_across_every_combination():
    data = {"configs": [{"strategy.name": "a"}, {"strategy": {"name": "b", "params": {"x": 1}}}],
            "grid": {"strategy": {"params": {"n": [1, 2, 4]}}, "seed": [0, 1]}}
    out = expand(data)
    assert len(out) == 2 * 3 * 2
    assert out[0] == {"strategy.name": "a", "strategy.params.n": 1, "seed": 0}
    assert {"strategy.name": "b", "strategy.params.x": 1, "strategy.params.n": 4, "seed": 1} in out
    assert expand({}) == [{}], "no grid: the base alone"
    with pytest.raises(UserError, match="must list its values"):
        expand({"grid": {"strategy.params.n": 4}})


def test_sweep_shares_engines_stores_the_same_runs_and_skips_what_is_complete(tmp_path, ray_address):
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    db = tmp_path / "sweep.duckdb"
    dry = run_cli("sweep", str(grid), "--db", str(db), "--dry-run", "--ray-address", ray_address, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "4 configuration(s), 1 engine group(s)" in dry.stderr and dry.stderr.count(" new ") == 4
    assert not db.exists() or not _runs(db), "a dry run stores nothing"

    done = run_cli("sweep", str(grid), "--db", str(db), "--ray-address", ray_address, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs = _runs(db)
    assert len(runs) == 4 and all(r["status"] == "complete" for r in runs.values())
    assert "configs 4/4" in done.stderr
    pids = {json.dumps(sorted(w["pid"] for w in r["manifest"]["workers"])) for r in runs.values()}
    assert len(pids) == 1, "every configuration ran on the same engine actors"
    assert all(len(r["manifest"]["last_session"]["shared_with_runs"]) == 3 for r in runs.values())

    # One configuration run alone: the same run id and the same rows as the sweep stored.
    alone = tmp_path / "alone.duckdb"
    single = run_cli("run", "--suite", SUITE, "--engine", "scripted", "--strategy", "best_of_n", "--n", "3",
                     "--max-tokens", "48", "--db", str(alone), "--ray-address", ray_address, cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    (rid,) = _runs(alone)
    assert rid in runs
    assert _rows(alone, rid) == _rows(db, rid) and len(_rows(db, rid)[1]) == 30

    # A wider grid: the four stored configurations are skipped, the two new ones run.
    grid.write_text(GRID.replace("n: [2, 3]", "n: [2, 3, 4]"))
    wider = run_cli("sweep", str(grid), "--db", str(db), "--ray-address", ray_address, cwd=tmp_path)
    assert wider.returncode == 0, wider.stderr
    assert wider.stderr.count(" complete ") == 4 and wider.stderr.count(" new ") == 2
    after = _runs(db)
    assert len(after) == 6
    assert all(after[r]["manifest"]["last_session"] == runs[r]["manifest"]["last_session"] for r in runs), \
        "complete configurations were not run again"


@pytest.mark.parametrize("body, needle", [
    ("grid: {strategy.params.n: 4}", "must list its values"),
    ("grid: {strategy.params.temperature: [0.5, -3]}", "sweep configuration 2"),
    ("configs: [{nonsense: 1}]", "nonsense"),
    ("- just a list", "must hold a mapping"),
])
def test_bad_sweep_files_get_one_line_errors(tmp_path, body, needle):
    grid = tmp_path / "grid.yaml"
    grid.write_text(f'suite: "{SUITE}"\nengine: {{kind: scripted}}\n{body}\n' if "list" not in body else body)
    proc = run_cli("sweep", str(grid), "--db", str(tmp_path / "x.duckdb"), "--dry-run", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

"""reasoning-gym suites end to end on the embedded model: two tasks, a few problems each, in one sweep served by
the session's one vLLM server (no engine start of their own). One task graded by reasoning-gym's verifier, one by
our checker with reasoning-gym's verdict as the second opinion; the raw score leads every stored reason."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from suites.rg import catalog
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
pytest.importorskip("reasoning_gym")

TASKS = ["rg:basic_arithmetic:level=0,size=4,seed=1", "rg:knights_knaves:size=4,seed=1"]


def test_rg_tasks_run_and_store_raw_scores(tmp_path, vllm_server, ray_address):
    """Both tasks in one `thinkbench sweep` (one CLI start, one set of engine actors)."""
    base, _ = vllm_server
    db = tmp_path / "rg.duckdb"
    grid = tmp_path / "rg.yaml"
    grid.write_text(f"""
engine: {{kind: openai, base_url: "{base}"}}
strategy: {{name: self_consistency, params: {{n: 2, temperature: 0.7, max_tokens: 64}}}}
grid:
  suite: [{", ".join(f'"{t}"' for t in TASKS)}]
""")
    proc = run_cli("sweep", str(grid), "--ray-address", ray_address, "--db", str(db), "--plot",
                   str(tmp_path / "p.png"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("SELECT suite, identity, manifest FROM runs ORDER BY suite").fetchall()
    attempts = con.execute("SELECT a.problem_id, a.correct, a.grade_reason, a.grader_version, a.grade_status, r.suite, "
                           "a.grade_score FROM attempts a JOIN runs r USING (run_id) "
                           "ORDER BY r.suite, a.problem_id").fetchall()
    n_samples = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    sample_scores = con.execute("SELECT s.correct, s.grade_score, s.grade_status, r.suite FROM samples s "
                                "JOIN runs r USING (run_id)").fetchall()
    con.close()
    version = catalog.version()
    assert [r[0] for r in runs] == [f"rg:basic_arithmetic:level=0,size=4,seed=1,version={version}",
                                    f"rg:knights_knaves:size=4,seed=1,version={version}"]
    assert all(f"version={version}" in json.loads(ident)["suite"] for _, ident, _ in runs)  # in the run id's hash
    assert all(json.loads(m)["grader_version"] == f"rg-1+{version}" for *_, m in runs)
    assert len(attempts) == 8 and n_samples == 16
    graded = [a for a in attempts if a[3] != "-"]  # "-": the strategy stood by no answer (no vote), nothing to grade
    print("rg e2e attempts:", attempts)
    assert graded
    for pid, correct, reason, grader_version, status, suite, stored in graded:
        assert pid.startswith("rg-") and grader_version == f"rg-1+{version}"
        score = float(re.match(r"rg score (\d\.\d\d)", reason).group(1))  # the raw partial credit, stored
        assert 0.0 <= score <= 1.0 and stored is not None and abs(stored - score) < 0.005, (reason, stored)
        if suite.startswith("rg:basic_arithmetic"):
            assert bool(correct) == (score == 1.0)  # reasoning-gym decides: correct exactly at full score
        assert bool(correct) == (status == "correct")
    scored = [(c, s, suite) for c, s, status, suite in sample_scores if status not in ("timeout", "error")]
    assert scored and all(s is not None and 0.0 <= s <= 1.0 for _, s, _ in scored), "every sample keeps its score"
    assert all(bool(c) == (s == 1.0) for c, s, suite in scored if suite.startswith("rg:basic_arithmetic")), \
        "where reasoning-gym decides, a sample is correct exactly at full score"
    print("rg e2e accuracy:", {s.split(":")[1]: sum(bool(a[1]) for a in attempts if a[5] == s) / 4
                               for s in {a[5] for a in attempts}})

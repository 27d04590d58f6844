"""A problem whose strategy fails is stored as failed (not dropped, run not complete) and retried on rerun."""

from __future__ import annotations

import duckdb

from harness.engines.base import Prompt, SamplingParams
from tests.conftest import REPO, run_cli


def flaky(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """Fails on one problem while the marker file exists; the rerun removes it."""
    import os

    if "1 + 7" in prompt.messages[-1][1] and os.path.exists(os.environ["TB_FLAKY_MARKER"]):
        raise RuntimeError("simulated engine failure")
    return "The answer is 8"


def test_failed_problem_is_recorded_then_retried(tmp_path):
    marker = tmp_path / "fail"
    marker.write_text("1")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("engine:\n  kind: scripted\n  responder: tests.test_runner_failures:flaky\n")
    db = tmp_path / "f.duckdb"
    args = ["run", "--config", str(cfg), "--suite", "arith:digits=1,operators=+,n=40,seed=2", "--db", str(db)]
    env = {"TB_FLAKY_MARKER": str(marker), "PYTHONPATH": str(REPO)}  # so Ray workers can import this responder
    first = run_cli(*args, env=env, cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # incomplete
    con = duckdb.connect(str(db), read_only=True)
    status = con.execute("SELECT status FROM runs").fetchone()[0]
    errors = con.execute("SELECT count(*) FROM attempts WHERE error LIKE '%simulated engine failure%'").fetchone()[0]
    total = con.execute("SELECT count(*) FROM attempts").fetchone()[0]
    con.close()
    assert status == "incomplete" and errors >= 1 and total == 40
    marker.unlink()
    second = run_cli(*args, env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "complete"
    assert con.execute("SELECT count(*), count(error) FROM attempts").fetchone() == (40, 0)
    con.close()

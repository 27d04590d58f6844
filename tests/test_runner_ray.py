"""The Ray driver with the deterministic scripted engine: real Ray, real DuckDB, real subprocesses.

The scripted engine's output depends only on (prompt, sample index, seed), so an interrupted and
resumed run must store exactly what an uninterrupted run stores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from tests.conftest import DATA, THINKBENCH, run_cli

SUITE = "arith:digits=1-2,n=40,seed=11"
ARGS = ["run", "--suite", SUITE, "--engine", "scripted", "--strategy", "self_consistency", "--n", "6"]


def _rows(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        att = con.execute("SELECT problem_id, final_answer, correct, generated_tokens, n_samples FROM attempts "
                          "ORDER BY problem_id").fetchall()
        smp = con.execute("SELECT problem_id, sample_idx, text, correct, generated_tokens FROM samples "
                          "ORDER BY problem_id, sample_idx").fetchall()
        runs = con.execute("SELECT run_id, status FROM runs").fetchall()
    finally:
        con.close()
    return att, smp, runs


def test_run_resume_and_rerun_is_noop(tmp_path):
    db = tmp_path / "a.duckdb"
    first = run_cli(*ARGS, "--db", str(db), "--plot", str(tmp_path / "p.png"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "complete: 40/40 problems" in first.stdout
    assert "majority@k" in first.stdout and (tmp_path / "p.png").stat().st_size > 10_000
    att, smp, runs = _rows(db)
    assert len(att) == 40 and len(smp) == 240 and runs[0][1] == "complete"
    again = run_cli(*ARGS, "--db", str(db), cwd=tmp_path)
    assert again.returncode == 0 and "resuming" in again.stderr
    assert _rows(db) == (att, smp, runs)
    # a changed config is a new run
    other = run_cli(*ARGS[:-1], "4", "--db", str(db), cwd=tmp_path)
    assert other.returncode == 0
    assert len(_rows(db)[2]) == 2
    ls = run_cli("ls", "--db", str(db), cwd=tmp_path)
    assert ls.returncode == 0 and ls.stdout.count("complete") == 2
    show = run_cli("show", runs[0][0][:6], "--db", str(db), cwd=tmp_path)
    assert show.returncode == 0 and "git_revision" in show.stdout and "difficulty" in show.stdout


def test_sigkill_driver_then_resume_matches_uninterrupted(tmp_path):
    clean_db, killed_db = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    slow = ["--param", "max_tokens=64"]
    env = {**os.environ, "THINKBENCH_DATA_DIR": str(DATA)}
    ref = run_cli(*ARGS, *slow, "--db", str(clean_db), cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr

    cfg = tmp_path / "slow.yaml"
    # Same identity as the reference run (latency is not part of it), but slow enough to kill midway.
    cfg.write_text("engine:\n  kind: scripted\n  seconds_per_token: 0.1\ncommit_every: 4\nmax_inflight: 4\n")
    proc = subprocess.Popen([THINKBENCH, *ARGS, *slow, "--config", str(cfg), "--db", str(killed_db)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.5)
        try:
            con = duckdb.connect(str(killed_db), read_only=True)
            n = con.execute("SELECT count(*) FROM attempts").fetchone()[0]
            con.close()
        except duckdb.Error:
            continue
        if n >= 8:
            break
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started, mid-run
    proc.wait(timeout=30)
    partial = _rows(killed_db)
    assert 8 <= len(partial[0]) < 40, "the kill should land mid-run"
    assert partial[2][0][1] == "running"

    resumed = run_cli(*ARGS, *slow, "--db", str(killed_db), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    clean, killed = _rows(clean_db), _rows(killed_db)
    assert killed[0] == clean[0]  # attempts identical
    assert killed[1] == clean[1]  # samples identical, none duplicated
    assert killed[2] == clean[2]  # same run id, complete


if __name__ == "__main__":
    sys.exit(0)


def test_verifier_flag_reaches_the_actor_and_is_labelled(tmp_path):
    """An oracle verifier (upper bound) through the whole runner: labelled in the identity and every attempt."""
    db = tmp_path / "v.duckdb"
    proc = run_cli("run", "--suite", "arith:n=6,seed=4", "--engine", "scripted", "--strategy", "best_of_n",
                   "--n", "4", "--verifier", "oracle", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    identity = con.execute("SELECT identity FROM runs").fetchone()[0]
    metas = [m for (m,) in con.execute("SELECT meta FROM attempts").fetchall()]
    correct = con.execute("SELECT bool_and(correct = has_right) FROM "
                          "(SELECT a.correct, bool_or(s.correct) AS has_right "
                          "FROM attempts a JOIN samples s USING (run_id, problem_id) GROUP BY a.problem_id, a.correct)"
                          ).fetchone()[0]
    con.close()
    assert '"oracle": true' in identity
    assert len(metas) == 6 and all('"oracle": true' in m for m in metas)
    assert correct, "best-of-n with the oracle is right exactly when any sample is (pass@n)"


def test_llm_judge_with_its_own_model_beside_the_policy(tmp_path):
    """`--verifier-model` gives llm_judge an engine of its own: its parameter count prices the verifier FLOPs."""
    from harness.models import parameter_count, resolve_model
    from harness.verifiers.tiny import make_tiny_prm

    judge = make_tiny_prm(tmp_path / "judge", resolve_model("embedded").path)  # a tiny causal LM
    db = tmp_path / "j.duckdb"
    proc = run_cli("run", "--suite", "arith:n=3,seed=4", "--engine", "scripted", "--strategy", "best_of_n", "--n", "2",
                   "--verifier", "llm_judge", "--verifier-model", str(judge), "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    manifest, policy_params, verifier_params = con.execute(
        "SELECT manifest, policy_params, verifier_params FROM runs").fetchone()
    vtokens, vcalls = con.execute("SELECT sum(verifier_tokens), sum(verifier_calls) FROM attempts").fetchone()
    con.close()
    assert '"model": "' + str(judge) in manifest
    assert verifier_params == parameter_count(str(judge)) and verifier_params < policy_params
    assert vtokens > 0 and vcalls == 3 * 2, "one judge call per candidate, charged to its attempt"

    bad = run_cli("run", "--suite", "arith:n=3,seed=4", "--engine", "scripted", "--verifier", "llm_judge",
                  "--verifier-option", "base_url=judge:8000", "--db", str(db), cwd=tmp_path)
    assert bad.returncode == 2 and "must start with http://" in bad.stderr and "Traceback" not in bad.stderr

"""End to end through the real vLLM CPU engine and the embedded SmolLM2-135M-Instruct.

Each test starts real engines (about a minute each on 2 cores), so they are few and small.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import duckdb
import httpx
import pytest

from harness.models import resolve_model
from tests.conftest import DATA, THINKBENCH, run_cli

pytestmark = pytest.mark.e2e

SUITE = "arith:digits=1,ops=1,operators=+,n=10,seed=3"


def _snapshot(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (
            con.execute("SELECT problem_id, final_text, final_answer, correct, generated_tokens FROM attempts "
                        "ORDER BY problem_id").fetchall(),
            con.execute("SELECT problem_id, sample_idx, text, generated_tokens FROM samples "
                        "ORDER BY problem_id, sample_idx").fetchall(),
            con.execute("SELECT run_id, status FROM runs").fetchall(),
        )
    finally:
        con.close()


def _count(db) -> int:
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute("SELECT count(*) FROM attempts").fetchone()[0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


# Sampled, not greedy: per-request seeds make the samples a function of (run seed, problem, request) alone, so a
# run killed mid-way and resumed one problem at a time must store exactly what an uninterrupted batched run did.
SAMPLED = ["run", "--suite", SUITE, "--strategy", "self_consistency", "--n", "2", "--temperature", "0.9",
           "--max-tokens", "24", "--max-model-len", "512"]


def test_vllm_run_sigkill_resume_equals_uninterrupted(tmp_path):
    clean_db, killed_db = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    ref = run_cli(*SAMPLED, "--db", str(clean_db), cwd=tmp_path)
    assert ref.returncode == 0, ref.stderr[-3000:]
    clean = _snapshot(clean_db)
    assert len(clean[0]) == 10 and clean[2][0][1] == "complete"
    assert all(row[4] > 0 for row in clean[0]), "every attempt records generated tokens"
    assert any(row[3] for row in clean[0]), "the model gets some one-digit sums right"

    # Same identity (commit size and in-flight cap are not part of it), committed one problem at a time.
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("commit_every: 1\nmax_inflight: 1\n")
    env = {**os.environ, "THINKBENCH_DATA_DIR": str(DATA)}
    proc = subprocess.Popen([THINKBENCH, *SAMPLED, "--config", str(cfg), "--db", str(killed_db)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 400
    while time.time() < deadline and _count(killed_db) < 3 and proc.poll() is None:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    done = _count(killed_db)
    assert 3 <= done < 10, f"kill should land mid-run, {done} stored"

    resumed = run_cli(*SAMPLED, "--db", str(killed_db), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming run {clean[2][0][0]}: {done}/10" in resumed.stderr
    killed = _snapshot(killed_db)
    assert killed[2] == clean[2]
    assert [r[0] for r in killed[1]] == [r[0] for r in clean[1]], "no duplicates, none missing"
    assert len({r[2] for r in clean[1]}) > len(clean[0]), "sampling at temperature 0.9 gives varied samples"
    assert killed[1] == clean[1], "seeded sampling: every sample equals the uninterrupted run's"
    assert killed[0] == clean[0], "and so does every final answer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    model = resolve_model("embedded")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_LOGGING_LEVEL": "WARNING"}
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model.path,
             "--served-model-name", model.name, "--dtype", "float32", "--enforce-eager", "--max-model-len", "512",
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 400
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("vLLM server exited:\n" + log.read_text()[-3000:])
        try:
            if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("vLLM server did not come up:\n" + log.read_text()[-3000:])
    yield base, model.name
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_openai_engine_against_real_vllm_server(tmp_path, vllm_server):
    base, name = vllm_server
    db = tmp_path / "o.duckdb"
    proc = run_cli("run", "--suite", SUITE, "--engine", "openai", "--base-url", base, "--strategy",
                   "self_consistency", "--n", "4", "--max-tokens", "24", "--limit", "6", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not comparable" in proc.stderr
    con = duckdb.connect(str(db), read_only=True)
    n_samples, gen, prompt = con.execute(
        "SELECT count(*), sum(generated_tokens), sum(prompt_tokens) FROM samples").fetchone()
    att_gen, att_prompt, calls = con.execute(
        "SELECT sum(generated_tokens), sum(prompt_tokens), sum(engine_calls) FROM attempts").fetchone()
    con.close()
    assert n_samples == 24 and calls == 6
    assert gen == att_gen > 0, "per-sample token counts add up to the server-reported usage"
    assert att_prompt > 6 * 10

    bad = run_cli("run", "--suite", SUITE, "--engine", "openai", "--base-url", base, "--served-model", "nope",
                  "--limit", "1", "--db", str(db), cwd=tmp_path)
    assert bad.returncode == 2 and "does not serve 'nope'" in bad.stderr


def test_llm_judge_served_by_a_real_vllm_server(tmp_path, vllm_server):
    """The judge on its own OpenAI-compatible server (`base_url`): P("Yes") read from the server's real logprobs."""
    base, name = vllm_server
    db = tmp_path / "judge.duckdb"
    proc = run_cli("run", "--suite", SUITE, "--engine", "scripted", "--strategy", "best_of_n", "--n", "3",
                   "--verifier", "llm_judge", "--verifier-model", name, "--verifier-option", f"base_url={base}",
                   "--limit", "4", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    scores = [s for (s,) in con.execute("SELECT score FROM samples").fetchall()]
    vtokens, vcalls, manifest = con.execute(
        "SELECT sum(verifier_tokens), sum(verifier_calls), any_value(manifest) FROM attempts, runs").fetchone()
    con.close()
    assert len(scores) == 12 and all(0.0 <= s <= 1.0 for s in scores)
    assert any(0.0 < s < 1.0 for s in scores), "scores come from top logprobs, not from the sampled text alone"
    assert vcalls == 12 and vtokens > 12 * 20, "judge prompts are charged as verifier tokens"
    assert '"engine": "openai"' in manifest

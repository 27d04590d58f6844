"""Cost caps (--max-total-tokens, --max-dollars): a run stops dispatching before its spend would pass the cap,
keeps what finished, is stored as `capped` and exits 3; a higher cap (or none) resumes the same run.

Real Ray and DuckDB with the scripted engine (a small simulated latency, so several problems are in flight at
once) and a price file listing the embedded model, so every attempt's dollars are known.
"""

from __future__ import annotations

import json
import re

import duckdb

from harness.dispatch import Budget
from tests.conftest import run_cli

N_PROBLEMS, N_SAMPLES, IN_FLIGHT = 30, 4, 4
ARGS = ["run", "--suite", f"arith:n={N_PROBLEMS},seed=5", "--strategy", "self_consistency", "--n", str(N_SAMPLES)]
CAP_LINE = re.compile(r"^thinkbench: run (\w+) stopped at its cap: (\S+) of (\S+) (?:tokens )?spent, (\d+)/(\d+) "
                      r"problems; rerun with a higher cap to resume$")


def _setup(tmp_path, address: str):
    cfg = tmp_path / "slow.yaml"
    cfg.write_text("engine:\n  kind: scripted\n  seconds_per_token: 0.02\n"
                   f"workers: 1\nmax_inflight: {IN_FLIGHT}\ncommit_every: 2\n")
    prices = tmp_path / "prices.yaml"  # $0.001 per prompt token, $0.002 per generated token
    prices.write_text("models:\n  SmolLM2-135M-Instruct:\n    input: 1000\n    output: 2000\n")
    return ["--config", str(cfg), "--prices", str(prices), "--ray-address", address]


def _stored(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        att = con.execute("SELECT problem_id, final_answer, correct, prompt_tokens + generated_tokens + "
                          "verifier_tokens, dollars, error FROM attempts ORDER BY problem_id").fetchall()
        samples = con.execute("SELECT problem_id, sample_idx, text FROM samples ORDER BY ALL").fetchall()
        runs = con.execute("SELECT run_id, status FROM runs").fetchall()
    finally:
        con.close()
    return att, samples, runs


def _cap_line(proc):
    assert proc.returncode == 3, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    m = CAP_LINE.match(last)
    assert m is not None, last
    assert "Traceback" not in proc.stderr
    return m


def _check_partial(db, spent_col, cap, reported_spent, reported_done):
    """Capped partway; nothing duplicated or failed; the spend within the cap plus what was in flight."""
    att, samples, runs = _stored(db)
    assert len(runs) == 1 and runs[0][1] == "capped"
    assert 0 < len(att) < N_PROBLEMS and len(att) == reported_done
    assert len({a[0] for a in att}) == len(att) and len(samples) == N_SAMPLES * len(att)
    assert all(a[5] is None for a in att)
    spent = sum(a[spent_col] for a in att)
    assert abs(spent - reported_spent) < 1e-3
    assert spent <= cap + IN_FLIGHT * max(a[spent_col] for a in att)
    return att


def test_caps_stop_partway_and_a_higher_cap_resumes(tmp_path, ray_address):
    flags = _setup(tmp_path, ray_address)
    db = tmp_path / "capped.duckdb"

    # A token cap of about a third of the run (an attempt here is 55 tokens): stops partway, exit 3, capped.
    tcap = 600
    m = _cap_line(run_cli(*ARGS, *flags, "--max-total-tokens", str(tcap), "--db", str(db), cwd=tmp_path))
    assert m[3] == str(tcap) and m[5] == str(N_PROBLEMS)
    first = _check_partial(db, 3, tcap, int(m[2]), int(m[4]))
    ls = run_cli("ls", "--db", str(db), cwd=tmp_path)
    assert ls.returncode == 0 and "capped" in ls.stdout
    con = duckdb.connect(str(db), read_only=True)
    manifest = json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])
    con.close()
    assert manifest["last_session"]["caps"] == {"max_dollars": None, "max_total_tokens": tcap, "stopped_by": "tokens"}

    # A higher cap, in dollars this time (about two thirds of the run), counts what the first session spent
    # and resumes the same run.
    dcap = round(N_PROBLEMS * 2 / 3 * first[0][4], 4)
    proc = run_cli(*ARGS, *flags, "--max-dollars", str(dcap), "--db", str(db), cwd=tmp_path)
    m = _cap_line(proc)
    assert m[3] == f"${dcap:.4f}" and "resuming" in proc.stderr
    second = _check_partial(db, 4, dcap, float(m[2].lstrip("$")), int(m[4]))
    assert len(second) > len(first) and set(first) <= set(second)  # earlier rows kept, unchanged

    # No cap: the same run completes; nothing lost, nothing duplicated, nothing stored earlier rewritten.
    done = run_cli(*ARGS, *flags, "--db", str(db), cwd=tmp_path)
    assert done.returncode == 0 and "resuming" in done.stderr, done.stderr[-2000:]
    att, samples, runs = _stored(db)
    assert runs == [(runs[0][0], "complete")] and runs[0][0] == m[1]
    assert len(att) == N_PROBLEMS and len({a[0] for a in att}) == N_PROBLEMS and set(second) <= set(att)
    assert len(samples) == len(set(samples)) == N_PROBLEMS * N_SAMPLES
    assert all(a[5] is None for a in att)


def test_dollars_cap_on_an_unpriced_model_is_one_line_exit_2(tmp_path):
    """Refused before any engine starts: nothing listens at the server address, and no run is recorded."""
    db = tmp_path / "u.duckdb"
    proc = run_cli("run", "--suite", "arith:n=3", "--engine", "openai", "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "no-such-model-7", "--max-dollars", "1", "--db", str(db), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("thinkbench: error:"), proc.stderr
    assert "'no-such-model-7'" in lines[0] and "models:" in lines[0] and "--prices" in lines[0]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    con.close()


def test_budget_rules():
    """First wave before any spend is known; then dispatch only while the estimate stays within the cap."""
    b = Budget(max_tokens=1000)
    assert [b.verdict(i, 2) for i in range(3)] == ["go", "go", "wait"]
    for _ in range(4):
        b.add({"prompt_tokens": 50, "generated_tokens": 40, "verifier_tokens": 10, "dollars": None})
    assert b.tokens == 400 and not b.unpriced  # no dollars cap: unknown dollars do not matter
    assert b.verdict(5, 2) == "go"  # 400 + 6 x 100 = 1000, within the cap
    assert b.verdict(6, 2) == "stop" and b.hit == "tokens"
    b.add({"prompt_tokens": 100, "generated_tokens": 0, "dollars": None, "error": "worker died"})
    assert b.problems == 4 and b.tokens == 500  # a failed attempt's spend counts, but not as a problem of the mean
    d = Budget(max_dollars=1.0)
    d.add({"prompt_tokens": 1, "generated_tokens": 1, "dollars": None})
    assert d.unpriced and d.verdict(0, 2) == "stop"

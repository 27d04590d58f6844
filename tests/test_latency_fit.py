"""The latency fit (call seconds = a + b x output tokens): it recovers known a and b from synthetic calls and from a
scripted run whose simulated first-token and per-token times are known, and `thinkbench show` prints it in one line."""

from __future__ import annotations

import hashlib
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest

from harness import latency
from harness.engines.base import Prompt, SamplingParams
from tests.conftest import REPO, run_cli

FIRST, PER_TOKEN = 0.1, 0.01  # the scripted run's simulated latency: 100 tokens/s after a 100 ms first token


def varied(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """A reply of 5 to 80 words depending on the problem, ending in an answer the arith grader reads."""
    n = 5 + hashlib.sha256(prompt.messages[-1][1].encode()).digest()[0] % 76
    return " ".join(["w"] * n) + " The answer is 0"


def _calls(a: float, b: float, n: int, noise: float, seed: int = 0, top: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(20, top, size=n).astype(float)
    return a + b * tokens + rng.normal(0, noise, size=n), tokens


def test_fit_recovers_known_first_token_and_decode_speed():
    seconds, tokens = _calls(0.41, 1 / 87, 1234, noise=0.25)
    f = latency.fit(seconds, tokens)
    assert f is not None and f.calls == 1234
    assert f.intercept_ci[0] <= 0.41 <= f.intercept_ci[1] and abs(f.intercept - 0.41) < 0.05
    assert f.decode_ci[0] <= 87 <= f.decode_ci[1] and abs(f.decode_tps - 87) < 3
    assert 0.9 < f.r2 < 1
    line = f.line()
    assert re.fullmatch(r"latency fit: first token 0\.\d\d s \[0\.\d\d, 0\.\d\d\], decode 8\d\.\d tok/s \[8\d, \d\d\], "
                        r"R² 0\.9\d, 1234 calls", line), line


def test_noiseless_calls_give_the_exact_line_and_a_point_interval():
    tokens = np.arange(10, 110, dtype=float)
    f = latency.fit(0.2 + tokens / 50, tokens)
    assert f is not None and math.isclose(f.intercept, 0.2) and math.isclose(f.decode_tps, 50)
    assert f.r2 == pytest.approx(1.0) and f.intercept_ci == pytest.approx((0.2, 0.2))


def test_no_fit_without_spread_or_calls():
    assert latency.fit(np.array([0.1, 0.2, 0.3]), np.array([11.0, 11.0, 11.0])) is None
    assert latency.fit(np.array([0.1, 0.2]), np.array([1.0, 2.0])) is None
    frame = pd.DataFrame({"model": ["m"] * 3, "seconds": [0.1, 0.11, 0.12], "generated_tokens": [44] * 3,
                          "n": [4] * 3, "first_token_seconds": [None] * 3})
    assert latency.fit_lines(frame) == ["latency fit (m): none, every call produced 11 output tokens; "
                                        "median call 0.11 s"]
    assert latency.fit_lines(frame.iloc[:0]) == ["latency fit: no engine calls recorded (a run stored before "
                                                 "calls were)"]


def test_large_runs_use_the_scaled_m_out_of_n_bootstrap(monkeypatch):
    """Above MAX_BOOT_CALLS calls the resamples are smaller and rescaled: the interval stays about as wide as the
    full bootstrap's (both shrink as 1/sqrt(calls)) and still covers the truth."""
    seconds, tokens = _calls(0.3, 0.01, 8000, noise=0.5, seed=3, top=2000)
    full = latency.fit(seconds, tokens)
    monkeypatch.setattr(latency, "MAX_BOOT_CALLS", 800)
    scaled = latency.fit(seconds, tokens)
    assert full is not None and scaled is not None
    w_full = full.intercept_ci[1] - full.intercept_ci[0]
    w_scaled = scaled.intercept_ci[1] - scaled.intercept_ci[0]
    assert 0.7 < w_scaled / w_full < 1.4, (w_full, w_scaled)
    assert scaled.intercept_ci[0] <= 0.3 <= scaled.intercept_ci[1]
    assert scaled.slope_ci[0] <= 0.01 <= scaled.slope_ci[1]


def test_one_fit_per_model_with_measured_first_token_and_tokens_per_sequence():
    """Calls of n completions decode in parallel: the fit takes generated / n as one sequence's tokens."""
    rows = []
    rng = np.random.default_rng(1)
    for model, a, b, n in (("cheap", 0.1, 0.002, 4), ("dear", 0.8, 0.02, 1)):
        for _ in range(200):
            t = int(rng.integers(10, 400))
            rows.append({"model": model, "seconds": a + b * t + rng.normal(0, 0.01), "generated_tokens": t * n,
                         "n": n, "first_token_seconds": a if model == "dear" else None})
    frame = pd.DataFrame(rows)
    fits = latency.fits(frame)
    assert [f.model for f in fits if isinstance(f, latency.LatencyFit)] == ["cheap", "dear"]
    cheap, dear = fits
    assert isinstance(cheap, latency.LatencyFit) and isinstance(dear, latency.LatencyFit)
    assert cheap.decode_tps == pytest.approx(500, rel=0.03) and dear.decode_tps == pytest.approx(50, rel=0.03)
    assert cheap.measured_first_token is None and dear.measured_first_token == pytest.approx(0.8)
    lines = latency.fit_lines(frame, fits)
    assert lines[0].startswith("latency fit (cheap): first token 0.1")
    assert lines[1].endswith("measured first token p50 0.80 s (200 calls)")


def test_problem_lines_give_critical_path_spread_and_dollars():
    costs = [(f"p{i}", 0.1 * (i + 1), 0.002) for i in range(20)]
    lines = latency.problem_lines(costs, {"m": 0}, "r1")
    assert lines[0] == "critical path per problem: mean 1.05 s, p50 1.05 s, p95 1.91 s (20 problems)"
    assert lines[1] == "dollars per problem: $0.002 ($0.0400 for 20 problems)"
    unpriced = latency.problem_lines([("p0", 0.1, None)], {"mystery-model": 1}, "r1")
    assert "no price for model mystery-model" in unpriced[1] and "thinkbench reprice r1 --prices FILE" in unpriced[1]


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory):
    """A scripted run of 80 problems, one sample each, with known simulated latency. At most 8 calls in flight:
    while Ray starts its grading workers the engine actor shares the CPUs with them, and calls finishing then are
    late by up to a few tenths of a second (on a loaded two-core machine); fewer calls in flight means fewer of
    them hit that start-up window."""
    tmp = tmp_path_factory.mktemp("lat")
    cfg = tmp / "c.yaml"
    cfg.write_text(f"max_inflight: 8\nengine:\n  kind: scripted\n  responder: tests.test_latency_fit:varied\n"
                   f"  seconds_per_token: {PER_TOKEN}\n  first_token_seconds: {FIRST}\n")
    db = tmp / "lat.duckdb"
    env = {"PYTHONPATH": str(REPO)}  # so Ray workers can import this module's responder
    proc = run_cli("run", "--config", str(cfg), "--suite", "arith:n=80,seed=3", "--strategy", "self_consistency",
                   "--n", "1", "--db", str(db), "--plot", str(tmp / "p.png"), env=env, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_id = re.search(r"run (\w{12}) complete", proc.stdout).group(1)
    return db, run_id, tmp


def test_show_prints_the_fit_of_a_scripted_run_with_simulated_latency(scripted_run):
    db, rid, tmp = scripted_run
    proc = run_cli("show", rid, "--db", str(db), cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("latency fit"))
    m = re.match(r"latency fit: first token ([\d.]+) s \[([\d.]+), ([\d.]+)\], decode ([\d.]+) tok/s "
                 r"\[([\d.]+), ([\d.]+)\], R² ([\d.]+), 80 calls; measured first token p50 ([\d.]+) s", line)
    assert m, line
    a, a_lo, a_hi, tps, tps_lo, tps_hi, r2, measured = map(float, m.groups())
    # The printed fit is least squares over exactly the stored calls (tokens per sequence = generated / n).
    con = duckdb.connect(str(db), read_only=True)
    x, y = np.array(con.execute("SELECT generated_tokens / n, seconds FROM calls WHERE run_id=?", [rid]).fetchall()).T
    con.close()
    b_ref, a_ref = np.polyfit(x, y, 1)
    assert a == pytest.approx(a_ref, abs=0.005) and tps == pytest.approx(1 / b_ref, abs=0.05), line
    # And it finds the simulated engine: timer and scheduling delays only ever add time to a call, a few ms when
    # the machine is idle, more while Ray starts its workers on a loaded one; the engine-reported first token is
    # exact.
    # (The point estimates are printed to 2 decimals and 1 decimal, their intervals to 3 and 1: a fit of 0.1012 in
    # [0.101, 0.102] prints as 0.10.)
    assert FIRST - 0.01 < a < FIRST + 0.06 and a_lo - 0.005 <= a <= a_hi + 0.005, line
    assert abs(tps - 1 / PER_TOKEN) / (1 / PER_TOKEN) < 0.15 and tps_lo - 0.05 <= tps <= tps_hi + 0.05, line
    assert r2 > 0.8 and measured == pytest.approx(FIRST, abs=0.002), line
    assert re.search(r"critical path per problem: mean [\d.]+ s, p50 [\d.]+ s, p95 [\d.]+ s \(80 problems\)",
                     proc.stdout)
    assert re.search(r"dollars per problem: \$[\d.e-]+ \(\$[\d.e-]+ for 80 problems\)", proc.stdout)

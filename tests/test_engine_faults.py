"""Engine faults: an engine that dies inside a live worker is restarted and its problems retried, every error says
its cause, and failed problems are never counted as wrong answers.

The dispatch and retry logic runs on real Ray with the scripted engine's fault injection (`die_at_call`, `die_on`);
the engines' own detection (vLLM's engine core killed, an OpenAI-compatible server gone) is unit-tested against a
fake server here and end to end against real vLLM in the tests marked e2e.
"""

from __future__ import annotations

import asyncio
import json

import duckdb
import httpx
import pytest

from harness.engines import openai_engine as oe
from harness.engines.base import EngineDead, GenerateResult, Prompt, PromptTooLong, SamplingParams, engine_dead
from harness.engines.openai_engine import OpenAIEngine
from harness.engines.vllm_engine import single_process_env
from harness.progress import Progress, failure_lines, summary_line
from harness.solve import describe
from tests.conftest import check_call_timings, recorded_workers, run_cli, stored_attempts

SUITE = "arith:digits=1,operators=+,n=30,seed=2"
SC = ["--strategy", "self_consistency", "--n", "3", "--temperature", "0.7"]


def _stored(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute("SELECT problem_id, final_answer, correct, grade_reason, error FROM attempts "
                            "ORDER BY problem_id").fetchall(),
                con.execute("SELECT problem_id, sample_idx, text FROM samples ORDER BY ALL").fetchall(),
                con.execute("SELECT kind, problem_id, detail FROM run_events ORDER BY occurred_at").fetchall(),
                con.execute("SELECT status FROM runs").fetchone()[0])
    finally:
        con.close()


def _config(tmp_path, name: str, engine: str) -> str:
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(f"engine:\n  kind: scripted\n{engine}workers: 1\ncommit_every: 4\n")
    return str(cfg)


def test_engine_death_in_a_live_worker_is_restarted_and_its_problems_retried(tmp_path, ray_address):
    """The engine dies at its 5th call with most problems in flight: the actor rebuilds it, the problems are
    retried, and the run stores exactly what an undisturbed run does, with the death and the restart recorded."""
    clean_db, faulty_db = tmp_path / "clean.duckdb", tmp_path / "faulty.duckdb"
    common = ["run", "--ray-address", ray_address, "--suite", SUITE, *SC]
    clean = run_cli(*common, "--config", _config(tmp_path, "clean", ""), "--db", str(clean_db), cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr[-2000:]
    faulty = run_cli(*common, "--config", _config(tmp_path, "faulty", "  die_at_call: 5\n"), "--db", str(faulty_db),
                     cwd=tmp_path)
    assert faulty.returncode == 0, faulty.stderr[-2000:]
    want, got = _stored(clean_db), _stored(faulty_db)
    assert got[3] == "complete" and got[0] == want[0] and got[1] == want[1], "every problem graded, as undisturbed"
    assert all(a[4] is None for a in got[0])
    kinds = [k for k, *_ in got[2]]
    assert kinds == ["engine_dead", "engine_restarted"], got[2]
    assert "EngineDead: scripted engine died" in got[2][0][2]
    assert f"30/30 problems, accuracy {sum(a[2] for a in want[0]) / 30:.3f} over 30 graded" in faulty.stdout

    show = run_cli("show", "--db", str(faulty_db), clean.stdout.split()[1], cwd=tmp_path)
    assert show.returncode == 0, show.stderr[-2000:]
    assert "engine_dead" in show.stdout and "engine_restarted" in show.stdout


def test_a_problem_that_kills_the_engine_every_time_fails_with_its_cause(tmp_path, ray_address):
    """Each try of one problem kills the engine: after its retries it is stored as failed with the cause, the run
    ends incomplete saying how many failed and that a rerun retries them, and accuracy is over the graded ones."""
    db = tmp_path / "poison.duckdb"
    proc = run_cli("run", "--ray-address", ray_address, "--suite", SUITE, *SC, "--db", str(db),
                   "--config", _config(tmp_path, "poison", "  die_on: '1 + 7'\n"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    attempts, _, events, status = _stored(db)
    failed = [a for a in attempts if a[4] is not None]
    assert status == "incomplete" and len(attempts) == 30 and len(failed) == 1
    error, reason = failed[0][4], failed[0][3]
    assert error.startswith("engine died (EngineDead: scripted engine died") and "on each of 3 tries" in error
    assert reason == error and reason != "strategy failed"
    assert [k for k, *_ in events].count("engine_dead") == 3 and "problem_failed" in [k for k, *_ in events]
    graded = [a for a in attempts if a[4] is None]
    acc = sum(a[2] for a in graded) / len(graded)
    assert f"30 of 30 problems attempted, 1 failed: rerun to retry them; accuracy {acc:.3f} over 29 graded" \
        in proc.stdout
    assert "  1 failed: engine died (EngineDead: scripted engine died" in proc.stdout
    assert "failed, last: engine died (EngineDead" in proc.stderr, "the progress line names the cause"


# -- the engines' own detection ----------------------------------------------------------------------------------

PROMPT = Prompt.chat([{"role": "user", "content": "What is 3 + 4?"}])
OK = {"choices": [{"index": 0, "message": {"content": "7"}, "finish_reason": "stop"}],
      "usage": {"prompt_tokens": 5, "completion_tokens": 1}}


def _engine(handler, **kw) -> OpenAIEngine:
    e = OpenAIEngine("http://fake/v1", "m", stream=False, **kw)
    e._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return e


def _ask(e: OpenAIEngine) -> GenerateResult:
    return asyncio.run(e.generate(PROMPT, SamplingParams()))


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(oe.random, "random", lambda: -0.5)  # no waiting between tries


def test_a_server_that_stops_answering_is_a_dead_engine(no_backoff):
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    e = _engine(down, max_retries=2)
    with pytest.raises(EngineDead, match=r"unreachable after 3 tries .*ConnectError: connection refused"):
        _ask(e)
    assert not e.alive()
    with pytest.raises(EngineDead):  # and stays dead without trying again: a new engine is built instead
        _ask(e)


def test_every_request_in_flight_on_a_dead_server_is_an_engine_death(no_backoff):
    """Once one request finds the server down, the others stop retrying (the worker is about to close this engine,
    and a closed client must not turn into a failed problem)."""
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    e = _engine(down, max_retries=3)

    async def several():
        return await asyncio.gather(*(e.generate(PROMPT, SamplingParams()) for _ in range(4)), return_exceptions=True)

    assert all(isinstance(r, EngineDead) for r in asyncio.run(several()))
    asyncio.run(e.close())
    with pytest.raises(EngineDead):
        _ask(e)


def test_5xx_is_a_dead_server_only_when_its_health_check_fails_too(no_backoff):
    def always(status: int, models: int):
        return lambda r: httpx.Response(models if r.url.path.endswith("/models") else status, text="boom",
                                        json={"data": []} if r.url.path.endswith("/models") else None)

    dead = _engine(always(503, 503), max_retries=2)
    with pytest.raises(EngineDead, match="server answered 503 after 2 retries and fails its health check too"):
        _ask(dead)
    sick = _engine(always(500, 200), max_retries=2)  # the server is up; this request breaks it
    with pytest.raises(RuntimeError, match="server answered 500 after 2 retries: boom") as info:
        _ask(sick)
    assert not isinstance(info.value, EngineDead) and sick.alive()
    limited = _engine(always(429, 200), max_retries=3)
    with pytest.raises(RuntimeError, match="answered 429 after 3 retries: boom; the server's rate limit: lower "
                                           "max_concurrency"):
        _ask(limited)
    long = _engine(lambda r: httpx.Response(400, text="This model's maximum context length is 96 tokens."))
    with pytest.raises(RuntimeError, match="answered 400: .* raise the server's --max-model-len or shorten"):
        _ask(long)


def test_a_restarted_engine_waits_for_its_server_to_answer_again(monkeypatch):
    real_sleep = asyncio.sleep
    monkeypatch.setattr(oe.asyncio, "sleep", lambda s: real_sleep(0))
    answers = [httpx.ConnectError("refused")] * 3 + [httpx.Response(503)] + [httpx.Response(200, json={"data": []})]

    def coming_back(request: httpx.Request) -> httpx.Response:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    e = _engine(coming_back, server_wait_s=60)
    asyncio.run(e.check(wait=True))
    assert answers == []
    with pytest.raises(Exception, match="cannot reach http://fake/v1 .*start the server"):
        asyncio.run(_engine(lambda r: (_ for _ in ()).throw(httpx.ConnectError("x"))).check())


def test_errors_say_their_cause_and_type():
    too_long = PromptTooLong(130, 96)
    assert str(too_long) == "prompt of 130 tokens exceeds max_model_len 96: raise --max-model-len or shorten the " \
                            "template"
    try:
        try:
            raise ValueError("bad token")
        except ValueError as inner:
            raise RuntimeError("generate failed") from inner
    except RuntimeError as e:
        text = describe(e)
    assert text.startswith("RuntimeError: generate failed caused by ValueError: bad token (at test_engine_faults.py:")
    assert describe(TimeoutError()) == "TimeoutError"
    dead = EngineDead("engine core killed by SIGKILL")
    try:
        try:
            raise dead
        except EngineDead as e:
            raise RuntimeError("strategy gave up") from e
    except RuntimeError as wrapped:
        assert engine_dead(wrapped) is dead, "a death wrapped by a strategy is still found"
    assert engine_dead(ValueError("x")) is None


def test_progress_counts_failures_apart_with_their_cause():
    import io

    p = Progress(5, "run x", stream=io.StringIO(), interval_s=0)
    p.update(True, 10)
    p.update(False, 10)
    p.update(False, 0, True, "PromptTooLong: prompt of 130 tokens exceeds max_model_len 96: raise --max-model-len "
                             "or shorten the template (at vllm_engine.py:200)\nmore")
    line = p.line()
    assert "3/5 problems | acc 0.500 |" in line, "accuracy over the graded problems only"
    assert line.endswith("| 1 failed, last: PromptTooLong: prompt of 130 tokens exceeds max_model_len 96: raise "
                         "--max-model-len or shorten the template")
    assert summary_line("r1", "incomplete", 48, 48, 45, 2, 480) == (
        "run r1 incomplete: 48 of 48 problems attempted, 45 failed: rerun to retry them; accuracy 0.667 over 3 "
        "graded, 10.0 generated tokens/problem")
    assert summary_line("r1", "complete", 48, 48, 0, 24, 480).startswith("run r1 complete: 48/48 problems, accuracy "
                                                                          "0.500 over 48 graded")
    assert failure_lines([("EngineDead: x", 40), ("PromptTooLong: prompt of 106 tokens exceeds 96", 1),
                          ("PromptTooLong: prompt of 130 tokens exceeds 96", 2), ("KeyError: b", 1),
                          ("ValueError: a", 1)], 45) == [
        "  40 failed: EngineDead: x", "  3 failed: PromptTooLong: prompt of 106 tokens exceeds 96 (and 2 like it)",
        "  1 failed: KeyError: b", "  1 failed for other causes (stored in each attempt's error)"]


# -- failed attempts are not wrong answers, in every view ------------------------------------------------------


@pytest.fixture(scope="module")
def failing_store(tmp_path_factory):
    """Two runs of 40 problems; 5 of the candidate's attempts failed (engine died past its retries), no samples."""
    from leaderboard import synthetic

    db = tmp_path_factory.mktemp("errs") / "errs.duckdb"
    base, cand = synthetic.write(db, "synth:errs", [synthetic.SynthConfig("base", 1.0, 4),
                                                    synthetic.SynthConfig("cand", 1.0, 4, seed=3)], problems=40)
    con = duckdb.connect(str(db))
    con.execute("UPDATE attempts SET error = 'engine died (EngineDead: core killed by SIGKILL) on each of 3 tries', "
                "correct = false, grade_status = 'error' WHERE run_id = ? AND problem_index < 5", [cand])
    con.execute("DELETE FROM samples WHERE run_id = ? AND problem_id IN (SELECT problem_id FROM attempts "
                "WHERE run_id = ? AND error IS NOT NULL)", [cand, cand])
    con.close()
    return db, base, cand


def test_report_app_export_and_gate_count_failures_apart(failing_store, tmp_path):
    from leaderboard import compare, export, report

    db, base, cand = failing_store
    view = report.load(db, "synth:errs")
    assert len(view.problems) == 35, "ranked on the problems every run graded"
    text = report.format_table(view)
    assert "(5 of 40 attempts failed: not counted)" in text
    assert f"warning: failed attempts are not wrong answers, and these runs have many: run {cand}: 40 attempted, " \
           "5 failed (12.5%): rerun to retry them; accuracy is over the 35 graded (commonest cause: engine died " \
           "(EngineDead: core killed by SIGKILL) on each of 3 tries)" in text
    assert base not in text.split("warning: failed")[1]
    c = compare.compare(base, cand, db=str(db))
    assert c.problems == 35 and c.candidate_errors is not None and c.candidate_errors.failed == 5
    assert c.base_errors is None
    assert "candidate failures (not counted as wrong" in compare.format_comparison(c)
    export.export(str(db), tmp_path / "site")
    import pandas as pd

    rows = pd.read_parquet(tmp_path / "site" / "results.parquet")
    assert set(rows[rows.run_id == cand].failed_attempts) == {5}
    assert set(rows[rows.run_id == base].failed_attempts) == {0}
    assert "failed attempts are not wrong answers" in (tmp_path / "site" / "index.html").read_text()


def test_the_app_shows_failures_apart(failing_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    db, base, cand = failing_store
    monkeypatch.setenv("THINKBENCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["failed (not counted)"]) == {"0", "5/40 (12.5%)"}
    assert any(f"run {cand}: 40 attempted, 5 failed" in w.value for w in at.warning)



# -- end to end: real vLLM engines killed mid-run ----------------------------------------------------------------

# Sampled chain of thought on the first 8 GSM8K problems: their prompts are 106-160 tokens with three shorter, so
# at max_model_len 156 exactly one (160 tokens) is too long while every other one fits its 32 new tokens whole.
# Per-request seeds make every sample a function of (run seed, problem, request) alone, so a run disturbed any way
# must store exactly the samples of an undisturbed one (the shared server's: the same seeds give the same texts).
GSM = ["--suite", "gsm8k", "--limit", "8", "--strategy", "self_consistency", "--n", "2", "--temperature", "0.9",
       "--max-tokens", "32"]


def _start_and_wait(args: list[str], db, cwd, stored: int = 1, dispatching: bool = False):
    """A `thinkbench run` on the session's Ray cluster in its own process group, returned once the store holds
    `stored` problems (or, `dispatching`, once its engines are up and an attempt is generated: a fast server would
    finish 8 problems before a poll)."""
    import os
    import re
    import subprocess
    import time

    from tests.conftest import DATA, THINKBENCH

    log = open(cwd / "run.log", "w")  # closed by `_finish`
    proc = subprocess.Popen([THINKBENCH, *args, "--db", str(db)], cwd=cwd,
                            env={**os.environ, "THINKBENCH_DATA_DIR": str(DATA)}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 600

    def started() -> bool:
        if dispatching:
            return re.search(r"\] \d+/8 problems", (cwd / "run.log").read_text()) is not None
        return stored_attempts(db) >= stored

    while time.time() < deadline and not started() and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, (cwd / "run.log").read_text()[-3000:]
    return proc, log


def _engine_core(db):
    """The vLLM engine core process of the run's one engine actor (the pid its manifest records)."""
    import psutil

    (worker,) = recorded_workers(db)
    cores = [p for p in psutil.Process(worker["pid"]).children(recursive=True) if "EngineCore" in p.name()]
    assert len(cores) == 1, cores
    return cores[0]


def _finish(proc, log, cwd) -> str:
    try:
        proc.wait(timeout=900)
    finally:
        log.close()
    return (cwd / "run.log").read_text()


@pytest.fixture(scope="module")
def served_reference(vllm_server, tmp_path_factory, ray_address):
    """The undisturbed run on the shared server: what every disturbed run must store."""
    base, _ = vllm_server
    tmp = tmp_path_factory.mktemp("ref")
    db = tmp / "ref.duckdb"
    proc = run_cli("run", "--ray-address", ray_address, *GSM, "--engine", "openai", "--base-url", base, "--db", str(db),
                   cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    attempts, samples, _, _ = _stored(db)
    assert len({s[2] for s in samples}) > len(attempts), "sampling at temperature 0.9 gives varied samples"
    return {a[0]: a for a in attempts}, {s[:2]: s for s in samples}


@pytest.mark.e2e
def test_vllm_engine_core_killed_in_a_live_worker_stores_exactly_the_undisturbed_run(tmp_path, served_reference,
                                                                                     ray_address):
    """The in-actor vLLM engine, committing one problem at a time: vLLM's engine core SIGKILLed inside the live
    worker, which restarts the engine and retries the problem in flight. Every problem that fits stores exactly the
    undisturbed samples (a fresh engine reproduces them); the one prompt longer than the context fails alone, saying
    so and how to fix it. (A whole run SIGKILLed and resumed is the served test's below: the same path for any
    engine, without a third engine start.)"""
    import signal

    ref_attempts, ref_samples = served_reference
    cfg = tmp_path / "c.yaml"
    cfg.write_text("commit_every: 1\nmax_inflight: 1\n")
    db = tmp_path / "killed.duckdb"
    proc, log = _start_and_wait(["run", "--ray-address", ray_address, *GSM, "--max-model-len", "156",
                                 "--config", str(cfg)], db, tmp_path, stored=2)
    _engine_core(db).send_signal(signal.SIGKILL)
    out = _finish(proc, log, tmp_path)
    assert proc.returncode == 1, out[-3000:]  # incomplete: the over-long prompt
    attempts, samples, events, status = _stored(db)
    assert status == "incomplete" and [a[0] for a in attempts] == sorted(ref_attempts), "no duplicates, none missing"
    failed = [a for a in attempts if a[4] is not None]
    assert len(failed) == 1, failed
    assert failed[0][4].startswith("PromptTooLong: prompt of 160 tokens exceeds max_model_len 156: raise "
                                   "--max-model-len or shorten the template")
    assert failed[0][3] == failed[0][4].splitlines()[0][:500], "the stored reason names the cause too"
    graded = [a for a in attempts if a[4] is None]
    assert [a[:3] for a in graded] == [ref_attempts[a[0]][:3] for a in graded], "every final answer as undisturbed"
    assert samples and all(s == ref_samples[s[:2]] for s in samples), "every sample's text as undisturbed"
    assert len(samples) == 2 * len(graded)
    kinds = [k for k, *_ in events]
    assert kinds[:2] == ["engine_dead", "engine_restarted"], events
    assert "vLLM's engine core died" in events[0][2] and "killed by SIGKILL" in events[0][2]
    assert "8 of 8 problems attempted, 1 failed: rerun to retry them" in out
    assert "1 failed, last: PromptTooLong: prompt of 160 tokens exceeds max_model_len 156" in out
    check_call_timings(db, len(graded))
    con = duckdb.connect(str(db), read_only=True)
    engine = json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])["engine"]
    con.close()
    assert engine["chunked_prefill"] is False, "seeded requests on CPU are never split (vLLM's CPU sampler dies)"
    if single_process_env("0"):  # unless this environment chose vLLM's process arrangement itself
        assert engine["executor"] == "uni", "one rank: the engine core runs the model, no worker process"


@pytest.mark.e2e
def test_served_run_killed_then_its_server_killed_and_restarted_stores_exactly_the_undisturbed_run(
        tmp_path, vllm_server, served_reference, ray_address):
    """Disturbed twice on the real server: the run's driver SIGKILLed mid-run (its engine actor goes with it) and
    resumed; then, in the resumed run, the OpenAI-compatible server killed and brought back on the same address:
    requests that found it gone make the worker wait for it (no problem fails). The run stores exactly the
    undisturbed attempts and samples, none twice."""
    import os
    import signal

    ref_attempts, ref_samples = served_reference
    base, _ = vllm_server
    cfg = tmp_path / "c.yaml"
    cfg.write_text("commit_every: 1\nmax_inflight: 1\nengine:\n  max_retries: 1\n")
    db = tmp_path / "served.duckdb"
    args = ["run", "--ray-address", ray_address, *GSM, "--engine", "openai", "--base-url", base, "--config", str(cfg)]
    proc, log = _start_and_wait(args, db, tmp_path, stored=2)
    os.killpg(proc.pid, signal.SIGKILL)
    _finish(proc, log, tmp_path)
    done = len(_stored(db)[0])
    assert 2 <= done < 8, f"the kill should land mid-run, {done} stored"

    proc, log = _start_and_wait(args, db, tmp_path, dispatching=True)
    vllm_server.kill()
    vllm_server.start()
    out = _finish(proc, log, tmp_path)
    assert proc.returncode == 0, out[-3000:]
    assert f": {done}/8 problems already stored" in out
    attempts, samples, events, status = _stored(db)
    assert status == "complete" and {a[0]: a[:3] for a in attempts} == {k: a[:3] for k, a in ref_attempts.items()}
    assert sorted(s[:2] for s in samples) == sorted(ref_samples), "no sample missing or stored twice"
    assert all(s == ref_samples[s[:2]] for s in samples), "every sample's text as undisturbed"
    kinds = [k for k, *_ in events]
    assert kinds == ["engine_dead", "engine_restarted"], events
    assert "EngineDead: server http://127.0.0.1" in events[0][2] and "unreachable" in events[0][2]

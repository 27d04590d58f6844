"""`thinkbench reprice`: dollars again from the stored calls with current or given prices, in one transaction,
nothing regenerated; an unpriced model is refused before anything is written."""

from __future__ import annotations

import json

import duckdb
import pytest

from harness.cli import main
from harness.store import RunStart, Store

RUN = "rp0000000001"
# (problem, call, model, seconds, prompt, cached, generated, reasoning, in flight): an API model and a self-hosted one
CALLS = [
    ("p0", 0, "gpt-4o-mini", 1.0, 1000, 200, 3000, 2000, 1),
    ("p0", 1, "local", 2.0, 500, 0, 800, 0, 4),
    ("p1", 0, "gpt-4o-mini", 0.5, 2000, 0, 1000, 0, 1),
    ("p1", 1, "local", 1.0, 400, 0, 100, 0, 1),
]
VERIFIER_TOKENS = {"p0": 10_000, "p1": 0}


def _seed(path, status: str = "complete", hosted: dict | None = None) -> Store:
    store = Store(path)
    pricing = {"self_hosted": {"local": ["gpu", 2]} if hosted is None else hosted, "hardware": {}}
    config = {"verifier": {"kind": "llm_judge", "model": "gpt-4o-mini"}}
    store.begin_run(RunStart(RUN, "arith", "local", "openai", "cascade", config, {}, {"pricing": pricing}, 2, False))
    store.end_run(RUN, status)
    store.commit(
        [{"run_id": RUN, "problem_id": p, "problem_index": i, "correct": True, "verifier_tokens": VERIFIER_TOKENS[p],
          "dollars": 123.0} for i, p in enumerate(("p0", "p1"))],
        [],
        calls=[{"run_id": RUN, "problem_id": p, "call_idx": i, "model": m, "seconds": s, "prompt_tokens": pt,
                "cached_prompt_tokens": c, "generated_tokens": g, "reasoning_tokens": r, "n": 1, "in_flight": f,
                "dollars": 99.0} for p, i, m, s, pt, c, g, r, f in CALLS])
    return store


def _dollars(path) -> tuple[dict, dict, dict]:
    con = duckdb.connect(str(path), read_only=True)
    calls = {(p, i): d for p, i, d in con.execute("SELECT problem_id, call_idx, dollars FROM calls").fetchall()}
    atts = dict(con.execute("SELECT problem_id, dollars FROM attempts").fetchall())
    manifest = json.loads(con.execute("SELECT manifest FROM runs").fetchone()[0])
    con.close()
    return calls, atts, manifest


def test_reprice_recomputes_calls_and_attempts_from_the_stored_calls(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    _seed(db)
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  gpt-4o-mini: {input: 1.0, cached_input: 0.5, output: 4.0}\n"
                      "hardware: {gpu_hour_usd: 3.6}\n")
    assert main(["reprice", RUN[:6], "--db", str(db), "--prices", str(prices)]) == 0
    out = capsys.readouterr().out
    calls, atts, manifest = _dollars(db)
    # list price: (uncached x input + cached x cached input + generated (reasoning included) x output) / 1e6
    assert calls[("p0", 0)] == pytest.approx((800 * 1.0 + 200 * 0.5 + 3000 * 4.0) / 1e6)
    assert calls[("p1", 0)] == pytest.approx((2000 * 1.0 + 1000 * 4.0) / 1e6)
    # self-hosted: $3.6/h per GPU x 2 GPUs x seconds / requests in flight
    assert calls[("p0", 1)] == pytest.approx(3.6 * 2 / 3600 * 2.0 / 4)
    assert calls[("p1", 1)] == pytest.approx(3.6 * 2 / 3600 * 1.0)
    # attempt: its calls, plus verifier tokens at the verifier model's list input price
    assert atts["p0"] == pytest.approx(calls[("p0", 0)] + calls[("p0", 1)] + 10_000 * 1.0 / 1e6)
    assert atts["p1"] == pytest.approx(calls[("p1", 0)] + calls[("p1", 1)])
    assert manifest["pricing"]["prices_file"] == str(prices)
    assert manifest["pricing"]["hardware"]["gpu_hour_usd"] == 3.6
    assert manifest["pricing"]["self_hosted"] == {"local": ["gpu", 2]}
    assert manifest["pricing"]["models"] == {"gpt-4o-mini": "list $1/$4 per M in/out tokens",
                                             "local": "self-hosted gpu x2 at $3.6/h"}
    per_problem = (atts["p0"] + atts["p1"]) / 2
    assert f"repriced run {RUN}: 4 calls, 2 attempts (2 changed); dollars per problem $123.0000 -> " in out
    assert f"${per_problem:.3g}" in out and "local: self-hosted gpu x2 at $3.6/h" in out


def test_repricing_with_the_same_prices_changes_nothing(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    _seed(db)
    assert main(["reprice", RUN, "--db", str(db)]) == 0
    first = _dollars(db)[:2]
    capsys.readouterr()
    assert main(["reprice", RUN, "--db", str(db)]) == 0
    assert _dollars(db)[:2] == first
    assert "(0 changed)" in capsys.readouterr().out


def test_an_unpriced_model_is_refused_before_anything_is_written(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    _seed(db, hosted={})  # "local" ran on hardware the manifest does not name, and has no list price
    before = _dollars(db)
    assert main(["reprice", RUN, "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"thinkbench: error: no price for model local of run {RUN}; add it to a price file: "
                   "models: {local: {input: ..., output: ...}} and pass --prices FILE, "
                   f"then thinkbench reprice {RUN} --prices FILE")
    assert _dollars(db) == before
    prices = tmp_path / "p.yaml"
    prices.write_text("models:\n  local: {input: 0.1, output: 0.2}\n")
    assert main(["reprice", RUN, "--db", str(db), "--prices", str(prices)]) == 0
    calls, _, _ = _dollars(db)
    assert calls[("p1", 1)] == pytest.approx((400 * 0.1 + 100 * 0.2) / 1e6)


def test_a_running_run_needs_force_and_a_run_without_calls_cannot_be_repriced(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    _seed(db, status="running")
    assert main(["reprice", RUN, "--db", str(db)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["reprice", RUN, "--db", str(db), "--force"]) == 0
    old = tmp_path / "old.duckdb"
    store = Store(old)
    store.begin_run(RunStart("old000000001", "arith", "m", "scripted", "cot", {}, {}, {}, 1, False))
    store.end_run("old000000001", "complete")
    assert main(["reprice", "old", "--db", str(old)]) == 2
    assert "stored no engine calls" in capsys.readouterr().err

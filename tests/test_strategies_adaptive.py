"""Adaptive allocation: difficulty from the pilot picks the table's strategy, the budget is spent
exactly, oracle difficulty needs (and labels) gold, and the calibration table comes from stored runs."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.errors import UserError
from harness.engines.base import Prompt, SamplingParams
from harness.solve import SuiteView, solve
from harness.store import ATTEMPT_COLS, SAMPLE_COLS, RunStart, Store
from harness.strategies import make_params
from harness.strategies.adaptive import agreement_difficulty, allocation_report, calibration_table, difficulty_bin
from suites import load_suite
from tests.test_strategies_search import Recording


def spread(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """Every sample a different answer: the pilot disagrees completely."""
    return f"The answer is {index}"


def run(params: dict, responder=None, oracle=None, n_problems: int = 4):
    suite = load_suite(f"arith:n={n_problems},seed=6")
    engine = Recording(responder=responder) if responder else Recording()
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    problems = {p.id: p for p in suite.problems}

    async def go():
        return await asyncio.gather(*(
            solve(engine, view, p.question(), "adaptive", params, 0,
                  oracle=(lambda text, p=p: suite.grade(text, problems[p.id]).correct) if oracle else None)
            for p in suite.problems))

    return engine, asyncio.run(go())


TABLE = {"0": "self_consistency", "3": {"strategy": "best_of_n", "agg": "min"}}


@pytest.mark.parametrize("budget,pilot", [(8, 4), (5, 1), (12, 3)])
@pytest.mark.parametrize("responder,expected_bin,chosen", [(None, 0, "self_consistency"),
                                                             (spread, 3, "best_of_n")])
def test_adaptive_spends_exactly_its_budget(budget, pilot, responder, expected_bin, chosen):
    params = {"n": budget, "pilot_n": pilot, "temperature": 0.0 if responder is None else 0.7, "table": TABLE}
    engine, attempts = run(params, responder)
    if pilot == 1 and responder is spread:  # one pilot sample always agrees with itself
        expected_bin, chosen = 0, "self_consistency"
    assert engine.reported["completions"] == budget * len(attempts)
    for a in attempts:
        assert a.error is None, a.error
        assert len(a.samples) == budget
        assert a.meta["bin"] == expected_bin and a.meta["chosen"] == chosen


def test_unlisted_bins_use_the_default_and_verifier_difficulty():
    _, attempts = run({"n": 6, "pilot_n": 2, "difficulty_from": "verifier", "default": "weighted_best_of_n"})
    for a in attempts:
        assert a.meta["chosen"] == "weighted_best_of_n" and 0.0 <= a.meta["difficulty"] <= 1.0
        assert a.meta["verifier"] == "confidence" and len(a.samples) == 6


def test_oracle_difficulty_needs_gold_and_is_labelled():
    _, attempts = run({"n": 4, "pilot_n": 2, "difficulty_from": "oracle"})
    assert all(a.error and "oracle" in a.error for a in attempts), "no gold check given: refuses"
    _, attempts = run({"n": 4, "pilot_n": 2, "difficulty_from": "oracle", "temperature": 0.0}, oracle=True)
    for a in attempts:
        assert a.error is None and a.meta["oracle"] is True
        assert a.meta["difficulty"] == 0.0, "the greedy scripted engine is always right"


def test_params_validation():
    with pytest.raises(UserError, match="pilot_n"):
        make_params("adaptive", {"n": 4, "pilot_n": 4})
    with pytest.raises(UserError, match="without n"):
        make_params("adaptive", {"table": {"1": {"strategy": "best_of_n", "n": 3}}})
    with pytest.raises(UserError, match="bin_edges"):
        make_params("adaptive", {"bin_edges": [0.5, 0.2]})
    assert agreement_difficulty(["1", "1", "2", None], str) == 0.5
    assert agreement_difficulty([None, None], str) == 1.0
    assert [difficulty_bin(d, (0.2, 0.4)) for d in (0.0, 0.2, 0.3, 0.9)] == [0, 1, 1, 2]


def _store(tmp_path):
    """Pilot run: problems 0-3 agree (easy), 4-7 split (hard). Strategy A wins easy ones, B hard ones."""
    store = Store(tmp_path / "t.duckdb")
    ids = [f"p{i}" for i in range(8)]

    def add(rid: str, strategy: str, params: dict, correct: list[bool], samples: list[list[str]] | None = None):
        store.begin_run(RunStart(rid, "s", "m", "scripted", strategy, {}, {"params": params}, {}, 8, False))
        rows = [{**dict.fromkeys(ATTEMPT_COLS), "run_id": rid, "problem_id": pid, "problem_index": i,
                 "correct": c, "generated_tokens": 10, "verifier_tokens": 0}
                for i, (pid, c) in enumerate(zip(ids, correct))]
        srows = []
        for pid, keys in zip(ids, samples or []):
            srows += [{**dict.fromkeys(SAMPLE_COLS), "run_id": rid, "problem_id": pid, "sample_idx": j, "vote_key": k,
                       "correct": k == "1"} for j, k in enumerate(keys)]
        store.commit(rows, srows)
        store.end_run(rid, "complete")

    easy, hard = ["1", "1", "1", "1"], ["1", "2", "3", "4"]
    add("pilot", "self_consistency", {"n": 4}, [True] * 8, [easy] * 4 + [hard] * 4)
    add("A", "self_consistency", {"n": 8, "temperature": 0.7}, [True] * 4 + [False] * 4)
    add("B", "beam_search", {"n": 8, "beam_width": 4, "temperature": 0.8}, [False] * 4 + [True] * 4)
    add("adaptive", "adaptive", {"n": 12}, [True] * 8)
    return store


def test_calibration_table_from_stored_runs_and_report(tmp_path):
    store = _store(tmp_path)
    table = calibration_table(store, "pilot", ["A", "B"], split=1.0, pilot_n=4)
    assert table == {"0": "self_consistency", "3": {"strategy": "beam_search", "beam_width": 4}}
    make_params("adaptive", {"n": 12, "table": table})  # the table is valid adaptive input as is
    only_easy = calibration_table(store, "pilot", ["A", "B"], split=0.5, pilot_n=4)
    assert only_easy == {"0": "self_consistency"}, "only the calibration split (first half) counts"
    oracle = calibration_table(store, "pilot", ["A", "B"], split=1.0, pilot_n=4, source="oracle")
    assert set(oracle) == {"0", "3"}
    report = allocation_report(store, {"adaptive": "adaptive", "uniform": "A"}, "pilot", split=0.5)
    assert [(r["label"], r["problems"], r["accuracy"]) for r in report] == [("adaptive", 4, 1.0), ("uniform", 4, 0.0)]
    assert json.dumps(report)

"""The Streamlit app driven headlessly with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from leaderboard import synthetic

APP = str(Path(__file__).resolve().parents[1] / "leaderboard" / "app.py")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("app") / "app.duckdb"
    ids = synthetic.write(path, "synth:app", [synthetic.SynthConfig("weak", -1.0, 8),
                                              synthetic.SynthConfig("strong", 1.5, 8, scores=True),
                                              synthetic.SynthConfig("twin", 1.5, 8, seed=2)], problems=80)
    synthetic.write(path, "synth:live", [synthetic.SynthConfig("partial", 0.5, 4)], problems=30, status="running")
    # The first run's engine calls: 8 per problem, 0.3 s + tokens / 60 tokens/s, for the run page's latency fit.
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO calls (run_id, problem_id, call_idx, model, seconds, generated_tokens, n, dollars) "
                "SELECT run_id, problem_id, sample_idx, 'weak', 0.3 + generated_tokens / 60.0, generated_tokens, 1, "
                "1e-6 FROM samples WHERE run_id = ?", [ids[0]])
    con.close()
    return path


def app(db, monkeypatch) -> AppTest:
    monkeypatch.setenv("THINKBENCH_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def test_leaderboard_page_ranks_with_ties_and_intervals(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.multiselect(key="suites").set_value(["synth:app"]).run()
    table = at.dataframe[0].value
    assert list(table.columns[:6]) == ["rank", "configuration", "k", "compute", "accuracy", "95% CI"]
    assert table.configuration.iloc[0].startswith(("strong", "twin"))
    assert table["rank"].iloc[0].startswith("=1")  # strong, its verifier read-out and its twin are tied
    assert "tied with leader" in table.tie.tolist()
    assert table.configuration.iloc[-1].startswith("weak") and table["rank"].iloc[-1] != "=1"
    assert len(at.get("vega_lite_chart")) == 1
    budget = at.number_input[0]
    budget.set_value(budget.value / 4).run()  # a quarter of the budget: smaller k for everyone
    assert at.dataframe[0].value.k.max() <= 2
    at.sidebar.selectbox(key="axis").set_value("flops").run()
    assert not at.exception and "e+" in at.dataframe[0].value.compute.iloc[0]


def test_latency_and_dollars_axes_rank_with_spread_beside(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.multiselect(key="suites").set_value(["synth:app"]).run()
    at.sidebar.selectbox(key="axis").set_value("latency").run()
    table = at.dataframe[0].value
    assert not at.exception and list(table.columns[:7]) == ["rank", "configuration", "k", "compute", "p50", "p95",
                                                             "accuracy"]
    at.sidebar.selectbox(key="axis").set_value("dollars").run()
    assert not at.exception and "p50" not in at.dataframe[0].value.columns
    assert float(at.dataframe[0].value.compute.iloc[0]) < 0.01  # fractions of a cent per problem


def test_progress_of_a_running_run_is_shown(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.multiselect(key="suites").set_value(["synth:live"]).run()
    assert any("30/30 problems" in p.proto.text for p in at.get("progress"))
    assert any("No finished configuration" in i.value for i in at.info)
    at.sidebar.checkbox(key="partial").check().run()
    assert at.dataframe[0].value.configuration.iloc[0].startswith("partial")


def test_run_page_shows_manifest_and_difficulty(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.radio(key="page").set_value("Run").run()
    manifest = dict(at.table[0].value.values.tolist())
    for key in ("model", "engine_version", "dtype", "seed", "prompt_template", "git_revision", "grader_version"):
        assert manifest[key] not in ("", "–"), key
    by_diff = at.dataframe[0].value
    assert by_diff.problems.sum() == 80 and set(by_diff.difficulty) <= {"1", "2", "3", "4", "5"}


def test_run_page_plots_call_time_against_tokens_with_the_fit(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.radio(key="page").set_value("Run").run()
    runs = at.selectbox(key="run")
    runs.set_value(next(r for r in runs.options if "weak" in r).split(" · ")[0]).run()
    texts = [t.value for t in at.text]
    fit = next(t for t in texts if t.startswith("latency fit"))
    assert "first token 0.30 s" in fit and "decode 60.0 tok/s" in fit and "640 calls" in fit, fit
    assert any(t.startswith("critical path per problem: mean") for t in texts)
    assert any(t.startswith("dollars per problem: $") for t in texts)
    assert len(at.get("vega_lite_chart")) == 1  # the scatter with its fitted line
    runs.set_value(next(r for r in runs.options if "strong" in r).split(" · ")[0]).run()
    assert not at.exception and any("no engine calls recorded" in t.value for t in at.text)


def test_sample_explorer_lists_every_configuration_side_by_side(db, monkeypatch):
    at = app(db, monkeypatch)
    at.sidebar.radio(key="page").set_value("Samples").run()
    at.selectbox(key="sx-suite").set_value("synth:app").run()
    assert len(at.dataframe) == 3  # one table of samples per configuration
    assert {"extracted", "score", "correct", "generated_tokens"} <= set(at.dataframe[0].value.columns)
    assert any("the answer is" in t.value for t in at.text)


def test_missing_store_is_an_error_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("THINKBENCH_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and "does not exist" in at.error[0].value

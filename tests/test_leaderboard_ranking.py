"""Compute-matched ranking: budgets, paired-bootstrap ties under noise, frontier, AUC, breakdowns."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import UserError
from leaderboard import curves, ranking, snapshot, synthetic


def config(key, acc, unit=10.0, method="majority", suite="s", difficulty=None):
    acc = np.asarray(acc, dtype=float)
    P, K = acc.shape
    return curves.Config(key=key, run_id=key, suite=suite, label=key, method=method, model="m", strategy="sc",
                         status="complete", problems=np.array([f"p{i}" for i in range(P)], dtype=object),
                         ks=np.arange(1, K + 1, dtype=float), acc=acc,
                         unit_cost={a: np.full(P, unit) for a in curves.AXES},
                         difficulty=np.asarray(difficulty if difficulty is not None else np.arange(P) % 3, float),
                         subject=np.array(["x", "y"] * (P // 2) + ["x"] * (P % 2), dtype=object))


def test_noise_alone_never_separates_configurations():
    """Two configurations drawn from the same distribution are tied and share a rank, in every trial."""
    for seed in range(10):
        rng = np.random.default_rng(seed)
        a = (rng.random((150, 1)) < 0.6).astype(float)
        b = (rng.random((150, 1)) < 0.6).astype(float)
        df = ranking.rank([config("a", a), config("b", b)], budget=10, seed=seed)
        assert df["rank"].tolist() == [1, 1]
        assert df.tied.tolist() == [False, True]
        assert ranking.rank_label(df) == ["=1", "=1"]


def test_a_real_gap_is_ranked_and_not_tied():
    rng = np.random.default_rng(0)
    strong = (rng.random((300, 1)) < 0.85).astype(float)
    weak = (rng.random((300, 1)) < 0.45).astype(float)
    df = ranking.rank([config("weak", weak), config("strong", strong)], budget=10)
    assert df.key.tolist() == ["strong", "weak"]
    assert df["rank"].tolist() == [1, 2]
    assert not df.tied[1]
    assert df.delta_hi[1] < 0 < df.hi[1]
    assert df.lo[0] <= df.accuracy[0] <= df.hi[0]


def test_budget_picks_largest_affordable_k_and_flags_over_budget():
    P = 40
    cheap = config("cheap", np.tile([0.3, 0.5, 0.6, 0.7], (P, 1)), unit=10)
    dear = config("dear", np.tile([0.8, 0.9], (P, 1)), unit=100)
    df = ranking.rank([cheap, dear], budget=35)
    assert df.key.tolist() == ["cheap"] and df.k[0] == 3 and df.cost[0] == pytest.approx(30)
    assert df.attrs["over_budget"] == ["dear"]
    df = ranking.rank([cheap, dear], budget=200)
    assert df.set_index("key").loc["dear", "k"] == 2 and df.key[0] == "dear"
    assert ranking.default_budget([cheap, dear], "generated") == pytest.approx(40)


def test_oracle_is_never_ranked_and_problems_are_shared():
    a = config("a", np.ones((10, 2)))
    oracle = config("o", np.ones((10, 2)), method="pass")
    b = config("b", np.zeros((8, 2)))
    df = ranking.rank([a, oracle, b], budget=100)
    assert set(df.key) == {"a", "b"} and (df.problems == 8).all()
    c = config("c", np.ones((3, 1)))
    c.problems = np.array(["q1", "q2", "q3"], dtype=object)
    with pytest.raises(UserError, match="share no problems"):
        ranking.rank([a, c], budget=100)


def test_frontier_keeps_only_undominated_points():
    P = 20
    a = config("a", np.tile([0.2, 0.4, 0.5], (P, 1)), unit=10)   # (10,.2) (20,.4) (30,.5)
    b = config("b", np.tile([0.3, 0.35, 0.7], (P, 1)), unit=12)  # (12,.3) (24,.35) (36,.7)
    front = [(p.key, p.k) for p in ranking.frontier([a, b], "generated")]
    assert front == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 3)]


def test_log_auc_is_mean_matched_accuracy_over_log_budget():
    # accuracy 0.5 from 10 to 100, then 1.0 from 100 to 1000: mean over log10 range [10, 1000] = 0.75
    assert ranking.log_auc(np.array([10.0, 100.0]), np.array([0.5, 1.0]), 10, 1000) == pytest.approx(0.75)
    # nothing affordable below the first point counts as 0
    assert ranking.log_auc(np.array([100.0]), np.array([1.0]), 10, 1000) == pytest.approx(0.5)


def test_breakdown_by_difficulty_and_subject():
    acc = np.zeros((30, 1))
    acc[np.arange(30) % 3 == 0] = 1.0
    c = config("a", acc)
    bd = ranking.breakdown([c], budget=10, by="difficulty")
    assert bd.set_index("group").accuracy.to_dict() == {"0": 1.0, "1": 0.0, "2": 0.0}
    assert bd.problems.sum() == 30
    assert set(ranking.breakdown([c], budget=10, by="subject").group) == {"x", "y"}
    with pytest.raises(UserError):
        ranking.breakdown([c], budget=10, by="colour")
    assert len(set(ranking.difficulty_bins(np.linspace(0, 1, 50)))) == 4


def test_store_to_ranking_end_to_end(tmp_path):
    db = tmp_path / "s.duckdb"
    synthetic.write(db, "synth:x", [synthetic.SynthConfig("weak", -1.0, 8),
                                    synthetic.SynthConfig("strong", 1.5, 8, scores=True),
                                    synthetic.SynthConfig("strong-twin", 1.5, 8, seed=3)], problems=120)
    snap = snapshot.load(db)
    cs = curves.build(snap)
    assert {c.method for c in cs} == {"majority", "best_of_k", "pass"}
    maj = [c for c in cs if c.method == "majority"]
    assert all(c.acc.shape == (120, 8) for c in maj)
    for c in maj:  # majority never beats the oracle, and compute is linear in k
        oracle = next(o for o in cs if o.run_id == c.run_id and o.method == "pass")
        assert np.all(c.accuracy() <= oracle.accuracy() + 1e-9)
        assert c.cost("generated")[3] == pytest.approx(4 * c.cost("generated")[0])
    df = ranking.rank(cs, ranking.default_budget(cs, "generated"))
    weak_row = df[df.label.str.startswith("weak")].iloc[0]
    assert weak_row["rank"] > 1 and not weak_row.tied
    assert df.iloc[0].label.startswith("strong")


def test_sample_pool_from_manifest_then_strategy_spec():
    """The run manifest decides; runs stored before it carried `sample_pool` ask the strategy's spec."""
    assert curves.is_sample_pool("beam_search", '{"sample_pool": true}')
    assert not curves.is_sample_pool("self_consistency", '{"sample_pool": false}')
    assert curves.is_sample_pool("self_consistency", '{"model": "m"}')  # an old store still yields curves
    assert not curves.is_sample_pool("beam_search", None)
    assert not curves.is_sample_pool("no_longer_registered", "{}")

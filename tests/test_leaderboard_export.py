"""`thinkbench export`: a self-contained static page plus Parquet results."""

from __future__ import annotations

import json
import re

import pandas as pd

from harness.cli import main
from leaderboard import synthetic


def test_export_writes_self_contained_site(tmp_path):
    db = tmp_path / "e.duckdb"
    synthetic.write(db, "synth:e", [synthetic.SynthConfig("a", 0.0, 8),
                                    synthetic.SynthConfig("b</script><i>", 1.0, 4, scores=True)], 60)
    out = tmp_path / "site"
    assert main(["export", "--out", str(out), "--db", str(db)]) == 0
    page = (out / "index.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "page must not load anything remote"
    blob = re.search(r'<script id="data" type="application/json">(.*?)</script>', page, re.S).group(1)
    assert "<" not in blob, "labels must not break out of the inline data"
    data = json.loads(blob)
    assert any(c["label"].startswith("b</script><i>") for c in data["suites"]["synth:e"]["configs"])
    suite = data["suites"]["synth:e"]
    assert {c["method"] for c in suite["configs"]} == {"majority", "best_of_k", "pass"}
    tables = suite["rankings"]["generated"]["tables"]
    assert any(t["default"] for t in tables) and all(len(t["rows"]) >= 1 for t in tables)
    res = pd.read_parquet(out / "results.parquet")
    assert {"suite", "key", "k", "accuracy", "lo", "hi", "cost_generated", "cost_flops"} <= set(res.columns)
    b_run = res[res.label.str.startswith("b")].run_id.iloc[0]
    assert res.groupby("key").k.max().to_dict() == {k: (4 if k.startswith(b_run) else 8) for k in res.key.unique()}
    rk = pd.read_parquet(out / "ranking.parquet")
    assert {"axis", "budget", "rank", "tied", "accuracy", "lo", "hi"} <= set(rk.columns)


def test_export_of_empty_store_is_a_user_error(tmp_path, capsys):
    from harness.store import Store

    Store(tmp_path / "empty.duckdb")
    assert main(["export", "--out", str(tmp_path / "site"), "--db", str(tmp_path / "empty.duckdb")]) == 2
    assert "no runs" in capsys.readouterr().err

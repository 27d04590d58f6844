"""`thinkbench difficulty`: a stored sweep over curriculum levels read through the one analysis path, as a table and
a PNG of accuracy against level per configuration at matched compute (synthetic store: no model, no Ray)."""

from __future__ import annotations

import re

import pytest

from core.errors import UserError
from harness.cli import main
from leaderboard import synthetic
from leaderboard.difficulty import find_sweep, fit

V = "version=0.1.25"


def _suite(level: int, size: int = 60) -> str:
    return f"rg:basic_arithmetic:level={level},size={size},seed=0,{V}"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Three levels, two configurations whose skill falls with the level; one more run at another size."""
    db = tmp_path_factory.mktemp("dif") / "d.duckdb"
    for level in range(3):
        synthetic.write(db, _suite(level), [synthetic.SynthConfig("strong", 3.0 - 1.5 * level, 8),
                                            synthetic.SynthConfig("weak", 1.0 - 1.5 * level, 8)], 60, seed=level)
    synthetic.write(db, _suite(0, size=10), [synthetic.SynthConfig("strong", 3.0, 4)], 10)
    synthetic.write(db, "arith:digits=1,ops=1,operators=+-*,n=50,seed=0", [synthetic.SynthConfig("x", 1.0, 2)], 50)
    return db


def test_finds_the_sweep_and_refuses_ambiguity(store):
    stored = [_suite(0), _suite(1), _suite(2), _suite(0, 10), "arith:digits=1,n=5"]
    sweep = find_sweep(stored, "rg:basic_arithmetic:size=60")
    assert sweep.suites == {0: _suite(0), 1: _suite(1), 2: _suite(2)}
    assert sweep.title == f"rg:basic_arithmetic:size=60,seed=0,{V}"
    assert find_sweep(stored, "rg:basic_arithmetic:size=60,level=2").suites == sweep.suites  # level is the axis
    with pytest.raises(UserError, match="matches 2 sweeps with different settings.*--suite rg:basic_arithmetic:"):
        find_sweep(stored, "rg:basic_arithmetic")
    with pytest.raises(UserError, match="no stored runs of rg:chain_sum"):
        find_sweep(stored, "rg:chain_sum")


def test_difficulty_table_and_plot(store, tmp_path, capsys):
    png = tmp_path / "d.png"
    assert main(["difficulty", "--db", str(store), "--suite", "rg:basic_arithmetic:size=60", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "accuracy by level at matched generated tokens per problem" in out
    assert "level 0" in out and "level 2" in out and "budget" in out
    rows = [ln for ln in out.splitlines() if ln.startswith(("strong", "weak"))]
    assert len(rows) == 2 and all("majority@k" in ln for ln in rows)  # one line per configuration
    long = fit("big · cascade stages=" + "x" * 200 + " · best-of-k (verifier)", 60)
    assert len(long) <= 60 and long.startswith("big · cascade") and long.endswith("best-of-k (verifier)")
    strong, weak = rows
    accs = [float(x) for x in re.findall(r"(\d+\.\d)% \[", strong)]
    assert len(accs) == 3 and accs[0] > accs[2]  # harder levels, lower accuracy
    assert [float(x) for x in re.findall(r"(\d+\.\d)% \[", weak)][2] < accs[2]
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["difficulty", "--db", str(store), "--suite", "rg:basic_arithmetic"]) == 2
    assert "matches 2 sweeps" in capsys.readouterr().err


def test_one_budget_for_every_level(store, tmp_path, capsys):
    assert main(["difficulty", "--db", str(store), "--suite", "rg:basic_arithmetic:size=60", "--budget", "400",
                 "--method", "majority", "--plot", str(tmp_path / "b.png")]) == 0
    out = capsys.readouterr().out
    budget_line = next(ln for ln in out.splitlines() if ln.startswith("budget"))
    assert budget_line.split()[1:] == ["400", "400", "400"]
    assert " k=1" in out  # 400 tokens buy about one 300-token sample


def test_example_grid_sweeps_levels_of_one_setting():
    """configs/rg_difficulty.yaml: a base run config, `configs:` (strategies) and `grid:` (suite per level); every
    suite parses, and they differ only in level, so `difficulty` finds them as one sweep."""
    from pathlib import Path

    import yaml

    from suites.rg.params import RgParams
    from suites.spec import SUITES

    data = yaml.safe_load((Path(__file__).parents[1] / "configs" / "rg_difficulty.yaml").read_text())
    names = data["grid"]["suite"]
    assert {c["strategy.name"] for c in data["configs"]} == {"self_consistency", "best_of_n"}
    spec = SUITES.get("rg").member("basic_arithmetic")
    canonical = [spec.parse(dict(kv.split("=") for kv in n.split(":")[2].split(","))).suite_name(spec.name)
                 for n in names]
    assert isinstance(spec.parse({"level": "0"}), RgParams)
    assert find_sweep(canonical, "rg:basic_arithmetic:size=50").suites == dict(enumerate(canonical))


def test_a_sweep_over_levels_ends_with_the_difficulty_table(store, tmp_path):
    """`thinkbench sweep` over one suite's levels closes with this table and plot (one command, one plot)."""
    from leaderboard.difficulty import of_sweep

    shown = of_sweep(store, [_suite(0), _suite(1), _suite(2)], tmp_path / "s.png")
    assert shown is not None and "level 2" in shown[0] and shown[1].read_bytes()[:4] == b"\x89PNG"
    assert of_sweep(store, ["arith:digits=1,ops=1,operators=+-*,n=50,seed=0"], tmp_path / "t.png") is None
    assert of_sweep(store, [_suite(0)], tmp_path / "u.png") is None, "one level is no sweep over levels"

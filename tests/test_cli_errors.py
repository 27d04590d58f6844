"""Bad input: one line naming the problem and the fix, exit 2, no traceback, nothing left complete."""

from __future__ import annotations

import duckdb
import pytest

from harness.store import Store
from tests.conftest import cli_in_process, run_cli


def _one_line_error(proc, needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("thinkbench: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr  # one line, the last word
    assert needle in errors[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["run", "--suite", "nosuch", "--engine", "scripted"], "unknown suite 'nosuch'"),
    (["run", "--suite", "arith:n=2", "--strategy", "nosuch", "--engine", "scripted"], "unknown strategy 'nosuch'"),
    (["run", "--suite", "arith:n=2", "--engine", "warp"], "engine.kind"),
    (["run", "--suite", "arith:n=2", "--engine", "scripted", "--n", "0", "--strategy", "self_consistency"],
     "n must be at least 1"),
    (["run", "--suite", "arith:n=2", "--engine", "scripted", "--param", "beams"], "key=value"),
    (["run", "--suite", "arith:n=2", "--engine", "scripted", "--param", "nope=3"], "nope"),
    (["run", "--suite", "arith:n=2", "--limit", "-1", "--engine", "scripted"], "--limit"),
    (["run", "--model", "/nonexistent/dir/x/y", "--suite", "arith:n=2"], "neither a local directory nor a hub id"),
    (["run", "--suite", "arith:n=2", "--engine", "openai", "--base-url", "ftp://x"], "http"),
    (["run", "--suite", "arith:n=2", "--engine", "openai"], "needs --base-url"),
    (["show", "zzzz"], "no run"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input(tmp_path, args, needle):
    db = tmp_path / "t.duckdb"
    if args[0] == "show":
        Store(db)  # an empty store: the run prefix names no run in it
    extra = ["--db", str(db)] if args[0] in ("run", "show") else []
    _one_line_error(cli_in_process(*args, *extra, cwd=tmp_path), needle)


@pytest.mark.parametrize("args,needle", [
    (["run", "--suite", "nosuch", "--engine", "scripted"], "unknown suite 'nosuch'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_through_the_console_script(tmp_path, args, needle):
    """As above, through the installed `thinkbench` in a process of its own: nothing it imports writes to stderr
    before the one line."""
    _one_line_error(run_cli(*args, cwd=tmp_path), needle)


def test_missing_data_file(tmp_path):
    proc = cli_in_process("run", "--suite", "math500", "--engine", "scripted", "--data-dir", str(tmp_path),
                   "--db", str(tmp_path / "t.duckdb"), cwd=tmp_path)
    _one_line_error(proc, "math500/test.jsonl is missing")


def test_missing_data_dir(tmp_path):
    proc = cli_in_process("run", "--suite", "math500", "--engine", "scripted", "--data-dir", str(tmp_path / "no"),
                   "--db", str(tmp_path / "t.duckdb"), cwd=tmp_path)
    _one_line_error(proc, "does not exist")


@pytest.mark.parametrize("content,needle", [
    ("suite: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "mapping"),
    ("suite: arith\nbogus_key: 1\n", "bogus_key"),
])
def test_unreadable_config(tmp_path, content, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content)
    _one_line_error(cli_in_process("run", "--config", str(cfg), "--db", str(tmp_path / "t.duckdb"), cwd=tmp_path),
                    needle)


def test_config_missing(tmp_path):
    _one_line_error(cli_in_process("run", "--config", str(tmp_path / "none.yaml"), cwd=tmp_path), "does not exist")


def test_not_a_store(tmp_path):
    db = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE x (a INT)")
    con.close()
    _one_line_error(run_cli("run", "--suite", "arith:n=2", "--engine", "scripted", "--db", str(db), cwd=tmp_path),
                    "not a ThinkBench store")
    _one_line_error(run_cli("ls", "--db", str(db), cwd=tmp_path), "not a ThinkBench store")
    text = tmp_path / "notes.duckdb"
    text.write_text("hello")
    _one_line_error(run_cli("ls", "--db", str(text), cwd=tmp_path), "")
    assert text.read_text() == "hello"


def test_model_that_cannot_be_loaded_leaves_run_failed(tmp_path):
    model = tmp_path / "broken-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "no-such-architecture"}')
    db = tmp_path / "t.duckdb"
    proc = run_cli("run", "--suite", "arith:n=2", "--model", str(model), "--db", str(db), cwd=tmp_path)
    _one_line_error(proc, "could not load model")
    statuses = [r[0] for r in duckdb.connect(str(db), read_only=True).execute("SELECT status FROM runs").fetchall()]
    assert statuses == ["failed"]

"""The leaderboard reads a store while a run is writing to it: it sees progress, and the run loses nothing."""

from __future__ import annotations

import os
import subprocess
import time

import duckdb

from leaderboard import curves, snapshot
from tests.conftest import THINKBENCH


def test_reading_during_a_live_run_never_blocks_or_corrupts_it(tmp_path):
    # Generation slow enough (about a minute, asleep) that grading keeps up with it even on a loaded 2-core machine,
    # where a grading worker can take 20 s to start: the reader must see the run part-way.
    cfg = tmp_path / "slow.yaml"
    cfg.write_text(
        "suite: 'arith:digits=1-2,n=24'\n"
        "engine: {kind: scripted, seconds_per_token: 0.15}\n"
        "strategy: {name: self_consistency, params: {n: 4}}\n"
        "commit_every: 2\nmax_inflight: 2\n")
    db = tmp_path / "live.duckdb"
    log = (tmp_path / "run.log").open("w")
    # RAY_ADDRESS=local: start a private cluster rather than join one another process left running on this machine
    proc = subprocess.Popen([THINKBENCH, "run", "--config", str(cfg), "--db", str(db),
                             "--plot", str(tmp_path / "p.png")],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RAY_ADDRESS": "local"})
    seen, reads, longest = set(), 0, 0.0
    deadline = time.time() + 400
    while proc.poll() is None and time.time() < deadline:
        if db.exists():
            try:
                snap = snapshot.load(db)
            except Exception as e:  # noqa: BLE001 - a store still being created may not be a store yet
                assert "not a ThinkBench store" in str(e) or "empty" in str(e) or "does not exist" in str(e), e
                time.sleep(0.1)
                continue
            reads += 1
            longest = max(longest, snap.read_seconds)
            if not snap.runs.empty:
                seen.add((snap.runs.status.iloc[0], len(snap.attempts)))
                curves.build(snap)  # analysis of a partial store works
        time.sleep(0.15)
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)
    log.close()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-2000:]
    assert reads >= 5
    assert any(status == "running" and 0 < done < 24 for status, done in seen), seen
    assert longest < 5, "a read held the store far longer than a commit takes"
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM runs").fetchall() == [("complete",)]
    assert con.execute("SELECT count(*) FROM attempts").fetchone()[0] == 24
    assert con.execute("SELECT count(*) FROM samples").fetchone()[0] == 96
    con.close()

"""A read-only, in-memory snapshot of the store, taken in one short connection.

DuckDB lets only one process open a file while any process has it open read-write, and the
run driver opens it per committed batch. So the leaderboard opens read-only (retrying while the
driver holds it, via `Store.connect`), pulls what it needs as Arrow in a few queries, and closes
at once: the driver then waits at most that long for its next commit, and can never be corrupted
by a reader. Sample texts are not loaded here; `problem_samples` fetches one problem on demand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import UserError
from harness import queries
from harness.store import Store

RUN_COLS = queries.SNAPSHOT_RUN_COLS
ATTEMPT_COLS = queries.SNAPSHOT_ATTEMPT_COLS


@dataclass
class Pools:
    """Samples of all loaded runs, sorted by (run, problem, sample), as flat arrays.

    Rows of pool j are off[j]:off[j+1]; pool j belongs to (pool_run[j], pool_problem[j]).
    label is the answer group (-1: no extracted answer); truncated: the sample stopped at its token limit."""

    off: np.ndarray
    pool_run: np.ndarray
    pool_problem: np.ndarray
    label: np.ndarray
    correct: np.ndarray
    score: np.ndarray
    generated: np.ndarray
    truncated: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.off[-1])


@dataclass
class Snapshot:
    path: Path
    runs: pd.DataFrame
    attempts: pd.DataFrame
    pools: Pools
    taken_at: float
    read_seconds: float


def load(db: str | Path | None, suites: list[str] | None = None, run_ids: list[str] | None = None) -> Snapshot:
    """Runs, attempts and sample pools of the chosen suites (all when None), in one brief read-only connection."""
    t0 = time.perf_counter()
    store = Store(db, read_only=True)
    wanted = list(suites or [])
    with store.reading() as r:
        runs = r.arrow(queries.snapshot_runs(len(wanted)), wanted)
        ids = [x for x in runs.column("run_id").to_pylist() if not run_ids or x in run_ids]
        if ids:  # a store written by older code lacks the cost columns: read as NULL
            attempts = r.arrow(queries.snapshot_attempts(len(ids), r.columns("attempts")), ids)
            samples = r.arrow(queries.snapshot_samples(len(ids)), ids)
        else:
            attempts = samples = None
    read_seconds = time.perf_counter() - t0
    runs_df = runs.to_pandas()
    runs_df = runs_df[runs_df.run_id.isin(ids)].reset_index(drop=True)
    if attempts is not None:
        att_df = attempts.to_pandas()
    else:
        att_df = pd.DataFrame(columns=[*(c.strip() for c in ATTEMPT_COLS.split(",")), *queries.COST_COLS,
                                       "truncated"])
    return Snapshot(Path(store.path), runs_df, att_df, _pools(samples), time.time(), read_seconds)


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    enc = pc.dictionary_encode(col).combine_chunks()
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()


def _pools(samples: pa.Table | None) -> Pools:
    if samples is None or samples.num_rows == 0:
        z = np.zeros(0, dtype=np.int64)
        return Pools(np.zeros(1, dtype=np.int64), np.array([], dtype=object), np.array([], dtype=object),
                     z, z.astype(bool), z.astype(float), z, z.astype(bool))
    run_codes, run_names = _codes(samples.column("run_id"))
    prob_codes, prob_names = _codes(samples.column("problem_id"))
    key = samples.column("vote_key").combine_chunks()
    enc = pc.dictionary_encode(key)
    label = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    pair = run_codes.astype(np.int64) * (len(prob_names) + 1) + prob_codes
    start = np.ones(len(pair), dtype=bool)
    start[1:] = pair[1:] != pair[:-1]
    first = np.flatnonzero(start)
    off = np.append(first, len(pair)).astype(np.int64)
    correct = pc.fill_null(samples.column("correct"), False).to_numpy(zero_copy_only=False).astype(bool)
    score = pc.fill_null(samples.column("score").cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)
    generated = pc.fill_null(samples.column("generated_tokens"), 0).to_numpy(zero_copy_only=False)
    truncated = pc.fill_null(samples.column("truncated"), False).to_numpy(zero_copy_only=False).astype(bool)
    return Pools(off, np.asarray(run_names, dtype=object)[run_codes[first]],
                 np.asarray(prob_names, dtype=object)[prob_codes[first]], label, correct,
                 np.asarray(score, dtype=np.float64), np.asarray(generated, dtype=np.int64), truncated)


def problem_samples(db: str | Path | None, problem_id: str, run_ids: list[str]) -> pd.DataFrame:
    """Every stored sample of one problem for the given runs, texts included (one short read)."""
    if not run_ids:
        return pd.DataFrame()
    with Store(db, read_only=True).reading() as r:
        return r.df(queries.problem_samples(len(run_ids)), [problem_id, *run_ids])


def run_calls(db: str | Path | None, run_id: str) -> pd.DataFrame:
    """A run's engine calls as the latency fit reads them (model, seconds, tokens, n, first-token seconds)."""
    return Store(db, read_only=True).run_calls(run_id)


def unpriced_calls(db: str | Path | None, run_id: str) -> dict[str, int]:
    """Per model of a run's calls, how many have no dollars (`Store.unpriced_calls`)."""
    return Store(db, read_only=True).unpriced_calls(run_id)


def suites(db: str | Path | None) -> list[str]:
    """Suite names, the most recently run first (the app's default is the first)."""
    return [r[0] for r in Store(db, read_only=True).query(queries.SUITES_BY_RECENCY)]


def require_runs(snap: Snapshot) -> None:
    if snap.runs.empty:
        raise UserError(f"no runs to rank in {snap.path}; run `thinkbench run` first or pick another suite")

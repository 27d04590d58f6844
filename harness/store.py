"""The DuckDB store: runs, attempts and samples, keyed so that a killed run resumes exactly.

Only the Ray driver writes. It opens the file per committed batch and closes it straight after,
so a reader (the leaderboard, `thinkbench ls`) can open the same file between commits. Each
batch of attempts and their samples is one transaction: a crash loses at most the batch in
flight, never half of one, and primary keys (run, problem, sample) make a replay a no-op.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import duckdb

from core.errors import UserError

SCHEMA_VERSION = 1
DEFAULT_DB = "thinkbench.duckdb"

SCHEMA = """
CREATE TABLE IF NOT EXISTS thinkbench_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    suite VARCHAR, model VARCHAR, engine VARCHAR, strategy VARCHAR,
    config JSON, identity JSON, manifest JSON,
    status VARCHAR, n_problems INTEGER, limited BOOLEAN,
    policy_params BIGINT, verifier_params BIGINT,
    created_at TIMESTAMP, started_at TIMESTAMP, finished_at TIMESTAMP, error VARCHAR
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id VARCHAR, problem_id VARCHAR, problem_index INTEGER,
    gold VARCHAR, difficulty DOUBLE, subject VARCHAR,
    final_answer VARCHAR, final_text VARCHAR, correct BOOLEAN,
    grade_status VARCHAR, grade_reason VARCHAR, grader_version VARCHAR,
    n_samples INTEGER,
    prompt_tokens BIGINT, cached_prompt_tokens BIGINT, generated_tokens BIGINT, reasoning_tokens BIGINT,
    verifier_tokens BIGINT, engine_calls INTEGER, verifier_calls INTEGER, wall_seconds DOUBLE, flops DOUBLE,
    worker VARCHAR, error VARCHAR, meta JSON, committed_at TIMESTAMP,
    PRIMARY KEY (run_id, problem_id)
);
CREATE TABLE IF NOT EXISTS samples (
    run_id VARCHAR, problem_id VARCHAR, sample_idx INTEGER,
    text VARCHAR, finish_reason VARCHAR,
    prompt_tokens BIGINT, cached_prompt_tokens BIGINT, generated_tokens BIGINT,
    extracted VARCHAR, vote_key VARCHAR, correct BOOLEAN, grade_status VARCHAR,
    score DOUBLE, mean_logprob DOUBLE, meta JSON,
    PRIMARY KEY (run_id, problem_id, sample_idx)
);
CREATE TABLE IF NOT EXISTS run_events (
    run_id VARCHAR, occurred_at TIMESTAMP, worker VARCHAR, kind VARCHAR, problem_id VARCHAR, detail VARCHAR
);
CREATE TABLE IF NOT EXISTS grader_disagreements (
    run_id VARCHAR, problem_id VARCHAR, sample_idx INTEGER,
    response VARCHAR, gold VARCHAR, extracted VARCHAR,
    ours BOOLEAN, ours_reason VARCHAR, theirs BOOLEAN, grader_version VARCHAR,
    PRIMARY KEY (run_id, problem_id, sample_idx, grader_version)
);
"""

ATTEMPT_COLS = [
    "run_id", "problem_id", "problem_index", "gold", "difficulty", "subject", "final_answer", "final_text",
    "correct", "grade_status", "grade_reason", "grader_version", "n_samples", "prompt_tokens",
    "cached_prompt_tokens", "generated_tokens", "reasoning_tokens", "verifier_tokens", "engine_calls",
    "verifier_calls", "wall_seconds", "flops", "worker", "error", "meta", "committed_at",
]
EVENT_COLS = ["run_id", "occurred_at", "worker", "kind", "problem_id", "detail"]
DISAGREEMENT_COLS = ["run_id", "problem_id", "sample_idx", "response", "gold", "extracted", "ours", "ours_reason",
                     "theirs", "grader_version"]
SAMPLE_COLS = [
    "run_id", "problem_id", "sample_idx", "text", "finish_reason", "prompt_tokens", "cached_prompt_tokens",
    "generated_tokens", "extracted", "vote_key", "correct", "grade_status", "score", "mean_logprob", "meta",
]


def _arrow(cols: list[str], rows: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    import pyarrow as pa  # noqa: PLC0415

    return pa.table({c: [r.get(c) for r in rows] for c in cols})


def db_path(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("THINKBENCH_DB") or DEFAULT_DB).expanduser()


@dataclass
class RunRow:
    run_id: str
    suite: str
    model: str
    strategy: str
    status: str
    n_problems: int
    done: int
    correct: int
    generated_tokens: int
    created_at: Any
    limited: bool


class Store:
    def __init__(self, path: str | Path | None = None, read_only: bool = False) -> None:
        self.path = db_path(str(path) if path else None)
        self.read_only = read_only
        self._checked = False
        if read_only and not self.path.exists():
            raise UserError(f"store {self.path} does not exist; run `thinkbench run` first or pass --db PATH")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.connect() as con:
                self._init_schema(con)
        else:
            with self.connect():
                pass

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        last: Exception | None = None
        for _ in range(100):  # another process may hold the file between its commits
            try:
                con = duckdb.connect(str(self.path), read_only=self.read_only)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise UserError(f"{self.path} is not a DuckDB file ({str(e).splitlines()[0][:120]}); pass another --db") from None
                last = e
                time.sleep(0.1)
            except duckdb.Error as e:
                raise UserError(f"{self.path} cannot be opened as a ThinkBench store ({type(e).__name__}); pass another --db") from None
        else:
            raise UserError(f"{self.path} stayed locked by another process ({last}); wait for it or use another --db")
        try:
            if not self._checked:
                self._check(con)
                self._checked = True
            yield con
        finally:
            con.close()

    def _check(self, con: duckdb.DuckDBPyConnection) -> None:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if tables and "thinkbench_meta" not in tables:
            raise UserError(f"{self.path} is a DuckDB file but not a ThinkBench store; pass another --db")
        if "thinkbench_meta" in tables:
            row = con.execute("SELECT value FROM thinkbench_meta WHERE key='schema_version'").fetchone()
            if row and int(row[0]) > SCHEMA_VERSION:
                raise UserError(f"{self.path} was written by a newer ThinkBench (schema {row[0]}); upgrade thinkbench")
        elif self.read_only:
            raise UserError(f"{self.path} is empty, not a ThinkBench store; run `thinkbench run` first")

    def _init_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(SCHEMA)
        con.execute("INSERT OR IGNORE INTO thinkbench_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    # -- runs --------------------------------------------------------------------------------
    def begin_run(self, run_id: str, suite: str, model: str, engine: str, strategy: str, config: dict,
                  identity: dict, manifest: dict, n_problems: int, limited: bool,
                  policy_params: int | None, verifier_params: int | None = None) -> str:
        """Create the run, or mark an existing one running again. Returns its previous status."""
        with self.connect() as con:
            row = con.execute("SELECT status FROM runs WHERE run_id=?", [run_id]).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,'running',?,?,?,?,now(),now(),NULL,NULL)",
                    [run_id, suite, model, engine, strategy, json.dumps(config), json.dumps(identity),
                     json.dumps(manifest), n_problems, limited, policy_params, verifier_params],
                )
                return "new"
            con.execute("UPDATE runs SET status='running', started_at=now(), manifest=?, error=NULL WHERE run_id=?",
                        [json.dumps(manifest), run_id])
            return row[0]

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self.connect() as con:
            con.execute("UPDATE runs SET status=?, finished_at=now(), error=? WHERE run_id=?", [status, error, run_id])

    def update_manifest(self, run_id: str, extra: dict) -> None:
        with self.connect() as con:
            row = con.execute("SELECT manifest FROM runs WHERE run_id=?", [run_id]).fetchone()
            manifest = {**json.loads(row[0] or "{}"), **extra}
            con.execute("UPDATE runs SET manifest=? WHERE run_id=?", [json.dumps(manifest), run_id])

    def completed_problems(self, run_id: str) -> set[str]:
        with self.connect() as con:
            return {r[0] for r in con.execute("SELECT problem_id FROM attempts WHERE run_id=?", [run_id]).fetchall()}

    def commit(self, attempts: list[dict[str, Any]], samples: list[dict[str, Any]],
               disagreements: list[dict[str, Any]] | None = None, events: list[dict[str, Any]] | None = None) -> None:
        """One transaction per batch; rows already present are left alone (replays are no-ops).

        Rows go in as Arrow tables (one columnar insert per table): row-by-row `executemany` cost
        the driver ~25 ms per problem of self-consistency@8, enough to cap a cluster's throughput.
        """
        if not attempts and not events:
            return
        batches = [(t, cols, rows) for t, cols, rows in (
            ("attempts", ATTEMPT_COLS, attempts), ("samples", SAMPLE_COLS, samples),
            ("grader_disagreements", DISAGREEMENT_COLS, disagreements or []), ("run_events", EVENT_COLS, events or []),
        ) if rows]
        tables = [(t, cols, _arrow(cols, rows)) for t, cols, rows in batches]
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table, cols, arrow in tables:
                    con.register("tb_batch", arrow)
                    verb = "INSERT INTO" if table == "run_events" else "INSERT OR IGNORE INTO"
                    con.execute(f"{verb} {table} ({','.join(cols)}) SELECT {','.join(cols)} FROM tb_batch")
                    con.unregister("tb_batch")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def add_events(self, events: list[dict[str, Any]]) -> None:
        self.commit([], [], None, events)

    # -- reading -----------------------------------------------------------------------------
    def runs(self) -> list[RunRow]:
        with self.connect() as con:
            rows = con.execute(
                """SELECT r.run_id, r.suite, r.model, r.strategy, r.status, r.n_problems,
                          count(a.problem_id), coalesce(sum(CASE WHEN a.correct THEN 1 ELSE 0 END), 0),
                          coalesce(sum(a.generated_tokens), 0), r.created_at, r.limited
                   FROM runs r LEFT JOIN attempts a USING (run_id)
                   GROUP BY ALL ORDER BY r.created_at"""
            ).fetchall()
        return [RunRow(*r) for r in rows]

    def resolve_run(self, prefix: str) -> str:
        """A run id from a unique prefix, as git does for commits."""
        with self.connect() as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE run_id LIKE ?", [prefix + "%"]).fetchall()]
        if not ids:
            raise UserError(f"no run {prefix!r} in {self.path}; `thinkbench ls` lists the runs")
        if len(ids) > 1:
            raise UserError(f"run prefix {prefix!r} is ambiguous ({', '.join(ids[:4])}...); give more characters")
        return ids[0]

    def run_record(self, run_id: str) -> dict[str, Any]:
        with self.connect() as con:
            cur = con.execute("SELECT * FROM runs WHERE run_id=?", [run_id])
            cols = [d[0] for d in cur.description]
            row = cur.fetchone()
        rec = dict(zip(cols, row))
        for k in ("config", "identity", "manifest"):
            rec[k] = json.loads(rec[k]) if rec[k] else {}
        return rec

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()

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
from typing import TYPE_CHECKING, Any, Iterator

import duckdb

from core.errors import UserError
from core.grade import Grade
from core.text import storable
from harness import queries

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# 2: the calls table, attempts.dollars and attempts.critical_path_seconds; 3: run_provenance; 4: grade_score
SCHEMA_VERSION = 4
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
CREATE TABLE IF NOT EXISTS calls (
    run_id VARCHAR, problem_id VARCHAR, call_idx INTEGER, model VARCHAR, stage VARCHAR,
    started_at TIMESTAMP, first_token_at TIMESTAMP, finished_at TIMESTAMP,
    seconds DOUBLE, first_token_seconds DOUBLE,
    prompt_tokens BIGINT, cached_prompt_tokens BIGINT, generated_tokens BIGINT, reasoning_tokens BIGINT,
    n INTEGER, finish_reason VARCHAR, in_flight INTEGER, dollars DOUBLE,
    PRIMARY KEY (run_id, problem_id, call_idx)
);
CREATE TABLE IF NOT EXISTS run_provenance (
    run_id VARCHAR, source VARCHAR, host VARCHAR, merged_at TIMESTAMP, source_schema INTEGER
);
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS dollars DOUBLE;
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS critical_path_seconds DOUBLE;
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS grade_score DOUBLE;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS grade_score DOUBLE;
"""

ATTEMPT_COLS = [
    "run_id", "problem_id", "problem_index", "gold", "difficulty", "subject", "final_answer", "final_text",
    "correct", "grade_status", "grade_reason", "grader_version", "n_samples", "prompt_tokens",
    "cached_prompt_tokens", "generated_tokens", "reasoning_tokens", "verifier_tokens", "engine_calls",
    "verifier_calls", "wall_seconds", "flops", "worker", "error", "meta", "committed_at", "dollars",
    "critical_path_seconds", "grade_score",
]
CALL_COLS = [
    "run_id", "problem_id", "call_idx", "model", "stage", "started_at", "first_token_at", "finished_at", "seconds",
    "first_token_seconds", "prompt_tokens", "cached_prompt_tokens", "generated_tokens", "reasoning_tokens", "n",
    "finish_reason", "in_flight", "dollars",
]
EVENT_COLS = ["run_id", "occurred_at", "worker", "kind", "problem_id", "detail"]
DISAGREEMENT_COLS = ["run_id", "problem_id", "sample_idx", "response", "gold", "extracted", "ours", "ours_reason",
                     "theirs", "grader_version"]
SAMPLE_COLS = [
    "run_id", "problem_id", "sample_idx", "text", "finish_reason", "prompt_tokens", "cached_prompt_tokens",
    "generated_tokens", "extracted", "vote_key", "correct", "grade_status", "score", "mean_logprob", "meta",
    "grade_score",
]


def _arrow(cols: list[str], rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as one Arrow table, columns in the table's order (missing keys become NULL). A string
    that is not valid UTF-8 (a lone surrogate from a program's exception message) is escaped
    rather than failing the commit of the whole batch; the check runs only after Arrow refused."""
    import pyarrow as pa  # noqa: PLC0415 - deferred: only the writing driver needs pyarrow, not `thinkbench ls`

    try:
        return pa.table({c: [r.get(c) for r in rows] for c in cols})
    except UnicodeEncodeError:
        return pa.table({c: [storable(r.get(c)) for r in rows] for c in cols})


def db_path(explicit: str | None = None) -> Path:
    """The store file: --db, else $THINKBENCH_DB, else ./thinkbench.duckdb."""
    return Path(explicit or os.environ.get("THINKBENCH_DB") or DEFAULT_DB).expanduser()


@dataclass
class RunRow:
    """One line of `thinkbench ls`: a run and how far it got."""

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
    failed: int = 0  # attempts that failed (not answers: accuracy is over the others)


@dataclass(frozen=True)
class RunStart:
    """What a run is when it starts: the row `begin_run` writes (status, timestamps and counts come later)."""

    run_id: str
    suite: str
    model: str
    engine: str
    strategy: str
    config: dict
    identity: dict
    manifest: dict
    n_problems: int
    limited: bool
    policy_params: int | None = None
    verifier_params: int | None = None


class Store:
    """The one writer of the results file; reads go through `query`/`reading` with named queries."""

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
        """A short-lived connection, retried while another process holds the file between its commits.

        Store methods use it; other modules read through `query`/`reading` and write through methods.
        """
        last: Exception | None = None
        for _ in range(100):  # another process may hold the file between its commits
            try:
                con = duckdb.connect(str(self.path), read_only=self.read_only)
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    first = str(e).splitlines()[0][:120]
                    raise UserError(f"{self.path} is not a DuckDB file ({first}); pass another --db") from None
                last = e
                time.sleep(0.1)
            except duckdb.Error as e:
                raise UserError(f"{self.path} cannot be opened as a ThinkBench store ({type(e).__name__}); "
                                "pass another --db") from None
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
        """Refuse a foreign or newer file with one line, before anything reads or writes it."""
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
        """Create missing tables (IF NOT EXISTS), so a store written by earlier code opens unchanged."""
        con.execute(SCHEMA)  # also migrates an older store: new tables and columns are added, nothing is dropped
        con.execute("INSERT OR REPLACE INTO thinkbench_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    # -- runs --------------------------------------------------------------------------------
    def begin_run(self, run: RunStart) -> str:
        """Create the run, or mark an existing one running again. Returns its previous status ("new" if none)."""
        with self.connect() as con:
            row = con.execute(queries.RUN_STATUS, [run.run_id]).fetchone()
            if row is None:
                con.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,'running',?,?,?,?,now(),now(),NULL,NULL)",
                    [run.run_id, run.suite, run.model, run.engine, run.strategy, json.dumps(run.config),
                     json.dumps(run.identity), json.dumps(run.manifest), run.n_problems, run.limited,
                     run.policy_params, run.verifier_params],
                )
                return "new"
            con.execute("UPDATE runs SET status='running', started_at=now(), manifest=?, error=NULL WHERE run_id=?",
                        [json.dumps(run.manifest), run.run_id])
            return str(row[0])

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        """Record how a run ended (complete, incomplete, failed) and why."""
        with self.connect() as con:
            con.execute("UPDATE runs SET status=?, finished_at=now(), error=? WHERE run_id=?", [status, error, run_id])

    def update_manifest(self, run_id: str, extra: dict) -> None:
        """Merge keys into a run's manifest (engine facts are known only once the actors started)."""
        with self.connect() as con:
            _merge_manifest(con, run_id, extra)

    def set_param_counts(self, run_id: str, policy_params: int | None, verifier_params: int | None) -> None:
        """Record the parameter counts that price the run's FLOPs (known only once the engines loaded)."""
        with self.connect() as con:
            con.execute("UPDATE runs SET policy_params=?, verifier_params=? WHERE run_id=?",
                        [policy_params, verifier_params, run_id])

    def clear_failed(self, run_id: str) -> None:
        """Delete a run's failed attempts and their samples, so a rerun retries exactly those problems."""
        with self.connect() as con, _transaction(con):
            con.execute("DELETE FROM samples WHERE run_id=? AND problem_id IN "
                        "(SELECT problem_id FROM attempts WHERE run_id=? AND error IS NOT NULL)", [run_id, run_id])
            con.execute("DELETE FROM attempts WHERE run_id=? AND error IS NOT NULL", [run_id])

    def replace_run(self, start: RunStart, status: str, attempts: Any, samples: Any) -> None:
        """Write a whole run at once, replacing any earlier copy (synthetic stores for tests and benches).

        attempts and samples are DataFrames or Arrow tables with ATTEMPT_COLS / SAMPLE_COLS (columns added since
        are NULL when absent),
        bulk-inserted: a synthetic store holds far more rows than `commit`'s dicts would carry cheaply.
        """
        with self.connect() as con, _transaction(con):
            for table in ("samples", "attempts", "runs"):
                con.execute(f"DELETE FROM {table} WHERE run_id=?", [start.run_id])
            con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,now(),now(),now(),NULL)",
                        [start.run_id, start.suite, start.model, start.engine, start.strategy,
                         json.dumps(start.config), json.dumps(start.identity), json.dumps(start.manifest), status,
                         start.n_problems, start.limited, start.policy_params, start.verifier_params])
            for table, cols, frame in (("attempts", ATTEMPT_COLS, attempts), ("samples", SAMPLE_COLS, samples)):
                have = set(getattr(frame, "column_names", None) or list(frame.columns))
                picks = ",".join(c if c in have else f"NULL AS {c}" for c in cols)  # newer columns: NULL
                con.register("tb_frame", frame)
                con.execute(f"INSERT INTO {table} ({','.join(cols)}) SELECT {picks} FROM tb_frame")
                con.unregister("tb_frame")

    def commit(self, attempts: list[dict[str, Any]], samples: list[dict[str, Any]],
               disagreements: list[dict[str, Any]] | None = None, events: list[dict[str, Any]] | None = None,
               calls: list[dict[str, Any]] | None = None) -> None:
        """One transaction per batch; rows already present are left alone (replays are no-ops).

        Rows go in as Arrow tables (one columnar insert per table): row-by-row `executemany` cost
        the driver ~25 ms per problem of self-consistency@8, enough to cap a cluster's throughput.
        """
        if not attempts and not events:
            return
        batches = [(t, cols, rows) for t, cols, rows in (
            ("attempts", ATTEMPT_COLS, attempts), ("samples", SAMPLE_COLS, samples),
            ("grader_disagreements", DISAGREEMENT_COLS, disagreements or []), ("run_events", EVENT_COLS, events or []),
            ("calls", CALL_COLS, calls or []),
        ) if rows]
        tables = [(t, cols, _arrow(cols, rows)) for t, cols, rows in batches]
        with self.connect() as con, _transaction(con):
            for table, cols, arrow in tables:
                con.register("tb_batch", arrow)
                verb = "INSERT INTO" if table == "run_events" else "INSERT OR IGNORE INTO"
                con.execute(f"{verb} {table} ({','.join(cols)}) SELECT {','.join(cols)} FROM tb_batch")
                con.unregister("tb_batch")

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Store worker events (failures, recoveries) outside any attempt batch."""
        self.commit([], [], None, events)

    def apply_regrade(self, run_id: str, grader_version: str, sample_grades: list[tuple[str, int, Grade]],
                      final_grades: list[tuple[str, Grade]], disagreements: list[dict[str, Any]]) -> None:
        """Store a re-grading in one transaction, so a run is never left half old grades, half new.

        sample_grades: (problem_id, sample_idx, grade); final_grades: (problem_id, grade) of the
        attempts' final answers. The run's disagreements of this grader version are replaced, and its
        manifest records the version that graded it.
        """
        with self.connect() as con, _transaction(con):
            if sample_grades:
                con.executemany("UPDATE samples SET correct=?, grade_status=?, grade_score=? "
                                "WHERE run_id=? AND problem_id=? AND sample_idx=?",
                                [[g.correct, g.status, g.score, run_id, pid, idx] for pid, idx, g in sample_grades])
            if final_grades:
                con.executemany("UPDATE attempts SET correct=?, grade_status=?, grade_reason=?, grader_version=?, "
                                "grade_score=? WHERE run_id=? AND problem_id=?",
                                storable([[g.correct, g.status, g.reason, g.grader_version, g.score, run_id, pid]
                                          for pid, g in final_grades]))
            con.execute("DELETE FROM grader_disagreements WHERE run_id=? AND grader_version=?",
                        [run_id, grader_version])
            if disagreements:
                con.executemany(f"INSERT INTO grader_disagreements ({','.join(DISAGREEMENT_COLS)}) VALUES "
                                f"({','.join('?' * len(DISAGREEMENT_COLS))}) ON CONFLICT DO NOTHING",
                                storable([[d.get(c) for c in DISAGREEMENT_COLS] for d in disagreements]))
            _merge_manifest(con, run_id, {"grader_version": grader_version})

    def apply_reprice(self, run_id: str, calls: pa.Table, attempts: pa.Table, pricing: dict[str, Any]) -> None:
        """Store a repricing in one transaction: every call's and attempt's dollars, and the manifest's `pricing`.

        calls: (problem_id, call_idx, dollars); attempts: (problem_id, dollars) of this run, as Arrow tables
        (a run may hold millions of calls: one set-based UPDATE each, not one statement per row).
        """
        with self.connect() as con, _transaction(con):
            for table, keys, frame in (("calls", ("problem_id", "call_idx"), calls),
                                       ("attempts", ("problem_id",), attempts)):
                if frame.num_rows == 0:
                    continue
                con.register("tb_prices", frame)
                match = " AND ".join(f"{table}.{k} = p.{k}" for k in keys)
                con.execute(f"UPDATE {table} SET dollars = p.dollars FROM tb_prices p "
                            f"WHERE {table}.run_id = ? AND {match}", [run_id])
                con.unregister("tb_prices")
            _merge_manifest(con, run_id, {"pricing": pricing})

    # -- reading -----------------------------------------------------------------------------
    def completed_problems(self, run_id: str) -> set[str]:
        """Problems with a stored attempt, failed ones included."""
        return {r[0] for r in self.query(queries.COMPLETED_PROBLEMS, [run_id])}

    def failed_problems(self, run_id: str) -> set[str]:
        """Problems whose stored attempt failed (error IS NOT NULL): a rerun retries them."""
        return {r[0] for r in self.query(queries.FAILED_PROBLEMS, [run_id])}

    def count_failed(self, run_id: str) -> int:
        """How many of a run's stored attempts failed."""
        return int(self.query(queries.COUNT_FAILED, [run_id])[0][0])

    def attempt_totals(self, run_id: str) -> tuple[int, int, int]:
        """(attempts, correct attempts, generated tokens) of a run: the numbers of its summary line."""
        done, correct, tokens = self.query(queries.ATTEMPT_TOTALS, [run_id])[0]
        return int(done), int(correct), int(tokens)

    def attempt_spend(self, run_id: str) -> tuple[int, int, float, int]:
        """(finished attempts, those with dollars, dollars, total tokens) of a run: the spend cost caps start from."""
        done, priced, dollars, tokens = self.query(queries.ATTEMPT_SPEND, [run_id])[0]
        return int(done), int(priced), float(dollars), int(tokens)

    def runs(self) -> list[RunRow]:
        """Every run with its progress and headline numbers, oldest first."""
        return [RunRow(*r) for r in self.query(queries.RUN_LIST)]

    def resolve_run(self, prefix: str) -> str:
        """A run id from a unique prefix, as git does for commits."""
        ids = [r[0] for r in self.query(queries.RUN_IDS_LIKE, [prefix + "%"])]
        if not ids:
            raise UserError(f"no run {prefix!r} in {self.path}; `thinkbench ls` lists the runs")
        if len(ids) > 1:
            raise UserError(f"run prefix {prefix!r} is ambiguous ({', '.join(ids[:4])}...); give more characters")
        return ids[0]

    def run_record(self, run_id: str) -> dict[str, Any]:
        """One run's row as a dict, with config, identity and manifest decoded from JSON."""
        with self.connect() as con:
            cur = con.execute(queries.RUN_RECORD, [run_id])
            cols = [d[0] for d in cur.description or ()]
            row = cur.fetchone()
        if row is None:
            raise UserError(f"no run {run_id!r} in {self.path}; `thinkbench ls` lists the runs")
        rec = dict(zip(cols, row))
        for k in ("config", "identity", "manifest"):
            rec[k] = json.loads(rec[k]) if rec[k] else {}
        return rec

    def tables(self) -> set[str]:
        """Names of the store's tables (a store written by older code lacks newer ones, e.g. `calls`)."""
        with self.reading() as r:
            return r.tables()

    def columns(self, table: str) -> set[str]:
        """Column names of one table (empty when it does not exist)."""
        with self.reading() as r:
            return r.columns(table)

    def run_calls(self, run_id: str) -> pd.DataFrame:
        """A run's engine calls as the latency fit reads them (`queries.RUN_CALL_TIMES`); none in an older store."""
        with self.reading() as r:
            return r.run_calls(run_id)

    def unpriced_calls(self, run_id: str) -> dict[str, int]:
        """Per model of a run's calls, how many have no dollars (0: all priced); empty when no call was stored."""
        if "calls" not in self.tables():
            return {}
        return {m: int(n) for m, n in self.query(queries.RUN_UNPRICED_MODELS, [run_id])}

    def problem_costs(self, run_id: str) -> list[tuple]:
        """(problem_id, critical-path seconds, dollars) of a run's finished attempts; NULL in an older store."""
        return self.query(queries.run_problem_costs(self.columns("attempts")), [run_id])

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        """Rows of one read, normally a named query from harness.queries."""
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()

    @contextmanager
    def merging(self) -> Iterator[Merger]:
        """One connection on this store for `thinkbench merge`: sources attach to it, the copy is one transaction."""
        with self.connect() as con:
            yield Merger(con)

    def dump(self, out: Path) -> list[Path]:
        """Every table as out/<table>.parquet (rows sorted, so a store dumps to the same bytes); a merge source."""
        with self.connect() as con:
            names = sorted(r[0] for r in con.execute(queries.TABLES).fetchall())
            for name in names:
                con.execute(f"COPY (SELECT * FROM {name} ORDER BY ALL) TO '{_quoted(out / name)}.parquet' "
                            "(FORMAT parquet)")
        return [out / f"{n}.parquet" for n in names]

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """Several reads on one brief connection, so a view sees one consistent state and frees the file fast."""
        with self.connect() as con:
            yield Reader(con.cursor())  # a fresh cursor: the schema check may leave a result pending


class Reader:
    """Read-side handle on one open connection: rows, Arrow tables or DataFrames of named queries."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        """Rows as tuples."""
        return self._con.execute(sql, params or []).fetchall()

    def arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """A pyarrow Table (column arrays for the leaderboard's vectorised estimators)."""
        return self._con.sql(sql, params=params or []).to_arrow_table()

    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """A pandas DataFrame."""
        return self._con.execute(sql, params or []).df()

    def tables(self) -> set[str]:
        """Names of the store's tables."""
        return {r[0] for r in self.rows(queries.TABLES)}

    def columns(self, table: str) -> set[str]:
        """Column names of one table (empty when it does not exist)."""
        return {r[0] for r in self.rows(queries.TABLE_COLUMNS, [table])}

    def run_calls(self, run_id: str) -> pd.DataFrame:
        """`queries.RUN_CALL_TIMES` of one run as a DataFrame; empty (same columns) when the store has no calls."""
        if "calls" in self.tables():
            return self.df(queries.RUN_CALL_TIMES, [run_id])
        import pandas as pd  # noqa: PLC0415 - deferred: pandas loads only for readers that build frames

        return pd.DataFrame({c: [] for c in ("model", "seconds", "generated_tokens", "n", "first_token_seconds")})


MERGE_SKIP_DIGEST = {"run_provenance"}
"""Per-run tables copied with a run but not part of its content (where a copy came from differs per store)."""


class Merger:
    """The destination's connection with source stores attached read-only (harness/merge.py plans with it).

    DuckDB's ATTACH lets one INSERT ... SELECT read a source and write the destination, so a merge is one
    set-based statement per table and run list, all inside one transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def attach(self, alias: str, source: Path) -> None:
        """A .duckdb file read-only, or a dump folder (<table>.parquet) as views in an in-memory catalog."""
        try:
            if source.is_dir():
                self._con.execute(f"ATTACH ':memory:' AS {alias}")
                for f in sorted(source.glob("*.parquet")):
                    if f.stem.isidentifier():
                        self._con.execute(f"CREATE VIEW {alias}.main.{f.stem} AS "
                                          f"SELECT * FROM read_parquet('{_quoted(f)}')")
            else:
                self._con.execute(f"ATTACH '{_quoted(source)}' AS {alias} (READ_ONLY)")
        except duckdb.Error as e:
            first = str(e).splitlines()[0][:160]
            raise UserError(f"{source} cannot be read as a ThinkBench store ({first}); check the path") from None

    def columns(self, catalog: str) -> dict[str, list[str]]:
        """Table -> its columns in order, for one catalog (`memory`-style name of the destination included)."""
        out: dict[str, list[str]] = {}
        for table, col in self._con.execute(queries.CATALOG_COLUMNS, [catalog]).fetchall():
            out.setdefault(table, []).append(col)
        return out

    def destination(self) -> str:
        """The destination's catalog name (a file's stem), as `columns` and `digests` take it."""
        row = self._con.execute("SELECT current_database()").fetchone()
        return str(row[0]) if row else "main"

    def schema_version(self, catalog: str) -> int:
        """The catalog's stored schema version (0 where it records none)."""
        row = self._con.execute(queries.catalog_schema_version(catalog)).fetchone()
        return int(row[0]) if row else 0

    def digests(self, catalog: str, table: str, cols: list[str], have: set[str],
                only: list[str] | None = None) -> dict[str, tuple[int, str]]:
        """run_id -> (rows, hash of its rows over `cols`) in one table (`only`: just these runs)."""
        sql = queries.run_digests(catalog, table, cols, have, only is not None)
        rows = self._con.execute(sql, [only] if only is not None else []).fetchall()
        return {r: (int(n), str(h)) for r, n, h in rows}

    def copy(self, batches: list[tuple[str, list[str], dict[str, set[str]]]], dst: dict[str, list[str]],
             provenance: list[tuple[str, str, str, int]]) -> dict[str, int]:
        """Copy each (catalog, run ids, its tables' columns) into the destination's per-run tables and record
        provenance (run_id, source, host, source schema): one transaction, rows copied per table."""
        counts = dict.fromkeys(sorted(dst), 0)
        with _transaction(self._con):
            for catalog, run_ids, have in batches:
                for table, cols in sorted(dst.items()):
                    if table not in have or not run_ids:
                        continue
                    picks = ",".join(c if c in have[table] else f"NULL AS {c}" for c in cols)
                    n = self._con.execute(f"INSERT INTO main.{table} ({','.join(cols)}) SELECT {picks} "
                                          f"FROM {queries.ident(catalog)}.main.{table} WHERE run_id IN "
                                          "(SELECT unnest(?::VARCHAR[]))", [run_ids]).fetchone()
                    counts[table] += int(n[0]) if n else 0
            if provenance:
                self._con.executemany("INSERT INTO run_provenance VALUES (?, ?, ?, now(), ?)",
                                      [list(p) for p in provenance])
        return counts


def _quoted(path: Path) -> str:
    """A path inside a single-quoted SQL literal (ATTACH and COPY take no parameters)."""
    return str(path).replace("'", "''")


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All statements inside commit together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _merge_manifest(con: duckdb.DuckDBPyConnection, run_id: str, extra: dict) -> None:
    """Read-modify-write of a run's manifest on an open connection (inside the caller's transaction, if any)."""
    row = con.execute(queries.RUN_MANIFEST, [run_id]).fetchone()
    manifest = {**json.loads((row[0] if row else None) or "{}"), **extra}
    con.execute("UPDATE runs SET manifest=? WHERE run_id=?", [json.dumps(manifest), run_id])

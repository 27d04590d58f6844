"""Every read of the store, by name: the one place to look for (or add) SQL that reads results.

Writes are `Store` methods (harness/store.py); reads are named here and run through the store:
`store.query(queries.RUN_EVENTS, [rid])`, or `with store.reading() as r: r.arrow(...)` when a view
needs several reads from one brief connection. A name says what a caller gets, so a schema change
is one edit here instead of a hunt through the CLI, the leaderboard and the grader. This module
imports nothing, so any layer may name a query without importing the store's dependencies.
"""

from __future__ import annotations

# -- runs -------------------------------------------------------------------------------------------
RUN_STATUS = "SELECT status FROM runs WHERE run_id=?"
"""(status,) of one run, or no row."""

RUN_RECORD = "SELECT * FROM runs WHERE run_id=?"
"""Every column of one run (`Store.run_record` names them from the cursor)."""

RUN_MANIFEST = "SELECT manifest FROM runs WHERE run_id=?"
"""(manifest JSON,) of one run."""

RUN_IDS_LIKE = "SELECT run_id FROM runs WHERE run_id LIKE ?"
"""Run ids matching a LIKE pattern (a prefix + '%')."""

RUN_LIST = """SELECT r.run_id, r.suite, r.model, r.strategy, r.status, r.n_problems,
                     count(a.problem_id), coalesce(sum(CASE WHEN a.correct THEN 1 ELSE 0 END), 0),
                     coalesce(sum(a.generated_tokens), 0), r.created_at, r.limited, count(a.error)
              FROM runs r LEFT JOIN attempts a USING (run_id)
              GROUP BY ALL ORDER BY r.created_at"""
"""One `RunRow` per run with its progress, headline accuracy and failed attempts, oldest first (`thinkbench ls`)."""

LATEST_SUITE = "SELECT suite FROM runs ORDER BY created_at DESC LIMIT 1"
"""(suite,) of the most recent run: `thinkbench report`'s default."""

SUITE_RUNS = "SELECT run_id, strategy, identity FROM runs WHERE suite=? ORDER BY created_at"
"""(run_id, strategy, identity JSON) of a suite's runs, oldest first (the end-of-run report)."""

SUITES_BY_RECENCY = "SELECT suite FROM runs GROUP BY suite ORDER BY max(created_at) DESC"
"""(suite,) for each suite, the most recently run first (the app's suite picker)."""

RUN_STRATEGY_IDENTITY = "SELECT strategy, identity FROM runs WHERE run_id=?"
"""(strategy, identity JSON) of one run (adaptive's calibration)."""

# -- schema (stores written by older code lack newer tables and columns) -----------------------------
TABLES = "SELECT table_name FROM information_schema.tables"
"""(table name,) of every table in the store."""

TABLE_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name=?"
"""(column name,) of one table."""

# -- attempts ---------------------------------------------------------------------------------------
COMPLETED_PROBLEMS = "SELECT problem_id FROM attempts WHERE run_id=?"
"""(problem_id,) of every stored attempt of a run, failed ones included."""

FAILED_PROBLEMS = "SELECT problem_id FROM attempts WHERE run_id=? AND error IS NOT NULL"
"""(problem_id,) of a run's attempts whose strategy failed: retried on rerun."""

COUNT_FAILED = "SELECT count(*) FROM attempts WHERE run_id=? AND error IS NOT NULL"
"""(count,) of a run's failed attempts."""

FAILURE_CAUSES = ("SELECT split_part(error, chr(10), 1) AS cause, count(*) FROM attempts WHERE run_id=? AND error IS "
                  "NOT NULL GROUP BY cause ORDER BY count(*) DESC, cause LIMIT 1000")
"""(first line of the error, attempts) of a run's commonest failure causes (`thinkbench run`'s last lines)."""

ATTEMPT_TOTALS = ("SELECT count(*), coalesce(sum(CASE WHEN correct THEN 1 ELSE 0 END),0), "
                  "coalesce(sum(generated_tokens),0) FROM attempts WHERE run_id=?")
"""(attempts, correct, generated tokens) of a run: the run summary's numbers."""

ATTEMPT_SPEND = ("SELECT count(*), count(dollars), coalesce(sum(dollars),0), coalesce(sum(coalesce(prompt_tokens,0)"
                 "+coalesce(generated_tokens,0)+coalesce(verifier_tokens,0)),0) FROM attempts "
                 "WHERE run_id=? AND error IS NULL")
"""(attempts, attempts with dollars, dollars, total tokens = prompt + generated + verifier) of a run's finished
attempts: what the cost caps count as already spent."""

RUN_BY_DIFFICULTY = """SELECT difficulty, count(*), avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), avg(generated_tokens),
                  sum(CASE WHEN grade_status IN ('timeout','error') THEN 1 ELSE 0 END)
           FROM attempts WHERE run_id=? GROUP BY difficulty ORDER BY difficulty NULLS LAST"""
"""(difficulty, problems, accuracy, tokens/problem, grader errors) per difficulty (`thinkbench show`)."""

RUN_FINISHED_ATTEMPTS = ("SELECT problem_id, correct, generated_tokens, difficulty FROM attempts "
                         "WHERE run_id=? AND error IS NULL")
"""(problem_id, correct, generated tokens, difficulty) of a run's attempts that did not fail."""

RUN_FINAL_TEXTS = "SELECT problem_id, final_text, correct FROM attempts WHERE run_id=? AND error IS NULL"
"""(problem_id, final text, stored verdict) of a run's finished attempts: what regrading re-reads."""

RUN_PROBLEM_ORDER = "SELECT problem_id, problem_index FROM attempts WHERE run_id=? ORDER BY problem_index"
"""(problem_id, index) of a run's attempts in suite order (adaptive's calibration split)."""

RUN_ATTEMPT_OUTCOMES = "SELECT problem_id, correct, generated_tokens FROM attempts WHERE run_id=?"
"""(problem_id, correct, generated tokens) of every attempt of a run (adaptive's calibration)."""

RUN_ATTEMPT_COSTS = "SELECT problem_id, correct, generated_tokens, verifier_tokens FROM attempts WHERE run_id=?"
"""(problem_id, correct, generated tokens, verifier tokens) of every attempt (adaptive's allocation report)."""

COST_COLS = ("dollars", "critical_path_seconds")
"""Attempt columns added by schema 2: a store written before has neither (read as NULL)."""


def cols_or_null(cols: tuple[str, ...], have: set[str]) -> str:
    """`col` for each column the table has, `NULL::DOUBLE AS col` for each it lacks (an older store)."""
    return ", ".join(c if c in have else f"NULL::DOUBLE AS {c}" for c in cols)


def run_problem_costs(have: set[str]) -> str:
    """(problem_id, critical-path seconds, dollars) of a run's finished attempts (`thinkbench show`); `have`: the
    attempts table's columns (NULL where an older store lacks one)."""
    return (f"SELECT problem_id, {cols_or_null(('critical_path_seconds', 'dollars'), have)} FROM attempts "
            "WHERE run_id=? AND error IS NULL")


RUN_ATTEMPT_PRICING = "SELECT problem_id, verifier_tokens, dollars FROM attempts WHERE run_id=? ORDER BY problem_id"
"""(problem_id, verifier tokens, stored dollars) of every attempt of a run: what repricing re-reads."""

# -- calls ------------------------------------------------------------------------------------------
RUN_CALL_TIMES = ("SELECT model, seconds, generated_tokens, n, first_token_seconds FROM calls "
                  "WHERE run_id=? AND seconds IS NOT NULL")
"""(model, wall seconds, generated tokens, completions, measured first-token seconds) of a run's engine calls:
what the latency fit reads."""

RUN_CALL_PRICING = ("SELECT problem_id, call_idx, model, seconds, prompt_tokens, cached_prompt_tokens, "
                    "generated_tokens, reasoning_tokens, n, finish_reason, in_flight, dollars FROM calls "
                    "WHERE run_id=? ORDER BY problem_id, call_idx")
"""Every engine call of a run with its token counts, seconds, requests in flight and stored dollars (repricing)."""

RUN_UNPRICED_MODELS = ("SELECT model, count(*) FILTER (WHERE dollars IS NULL) FROM calls WHERE run_id=? "
                       "GROUP BY model ORDER BY model")
"""(model, calls without dollars) per model of a run's calls: which models a price file lacks."""

# -- samples ----------------------------------------------------------------------------------------
RUN_SAMPLE_POOL = ("SELECT problem_id, vote_key, correct, generated_tokens FROM samples WHERE run_id=? "
                   "ORDER BY problem_id, sample_idx")
"""(problem_id, vote key, correct, generated tokens) of a run's samples, pool by pool (the end-of-run report)."""

RUN_SAMPLE_TEXTS = "SELECT problem_id, sample_idx, text, correct FROM samples WHERE run_id=?"
"""(problem_id, sample index, text, stored verdict) of a run's samples: what regrading re-reads."""

PILOT_SAMPLES = ("SELECT problem_id, vote_key, correct FROM samples WHERE run_id=? AND sample_idx < ? "
                 "ORDER BY problem_id, sample_idx")
"""(problem_id, vote key, correct) of the first N samples per problem (adaptive's pilot difficulty)."""

# -- events and grader disagreements ----------------------------------------------------------------
RUN_EVENTS = ("SELECT occurred_at, worker, kind, problem_id, detail FROM run_events WHERE run_id=? "
              "ORDER BY occurred_at LIMIT 20")
"""The first 20 (time, worker, kind, problem_id, detail) events of a run (`thinkbench show`)."""

RUN_DISAGREEMENTS = (
    "SELECT problem_id, sample_idx, gold, extracted, ours, theirs, ours_reason, grader_version, response "
    "FROM grader_disagreements WHERE run_id=? ORDER BY problem_id, sample_idx LIMIT ?")
"""Up to LIMIT stored disagreements with the second-opinion grader, by problem and sample."""

COUNT_DISAGREEMENTS = "SELECT count(*) FROM grader_disagreements WHERE run_id=?"
"""(count,) of a run's stored disagreements."""

# -- the leaderboard's snapshot (Arrow reads; lists of ids become `?` placeholders) -------------------
SNAPSHOT_RUN_COLS = ("run_id, suite, model, engine, strategy, config, identity, manifest, status, n_problems, "
                     "limited, policy_params, verifier_params, created_at, started_at, finished_at, error")
SNAPSHOT_ATTEMPT_COLS = ("run_id, problem_id, problem_index, gold, difficulty, subject, final_answer, correct, "
                         "grade_status, n_samples, prompt_tokens, generated_tokens, verifier_tokens, flops, "
                         "wall_seconds, error")


def _marks(n: int) -> str:
    """`?,?,...` for an IN list of n values (DuckDB binds each one)."""
    return ",".join("?" * n)


def snapshot_runs(n_suites: int) -> str:
    """Runs of n_suites given suites (every run when 0), oldest first (ties by id: merged stores can hold runs
    created at one instant, and the static site must order them the same way every time)."""
    where = f" WHERE suite IN ({_marks(n_suites)})" if n_suites else ""
    return f"SELECT {SNAPSHOT_RUN_COLS} FROM runs{where} ORDER BY created_at, run_id"


ATTEMPT_TRUNCATED = "TRY_CAST(meta->>'$.truncated' AS BOOLEAN) AS truncated"
"""Whether an attempt's meta marks it cut off at a token limit (NULL: the attempt does not say)."""


def snapshot_attempts(n_runs: int, have: set[str] | None = None) -> str:
    """Attempts of n_runs given runs (SNAPSHOT_ATTEMPT_COLS, COST_COLS and `truncated`), in run then suite order.
    `have`: the attempts table's columns, so a store written before COST_COLS reads them as NULL (None: all)."""
    costs = cols_or_null(COST_COLS, set(COST_COLS) if have is None else have)
    return (f"SELECT {SNAPSHOT_ATTEMPT_COLS}, {costs}, {ATTEMPT_TRUNCATED} FROM attempts "
            f"WHERE run_id IN ({_marks(n_runs)}) ORDER BY run_id, problem_index")


def snapshot_samples(n_runs: int) -> str:
    """Sample pools (no texts) of n_runs given runs, sorted by (run, problem, sample); `truncated`: the
    generation stopped at its token limit (finish_reason 'length')."""
    return ("SELECT run_id, problem_id, vote_key, correct, score, generated_tokens, "
            "coalesce(finish_reason = 'length', false) AS truncated FROM samples "
            f"WHERE run_id IN ({_marks(n_runs)}) ORDER BY run_id, problem_id, sample_idx")


def problem_samples(n_runs: int) -> str:
    """Every sample of one problem (first parameter) for n_runs runs, texts included (the sample explorer)."""
    return ("SELECT run_id, sample_idx, text, extracted, vote_key, score, mean_logprob, correct, grade_status, "
            f"finish_reason, generated_tokens FROM samples WHERE problem_id=? AND run_id IN ({_marks(n_runs)}) "
            "ORDER BY run_id, sample_idx")

RUN_MODEL_SPEND = ("SELECT model, count(*), sum(prompt_tokens), sum(generated_tokens), sum(reasoning_tokens), "
                   "sum(dollars), count(dollars) FROM calls WHERE run_id=? GROUP BY model ORDER BY model")
"""Per model of a run's calls: calls, prompt, generated and reasoning tokens, dollars, priced calls (show)."""

RUN_CASCADE_OUTCOMES = ("SELECT TRY_CAST(json_extract_string(meta, '$.stage') AS INTEGER) AS stage, count(*), "
                        "avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), avg(dollars) FROM attempts "
                        "WHERE run_id=? AND json_extract_string(meta, '$.escalated') IS NOT NULL "
                        "GROUP BY stage ORDER BY stage")
"""Per cascade stage that answered: problems, accuracy, mean dollars (show)."""

# -- merging stores (harness/merge.py; sources are attached catalogs, names checked by `Merger`) ---------
CATALOG_COLUMNS = ("SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog=? "
                   "AND table_schema='main' ORDER BY table_name, ordinal_position")
"""(table, column) of every table or view of one attached catalog, columns in their order."""

RUN_PROVENANCE = ("SELECT source, host, merged_at, source_schema FROM run_provenance WHERE run_id=? "
                  "ORDER BY merged_at, source")
"""Where a run came from: one (source file, host that merged it, when, source schema) per merge that copied it."""


def ident(name: str) -> str:
    """A catalog name as a quoted SQL identifier (a destination file's stem may be a keyword, e.g. all.duckdb)."""
    return '"' + name.replace('"', '""') + '"'


def catalog_schema_version(catalog: str) -> str:
    """(schema_version,) of an attached catalog's thinkbench_meta."""
    return f"SELECT value FROM {ident(catalog)}.main.thinkbench_meta WHERE key='schema_version'"


def run_digests(catalog: str, table: str, cols: list[str], have: set[str], only: bool) -> str:
    """(run_id, rows, order-free hash of the rows) per run of one table of `catalog`: each row hashed over `cols` as
    text (a column the table lacks counts as NULL, as it reads after migration); `only`: the runs in parameter 1."""
    parts = ", ".join(f"{c}::VARCHAR" if c in have else "NULL::VARCHAR" for c in cols)
    where = " WHERE run_id IN (SELECT unnest(?::VARCHAR[]))" if only else ""
    return (f"SELECT run_id, count(*), sum(hash({parts}))::VARCHAR FROM {ident(catalog)}.main.{table}{where} "
            "GROUP BY run_id")


def run_ledgers(n_runs: int, have: set[str]) -> str:
    """Per run (of n_runs given): finished problems and, for each ledger column, its sum over them and how many
    attempts record it (`<col>_known`; 0: the store recorded none, e.g. dollars before schema 2)."""
    items = ("prompt_tokens", "cached_prompt_tokens", "generated_tokens", "reasoning_tokens", "verifier_tokens",
             "engine_calls", "verifier_calls", "wall_seconds", "critical_path_seconds", "flops", "dollars")
    sums = ", ".join(f"sum({c}) AS {c}, count({c}) AS {c}_known" if c in have else
                     f"NULL AS {c}, 0 AS {c}_known" for c in items)
    return (f"SELECT run_id, count(*) AS problems, {sums} FROM attempts WHERE error IS NULL "
            f"AND run_id IN ({_marks(n_runs)}) GROUP BY run_id ORDER BY run_id")


def run_browser_samples(n_runs: int, first: bool = False) -> str:
    """Every sample of n_runs runs with its text, extracted answer and grade, by run, problem and sample (the
    static site's sample browser); `first`: only samples with index below the last parameter."""
    below = " AND sample_idx < ?" if first else ""
    return ("SELECT run_id, problem_id, sample_idx, text, extracted, correct, grade_status, score, generated_tokens, "
            f"finish_reason FROM samples WHERE run_id IN ({_marks(n_runs)}){below} "
            "ORDER BY run_id, problem_id, sample_idx")

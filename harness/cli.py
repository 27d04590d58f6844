"""`thinkbench`: the top layer. run, ls, show, report, suites, regrade, grader-disagreements here; leaderboard,
export and compare from `leaderboard.commands`, registered explicitly in `build_parser`.

Every user-fixable problem ends as one line on stderr and exit status 2, with no traceback; a run stopped at
its cost cap ends with one line and exit status 3. Every
invocation imports this module, so handlers import their heavy dependencies (Ray, DuckDB, the
suites, matplotlib) when they run, not here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn

from core.errors import UserError
from harness import queries
from leaderboard import commands as leaderboard_commands

if TYPE_CHECKING:
    from harness.runner import RunSummary
    from harness.store import Store

Handler = Callable[[argparse.Namespace], int]


class _Registered(str):
    """Help text naming a seam's registered implementations, looked up only when help is printed
    (discovery imports every module of the seam; `thinkbench ls` should not pay for that)."""

    names: Callable[[], list[str]]
    tail: str

    def __new__(cls, lead: str, names: Callable[[], list[str]], tail: str = "") -> _Registered:
        obj = super().__new__(cls, lead)
        obj.names, obj.tail = names, tail
        return obj

    def __mod__(self, params: Any) -> str:
        return f"{str(self)}: {', '.join(self.names())}{self.tail}"


def _engines() -> list[str]:
    from harness.engines.spec import ENGINES  # noqa: PLC0415 - discovery only when help is printed

    return ENGINES.names()


def _strategies() -> list[str]:
    from harness.strategies.base import STRATEGIES  # noqa: PLC0415 - discovery only when help is printed

    return STRATEGIES.names()


def _verifiers() -> list[str]:
    from harness.verifiers.spec import VERIFIERS  # noqa: PLC0415 - discovery only when help is printed

    return VERIFIERS.names()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2, like every other bad input (argparse would print usage and exit itself)."""
        raise UserError(f"{message}; see `{self.prog} --help`")


def _param(text: str, flag: str = "--param") -> tuple[str, Any]:
    key, eq, value = text.partition("=")
    if not eq:
        raise UserError(f"{flag} {text!r} must be key=value")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand, registered here by name: the CLI is the top layer and imports each feature's handlers."""
    p = _Parser(prog="thinkbench", description="Test-time compute benchmark and leaderboard harness.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    _add_run_parser(sub)

    ls = sub.add_parser("ls", help="list runs with status and headline accuracy")
    ls.add_argument("--db")

    show = sub.add_parser("show", help="one run: config, manifest, accuracy by difficulty")
    show.add_argument("run")
    show.add_argument("--db")
    show.add_argument("--json", action="store_true", help="print the run's record (config, manifest, ...) as one JSON "
                                                          "document instead of aligned fields")

    rep = sub.add_parser("report", help="compute-matched table and plot over the runs of a suite")
    rep.add_argument("suite", nargs="?", help="suite name as stored (default: the most recent run's)")
    rep.add_argument("--db")
    rep.add_argument("--plot", help="PNG path (default out/<suite>.png)")
    rep.add_argument("--axis", default="generated",
                     help="compute axis: generated (default), total, flops, wall, dollars, latency")
    rep.add_argument("--method", action="append", help="selection method to show (repeatable): majority, "
                                                       "best_of_k, pass (oracle), as_run; default: all a run has")
    rep.add_argument("--run", action="append", help="run id to include (repeatable; default: every run of the suite)")

    suites_p = sub.add_parser("suites", help="list suites by source (datasets, generated, reasoning-gym)")
    suites_p.add_argument("name", nargs="?", help="one suite or rg:<task>: its parameters, defaults and levels")
    COMMANDS.update(leaderboard_commands.register(sub))  # leaderboard, export, compare
    COMMANDS.update(_register_grading(sub))  # regrade, grader-disagreements
    COMMANDS.update(_register_pricing(sub))  # reprice
    COMMANDS.update(_register_sweep(sub))  # sweep
    COMMANDS.update(_register_stores(sub))  # merge, dump
    return p


def _add_run_parser(sub: argparse._SubParsersAction) -> None:
    """`thinkbench run`: every flag overrides the same key of a YAML config."""
    r = sub.add_parser("run", help="run a strategy on a suite (resumes an identical earlier run)")
    r.add_argument("--config", help="YAML run config; flags override it")
    r.add_argument("--suite", help="suite name, e.g. math500, gsm8k, arith:digits=2,n=50,seed=0")
    r.add_argument("--model", help="'embedded' (default), a local checkpoint dir, or a hub id")
    r.add_argument("--engine", help=_Registered("engine (default vllm)", _engines))
    r.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    r.add_argument("--served-model", help="model name the server serves (default: --model)")
    r.add_argument("--strategy", help=_Registered("strategy (default cot)", _strategies))
    r.add_argument("--n", type=int, help="samples per problem")
    r.add_argument("--temperature", type=float)
    r.add_argument("--top-p", type=float)
    r.add_argument("--max-tokens", type=int)
    r.add_argument("--param", action="append", default=[], type=str, help="strategy parameter key=value")
    r.add_argument("--verifier", help=_Registered("verifier strategies score with", _verifiers,
                                                  " (oracle: upper bound only)"))
    r.add_argument("--verifier-model", help="PRM checkpoint dir or hub id (prm); judge model (llm_judge, default: "
                                            "the policy engine)")
    r.add_argument("--verifier-option", action="append", default=[], type=str,
                   help="verifier option key=value, e.g. preset=math-shepherd (prm), base_url=URL (llm_judge)")
    r.add_argument("--limit", type=int, help="first N problems only (not comparable with full runs)")
    r.add_argument("--seed", type=int)
    r.add_argument("--max-model-len", type=int)
    r.add_argument("--dtype")
    r.add_argument("--workers", type=int, help="engine actors (default: one per GPU, or 1 on CPU)")
    r.add_argument("--ray-address", help="join a running Ray cluster (e.g. auto or host:6379)")
    r.add_argument("--data-dir", help="local dataset mirror (or THINKBENCH_DATA_DIR)")
    r.add_argument("--db", help="DuckDB store (default thinkbench.duckdb, or THINKBENCH_DB)")
    r.add_argument("--plot", help="where to write the accuracy-vs-tokens PNG (default out/<suite>.png)")
    r.add_argument("--prices", help="price file over configs/prices.yaml (or THINKBENCH_PRICES): dollars per model")
    r.add_argument("--max-dollars", type=float, metavar="D",
                   help="stop dispatching problems before the run's spend (its stored attempts included, in-flight "
                        "ones estimated) would pass D dollars; exit status 3 (rerun with a higher cap to resume)")
    r.add_argument("--max-total-tokens", type=int, metavar="T",
                   help="the same cap on total tokens (prompt + generated + verifier)")
    r.add_argument("--dry-run", action="store_true", help="print the actors, resources and problem queue; run nothing")


def _register_grading(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """`regrade` and `grader-disagreements`: grading after the fact (logic in harness/regrade.py)."""
    rg = sub.add_parser("regrade", help="re-grade a stored run with the current grader (no regeneration)")
    rg.add_argument("run")
    rg.add_argument("--db")
    rg.add_argument("--data-dir")
    rg.add_argument("--force", action="store_true", help="regrade even if the run is marked running")
    dis = sub.add_parser("grader-disagreements", help="responses where the second-opinion grader disagrees")
    dis.add_argument("run")
    dis.add_argument("--db")
    dis.add_argument("--limit", type=int, default=50)
    return {"regrade": cmd_regrade, "grader-disagreements": cmd_disagreements}


def _register_pricing(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """`reprice`: dollars again from the stored calls with current or given prices (logic in harness/reprice.py)."""
    rp = sub.add_parser("reprice", help="recompute a stored run's dollars from its calls (no regeneration)")
    rp.add_argument("run")
    rp.add_argument("--prices", help="price file over configs/prices.yaml (default: THINKBENCH_PRICES, if set)")
    rp.add_argument("--db")
    rp.add_argument("--force", action="store_true", help="reprice even if the run is marked running")
    return {"reprice": cmd_reprice}


def _register_stores(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """`merge` and `dump`: moving runs between stores and machines (logic in harness/merge.py)."""
    mg = sub.add_parser("merge", help="copy runs (with all their rows) from other stores into one; refuses a run id "
                                      "whose content differs, copying nothing")
    mg.add_argument("sources", nargs="+", metavar="SRC", help=".duckdb store or `thinkbench dump` Parquet folder")
    mg.add_argument("--into", required=True, metavar="DST", help="destination store (created if missing)")
    dp = sub.add_parser("dump", help="write every table of a store as Parquet files (a merge source)")
    dp.add_argument("--out", required=True, help="folder for <table>.parquet")
    dp.add_argument("--db")
    return {"merge": cmd_merge, "dump": cmd_dump}


def _register_sweep(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """`sweep`: a grid of run configurations sharing engines (logic in harness/sweep.py)."""
    sw = sub.add_parser("sweep", help="run a grid of configurations on one set of engines (resumes; skips complete)")
    sw.add_argument("grid", help="YAML: a run config plus `grid:` (key: [values...]) and/or `configs:` (see "
                                 "configs/sweep.yaml)")
    sw.add_argument("--db", help="DuckDB store (default thinkbench.duckdb, or THINKBENCH_DB)")
    sw.add_argument("--data-dir", help="local dataset mirror (or THINKBENCH_DATA_DIR)")
    sw.add_argument("--ray-address", help="join a running Ray cluster (e.g. auto or host:6379)")
    sw.add_argument("--workers", type=int, help="engine actors (default: one per GPU, or 1 on CPU)")
    sw.add_argument("--limit", type=int, help="first N problems only (not comparable with full runs)")
    sw.add_argument("--prices", help="price file over configs/prices.yaml (or THINKBENCH_PRICES)")
    sw.add_argument("--plot", help="where to write the accuracy-vs-tokens PNG (default out/<suite>.png)")
    sw.add_argument("--dry-run", action="store_true", help="print the grid and what is already stored; run nothing")
    return {"sweep": cmd_sweep}


def _summary_lines(store: Store, summary: RunSummary, suffix: str = "") -> list[str]:
    """How a run ended: failures apart from wrong answers, with their commonest causes."""
    from harness.progress import failure_lines, summary_line  # noqa: PLC0415 - deferred like the runner

    failed = store.count_failed(summary.run_id)
    head = summary_line(summary.run_id, summary.status, summary.done, summary.n_problems, failed, summary.correct,
                        summary.generated_tokens)
    causes = store.query(queries.FAILURE_CAUSES, [summary.run_id]) if failed else []
    return [head + suffix, *failure_lines(causes, failed)]


def cmd_sweep(a: argparse.Namespace) -> int:
    from harness.sweep import sweep  # noqa: PLC0415 - deferred: Ray loads only for runs

    flags = {"db": a.db, "data_dir": a.data_dir, "ray_address": a.ray_address, "workers": a.workers,
             "limit": a.limit, "prices": a.prices}
    results = sweep(a.grid, flags, dry_run=a.dry_run)
    if a.dry_run or not results:
        return 0
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    store = Store(results[0][0].plan.cfg.db, read_only=True)
    for entry, s in results:
        print("\n".join(_summary_lines(store, s, f" | {entry.label()}")))
    suites: dict[str, list[str]] = {}
    for entry, s in results:
        suites.setdefault(entry.plan.suite.name, []).append(s.run_id)
    for suite, run_ids in suites.items():  # the whole sweep on one compute-matched leaderboard per suite
        try:
            _report(store, suite, a.plot if len(suites) == 1 else None, run_ids)
        except UserError as e:
            print(f"\nno report for {suite}: {e}")
    _difficulty(store, list(suites), a.plot)
    statuses = {s.status for _, s in results}
    return EXIT_CAPPED if "capped" in statuses else 0 if statuses == {"complete"} else 1


def _difficulty(store: Store, suites: list[str], plot_arg: str | None) -> None:
    """A sweep over one suite's levels ends with accuracy against level at matched compute, and its plot."""
    from leaderboard.difficulty import of_sweep  # noqa: PLC0415 - deferred: pandas and the estimators

    try:
        shown = of_sweep(store.path, suites, _plot_path(plot_arg and f"{plot_arg}.difficulty.png",
                                                         f"{suites[0]}-difficulty"))
    except UserError as e:
        print(f"\nno difficulty table: {e}")
        return
    if shown is not None:
        print(f"\n{shown[0]}\n\nplot: {shown[1].resolve()}")


def _overrides(a: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {
        "suite": a.suite, "model": a.model, "engine.kind": a.engine, "engine.base_url": a.base_url,
        "engine.served_model": a.served_model, "engine.max_model_len": a.max_model_len, "engine.dtype": a.dtype,
        "strategy.name": a.strategy, "strategy.params.n": a.n, "strategy.params.temperature": a.temperature,
        "strategy.params.top_p": a.top_p, "strategy.params.max_tokens": a.max_tokens, "limit": a.limit,
        "seed": a.seed, "workers": a.workers, "ray_address": a.ray_address, "data_dir": a.data_dir, "db": a.db,
        "verifier.kind": a.verifier, "verifier.model": a.verifier_model, "prices": a.prices,
        "max_dollars": a.max_dollars, "max_total_tokens": a.max_total_tokens,
    }
    for key, value in map(_param, a.param):
        o[f"strategy.params.{key}"] = value
    for key, value in (_param(t, "--verifier-option") for t in a.verifier_option):
        o[f"verifier.options.{key}"] = value
    return o


def _plot_path(explicit: str | None, suite: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in suite)
    return Path(explicit or Path("out") / f"{safe}.png")


EXIT_CAPPED = 3
"""`thinkbench run` stopped at its cost cap (--max-dollars / --max-total-tokens): finished problems are stored."""


def cmd_run(a: argparse.Namespace) -> int:
    from harness.config import load_config  # noqa: PLC0415 - deferred: pydantic models of every seam
    from harness.runner import run  # noqa: PLC0415 - deferred: Ray loads only for `run`

    cfg = load_config(a.config, _overrides(a))
    summary = run(cfg, dry_run=a.dry_run)
    if a.dry_run:
        return 0
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    store = Store(cfg.db, read_only=True)
    print("\n".join(_summary_lines(store, summary)))
    suite = store.run_record(summary.run_id)["suite"]
    try:
        _report(store, suite, a.plot)
    except UserError as e:  # nothing to tabulate yet: the run's own status decides the exit code
        print(f"\nno report: {e}")
    if summary.cap_note is not None:  # the last word, where the user looks
        print(f"thinkbench: {summary.cap_note}", file=sys.stderr)
        return EXIT_CAPPED
    return 0 if summary.status == "complete" else 1


def _report(store: Store, suite: str, plot_arg: str | None, run_ids: list[str] | None = None,
            axis: str = "generated", methods: list[str] | None = None) -> None:
    """The compute-matched table (and PNG) over a suite's runs, after `run` and for `report`."""
    from leaderboard import report  # noqa: PLC0415 - deferred: numpy and the estimators

    view = report.load(store.path, suite, axis, methods, run_ids)
    print()
    print(report.format_table(view))
    path = report.plot(view, _plot_path(plot_arg, suite))
    print(f"\nplot: {path.resolve()}")


def cmd_ls(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    rows = Store(a.db, read_only=True).runs()
    if not rows:
        print("no runs yet")
        return 0
    print(f"{'run':<13}{'status':<12}{'done':>10}{'failed':>8}{'accuracy':>10}{'tok/prob':>10}  {'strategy':<18}"
          f"{'model':<24}suite")
    for r in rows:
        acc = f"{r.correct / (r.done - r.failed):.3f}" if r.done > r.failed else "-"  # over the graded problems
        tok = f"{r.generated_tokens / r.done:.0f}" if r.done else "-"
        flag = " (limited)" if r.limited else ""
        print(f"{r.run_id:<13}{r.status:<12}{f'{r.done}/{r.n_problems}':>10}{r.failed:>8}{acc:>10}{tok:>10}  "
              f"{r.strategy:<18}{r.model:<24}{r.suite}{flag}")
    return 0


def cmd_show(a: argparse.Namespace) -> int:
    from harness.fields import aligned  # noqa: PLC0415 - deferred like the store
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    store = Store(a.db, read_only=True)
    rid = store.resolve_run(a.run)
    rec = store.run_record(rid)
    provenance = store.query(queries.RUN_PROVENANCE, [rid]) if "run_provenance" in store.tables() else []
    if a.json:  # the raw record for scripts: one JSON document
        print(json.dumps({**rec, "provenance": [dict(zip(("source", "host", "merged_at", "source_schema"), p))
                                                for p in provenance]}, sort_keys=True, default=str))
        return 0
    print(f"run {rid}  status {rec['status']}  suite {rec['suite']}  model {rec['model']}  engine {rec['engine']}")
    print(f"created {rec['created_at']}  finished {rec['finished_at']}")
    for source, host, at, schema in provenance:
        print(f"merged from {source} on {host} at {at} (schema {schema})")
    print("\n".join(aligned("config", rec["config"])))
    print("\n".join(aligned("manifest", {k: v for k, v in rec["manifest"].items()
                                         if k not in ("workers", "worker_stats")})))
    rows = store.query(queries.RUN_BY_DIFFICULTY, [rid])
    print(f"\n{'difficulty':>10}{'problems':>10}{'accuracy':>10}{'tok/prob':>10}{'grader errors':>15}")
    for d, n, acc, tok, errs in rows:
        print(f"{'-' if d is None else f'{d:g}':>10}{n:>10}{acc:>10.3f}{tok or 0:>10.1f}{errs:>15}")
    stats = rec["manifest"].get("worker_stats") or []
    if stats:
        print(f"\n{'worker':>8}{'status':>9}{'problems':>10}{'tokens':>10}{'tok/s busy':>12}{'failures':>10}"
              f"{'recovered':>11}")
        for w in stats:
            rate = w["generated_tokens"] / w["busy_seconds"] if w["busy_seconds"] else 0.0
            print(f"{w['worker']:>8}{w['status']:>9}{w['problems']:>10}{w['generated_tokens']:>10}{rate:>12.1f}"
                  f"{w['failures']:>10}{w['recoveries']:>11}")
    from harness.latency import summary_lines  # noqa: PLC0415 - deferred: numpy and pandas for the fit
    from harness.spend import cascade_lines, model_lines  # noqa: PLC0415 - deferred like the fit above

    print()
    print("\n".join([*summary_lines(store, rid), *model_lines(store, rid), *cascade_lines(store, rid)]))
    events = store.query(queries.RUN_EVENTS, [rid])
    if events:
        print("\nevents:")
        for at, worker, kind, pid, detail in events:
            print(f"  {at:%H:%M:%S} {worker or '-'} {kind} {pid or ''} {detail[:100]}")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    store = Store(a.db, read_only=True)
    suite = a.suite
    if suite is None:
        row = store.query(queries.LATEST_SUITE)
        if not row:
            raise UserError("the store holds no runs; run `thinkbench run` first")
        suite = row[0][0]
    run_ids = [store.resolve_run(r) for r in a.run or []] or None
    _report(store, suite, a.plot, run_ids, a.axis, a.method)
    return 0


def cmd_suites(a: argparse.Namespace) -> int:
    from suites.listing import describe, listing  # noqa: PLC0415 - deferred: discovering suites imports every suite module

    print(describe(a.name) if a.name else listing(), end="")
    return 0


def cmd_regrade(a: argparse.Namespace) -> int:
    """Re-grade a stored run with the current grader; writes (so the store opens read-write)."""
    from harness.regrade import regrade  # noqa: PLC0415 - deferred: grading loads the suites and their graders
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    s = regrade(Store(a.db), a.run, a.data_dir, a.force)
    print(f"regraded run {s.run_id} with {s.grader_version}: {s.samples} samples ({s.samples_changed} changed), "
          f"{s.finals} final answers ({s.finals_changed} changed); accuracy {s.accuracy_before:.3f} -> "
          f"{s.accuracy_after:.3f}; {s.disagreements} disagreements with the second-opinion grader")
    return 0


def cmd_reprice(a: argparse.Namespace) -> int:
    """Recompute a stored run's dollars; writes (so the store opens read-write)."""
    from harness.reprice import reprice  # noqa: PLC0415 - deferred: pricing loads pydantic and YAML
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    print(reprice(Store(a.db), a.run, a.prices, a.force).line())
    return 0


def cmd_merge(a: argparse.Namespace) -> int:
    """Copy runs between stores; one line per source and a total, or one error line and nothing copied."""
    from harness.merge import merge  # noqa: PLC0415 - deferred: DuckDB loads only for commands that touch a store

    print("\n".join(merge(a.sources, a.into).lines()))
    return 0


def cmd_dump(a: argparse.Namespace) -> int:
    from harness.merge import dump  # noqa: PLC0415 - deferred: DuckDB loads only for commands that touch a store

    for p in dump(a.db, a.out):
        print(p)
    return 0


def cmd_disagreements(a: argparse.Namespace) -> int:
    """List where the second-opinion grader disagreed, so a grader change can be reviewed by eye."""
    from harness.store import Store  # noqa: PLC0415 - deferred: DuckDB loads only for commands that read a store

    store = Store(a.db, read_only=True)
    rid = store.resolve_run(a.run)
    rows = store.query(queries.RUN_DISAGREEMENTS, [rid, a.limit])
    total = store.query(queries.COUNT_DISAGREEMENTS, [rid])[0][0]
    print(f"run {rid}: {total} disagreement(s) between our grader and math-verify"
          + (f" (showing {len(rows)})" if total > len(rows) else ""))
    for pid, idx, gold, extracted, ours, theirs, reason, version, response in rows:
        which = "final" if idx == -1 else f"sample {idx}"
        tail = " ".join((response or "").split())[-80:]
        print(f"- {pid} [{which}] gold={gold!r} extracted={extracted!r} ours={'correct' if ours else 'wrong'} "
              f"({reason}; {version}) math-verify={'correct' if theirs else 'wrong'} | ...{tail}")
    return 0


COMMANDS: dict[str, Handler] = {"run": cmd_run, "ls": cmd_ls, "show": cmd_show, "report": cmd_report,
                                "suites": cmd_suites}
"""Handlers by subcommand; `build_parser` adds the leaderboard's and grading's as it registers their parsers."""


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            build_parser().print_help()
            return 2
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"thinkbench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("thinkbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

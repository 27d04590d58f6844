"""`thinkbench`: run, ls, show, report.

Every user-fixable problem ends as one line on stderr and exit status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
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
    p = _Parser(prog="thinkbench", description="Test-time compute benchmark and leaderboard harness.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="run a strategy on a suite (resumes an identical earlier run)")
    r.add_argument("--config", help="YAML run config; flags override it")
    r.add_argument("--suite", help="suite name, e.g. math500, gsm8k, arith:digits=2,n=50,seed=0")
    r.add_argument("--model", help="'embedded' (default), a local checkpoint dir, or a hub id")
    r.add_argument("--engine", choices=None, help="vllm (default), openai or scripted")
    r.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    r.add_argument("--served-model", help="model name the server serves (default: --model)")
    r.add_argument("--strategy", help="cot (default), self_consistency, ...")
    r.add_argument("--n", type=int, help="samples per problem")
    r.add_argument("--temperature", type=float)
    r.add_argument("--top-p", type=float)
    r.add_argument("--max-tokens", type=int)
    r.add_argument("--param", action="append", default=[], type=str, help="strategy parameter key=value")
    r.add_argument("--verifier", help="prm, llm_judge, confidence, public_tests, oracle (upper bound only)")
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
    r.add_argument("--dry-run", action="store_true", help="print the actors, resources and problem queue; run nothing")

    ls = sub.add_parser("ls", help="list runs with status and headline accuracy")
    ls.add_argument("--db")

    show = sub.add_parser("show", help="one run: config, manifest, accuracy by difficulty")
    show.add_argument("run")
    show.add_argument("--db")

    rep = sub.add_parser("report", help="compute-matched table and plot over the runs of a suite")
    rep.add_argument("suite", nargs="?", help="suite name as stored (default: the most recent run's)")
    rep.add_argument("--db")
    rep.add_argument("--plot", help="PNG path (default out/<suite>.png)")

    sub.add_parser("suites", help="list registered suites")
    for register in _extensions():
        COMMANDS.update(register(sub))
    return p


def _extensions():  # type: ignore[no-untyped-def]
    """Subcommands that live beside their feature (leaderboard, grading): each module's `register(sub)`
    adds its parsers and returns {name: handler}."""
    import importlib  # noqa: PLC0415

    for name in EXTENSION_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue
            raise
        yield module.register


def _overrides(a: argparse.Namespace) -> dict[str, Any]:
    o: dict[str, Any] = {
        "suite": a.suite, "model": a.model, "engine.kind": a.engine, "engine.base_url": a.base_url,
        "engine.served_model": a.served_model, "engine.max_model_len": a.max_model_len, "engine.dtype": a.dtype,
        "strategy.name": a.strategy, "strategy.params.n": a.n, "strategy.params.temperature": a.temperature,
        "strategy.params.top_p": a.top_p, "strategy.params.max_tokens": a.max_tokens, "limit": a.limit,
        "seed": a.seed, "workers": a.workers, "ray_address": a.ray_address, "data_dir": a.data_dir, "db": a.db,
        "verifier.kind": a.verifier, "verifier.model": a.verifier_model,
    }
    for key, value in map(_param, a.param):
        o[f"strategy.params.{key}"] = value
    for key, value in (_param(t, "--verifier-option") for t in a.verifier_option):
        o[f"verifier.options.{key}"] = value
    return o


def _plot_path(explicit: str | None, suite: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in suite)
    return Path(explicit or Path("out") / f"{safe}.png")


def cmd_run(a: argparse.Namespace) -> int:
    from harness.config import load_config  # noqa: PLC0415
    from harness.runner import run  # noqa: PLC0415

    cfg = load_config(a.config, _overrides(a))
    summary = run(cfg, dry_run=a.dry_run)
    if a.dry_run:
        return 0
    acc = summary.correct / summary.done if summary.done else 0.0
    print(f"run {summary.run_id} {summary.status}: {summary.done}/{summary.n_problems} problems, "
          f"accuracy {acc:.3f}, {summary.generated_tokens / max(1, summary.done):.1f} generated tokens/problem")
    from harness.store import Store  # noqa: PLC0415

    store = Store(cfg.db, read_only=True)
    suite = store.run_record(summary.run_id)["suite"]
    _report(store, suite, a.plot)
    return 0 if summary.status == "complete" else 1


def _report(store, suite: str, plot_arg: str | None, run_ids: list[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    from leaderboard.report import format_table, plot, suite_curves  # noqa: PLC0415

    curves = suite_curves(store, suite, run_ids)
    print()
    print(format_table(suite, curves))
    if curves:
        path = plot(suite, curves, _plot_path(plot_arg, suite))
        print(f"\nplot: {path.resolve()}")


def cmd_ls(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415

    rows = Store(a.db, read_only=True).runs()
    if not rows:
        print("no runs yet")
        return 0
    print(f"{'run':<13}{'status':<12}{'done':>10}{'accuracy':>10}{'tok/prob':>10}  {'strategy':<18}{'model':<24}suite")
    for r in rows:
        acc = f"{r.correct / r.done:.3f}" if r.done else "-"
        tok = f"{r.generated_tokens / r.done:.0f}" if r.done else "-"
        flag = " (limited)" if r.limited else ""
        print(f"{r.run_id:<13}{r.status:<12}{f'{r.done}/{r.n_problems}':>10}{acc:>10}{tok:>10}  "
              f"{r.strategy:<18}{r.model:<24}{r.suite}{flag}")
    return 0


def cmd_show(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415

    store = Store(a.db, read_only=True)
    rid = store.resolve_run(a.run)
    rec = store.run_record(rid)
    print(f"run {rid}  status {rec['status']}  suite {rec['suite']}  model {rec['model']}  engine {rec['engine']}")
    print(f"created {rec['created_at']}  finished {rec['finished_at']}")
    print("config:   " + json.dumps(rec["config"], sort_keys=True))
    print("manifest: " + json.dumps({k: v for k, v in rec["manifest"].items() if k != "workers"}, sort_keys=True))
    rows = store.query(
        """SELECT difficulty, count(*), avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), avg(generated_tokens),
                  sum(CASE WHEN grade_status IN ('timeout','error') THEN 1 ELSE 0 END)
           FROM attempts WHERE run_id=? GROUP BY difficulty ORDER BY difficulty NULLS LAST""", [rid])
    print(f"\n{'difficulty':>10}{'problems':>10}{'accuracy':>10}{'tok/prob':>10}{'grader errors':>15}")
    for d, n, acc, tok, errs in rows:
        print(f"{'-' if d is None else f'{d:g}':>10}{n:>10}{acc:>10.3f}{tok or 0:>10.1f}{errs:>15}")
    stats = rec["manifest"].get("worker_stats") or []
    if stats:
        print(f"\n{'worker':>8}{'status':>9}{'problems':>10}{'tokens':>10}{'tok/s busy':>12}{'failures':>10}{'recovered':>11}")
        for w in stats:
            rate = w["generated_tokens"] / w["busy_seconds"] if w["busy_seconds"] else 0.0
            print(f"{w['worker']:>8}{w['status']:>9}{w['problems']:>10}{w['generated_tokens']:>10}{rate:>12.1f}"
                  f"{w['failures']:>10}{w['recoveries']:>11}")
    events = store.query("SELECT occurred_at, worker, kind, problem_id, detail FROM run_events WHERE run_id=? "
                         "ORDER BY occurred_at LIMIT 20", [rid])
    if events:
        print("\nevents:")
        for at, worker, kind, pid, detail in events:
            print(f"  {at:%H:%M:%S} {worker or '-'} {kind} {pid or ''} {detail[:100]}")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415

    store = Store(a.db, read_only=True)
    suite = a.suite
    if suite is None:
        row = store.query("SELECT suite FROM runs ORDER BY created_at DESC LIMIT 1")
        if not row:
            raise UserError("the store holds no runs; run `thinkbench run` first")
        suite = row[0][0]
    _report(store, suite, a.plot)
    return 0


def cmd_suites(_: argparse.Namespace) -> int:
    from suites import suite_names  # noqa: PLC0415

    print("\n".join(suite_names()))
    return 0


EXTENSION_MODULES = ["leaderboard.commands", "evaluators.commands"]
COMMANDS = {"run": cmd_run, "ls": cmd_ls, "show": cmd_show, "report": cmd_report, "suites": cmd_suites}


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

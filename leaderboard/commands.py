"""CLI subcommands of the leaderboard: `leaderboard` (the Streamlit app), `export` (static site), `compare` (CI gate),
`difficulty` (accuracy against difficulty level).

Imported by every `thinkbench` invocation, so heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

from core.errors import UserError

APP = Path(__file__).with_name("app.py")
AXIS_CHOICES = ["generated", "total", "flops", "wall", "dollars", "latency"]


def _budget(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--budget {text!r} must be a number (compute per problem on --axis)") from None
    if value <= 0:
        raise UserError(f"--budget {text!r} must be positive")
    return value


def register(sub: argparse._SubParsersAction) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add leaderboard, export and compare to the CLI's parsers (harness/cli.py calls this); return their handlers."""
    lb = sub.add_parser("leaderboard", help="open the Streamlit leaderboard on a store (read-only)")
    lb.add_argument("--db", help="DuckDB store (default thinkbench.duckdb, or THINKBENCH_DB)")
    lb.add_argument("--port", type=int, default=8501)
    lb.add_argument("--host", default="localhost", help="address to serve on (0.0.0.0 to share)")

    ex = sub.add_parser("export", help="write a static leaderboard site (suite index, a page and a sample browser per "
                                        "run) and Parquet of the results")
    ex.add_argument("--out", required=True, help="output folder, e.g. site/")
    ex.add_argument("--db")
    ex.add_argument("--suite", action="append", help="suite to include (repeatable; default: all)")
    ex.add_argument("--method", action="append", choices=["majority", "best_of_k", "pass", "as_run"],
                    help="selection method to include (repeatable; default: every one a run has)")
    ex.add_argument("--browse-samples", type=int, metavar="N",
                    help="keep only the first N samples of each problem in the sample browsers (a smaller site; "
                         "every number still uses all samples)")

    cmp = sub.add_parser("compare", help="paired test of a candidate run against a base run; exit 1 if worse")
    cmp.add_argument("base", help="base run id (or unique prefix)")
    cmp.add_argument("candidate", help="candidate run id (or unique prefix)")
    cmp.add_argument("--budget", type=_budget, help="compare at this compute per problem (default: as run)")
    cmp.add_argument("--axis", choices=AXIS_CHOICES, default="generated", help="budget axis (default generated tokens)")
    cmp.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    cmp.add_argument("--test", choices=["bootstrap", "mcnemar"], default="bootstrap")
    cmp.add_argument("--method", choices=["majority", "best_of_k", "as_run"],
                     help="selection read off the pool when --budget is given (default: majority for sample pools, "
                          "as run for other strategies)")
    cmp.add_argument("--db", help="store holding the candidate (and the base, unless --base-db)")
    cmp.add_argument("--base-db", help="store holding the base run, e.g. a pinned baseline")
    dif = sub.add_parser("difficulty", help="accuracy against difficulty level per configuration at matched compute")
    dif.add_argument("--suite", required=True, help="suite whose stored runs differ only in level, e.g. "
                                                    "rg:basic_arithmetic or rg:basic_arithmetic:size=50")
    dif.add_argument("--db", help="DuckDB store (default thinkbench.duckdb, or THINKBENCH_DB)")
    dif.add_argument("--axis", choices=AXIS_CHOICES, default="generated", help="budget axis (default generated tokens)")
    dif.add_argument("--budget", type=_budget, help="one budget for every level (default: each level's largest "
                                                    "budget every configuration reaches with its whole pool)")
    dif.add_argument("--method", action="append", choices=["majority", "best_of_k", "as_run"],
                     help="selection method (repeatable; default: every one a run has)")
    dif.add_argument("--plot", default="out/difficulty.png", help="PNG to write (default out/difficulty.png)")
    return {"leaderboard": cmd_leaderboard, "export": cmd_export, "compare": cmd_compare, "difficulty": cmd_difficulty}


def cmd_leaderboard(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415 - deferred: every `thinkbench` invocation imports this module

    path = Store(a.db, read_only=True).path  # checks the store before starting a server
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.port", str(a.port), "--server.address", a.host, "--browser.gatherUsageStats", "false",
           "--", "--db", str(path.resolve())]
    print(f"leaderboard on http://{a.host}:{a.port} (store {path}, read-only); Ctrl-C to stop", flush=True)
    os.environ["THINKBENCH_DB"] = str(path.resolve())
    os.execv(sys.executable, cmd)  # become the server, so stopping this process stops it (no orphan)
    return 0  # pragma: no cover - execv does not return


def cmd_export(a: argparse.Namespace) -> int:
    from leaderboard.export import export  # noqa: PLC0415 - deferred: every `thinkbench` invocation imports this module

    written = export(a.db, Path(a.out), a.suite, a.method, a.browse_samples)
    for p in written:
        print(p)
    return 0


def cmd_compare(a: argparse.Namespace) -> int:
    from leaderboard.compare import compare, format_comparison  # noqa: PLC0415 - deferred: every `thinkbench` invocation imports this module

    result = compare(a.base, a.candidate, db=a.db, base_db=a.base_db, budget=a.budget, axis=a.axis,
                     alpha=a.alpha, test=a.test, method=a.method)
    print(format_comparison(result))
    return 1 if result.worse else 0


def cmd_difficulty(a: argparse.Namespace) -> int:
    from leaderboard.difficulty import difficulty  # noqa: PLC0415 - deferred: every `thinkbench` invocation imports this module

    text, path = difficulty(a.db, a.suite, a.axis, a.budget, a.method, Path(a.plot))
    print(text)
    if path is not None:
        print(f"\nplot: {path.resolve()}")
    return 0

"""`thinkbench merge` and `thinkbench dump` at public-leaderboard scale, on the store bench/site_export.py builds
(100 runs x 500 problems x 16 samples; run that first, or pass --db).

Prints the machine and date, then times: dumping the store to Parquet (and its size); merging the whole store into
a new one; merging it again (every run already present: hashed and skipped); merging the Parquet dump into a fresh
store; and a refused merge (one run id whose content differs), which must leave the destination unchanged.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.site_export import machine  # noqa: E402 - needs the sys.path entry above
from core.errors import UserError  # noqa: E402 - needs the sys.path entry above
from harness.merge import dump, merge  # noqa: E402 - needs the sys.path entry above
from leaderboard import synthetic  # noqa: E402 - needs the sys.path entry above

T = TypeVar("T")


def timed(label: str, fn: Callable[[], T]) -> T:
    t = time.perf_counter()
    try:
        return fn()
    finally:  # a refused merge is timed too
        print(f"{label:<62}{time.perf_counter() - t:8.1f} s")


def main() -> None:
    import datetime  # noqa: PLC0415 - only for the header line

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=str(REPO / "out" / "bench" / "site_100x500x16.duckdb"))
    a = ap.parse_args()
    src = Path(a.db)
    if not src.exists():
        sys.exit(f"{src} is missing; run bench/site_export.py first")
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}")
    work = src.parent / "merge"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    print(f"source {src} ({src.stat().st_size / 2**20:.0f} MiB)")
    files = timed("dump to Parquet", lambda: dump(str(src), str(work / "dump")))
    print(f"  {len(files)} files, {sum(p.stat().st_size for p in files) / 2**20:.0f} MiB")
    res = timed("merge the store into a new one", lambda: merge([str(src)], str(work / "a.duckdb")))
    print("  " + res.lines()[-1])
    res = timed("merge it again (all present: hashed, skipped)", lambda: merge([str(src)], str(work / "a.duckdb")))
    print("  " + res.lines()[-1])
    res = timed("merge the Parquet dump into a new store", lambda: merge([str(work / "dump")], str(work / "b.duckdb")))
    print("  " + res.lines()[-1])
    clash = work / "clash.duckdb"
    cfg = synthetic.SynthConfig(model="model-0", skill=-1.0, n=16, temperature=0.6, scores=True, tokens=200, seed=0)
    synthetic.write(clash, "bench:site0", [cfg], 500, seed=99)  # the same run id, other samples
    before = (work / "a.duckdb").stat().st_size
    try:
        timed("refused merge (one conflicting run id)", lambda: merge([str(clash)], str(work / "a.duckdb")))
    except UserError as e:
        print(f"  refused: {e}")
    print(f"  destination unchanged in size: {(work / 'a.duckdb').stat().st_size == before}")


if __name__ == "__main__":
    main()

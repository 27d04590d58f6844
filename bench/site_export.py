"""Static site export at public-leaderboard scale: time and size of `thinkbench export` for 100 runs x 500 problems
x 16 samples (800,000 responses).

Builds a synthetic store (leaderboard.synthetic) under out/bench/ (kept between runs; --fresh rebuilds): 5 suites
x 20 self-consistency runs, half with verifier scores, responses of about --chars-per-token x their generated
tokens (default 4, so ~300-token responses are ~1,300 characters of text, compressing about as model reasoning
does). Then exports the site once, timed, and prints the size by kind of file (index, run pages, sample pages,
sample shards, Parquet), the largest file and the mean per run; --twice exports again and checks the two sites are
byte-identical. Prints the machine and date first.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from leaderboard import synthetic  # noqa: E402 - needs the sys.path entry above
from leaderboard.export import export  # noqa: E402 - needs the sys.path entry above

SUITES, RUNS_PER_SUITE, PROBLEMS, SAMPLES = 5, 20, 500, 16


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB, load average {load}"


def make(path: Path, chars_per_token: float, fresh: bool) -> None:
    if path.exists() and not fresh:
        return
    path.unlink(missing_ok=True)
    t = time.perf_counter()
    for s in range(SUITES):
        cfgs = [synthetic.SynthConfig(model=f"model-{i % 5}", skill=-1 + 0.12 * i, n=SAMPLES,
                                      temperature=0.6 + 0.05 * (i % 4), scores=i % 2 == 0, tokens=200 + 40 * (i % 7),
                                      seed=i) for i in range(RUNS_PER_SUITE)]
        synthetic.write(path, f"bench:site{s}", cfgs, PROBLEMS, seed=s, chars_per_token=chars_per_token)
    print(f"  wrote {path} ({SUITES * RUNS_PER_SUITE} runs x {PROBLEMS} x {SAMPLES}) in "
          f"{time.perf_counter() - t:.0f} s, {path.stat().st_size / 2**20:.0f} MiB")


def kind(rel: Path) -> str:
    if rel.parts[0] != "runs":
        return rel.name
    if "shards" in rel.parts:
        return "sample shards (runs/*/shards/*.js)"
    return {"index.html": "run pages", "samples.html": "sample browser pages", "run.yaml": "run.yaml"}[rel.name]


def sizes(site: Path) -> None:
    files = [p for p in site.rglob("*") if p.is_file()]
    by: dict[str, list[int]] = {}
    for p in files:
        by.setdefault(kind(p.relative_to(site)), []).append(p.stat().st_size)
    total = sum(map(sum, by.values()))
    for k, v in sorted(by.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {k:<40}{len(v):>7} files {sum(v) / 2**20:>10.1f} MiB")
    biggest = max(files, key=lambda p: p.stat().st_size)
    print(f"  {'total':<40}{len(files):>7} files {total / 2**20:>10.1f} MiB "
          f"({total / 2**20 / (SUITES * RUNS_PER_SUITE):.2f} MiB per run)")
    print(f"  largest file: {biggest.relative_to(site)} ({biggest.stat().st_size / 2**10:.0f} KiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fresh", action="store_true", help="rebuild the synthetic store")
    ap.add_argument("--dir", default=str(REPO / "out" / "bench"))
    ap.add_argument("--chars-per-token", type=float, default=4.0)
    ap.add_argument("--twice", action="store_true", help="export again and compare the sites byte for byte")
    a = ap.parse_args()
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}")
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    db = d / f"site_{SUITES * RUNS_PER_SUITE}x{PROBLEMS}x{SAMPLES}.duckdb"
    print("building the store (first time only)...")
    make(db, a.chars_per_token, a.fresh)
    site = d / "site"
    shutil.rmtree(site, ignore_errors=True)
    t = time.perf_counter()
    export(str(db), site)
    print(f"\nexport of {SUITES * RUNS_PER_SUITE} runs x {PROBLEMS} problems x {SAMPLES} samples: "
          f"{time.perf_counter() - t:.1f} s")
    sizes(site)
    if a.twice:
        again = d / "site-again"
        shutil.rmtree(again, ignore_errors=True)
        t = time.perf_counter()
        export(str(db), again)
        same = all((again / p.relative_to(site)).read_bytes() == p.read_bytes()
                   for p in site.rglob("*") if p.is_file())
        print(f"second export {time.perf_counter() - t:.1f} s; byte-identical: {same}")


if __name__ == "__main__":
    main()

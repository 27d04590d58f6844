"""Benchmark: generated problems per second at three difficulties per generator, and checker throughput.

Run: `python bench/generators.py [--quick]`. Prints figures; times nothing inside pytest. The target
from the issue is 1000 zebra 4x4 puzzles, each proven unique by the solver, in under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluators.logic import bbh, expr, kk, zebra
from suites.generated import arith, countdown, knights_knaves
from suites.generated import zebra as zebra_gen

GENERATORS: dict[str, list[tuple[str, Callable[[int], object]]]] = {
    "arith": [
        (f"digits={d},ops={o}", lambda i, d=d, o=o: arith.generate(i, 1, [d], o, "+-*"))
        for d, o in ((1, 1), (2, 3), (4, 6))
    ],
    "kk_gen": [
        (f"people={p},depth={d}", lambda i, p=p, d=d: knights_knaves.generate_puzzle(0, i, p, d))
        for p, d in ((3, 1), (5, 2), (8, 3))
    ],
    "zebra": [
        (f"size={h}x{a}", lambda i, h=h, a=a: zebra_gen.generate_puzzle(0, i, h, a))
        for h, a in ((3, 3), (4, 4), (5, 5))
    ],
    "countdown_gen": [
        (f"numbers={c}", lambda i, c=c: countdown.generate_puzzle(0, i, c, 100, 999))
        for c in (3, 4, 6)
    ],
}


def rate(fn: Callable[[int], object], budget_s: float, max_n: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    while n < max_n and (n < 3 or time.perf_counter() - t0 < budget_s):
        fn(n)
        n += 1
    return n, n / (time.perf_counter() - t0)


def _zebra_chunk(bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    return sum(len(zebra_gen.generate_puzzle(7, i, 4, 4).clues) > 0 for i in range(lo, hi))


def zebra_target(total: int, workers: int) -> float:
    t0 = time.perf_counter()
    if workers == 1:
        _zebra_chunk((0, total))
    else:
        step = -(-total // (workers * 4))
        chunks = [(i, min(i + step, total)) for i in range(0, total, step)]
        with ProcessPoolExecutor(workers) as pool:
            assert sum(pool.map(_zebra_chunk, chunks)) == total
    return time.perf_counter() - t0


def checker_rates(budget_s: float) -> list[tuple[str, float]]:
    kk_gold = kk.gold_answer(["Amelia", "Penelope", "Evelyn", "Zoey", "Henry"], [True, True, False, False, True])
    kk_resp = "Reasoning...\nFinal answer: " + kk_gold.replace(", ", "; ")
    z = zebra_gen.generate_puzzle(0, 0, 4, 4)
    z_resp = "Let me think.\nFinal answer:\n" + z.answer()
    cases: list[tuple[str, Callable[[], object]]] = [
        ("expr (game24 answer)", lambda: expr.check("(8 / (3 - 8 / 3))", [3, 3, 8, 8], 24, True)),
        ("expr (hostile 44**19**35)", lambda: expr.check("44**19**35", [44, 19, 35], 24, True)),
        ("expr (hostile 10^5 brackets)", lambda: expr.check("(" * 100_000 + "1" + ")" * 100_000, [1], 24, True)),
        ("kk grade (5 people)", lambda: kk.grade(kk_resp, kk_gold)),
        ("zebra grade (4x4)", lambda: zebra.grade(z_resp, z.answer())),
        ("bbh grade (mc)", lambda: bbh.grade("So the answer is (B).", "(B)", "geometric_shapes", "(A) a\n(B) b")),
    ]
    out = []
    for name, fn in cases:
        n, r = rate(lambda _i, fn=fn: fn(), budget_s, 10**6)
        out.append((name, r))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter timing windows")
    args = ap.parse_args()
    budget = 0.5 if args.quick else 2.0
    print("generator        difficulty            problems/s")
    for gen, variants in GENERATORS.items():
        for label, fn in variants:
            n, r = rate(fn, budget, 5000)
            print(f"{gen:<16} {label:<20} {r:>10.1f}   (n={n})")
    print("\nchecker                          checks/s")
    for name, r in checker_rates(budget / 2):
        print(f"{name:<32} {r:>10.0f}")
    print("\nzebra 4x4, 1000 puzzles with uniqueness proven (target < 10 s on 2 cores):")
    for workers in (1, 2):
        print(f"  {workers} process(es): {zebra_target(1000, workers):.2f} s")


if __name__ == "__main__":
    main()

"""Adversarial inputs: every grade returns within a fixed wall-clock bound, from outside the computation."""

from __future__ import annotations

import threading
import time

import pytest

from evaluators.math import grade, pool, warm_up

BOUND_S = 2.0

PATHOLOGICAL = [
    ("\\boxed{9^{9^{9^9}}}", "1", "exponent tower"),
    ("\\boxed{2^{2^{2^{2^{2^{2}}}}}}", "1", "tower of twos"),
    ("\\boxed{10^{10^{10}}}", "10^{10^{10}}+1", "huge power against huge power"),
    ("\\boxed{(x+1)^{2000}-x^{2000}}", "2000x^{1999}", "high-degree polynomial"),
    ("\\boxed{1000000!}", "1", "huge factorial"),
    ("\\boxed{(10^{6})!}", "720", "huge factorial of a power"),
    ("\\boxed{\\binom{10^9}{5 \\cdot 10^8}}", "3", "huge binomial"),
    ("\\boxed{" + "1+" * 500_000 + "1}", "1", "megabyte-long boxed answer"),
    ("x " * 500_000, "1", "megabyte-long response without an answer"),
    ("\\boxed{" + "(" * 900 + "1" + ")" * 900 + "}", "1", "deep nesting"),
    ("\\boxed{(x+1)^{99}(x-1)^{99} > 0}", "(-\\infty,-1)\\cup(1,\\infty)", "slow inequality solving"),
    ("\\boxed{e^{e^{e^{e^{e}}}}}", "3", "transcendental tower"),
    ("\\boxed{1.5e999999}", "1", "scientific notation with a huge exponent"),
    ("\\boxed{" + "9" * 1999 + "!}", "3", "factorial of a 2000-digit number"),
]


@pytest.fixture(scope="module", autouse=True)
def _started() -> None:
    warm_up()


@pytest.mark.parametrize(("response", "gold", "why"), PATHOLOGICAL, ids=[p[2] for p in PATHOLOGICAL])
def test_pathological_input_is_bounded(response: str, gold: str, why: str) -> None:
    t0 = time.perf_counter()
    g = grade(response, gold)
    elapsed = time.perf_counter() - t0
    assert elapsed < BOUND_S, (why, elapsed, g)
    assert not g.correct, (why, g)
    assert g.status in ("timeout", "wrong", "invalid"), (why, g)


def test_resource_bounds_are_grader_errors_not_wrong() -> None:
    g = grade("\\boxed{9^{9^{9^9}}}", "1")
    assert g.status == "timeout" and g.grader_error and "too large" in g.reason
    g = grade("\\boxed{" + "1+" * 500_000 + "1}", "1")
    assert g.status == "timeout" and g.grader_error and "chars" in g.reason
    assert g.extracted is not None and len(g.extracted) < 1000  # the stored answer is truncated


def test_deadline_kills_the_worker_and_the_pool_recovers() -> None:
    p = pool.get_pool()
    kills = p.kills
    t0 = time.perf_counter()
    with pytest.raises(pool.WorkerTimeout):
        p.call("sleep", (30,), deadline_s=0.3)
    assert time.perf_counter() - t0 < 1.0
    assert p.kills == kills + 1
    assert grade("\\boxed{\\sqrt{8}}", "2\\sqrt2").correct  # a fresh worker took its place


def test_timeout_grade_from_a_slow_comparison() -> None:
    g = grade("\\boxed{(x+1)^{99}(x-1)^{99} > 0}", "(-\\infty,-1)\\cup(1,\\infty)", deadline_s=0.05)
    assert g.status == "timeout" and "no verdict" in g.reason and not g.correct


def test_memory_limit_is_enforced_in_the_worker() -> None:
    status, payload = pool.get_pool().call("allocate", (8192,), deadline_s=5.0)
    assert status == "memory", payload
    assert grade("\\boxed{x^2-1}", "(x-1)(x+1)").correct


def test_bounded_when_called_from_threads() -> None:
    """The bound must hold off the main thread too (where SIGALRM-based timeouts silently do nothing)."""
    results: dict[int, tuple[float, str]] = {}

    def run(i: int, response: str, gold: str) -> None:
        t0 = time.perf_counter()
        g = grade(response, gold, deadline_s=0.5)
        results[i] = (time.perf_counter() - t0, g.status)

    jobs = [("\\boxed{(x+1)^{99}(x-1)^{99} > 0}", "(-\\infty,-1)\\cup(1,\\infty)"), ("\\boxed{9^{9^{9^9}}}", "1"),
            ("\\boxed{\\frac{1}{2}}", "0.5"), ("\\boxed{x^2+2x+1}", "(x+1)^2")]
    threads = [threading.Thread(target=run, args=(i, r, g)) for i, (r, g) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 4
    # two slow jobs may queue behind each other on a 2-worker pool: bound = 2 deadlines + restart slack
    assert max(dt for dt, _ in results.values()) < 2 * 0.5 + 1.0
    assert results[0][1] == "timeout" and results[1][1] == "timeout"
    assert results[2][1] == "correct" and results[3][1] == "correct"

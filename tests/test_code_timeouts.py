"""Verdicts that do not depend on the machine's load: CPU limit, moving wall deadline, backstop, retries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from core.grade import Grade
from evaluators.code import Job, Limits, Outcome, Sandbox, run_job, to_grade, wire
from evaluators.code import client as client_module
from evaluators.code.budget import Budget, Probe, sched_probe
from evaluators.graders.code import hidden_item
from suites import load_suite
from suites.code_suites import reference_program

DATA = os.environ.get("THINKBENCH_DATA_DIR") or str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
SQUARE_TEST = "def check(candidate):\n    assert candidate(3) == 9\n\ncheck(candidate)\n"


class FakeScheduler:
    """A clock and a probe the test drives: `wait` seconds on a run queue, `runnable` now."""

    def __init__(self) -> None:
        self.now, self.waited, self.runnable, self.readable = 100.0, 0.0, False, True

    def clock(self) -> float:
        return self.now

    def probe(self) -> Probe | None:
        return Probe(self.waited, self.runnable) if self.readable else None

    def advance(self, seconds: float, waiting: float = 0.0) -> None:
        self.now += seconds
        self.waited += waiting


def _budget(s: FakeScheduler, timeout_s: float = 10.0, backstop_s: float = 40.0) -> Budget:
    return Budget(timeout_s, backstop_s, s.probe, clock=s.clock)


def test_a_blocked_program_ends_at_its_wall_time_and_is_not_starved() -> None:
    s = FakeScheduler()
    b = _budget(s)
    assert b() == 110.0
    s.advance(10.0)
    assert b() <= s.now and b.expired and not b.starved


def test_time_spent_waiting_for_a_cpu_moves_the_deadline_up_to_the_backstop() -> None:
    s = FakeScheduler()
    b = _budget(s)
    s.advance(10.0, waiting=6.0)  # ran 4 s of its 10
    assert b() == pytest.approx(116.0) and not b.expired
    s.advance(6.0, waiting=1.0)
    assert b() == pytest.approx(117.0) and not b.expired
    s.advance(1.0)
    assert b() <= s.now and b.expired and not b.starved  # had its 10 s of running time: the program's fault
    s2 = FakeScheduler()
    b2 = _budget(s2)
    for _ in range(40):  # starved the whole time: 90% waiting
        s2.advance(1.0, waiting=0.9)
        b2()
    assert b2.expired and b2.starved and s2.now == pytest.approx(140.0)


def test_a_runnable_program_past_its_wall_time_is_left_to_the_cpu_limit() -> None:
    s = FakeScheduler()
    s.runnable = True  # computing, or waiting for a CPU in a wait the kernel has not added up yet
    b = _budget(s)
    s.advance(12.0)
    assert b() > s.now and not b.expired
    s.advance(30.0)
    assert b() <= s.now and b.expired and b.starved  # at the backstop, still not done: load
    s2 = FakeScheduler()
    s2.runnable = True
    b2 = _budget(s2)
    s2.advance(12.0)
    b2()
    s2.runnable = False  # then it blocks: the wall limit ends it, as the program's fault
    s2.advance(0.5)
    assert b2() <= s2.now and b2.expired and not b2.starved


def test_without_scheduler_statistics_the_backstop_decides() -> None:
    s = FakeScheduler()
    s.readable = False
    b = _budget(s)
    assert not b.measured
    s.advance(20.0)
    assert b() > s.now
    s.advance(20.0)
    assert b() <= s.now and b.expired and b.starved


def test_the_real_probe_reads_this_machine() -> None:
    kid = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        p = sched_probe(kid.pid)()
        assert p is not None and p.waited >= 0 and p.runnable
    finally:
        kid.kill()
        kid.wait()
    assert sched_probe(kid.pid)() is None  # gone: unreadable, so the backstop would decide


def test_wire_waits_for_a_deadline_that_moves() -> None:
    a, b = socket.socketpair()
    moves = []

    def deadline() -> float:
        if not moves:
            moves.append(time.monotonic() + 0.6)
        elif time.monotonic() >= moves[-1] and len(moves) < 2:
            moves.append(time.monotonic() + 0.6)
        return moves[-1]

    threading.Timer(0.8, wire.send, (a, {"late": True})).start()
    assert wire.recv(b, deadline) == {"late": True} and len(moves) == 2
    with pytest.raises(wire.DeadlineExceeded):
        wire.recv(b, time.monotonic() + 0.1)
    a.close()
    b.close()


def test_outcome_carries_the_timeout_kind() -> None:
    out = Outcome("timeout", (False,), "CPU time limit", cpu_s=2.0, timeout_kind="cpu", waited_s=0.5, attempts=2)
    assert Outcome.from_dict(out.to_dict()) == out
    with pytest.raises(ValueError):
        Outcome.from_dict({**out.to_dict(), "timeout_kind": "passed"})
    assert Limits(timeout_s=10.0).backstop_s == 40.0 and Limits(timeout_s=2.0, cpu_s=5.0).backstop_s == 20.0


def test_load_caused_timeouts_are_retried_with_a_longer_backstop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module.random, "uniform", lambda lo, hi: 0.0)
    starved = Outcome("timeout", (False,), "wall-clock backstop passed while the machine was busy",
                      timeout_kind="load")
    seen: list[Job] = []

    def runs(results: list[Outcome]):
        def run_once(self: Sandbox, job: Job) -> Outcome:
            seen.append(job)
            return results[len(seen) - 1]
        return run_once

    job = Job("def f(x):\n    return x * x\n", (SQUARE_TEST,), "f", limits=Limits(timeout_s=1.0))
    monkeypatch.setattr(Sandbox, "_run_once", runs([starved, Outcome("correct", (True,), "passed 1 test(s)")]))
    out = Sandbox().run(job)
    assert out.status == "correct" and out.attempts == 2
    assert seen[1].limits.backstop_s == 2 * seen[0].limits.backstop_s
    seen.clear()
    monkeypatch.setattr(Sandbox, "_run_once", runs([starved] * 3))
    out = Sandbox().run(job)
    assert (out.status, out.timeout_kind, out.attempts, len(seen)) == ("timeout", "load", 3, 3)
    grade = to_grade(out)
    assert grade.status == "timeout" and grade.grader_error and "after 3 runs" in grade.reason
    seen.clear()
    monkeypatch.setattr(Sandbox, "_run_once", runs([replace(starved, timeout_kind="wall")]))
    assert Sandbox().run(job).attempts == 1 and len(seen) == 1  # the program's own timeouts are not retried


@contextmanager
def busy_cores(n: int) -> Iterator[None]:
    """`n` busy loops, each in a session of its own: with the kernel's autogroup scheduling a
    session is one scheduling entity, so loops sharing a session would only take a share as
    large as one sandboxed program's, which is far milder than other people's work on the box."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(n)]
    try:
        time.sleep(0.2)
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


LOADED_PROBLEMS = ("mbpp/123", "mbpp/2", "mbpp/57", "mbpp/231", "HumanEval/0", "HumanEval/39", "HumanEval/100")


def test_verdicts_hold_with_every_core_busy() -> None:
    """Three busy loops per core: under this load the former fixed 10 s wall deadline graded
    MBPP's own mbpp/123 reference (about 2 s of CPU, 10-11 s of wall here) 'deadline passed'."""
    suites = {name: load_suite(name, DATA) for name in ("mbpp", "humaneval")}
    problems = [p for s in suites.values() for p in s.problems if p.id in LOADED_PROBLEMS]
    assert len(problems) == len(LOADED_PROBLEMS)
    jobs = [hidden_item(reference_program(p), p, 10.0).job() for p in problems]
    loop = Job("def f(x):\n    while True:\n        pass\n", (SQUARE_TEST,), "f",
               limits=Limits(timeout_s=2.0, cpu_s=1.0))
    sleep = Job("import time\ndef f(x):\n    time.sleep(60)\n", (SQUARE_TEST,), "f", limits=Limits(timeout_s=1.0))
    t0 = time.monotonic()
    with busy_cores(3 * (os.cpu_count() or 1)), ThreadPoolExecutor(4 * (os.cpu_count() or 1)) as pool:
        outcomes = list(pool.map(run_job, [*jobs, loop, sleep]))
    took = time.monotonic() - t0
    grades: list[Grade] = [to_grade(o) for o in outcomes]
    assert {p.id: g.reason for p, g in zip(problems, grades) if not g.correct} == {}
    spin, idle = outcomes[-2], outcomes[-1]
    assert (spin.status, spin.timeout_kind) == ("timeout", "cpu"), spin
    assert grades[-2].status == "timeout" and grades[-2].reason.startswith("CPU time limit")
    assert "of CPU used" in grades[-2].reason
    assert (idle.status, idle.timeout_kind) == ("timeout", "wall"), idle  # a sleeper is not mistaken for load
    assert "wall-clock limit" in grades[-1].reason and "of CPU used" in grades[-1].reason
    waited = [o.waited_s for o in outcomes if o.waited_s >= 0]
    assert not waited or max(waited) > 0.2, "the cores were not actually contended"
    assert took < 40, took

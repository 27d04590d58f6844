"""The wall-clock side of a program's limits, counted in time it could have run.

A program's wall time under load is mostly time spent waiting for a CPU, which says nothing about
the program. The supervisor therefore gives it `timeout_s` of wall time *plus* every second that
it (the candidate) or the supervisor itself spent runnable but not running, as the kernel's
scheduler statistics (`/proc/<pid>/schedstat`, run-queue delay) report, up to a fixed wall-clock
backstop. A program that sleeps or blocks is not waiting for a CPU, so it still ends after
`timeout_s`; a program starved by other work gets the time it was denied; and a job that reaches
the backstop before it had `timeout_s` of running time is marked starved (retried by the client).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_STEP_S = 0.05  # when the deadline moves, it moves at least this far (bounds the /proc reads)
STEP_S = 0.1  # how often a runnable program past its wall time is looked at again


def run_delay(path: str) -> float | None:
    """Seconds the task spent on a run queue waiting for a CPU (second field of schedstat)."""
    try:
        with open(path, "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Probe:
    """What the scheduler says: run-queue delay so far (candidate + supervisor), and whether the
    candidate is runnable now (running or waiting for a CPU: a wait in progress is not in its
    run-queue delay yet, which is only added when it next gets a CPU)."""

    waited: float
    runnable: bool


def state(pid: int) -> str | None:
    """The kernel's one-letter state of `pid` (after the last ')' : the name may contain one)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def sched_probe(pid: int) -> Callable[[], Probe | None]:
    """Probe of candidate `pid` and of this process (the supervisor); None where unreadable."""

    def probe() -> Probe | None:
        theirs, ours = run_delay(f"/proc/{pid}/schedstat"), run_delay("/proc/self/schedstat")
        if theirs is None or ours is None:
            return None
        return Probe(theirs + ours, state(pid) == "R")

    return probe


class Budget:
    """A deadline that moves by the time spent waiting for a CPU. Calling it returns the current
    deadline (a `time.monotonic()` instant); once that has passed for good it stays put and
    `expired` is true, with `starved` saying whether load (not the program) used up the time.

    The wall-clock limit ends only a program that is not runnable (blocked or sleeping) after
    `timeout_s` of time it could have run; a runnable one is computing or waiting for a CPU, and
    its CPU limit or the backstop ends it. Reaching the backstop while runnable, or before
    `timeout_s` of running time, is starvation. Without scheduler statistics waiting cannot be
    told from blocking, so all time past `timeout_s` counts as waiting: the backstop decides."""

    def __init__(self, timeout_s: float, backstop_s: float, probe: Callable[[], Probe | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock, self._probe = clock, probe
        self.start = clock()
        self.timeout_s = timeout_s
        self.backstop_s = max(backstop_s, timeout_s)
        first = probe()
        self._base = first.waited if first is not None else 0.0
        self.measured = first is not None
        self.waited_s = 0.0
        self.expired = False
        self.starved = False
        self._at = self.start + timeout_s

    def __call__(self) -> float:
        if not self.expired and self.clock() >= self._at:
            self._move(self.clock())
        return self._at

    def settle(self) -> None:
        """Take the final waiting figure (for the record), before the candidate is reaped."""
        p = self._probe() if self.measured else None
        if p is not None:
            self.waited_s = max(self.waited_s, p.waited - self._base)

    def elapsed(self) -> float:
        return self.clock() - self.start

    def _move(self, now: float) -> None:
        p = self._probe() if self.measured else None
        if p is None:
            self.measured, runnable = False, False
            self.waited_s = now - self.start  # cannot tell: all of it, so the backstop decides
        else:
            runnable = p.runnable
            self.waited_s = max(self.waited_s, p.waited - self._base)
        ran = now - self.start - self.waited_s
        end = self.start + self.backstop_s
        if now >= end or (ran >= self.timeout_s and not runnable):
            self.expired = True
            self.starved = runnable or ran < self.timeout_s
            return
        at = now + STEP_S if ran >= self.timeout_s else self.start + self.timeout_s + self.waited_s
        self._at = min(end, max(at, now + MIN_STEP_S))

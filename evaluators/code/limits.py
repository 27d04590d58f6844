"""Resource limits of one sandboxed program, and how they are applied (rlimits, inherited by children)."""

from __future__ import annotations

import math
import resource
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Per-program budget (the timeout rule is in docs/sandbox.md, "Timeouts").

    `cpu_s` is the program's CPU time (RLIMIT_CPU, and the kernel's rusage decides). `timeout_s` is
    wall time for loading the program and running every test, counted in time the program and its
    supervisor could run: time they spent waiting in a run queue for a CPU is added back, so a busy
    machine does not shorten it; it catches programs that block or sleep. `backstop_factor` x the
    larger of the two is the wall-clock backstop that ends a job whatever the load. A job that hits
    the backstop before it had its `timeout_s` of running time was starved by load, not slow: it is
    run again, up to `load_retries` times, each time with twice the backstop."""

    timeout_s: float = 10.0
    cpu_s: float | None = None  # default: timeout_s rounded up
    memory_mb: int = 1024  # address space of the candidate process (and each child it forks)
    processes: int = 32  # RLIMIT_NPROC for the sandbox's own uid (only enforceable when it has one)
    open_files: int = 64
    file_size_mb: int = 16  # largest single file it may write
    backstop_factor: float = 4.0
    load_retries: int = 2
    supervisor_memory_mb: int = 1024  # address space of the trusted supervisor (decoding the replies)

    @property
    def cpu_seconds(self) -> int:
        return max(1, math.ceil(self.cpu_s if self.cpu_s is not None else self.timeout_s))

    @property
    def supervisor_cpu_seconds(self) -> int:
        """CPU the supervisor may spend on one job (tests and decoding replies; normally a fraction
        of a second): twice the program's CPU limit, plus a margin."""
        return 2 * self.cpu_seconds + 5

    @property
    def backstop_s(self) -> float:
        """Wall-clock seconds after which the job ends, however busy the machine is."""
        return max(1.0, self.backstop_factor) * max(self.timeout_s, float(self.cpu_seconds))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Limits":
        return cls(**{k: d[k] for k in asdict(cls()) if k in d})


def apply_rlimits(limits: Limits, own_uid: bool) -> None:
    """Set hard limits too, so the program cannot raise them again. NPROC counts per real uid, so it
    is only set when the sandbox runs under a uid of its own (otherwise it would count the grader's
    processes and make forks fail or succeed for reasons unrelated to the program)."""
    cpu = limits.cpu_seconds
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.file_size_mb * 1024 * 1024
    # Soft CPU limit sends SIGXCPU; the hard limit one second later is SIGKILL, which cannot be caught.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    if own_uid:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

"""Where the machine's CPU time goes during a measured window, by kind of process.

Samples every process's CPU time a few times a second, then charges each process the CPU it used inside the window
(interpolated between samples) under a label: vLLM's engine (core and worker), the engine actor, the grading workers,
the driver, Ray's own daemons, anything else. For the engine's processes it also counts involuntary context switches
of all their threads: the times an OpenMP thread was preempted.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ENGINE = "vLLM engine (core and worker)"
RAY_DAEMONS = ("raylet", "gcs_server", "dashboard", "log_monitor", "monitor.py", "runtime_env", "ray_client_server")


def label(name: str, cmdline: str) -> str:
    if any(k in name or k in cmdline for k in ("EngineCore", "VllmWorker", "VLLM::", "multiprocessing.spawn")):
        return ENGINE
    if "zygote" in cmdline:  # the math grader's sympy pools (graders' and the strategies' vote keys)
        return "grader pools (sympy)"
    if "ray::" in cmdline or "ray::" in name:
        if "grade" in cmdline.lower():
            return "grading tasks"
        if "IDLE" in cmdline or "ray::IDLE" in name:
            return "idle Ray workers"
        return "engine actor (Ray worker)"
    if any(d in cmdline for d in RAY_DAEMONS):
        return "Ray daemons"
    if "thinkbench" in cmdline:
        return "driver (thinkbench run)"
    if "engine_overhead.py" in cmdline:
        return "raw vLLM front end" if "--raw-only" in cmdline else "bench itself"
    return "other"


def _preemptions(pid: int) -> int:
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


@dataclass
class CpuLedger:
    period_s: float = 0.2
    samples: dict[int, list[tuple[float, float, int]]] = field(default_factory=lambda: defaultdict(list))
    labels: dict[int, str] = field(default_factory=dict)
    commands: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> CpuLedger:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            now = time.time()
            for p in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
                if p.info["pid"] == me or p.info["cpu_times"] is None:
                    continue
                pid, t = p.info["pid"], p.info["cpu_times"]
                # Relabelled on every sample: a Ray worker starts as `setup_worker.py` and only later names itself
                # (`ray::EngineWorker`, `ray::IDLE`); its last name is what it was.
                self.commands[pid] = " ".join(p.info["cmdline"] or []) or p.info["name"] or "?"
                self.labels[pid] = label(p.info["name"] or "", self.commands[pid])
                pre = _preemptions(pid) if self.labels[pid] == ENGINE else 0
                self.samples[pid].append((now, t.user + t.system, pre))
            self._stop.wait(self.period_s)

    @staticmethod
    def _at(series: list[tuple[float, float, int]], t: float, i: int) -> float:
        times = [s[0] for s in series]
        k = bisect.bisect_left(times, t)
        if k == 0:
            return series[0][i] if times[0] - t < 1.0 else 0.0  # started inside the window: charged from zero
        if k >= len(series):
            return series[-1][i]
        (t0, *a), (t1, *b) = series[k - 1], series[k]
        w = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return a[i - 1] + w * (b[i - 1] - a[i - 1])

    def top(self, start: float, end: float, k: int = 8) -> list[tuple[float, str]]:
        """The k processes that used the most CPU inside [start, end]: (CPU seconds, command line)."""
        used = [(self._at(s, end, 1) - self._at(s, start, 1), self.commands[pid][:110])
                for pid, s in self.samples.items() if not (s[-1][0] < start or s[0][0] > end)]
        return sorted(used, reverse=True)[:k]

    def window(self, start: float, end: float) -> tuple[dict[str, float], int]:
        """CPU seconds per label inside [start, end], and engine-core preemptions in it."""
        cpu: dict[str, float] = defaultdict(float)
        preempted = 0
        for pid, series in self.samples.items():
            if series[-1][0] < start or series[0][0] > end:
                continue
            used = self._at(series, end, 1) - self._at(series, start, 1)
            if used > 0.005:
                cpu[self.labels[pid]] += used
            if self.labels[pid] == ENGINE:
                preempted += int(self._at(series, end, 2) - self._at(series, start, 2))
        return dict(cpu), preempted


def describe(cpu: dict[str, float], preempted: int, seconds: float) -> str:
    cores = len(os.sched_getaffinity(0))
    total = sum(cpu.values())
    parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
    return (f"    CPU-s over {seconds:.1f} s x {cores} cores ({total / (seconds * cores):.0%} busy): {parts}; "
            f"engine threads preempted {preempted} times ({preempted / max(seconds, 1e-9):.0f}/s)")

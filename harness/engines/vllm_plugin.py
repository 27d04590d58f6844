"""A vLLM general plugin (entry point `vllm.general_plugins`), loaded by every vLLM process, workers included.

vLLM's workers keep busy-polling their step queue (`sched_yield`) for a full second after each read, so a worker
whose engine has gone quiet (between waves, after a run's last step, while graders grade) holds a core it does not
use. On a GPU host that is one host core of many; on a CPU host it is a core the model's threads, the graders or a
second engine need: measured with one in-actor CPU engine committing one problem at a time, the worker burned
33.6 CPU-s in a 53 s run. ThinkBench's CPU engines set THINKBENCH_VLLM_IDLE_SPIN_S (seconds; `prepare_cpu`), and
this plugin caps the poll to it. Back-to-back steps are never that far apart, so decoding keeps its spin. Unset:
vLLM's own behaviour, untouched (the plugin is installed beside any vLLM server in the environment).
"""

from __future__ import annotations

import os
from typing import Any

IDLE_SPIN_ENV = "THINKBENCH_VLLM_IDLE_SPIN_S"
CPU_IDLE_SPIN_S = 0.05  # what ThinkBench's CPU engines use: longer than a step's gap, far shorter than vLLM's 1 s


def idle_spin_s() -> float | None:
    """The cap from the environment; None when unset or not a non-negative number (vLLM's default then holds)."""
    try:
        value = float(os.environ.get(IDLE_SPIN_ENV, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def register() -> None:
    spin = idle_spin_s()
    if spin is None:
        return
    try:
        from vllm.distributed.device_communicators.shm_broadcast import SpinCondition  # noqa: PLC0415 - vLLM's processes only
    except ImportError:  # a vLLM without it: nothing to cap
        return
    if getattr(SpinCondition, "_thinkbench_idle_spin_s", None) is not None:
        return
    original_wait, original_read = SpinCondition.wait, SpinCondition.record_read

    def record_read(self: Any) -> None:
        # Only after a reader's first read: until then vLLM's full window also covers its subscription joining
        # (a notification published before the SUB socket joined is lost, and a reader polling by then would
        # wait out vLLM's 5 s recheck). After it, a write always leaves a notification pending (CONFLATE keeps
        # the last), so a short window loses nothing.
        self._thinkbench_has_read = True
        original_read(self)

    def wait(self: Any, timeout_ms: int | None = None) -> None:
        # Readers set their poll window in __init__, possibly before this plugin loaded: cap it at each wait.
        if getattr(self, "_thinkbench_has_read", False) and getattr(self, "busy_loop_s", 0) > spin:
            self.busy_loop_s = spin
        original_wait(self, timeout_ms)

    SpinCondition.wait = wait
    SpinCondition.record_read = record_read
    SpinCondition._thinkbench_idle_spin_s = spin

"""The vLLM plugin that caps how long an idle vLLM worker busy-polls (harness/engines/vllm_plugin.py).

The plugin is registered as a `vllm.general_plugins` entry point; vLLM's processes load it. Here it is loaded in a
fresh interpreter, as vLLM's worker would, against vLLM's real `SpinCondition`: a reader that has not read for longer
than the cap stops spinning (polls its socket) at once, where vLLM's default would spin for a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points

from harness.engines.vllm_plugin import IDLE_SPIN_ENV, idle_spin_s

PROBE = """
import time, zmq
from vllm.plugins import load_general_plugins
load_general_plugins()
from vllm.distributed.device_communicators.shm_broadcast import SpinCondition
ctx = zmq.Context()
writer = SpinCondition(False, ctx, "inproc://probe")
reader = SpinCondition(True, ctx, "inproc://probe")
def idle_wait():
    time.sleep(0.2)  # idle for longer than the cap, far less than vLLM's 1 s
    start = time.monotonic()
    reader.wait(timeout_ms=300)  # spinning returns at once; idle mode waits for a notification (none comes)
    return time.monotonic() - start >= 0.25
before_first_read = idle_wait()  # vLLM's full window while the reader has never read (its subscription may be joining)
reader.record_read()
after_a_read = idle_wait()
print(before_first_read, round(reader.busy_loop_s, 3), after_a_read)
"""


def _probe(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != IDLE_SPIN_ENV}
    if env_value is not None:
        env[IDLE_SPIN_ENV] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_the_plugin_is_registered_with_vllm():
    assert "thinkbench_idle_spin" in {e.name for e in entry_points(group="vllm.general_plugins")}


def test_an_idle_reader_stops_spinning_after_the_cap_and_vllm_default_holds_without_it():
    assert _probe("0.05") == "False 0.05 True"  # after a read, idle 0.2 s > 0.05 s: waits on the socket
    assert _probe(None) == "False 1 False"  # vLLM's 1 s window: still spinning, returns at once


def test_malformed_caps_leave_vllm_alone(monkeypatch):
    for bad in ("", "fast", "-1"):
        monkeypatch.setenv(IDLE_SPIN_ENV, bad)
        assert idle_spin_s() is None
    monkeypatch.setenv(IDLE_SPIN_ENV, "0")
    assert idle_spin_s() == 0.0

"""Shared fixtures: the dataset mirror beside the repo (as CI lays it out) and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Ray resolves "127.0.0.1" to the machine's interface address unless told this is a one-machine
# setup; tests keep every Ray connection (and the CLI subprocesses they start) on loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
THINKBENCH = str(Path(sys.executable).parent / "thinkbench")


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray cluster for a module's runs: each `thinkbench run --ray-address` joins it instead of starting
    Ray itself (several seconds a run)."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 2, "node_ip_address": "127.0.0.1"})
    yield c.address
    c.shutdown()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"dataset mirror missing at {DATA}"
    return DATA


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "THINKBENCH_DATA_DIR": str(DATA), **(env or {})}
    return subprocess.run([THINKBENCH, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)


def run_in_fresh_interpreter(test_file: str, timeout: float = 900) -> None:
    """Run a test file's inner body (env THINKBENCH_E2E_INNER=1) in its own pytest process.

    vLLM's CPU worker scans every loaded module for kernels to rebind and trips over llvmlite's
    objects, which other test modules load (numba, for the leaderboard); `thinkbench run` builds
    its engines in fresh Ray actors, so tests that build one in-process do it in a fresh interpreter.
    """
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file],
                          env={**os.environ, "THINKBENCH_E2E_INNER": "1"}, capture_output=True, text=True,
                          timeout=timeout, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-4000:] + proc.stderr[-2000:]

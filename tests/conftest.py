"""Shared fixtures: the dataset mirror beside the repo (as CI lays it out) and helpers to run the CLI."""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.engines.vllm_engine import single_process_env
from harness.engines.vllm_plugin import CPU_IDLE_SPIN_S, IDLE_SPIN_ENV

# Ray resolves "127.0.0.1" to the machine's interface address unless told this is a one-machine
# setup; tests keep every Ray connection (and the CLI subprocesses they start) on loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

# Under pytest-xdist each worker's vLLM engines keep to one core of their own: two engines whose OpenMP threads
# share cores stall each other at every barrier, and one thread has no barrier to stall at. (The binding the
# harness picks itself is unit-tested; a user's own setting is honoured the same way.)
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw"):
    _cpus = sorted(os.sched_getaffinity(0))
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", str(_cpus[int(_WORKER[2:]) % len(_cpus)]))

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
THINKBENCH = str(Path(sys.executable).parent / "thinkbench")


# pytest imports this file as `conftest`; test modules import its helpers as `tests.conftest`. One module under both
# names, or each copy would start a session cluster of its own (two idle Ray clusters per worker, each a few percent
# of a core for the whole session, and the second never shut down).
sys.modules.setdefault("tests.conftest", sys.modules[__name__])

_CLUSTER: list = []  # the session's one local Ray cluster, started by the first test that needs it


def session_ray_address() -> str:
    """The session's Ray cluster: `thinkbench run`s of the tests join it (a second each) instead of starting Ray
    themselves (several seconds each)."""
    if not _CLUSTER:
        import ray
        from ray.cluster_utils import Cluster

        from harness.runner import QUIET_RAY_CONFIG

        if ray.is_initialized():
            ray.shutdown()
        _CLUSTER.append(Cluster(initialize_head=True, connect=False,
                                head_node_args={"num_cpus": 2, "node_ip_address": "127.0.0.1",
                                                # runs join it with log_to_driver off: no dashboard, no log tailing
                                                "include_dashboard": False, "include_log_monitor": False,
                                                "_system_config": QUIET_RAY_CONFIG}))
    return _CLUSTER[0].address


@pytest.fixture(scope="session", autouse=True)
def _session_cluster():
    yield
    if _CLUSTER:
        _CLUSTER.pop().shutdown()


@pytest.fixture(scope="session")
def ray_address() -> str:
    return session_ray_address()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"dataset mirror missing at {DATA}"
    return DATA


def stored_attempts(db) -> int:
    """Attempts a store holds so far (0 while it does not exist yet or is being written): for tests that act mid-run."""
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return 0
    try:
        return con.execute("SELECT count(*) FROM attempts").fetchone()[0]
    except duckdb.Error:
        return 0
    finally:
        con.close()


def recorded_workers(db, timeout: float = 300) -> list[dict]:
    """The engine actors a running run's manifest records, once its engines started (read while the run writes: a
    read-only open can meet the writer's lock, so it retries)."""
    import duckdb

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            con = duckdb.connect(str(db), read_only=True)
            try:
                row = con.execute("SELECT manifest FROM runs").fetchone()
            finally:
                con.close()
            workers = json.loads(row[0]).get("workers") if row and row[0] else None
        except duckdb.Error:
            workers = None
        if workers:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"no run in {db} recorded its engine actors within {timeout:.0f} s")


def check_call_timings(db, calls: int) -> None:
    """Every engine call is a row of the calls table, timed to its first token by the engine itself."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT first_token_seconds, seconds, generated_tokens FROM calls").fetchall()
    con.close()
    assert len(rows) == calls
    assert all(first is not None and 0 < first <= secs for first, secs, _ in rows), rows
    assert all(gen > 0 for *_, gen in rows), "the in-actor engine counts every call's tokens"


RAY_COMMANDS = ("run", "sweep")  # the subcommands that start or join Ray


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    """The CLI in a subprocess. Runs join the session's Ray cluster (RAY_ADDRESS) unless the test names a cluster
    or passes an environment of its own (its engine actors then inherit it from a Ray of the run's own)."""
    full_env = {**os.environ, "THINKBENCH_DATA_DIR": str(DATA), **(env or {})}
    if args and args[0] in RAY_COMMANDS and env is None and "--ray-address" not in args:
        full_env.setdefault("RAY_ADDRESS", session_ray_address())
    return subprocess.run([THINKBENCH, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)


def cli_in_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI's `main` in this process, for input it must refuse before it starts anything (no Ray, no engine):
    a second instead of a process start. Its output and exit status read as `run_cli`'s; the console script
    itself is exercised by the tests that go through `run_cli`."""
    import contextlib
    import io
    from unittest import mock

    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), mock.patch.dict(os.environ, {"THINKBENCH_DATA_DIR": str(DATA)}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's own errors
            code = e.code if isinstance(e.code, int) else 1
    import ray

    assert not ray.is_initialized(), "refused input must not start Ray"
    return subprocess.CompletedProcess(["thinkbench", *args], code, out.getvalue(), err.getvalue())


# The test files whose bodies build vLLM engines in-process: one fresh interpreter runs them all (one vLLM import
# and one interpreter start, not one per file), and xdist sends them to one worker together (below).
FRESH_INTERPRETER_FILES = ("tests/test_e2e_strategies.py", "tests/test_prm_vllm.py")


@functools.cache
def _fresh_interpreter_run() -> tuple[dict[str, str], str]:
    """Each inner test's outcome by file (passed, failed, error, skipped), and the run's output."""
    import xml.etree.ElementTree as ET
    from tempfile import TemporaryDirectory

    with TemporaryDirectory() as tmp:
        report = Path(tmp) / "inner.xml"
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                               *FRESH_INTERPRETER_FILES], env={**os.environ, "THINKBENCH_E2E_INNER": "1"},
                              capture_output=True, text=True, timeout=1500, cwd=REPO)
        outcomes: dict[str, str] = {}
        if report.exists():
            for case in ET.parse(report).iter("testcase"):
                path = case.get("classname", "").replace(".", "/") + ".py"
                bad = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
                if outcomes.get(path, "passed") == "passed":  # a file passes when every one of its tests does
                    outcomes[path] = bad[0] if bad else "passed"
    return outcomes, proc.stdout[-6000:] + proc.stderr[-2000:]


def run_in_fresh_interpreter(test_file: str) -> None:
    """Assert that a test file's inner body (env THINKBENCH_E2E_INNER=1) passed in the fresh interpreter.

    vLLM's CPU worker scans every loaded module for kernels to rebind and trips over llvmlite's
    objects, which other test modules load (numba, for the leaderboard); `thinkbench run` builds
    its engines in fresh Ray actors, so tests that build one in-process do it in a fresh interpreter.
    """
    path = str(Path(test_file).resolve().relative_to(REPO))
    assert path in FRESH_INTERPRETER_FILES, f"add {path} to FRESH_INTERPRETER_FILES"
    outcomes, output = _fresh_interpreter_run()
    assert outcomes.get(path) == "passed", output


# A vLLM reasoning parser (vLLM's own Olmo 3 parser, which reads <think> tags as text, not as special tokens the
# embedded model's vocabulary lacks) that starts outside reasoning: output is all answer unless the model itself
# opens <think>, so one server serves the reasoning test and every other test unchanged. Registered through vLLM's
# `--reasoning-parser-plugin`.
THINK_TAGS_PLUGIN = '''
from vllm.reasoning import ReasoningParserManager
from vllm.reasoning.olmo3_reasoning_parser import Olmo3ReasoningParser, Olmo3ReasoningState


class ThinkTags(Olmo3ReasoningParser):
    def __init__(self, tokenizer, *args, **kwargs):
        super().__init__(tokenizer, *args, **kwargs)
        self.buffer.state = Olmo3ReasoningState.CONTENT

    def _split(self, text):
        if not text.startswith("<think>"):
            return None, text
        reasoning, end, content = text[len("<think>"):].partition("</think>")
        return reasoning or None, (content or None) if end else None

    def extract_reasoning(self, model_output, request):
        return self._split(model_output)

    # The text buffer alone decides where reasoning starts and ends: tags in the prompt (worked examples) or
    # split tokens never end a thought the model has not closed.
    def is_reasoning_end(self, input_ids):
        return False

    def is_reasoning_end_streaming(self, input_ids, delta_ids):
        return False

    def count_reasoning_tokens(self, token_ids):
        reasoning, _ = self._split(self.model_tokenizer.decode(list(token_ids)))
        return len(self.model_tokenizer.encode(reasoning, add_special_tokens=False)) if reasoning else 0


ReasoningParserManager.register_module("think_tags", module=ThinkTags)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """The embedded model on vLLM's OpenAI server under its own name and as `cheap` and `expensive` (cascade tiers),
    with the think-tags reasoning parser, and no chunked prefill (vLLM's CPU sampler dies splitting a seeded prompt).
    Unpacks as (base_url, model name); `kill` and `start` let a test take it
    down mid-run and bring it back on the same port (one more start, not a second server)."""

    def __init__(self, log_dir: Path) -> None:
        from harness.models import resolve_model

        self.model = resolve_model("embedded")
        self.name = self.model.name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/v1"
        self.log = log_dir / "server.log"
        self.plugin = log_dir / "think_tags.py"
        self.plugin.write_text(THINK_TAGS_PLUGIN)
        self.proc: subprocess.Popen | None = None

    def __iter__(self):
        return iter((self.base, self.name))

    def start(self) -> None:
        # As ThinkBench's own one-rank CPU engines: the model runs in the engine core process (no worker process,
        # one vLLM import less per start) when the binding is explicit, as under xdist; otherwise its worker stops
        # busy-polling 50 ms after a request (vllm_plugin.py), not vLLM's 1 s, since the server idles between the
        # tests' requests while the other xdist worker needs the core.
        binding = os.environ.get("VLLM_CPU_OMP_THREADS_BIND")
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_LOGGING_LEVEL": "WARNING",
               IDLE_SPIN_ENV: str(CPU_IDLE_SPIN_S), **(single_process_env(binding) if binding else {})}
        with self.log.open("a") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model.path,
                 "--served-model-name", self.name, "cheap", "expensive", "--dtype", "float32", "--enforce-eager",
                 "--max-model-len", "512", "--no-enable-chunked-prefill",
                 "--reasoning-parser-plugin", str(self.plugin), "--reasoning-parser",
                 "think_tags", "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + 400
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("vLLM server exited:\n" + self.log.read_text()[-3000:])
            try:
                if httpx.get(f"{self.base}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(1)
        self.kill()
        pytest.fail("vLLM server did not come up:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the server and everything it started (its engine core), as a crash or the OOM killer would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


# The test files on the shared vLLM server: pytest-xdist runs each of them whole on one worker, so a session starts
# one server (about a minute of CPU), not one per worker. (xdist's own `--dist loadgroup` marks do not group under
# pytest 9.2, whose node ids no longer come from the attribute xdist rewrites.)
SHARED_SERVER_FILES = ("tests/test_e2e_vllm.py", "tests/test_engine_faults.py", "tests/test_rg_e2e.py")


@functools.cache
def _has_module_fixtures(path: str) -> bool:
    file = REPO / path
    return file.is_file() and 'scope="module"' in file.read_text()


@pytest.hookimpl(optionalhook=True)  # xdist's hook: pytest without xdist still runs the suite
def pytest_xdist_make_scheduler(config, log):
    """Like `--dist load` (test by test), except that the shared server's files go to one worker, together, and so
    do the tests of a file with module-scoped fixtures: split over two workers, each worker builds the fixture
    again (the grader-families corpus, a minute of grading on 2 cores, was graded twice)."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixturesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path in SHARED_SERVER_FILES:
                return "vllm_server"
            if path in FRESH_INTERPRETER_FILES:
                return "fresh_interpreter"
            return path if _has_module_fixtures(path) else nodeid

    return SharedFixturesTogether(config, log)


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """One vLLM OpenAI-compatible server for the whole session (each start costs about a minute on 2 cores)."""
    server = VLLMServer(tmp_path_factory.mktemp("server"))
    server.start()
    yield server
    server.stop()

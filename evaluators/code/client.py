"""The grader's handle on the sandbox: starts the zygote, hands it one socket per job, waits.

Thread-safe; one zygote per grader process (restarted after a fork or if it dies). The grader
never runs candidate code and never trusts anything but the supervisor's `Outcome`.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from evaluators.code import wire
from evaluators.code.cleanup import remove_tree
from evaluators.code.codec import CodecError
from evaluators.code.jobs import Job, Outcome

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = "import sys; sys.path.insert(0, sys.argv[3]); from evaluators.code.zygote import main; main()"


class SandboxError(RuntimeError):
    """The sandbox machinery itself could not start."""


class Sandbox:
    """`privileged=False` skips root-only and namespace layers even where available (to check what
    an unprivileged grader still enforces)."""

    def __init__(self, privileged: bool = True) -> None:
        self.privileged = privileged
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctl: socket.socket | None = None
        self._fallback_dir: str | None = None
        self._owner = 0
        self._retired: list[tuple[subprocess.Popen[bytes], str | None]] = []  # zygotes finishing their jobs
        self.layers: tuple[str, ...] = ()

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._fallback_dir = tempfile.mkdtemp(prefix="thinkbench-sandbox-")
        os.chmod(self._fallback_dir, 0o711)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        debug = os.environ.get("THINKBENCH_SANDBOX_DEBUG")
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", _BOOT, str(theirs.fileno()), str(os.getpid()), _REPO_ROOT,
             self._fallback_dir, "1" if self.privileged else "0"],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=None if debug else subprocess.DEVNULL, start_new_session=True, cwd="/",
        )
        theirs.close()
        ours.settimeout(60)
        try:
            hello = json.loads(ours.recv(65536).decode())
        except (OSError, ValueError) as e:
            self._proc.kill()
            raise SandboxError(
                f"code sandbox did not start ({type(e).__name__}); set THINKBENCH_SANDBOX_DEBUG=1") from e
        ours.settimeout(None)
        self._ctl, self._owner = ours, os.getpid()
        self.layers = tuple(hello["layers"])

    @property
    def pid(self) -> int | None:
        """The zygote's pid (every sandboxed process descends from it), once started."""
        return self._proc.pid if self._proc is not None else None

    def _control(self) -> socket.socket:
        with self._lock:
            if self._ctl is None or self._owner != os.getpid() or self._proc is None or self._proc.poll() is not None:
                if self._owner == os.getpid():
                    self._retire(self._ctl)
                else:
                    self._proc, self._ctl, self._fallback_dir, self._retired = None, None, None, []
                self._start()
            self._collect_retired()
            assert self._ctl is not None
            return self._ctl

    def _retire(self, ctl: socket.socket | None) -> None:
        """Stop using the zygote behind `ctl` (if it is still the current one) without stopping it: a
        zygote that refused a job (its control socket closed: it found itself damaged) still
        finishes the jobs it has in flight, and their graders are waiting for those verdicts.
        Call with the lock held."""
        if ctl is not self._ctl or self._proc is None:
            return
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        self._retired.append((self._proc, self._fallback_dir))
        self._proc, self._fallback_dir = None, None

    def _collect_retired(self, wait: bool = False) -> None:
        """Reap retired zygotes that have exited (all of them, with `wait`) and remove their directories."""
        keep = []
        for proc, workdir in self._retired:
            if wait:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.poll() is None:
                keep.append((proc, workdir))
            elif workdir:
                remove_tree(workdir)
        self._retired = keep

    def run(self, job: Job) -> Outcome:
        """Grade one job; sandbox failures come back as an `error` outcome, never as an exception.

        A timeout caused by load (the backstop passed while the program was starved of CPU) says
        nothing about the program: the job runs again in a fresh sandbox, up to
        `limits.load_retries` times, each with twice the backstop, after a short pause."""
        outcome, attempts = self._run_once(job), 1
        while outcome.timeout_kind == "load" and attempts <= job.limits.load_retries:
            time.sleep(random.uniform(0.1, 0.5) * attempts)  # let a burst of other work pass
            job = replace(job, limits=replace(job.limits, backstop_factor=2 * job.limits.backstop_factor))
            outcome, attempts = self._run_once(job), attempts + 1
        return replace(outcome, attempts=attempts) if attempts > 1 else outcome

    def _run_once(self, job: Job) -> Outcome:
        t0 = time.monotonic()
        for attempt in range(2):  # a dead (or retiring) zygote is replaced once
            ours, theirs = socket.socketpair()
            try:
                ctl = self._control()
                try:
                    socket.send_fds(ctl, [b"spawn"], [theirs.fileno()])
                except OSError:
                    with self._lock:
                        self._retire(ctl)
                    continue
                finally:
                    theirs.close()
                try:
                    wire.send(ours, job.to_dict())
                    reply = wire.recv(ours, time.monotonic() + job.limits.backstop_s + 30)
                except wire.ChannelClosed:
                    if attempt == 0 and _hung_up(ctl):  # it retired before it started this job: not the job's doing
                        with self._lock:
                            self._retire(ctl)
                        continue
                    raise
                return Outcome.from_dict(reply)
            except (wire.ChannelClosed, wire.DeadlineExceeded, CodecError, KeyError, TypeError, ValueError) as e:
                return Outcome("error", (False,) * len(job.tests), f"sandbox supervisor failed: {e}",
                               wall_s=time.monotonic() - t0)
            finally:
                ours.close()
        return Outcome("error", (False,) * len(job.tests), "sandbox could not be reached", wall_s=time.monotonic() - t0)

    def _shutdown(self) -> None:
        self._retire(self._ctl)
        self._collect_retired(wait=True)

    def close(self) -> None:
        with self._lock:
            if self._owner == os.getpid():
                self._shutdown()


def _hung_up(ctl: socket.socket) -> bool:
    """Whether the zygote closed its end of the control socket (it never writes after its hello),
    or another thread already retired it."""
    if ctl.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(ctl, select.POLLIN)
    return bool(poller.poll(0))


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default

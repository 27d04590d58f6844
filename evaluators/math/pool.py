"""A persistent pool of grading worker processes with a hard per-call deadline enforced from outside.

Why not SIGALRM: it only works in the main thread and cannot interrupt C code. Here the caller waits
on a socket with a deadline; a worker that overruns is SIGKILLed and replaced, so no computation (sympy,
bignum arithmetic, a regex) can hold a grade past the bound. Workers are forked from a fork server
(`zygote.py`) that imported sympy once, so a replacement is ready in milliseconds. Each worker also caps
its address space (RLIMIT_AS), so memory blow-ups end as a MemoryError or a dead worker, never a
swapping host.
Thread-safe: any number of threads may call `call` at once; each borrows one idle worker.
"""

from __future__ import annotations

import atexit
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

DEFAULT_DEADLINE_S = float(os.environ.get("THINKBENCH_GRADER_DEADLINE_S", "1.2"))
MEMORY_LIMIT_BYTES = int(os.environ.get("THINKBENCH_GRADER_MEMORY_MB", "3072")) * 2**20
STARTUP_TIMEOUT_S = 60.0


class WorkerTimeout(Exception):
    """The call overran its deadline; the worker was killed."""


class WorkerFailed(Exception):
    """The worker died or raised (payload says why)."""


def serve(conn: Connection, memory_limit: int) -> None:
    """Worker main loop (in a forked worker): run named tasks until the pipe closes."""
    try:
        import resource  # noqa: PLC0415 - Unix-only; its ImportError is caught just below

        if memory_limit > 0:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):
        pass
    from evaluators.math.worker import run_task  # noqa: PLC0415 - loads sympy: workers only, never the caller

    conn.send(("ready", os.getpid()))
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_task(name, args))


class _Zygote:
    """Handle on the fork server process (see zygote.py); restarted if it dies."""

    def __init__(self, memory_limit: int):
        self._memory_limit = memory_limit
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        mine, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        code = "import sys; from evaluators.math.zygote import main; main(int(sys.argv[1]), int(sys.argv[2]))"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, str(theirs.fileno()), str(self._memory_limit)],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, close_fds=True,
        )
        theirs.close()
        mine.settimeout(STARTUP_TIMEOUT_S)
        try:
            if mine.recv(1) != b"R":
                raise WorkerFailed("grader fork server failed to start")
        except OSError as e:
            self._proc.kill()
            raise WorkerFailed(f"grader fork server failed to start: {e}") from e
        mine.settimeout(None)
        self._control = mine

    def fork(self, worker_end: socket.socket) -> int:
        """Start one worker serving `worker_end`; return its pid."""
        with self._lock:
            for attempt in (0, 1):
                if self._control is None or self._proc is None or self._proc.poll() is not None:
                    self.close()
                    self._start()
                assert self._control is not None
                try:
                    socket.send_fds(self._control, [b"F"], [worker_end.fileno()])
                    data = b""
                    while len(data) < 8:
                        chunk = self._control.recv(8 - len(data))
                        if not chunk:
                            raise OSError("fork server closed")
                        data += chunk
                    return struct.unpack("q", data)[0]
                except OSError:
                    self.close()
                    if attempt:
                        raise
            raise WorkerFailed("unreachable")

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None


class _Worker:
    """One worker process, forked lazily on first use so that replacing a killed one never blocks."""

    def __init__(self, zygote: _Zygote):
        self._zygote = zygote
        self.pid: int | None = None
        self.conn: Connection | None = None
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        if self.conn is None:
            mine, theirs = socket.socketpair()
            try:
                self.pid = self._zygote.fork(theirs)
            except OSError as e:
                mine.close()
                raise WorkerFailed(f"could not start a grader worker: {e}") from e
            finally:
                theirs.close()
            self.conn = Connection(mine.detach())
        if not self.conn.poll(STARTUP_TIMEOUT_S):
            raise WorkerFailed("grader worker did not start")
        msg = self.conn.recv()
        if not (isinstance(msg, tuple) and msg[0] == "ready"):
            raise WorkerFailed(f"unexpected worker hello {msg!r}")
        self.ready = True

    def kill(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass


class WorkerPool:
    def __init__(self, size: int, memory_limit: int = MEMORY_LIMIT_BYTES):
        self._zygote = _Zygote(memory_limit)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._size = 0
        self._closed = False
        self._pid = os.getpid()  # the process that owns the workers; a forked child must make its own pool
        self._all: set[_Worker] = set()
        self.kills = 0
        self.resize(size)

    @property
    def size(self) -> int:
        return self._size

    def resize(self, size: int) -> None:
        """Grow to at least `size` workers (the pool never shrinks while in use)."""
        with self._lock:
            while self._size < max(1, size):
                self._idle.put(self._spawn())
                self._size += 1

    def _spawn(self) -> _Worker:
        w = _Worker(self._zygote)
        self._all.add(w)
        return w

    def warm_up(self) -> None:
        """Wait until every idle worker has started (so timings measure grading, not imports)."""
        held = []
        for _ in range(self._size):
            try:
                w = self._idle.get(timeout=STARTUP_TIMEOUT_S)
            except queue.Empty:
                break
            w.wait_ready()
            held.append(w)
        for w in held:
            self._idle.put(w)

    def call(self, name: str, args: tuple, deadline_s: float | None = None) -> tuple[str, Any]:
        """Run task `name(*args)` in a worker: (status, payload) as `worker.run_task` tags it.

        Raises WorkerTimeout after deadline_s (the worker is killed and replaced) and WorkerFailed when
        the worker dies (e.g. its memory limit)."""
        if self._closed:
            raise WorkerFailed("pool is closed")
        deadline = DEFAULT_DEADLINE_S if deadline_s is None else deadline_s
        worker = self._idle.get()
        healthy = False
        try:
            worker.wait_ready()
            assert worker.conn is not None
            worker.conn.send((name, args))
            if not worker.conn.poll(deadline):
                raise WorkerTimeout(f"no verdict within {deadline:.2f} s; worker killed")
            status, payload = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, BrokenPipeError) as e:
            raise WorkerFailed(f"worker died ({type(e).__name__}); likely its memory limit") from e
        finally:
            if healthy:
                self._idle.put(worker)
            else:
                self._replace(worker)
        return status, payload

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        self.kills += 1
        if self._closed:
            return
        self._idle.put(self._spawn())

    def close(self) -> None:
        self._closed = True
        for w in list(self._all):
            w.kill()
        self._all.clear()
        self._zygote.close()


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def default_pool_size() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def get_pool(min_size: int | None = None) -> WorkerPool:
    """The process-wide pool, created on first use (and re-created after a fork)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._closed or _POOL._pid != os.getpid():
            _POOL = WorkerPool(min_size or default_pool_size())
        elif min_size and min_size > _POOL.size:
            _POOL.resize(min_size)
        return _POOL


def shutdown() -> None:
    """Kill every worker now (also runs at interpreter exit)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.close()
            _POOL = None


atexit.register(shutdown)



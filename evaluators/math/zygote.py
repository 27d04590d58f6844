"""A tiny fork server for grading workers: imports sympy once, then forks a fresh worker per request.

Why not multiprocessing's forkserver/spawn: they re-import the caller's `__main__` in every worker (which
fails for stdin scripts and costs time for heavy CLIs) and share global state with other libraries.
This process is started with `python -c`, is single-threaded (so forking is safe), and exits when the
parent's control socket closes. Killing a worker is the parent's job (it gets the pid back).

Protocol on the control socket: parent sends one byte plus a socket fd (SCM_RIGHTS); the zygote forks a
worker serving that socket and answers with the worker pid (8 bytes). At start it sends b"R" when ready.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection

from evaluators.math.pool import serve


def _watch_parent(parent_pid: int) -> None:
    """A worker must not outlive its zygote (e.g. when the grading process was killed mid-call)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(0)


def _run_worker(fd: int, memory_limit: int, zygote_pid: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(zygote_pid,), daemon=True).start()
    serve(Connection(fd), memory_limit)


def main(control_fd: int, memory_limit: int) -> None:
    # The preload: sympy and math-verify load once here, before any fork, not in whatever imports this module.
    import evaluators.math.worker  # noqa: F401, PLC0415 - imported for its side effect, the preload above

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped automatically
    control = socket.socket(fileno=control_fd)
    control.sendall(b"R")
    my_pid = os.getpid()
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 1)
        except OSError:
            return
        if not msg:
            return
        pid = os.fork()
        if pid == 0:
            control.close()
            try:
                _run_worker(fds[0], memory_limit, my_pid)
            finally:
                os._exit(0)
        os.close(fds[0])
        control.sendall(struct.pack("q", pid))


if __name__ == "__main__":  # pragma: no cover - started by pool.py with -c
    main(int(sys.argv[1]), int(sys.argv[2]))

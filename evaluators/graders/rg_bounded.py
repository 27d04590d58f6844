"""reasoning-gym's verifiers run in worker processes with a hard deadline, never in the grading process itself.

Several verifiers hand the model's answer to sympy (`parse_expr` evaluates: `9**9**9**9` never returns in
simple_integration), so a score is asked of a persistent child interpreter over a pipe and the caller waits
with a deadline (THINKBENCH_RG_DEADLINE_S, default 5 s). A child that overruns is SIGKILLed and replaced on
the next call; each child also caps its address space (THINKBENCH_GRADER_MEMORY_MB, as the math pool does).
Thread-safe: concurrent callers (regrade's threads) borrow one idle child each.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

DEADLINE_S = float(os.environ.get("THINKBENCH_RG_DEADLINE_S", "5"))
MEMORY_LIMIT_BYTES = int(os.environ.get("THINKBENCH_GRADER_MEMORY_MB", "3072")) * 2**20
STARTUP_S = 60.0
_HEADER = struct.Struct(">Q")
PING: tuple[str, None, None, dict[str, Any]] = ("", None, None, {})  # answered once reasoning-gym is imported


class VerifierTimeout(Exception):
    """The verifier overran its deadline; its process was killed."""


class VerifierFailed(Exception):
    """The verifier process died (its memory limit, most likely)."""


def _write(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, n: int, until: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if until is not None:
            left = until - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise VerifierTimeout("no score within the deadline")
        chunk = os.read(fd, n - got)
        if not chunk:
            raise VerifierFailed("the verifier process died")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class _Child:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen([sys.executable, "-c", "from evaluators.graders.rg_bounded import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def score(self, request: tuple[Any, ...], deadline_s: float) -> tuple[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _write(self.proc.stdin, request)
        except (BrokenPipeError, OSError):
            raise VerifierFailed("the verifier process died") from None
        fd = self.proc.stdout.fileno()
        until = time.monotonic() + deadline_s
        size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, until))[0]
        reply: tuple[str, Any] = pickle.loads(_read_exactly(fd, size, until))  # our own child's reply
        return reply

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


_IDLE: queue.LifoQueue[_Child] = queue.LifoQueue()
_PID = [os.getpid()]
_LOCK = threading.Lock()


@atexit.register
def shutdown() -> None:
    """Stop the idle children (they would also exit on their own once this process's end of the pipe closes)."""
    if _PID[0] != os.getpid():
        return
    while not _IDLE.empty():
        _IDLE.get_nowait().kill()


def score(task: str, config: Any, answer: str | None, entry: dict[str, Any],
          deadline_s: float = DEADLINE_S) -> tuple[str, Any]:
    """("ok", score) or ("error", exception name) from the task's score_answer within `deadline_s` (a new child's
    import of reasoning-gym is waited for first). Raises VerifierTimeout / VerifierFailed."""
    with _LOCK:
        if _PID[0] != os.getpid():  # a forked process makes its own children
            while not _IDLE.empty():
                _IDLE.get_nowait()
            _PID[0] = os.getpid()
    try:
        child, fresh = _IDLE.get_nowait(), False
    except queue.Empty:
        child, fresh = _Child(), True
    healthy = False
    try:
        if fresh:
            child.score(PING, STARTUP_S)  # its import of reasoning-gym is not the verifier's time
        result = child.score((task, config, answer, entry), deadline_s)
        healthy = True
        return result
    finally:
        if healthy:
            _IDLE.put(child)
        else:
            child.kill()


def serve() -> None:
    """Child main loop: read (task, config, answer, entry), reply with the score; prints go to stderr."""
    try:
        import resource  # noqa: PLC0415 - Unix-only; its ImportError is caught just below

        if MEMORY_LIMIT_BYTES > 0:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what tasks print never corrupts the replies
    import importlib  # noqa: PLC0415 - child only

    factory = importlib.import_module("reasoning_gym.factory")
    datasets: dict[tuple[str, str], Any] = {}
    fd = sys.stdin.fileno()
    while True:
        try:
            size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, None))[0]
        except VerifierFailed:
            return  # the parent closed the pipe
        task, config, answer, entry = pickle.loads(_read_exactly(fd, size, None))
        if not task:
            _write(out, ("ok", 0.0))
            continue
        key = (task, repr(config))  # configs are unhashable dataclasses; their repr names every field
        try:
            if key not in datasets:
                datasets[key] = factory.DATASETS[task][0](config=config)
            _write(out, ("ok", float(datasets[key].score_answer(answer, entry))))
        except Exception as e:  # noqa: BLE001 - its verifiers raise many kinds on malformed answers (int('x'), parsers)
            _write(out, ("error", type(e).__name__))

"""The zygote: a fresh interpreter with the usual modules imported, forking one supervisor per job.

It is started with a minimal environment by `python -I`, so its memory holds no dataset, no
credentials and no harness state that a forked candidate could scan. It never sees a job's
content either: the grader passes it only a socket per job (SCM_RIGHTS), and the supervisor
reads the job from that socket after forking the candidate. Forking a warm interpreter instead of
starting `python` per program is what makes grading fast.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import sysconfig
from pathlib import Path

from evaluators.code import landlock, namespaces, seccomp, supervisor

# Imported once here so each program starts with them loaded (forks share the pages).
PRELOAD = (
    "array bisect calendar cmath collections contextlib copy dataclasses datetime decimal enum fractions "
    "functools hashlib heapq io itertools json math numbers operator random re statistics string struct "
    "textwrap typing unicodedata"
).split()
_TMPFS_MB = 1024


def _read_paths() -> tuple[str, ...]:
    """What a candidate may read: the interpreter, its libraries, system libraries; not the repo,
    the datasets, /proc or /home."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    paths |= {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/localtime",
              "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/dev/urandom", "/dev/random", "/dev/zero"}
    return tuple(sorted(p for p in paths if p and os.path.exists(p)))


def _probe_namespaces() -> list[str]:
    pid = os.fork()
    if pid == 0:
        ok = namespaces.unshare(namespaces.CLONE_NEWPID | namespaces.CLONE_NEWNET)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return ["pidns", "netns"] if os.waitstatus_to_exitcode(status) == 0 else []


def prepare_host(fallback_workroot: str, privileged: bool = True) -> tuple[supervisor.Host, list[str]]:
    """Find out what this host allows. `privileged=False` forgoes root and namespaces even where
    available, to exercise (and test) the layers an unprivileged grader is left with."""
    root = privileged and os.geteuid() == 0
    layers: list[str] = []
    workroot = fallback_workroot
    if root:
        reachable = [Path(p) for p in (sys.base_prefix, sys.prefix, *sysconfig.get_paths().values())]
        try:
            layers += namespaces.private_filesystem(_TMPFS_MB, reachable)
            workroot = "/tmp"
        except OSError:
            pass
    probe = ["root-uid-per-sandbox"] if root else []
    probe += _probe_namespaces() if privileged else []
    abi = landlock.abi_version()
    probe += [f"landlock-abi{abi}"] if abi else []
    probe += ["seccomp"] if seccomp.supported() else []
    host = supervisor.Host(root, privileged, workroot, _read_paths(), tuple(layers))
    return host, layers + probe


def main() -> None:
    ctl_fd, parent, fallback, privileged = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4], sys.argv[5] == "1"
    # No PR_SET_PDEATHSIG here: it fires when the *thread* that started us exits (a grader's worker
    # thread), not the grader. The grader's death closes the control socket, which ends the loop.
    if os.getppid() != parent:
        os._exit(0)
    os.chdir("/")
    for name in PRELOAD:
        importlib.import_module(name)
    ctl = socket.socket(fileno=ctl_fd)
    host, found = prepare_host(fallback, privileged)
    namespaces.set_subreaper()
    if seccomp.supported():
        seccomp.prepare(None)
    gc.freeze()  # keep the collector from touching (and so copying) the zygote's pages in every fork
    ctl.send(json.dumps({"layers": found, "workroot": host.workroot}).encode())
    active: set[int] = set()
    while True:
        readable, _, _ = select.select([ctl], [], [], 1.0)
        if readable:
            msg, fds, _, _ = socket.recv_fds(ctl, 64, 16)
            if not msg:
                break
            for fd in fds:
                active.add(_spawn(ctl, fd, host))
        _reap(active, host)
    for pid in active:
        os.kill(pid, signal.SIGKILL)
    os._exit(0)


def _spawn(ctl: socket.socket, fd: int, host: supervisor.Host) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            ctl.close()
            supervisor.supervise(socket.socket(fileno=fd), host)
        finally:
            os._exit(1)
    os.close(fd)
    return pid


def _reap(active: set[int], host: supervisor.Host) -> None:
    """Collect finished supervisors; after one that died abnormally, remove its work directory and
    kill anything it left behind (re-parented here, as this process is a subreaper)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in active:
            continue  # a stray descendant re-parented here and now reaped
        active.discard(pid)
        if status != 0:
            shutil.rmtree(Path(host.workroot) / f"sb-{pid}", ignore_errors=True)
            for kid in supervisor.children():
                if kid not in active:
                    os.kill(kid, signal.SIGKILL)


if __name__ == "__main__":
    main()

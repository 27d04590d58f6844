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
import resource
import select
import signal
import socket
import sys
import sysconfig
import time
from pathlib import Path

from evaluators.code import landlock, namespaces, seccomp, supervisor
from evaluators.code.cleanup import remove_tree

# Imported once here so each program starts with them loaded (forks share the pages).
PRELOAD = (
    "array bisect calendar cmath collections contextlib copy dataclasses datetime decimal enum fractions "
    "functools hashlib heapq io itertools json math numbers operator random re statistics string struct "
    "textwrap typing unicodedata"
).split()
_TMPFS_MB = 1024
_WATCHED_RLIMITS = (resource.RLIMIT_NOFILE, resource.RLIMIT_NPROC, resource.RLIMIT_AS, resource.RLIMIT_CPU,
                    resource.RLIMIT_FSIZE, resource.RLIMIT_STACK, resource.RLIMIT_DATA)


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


def _has_root_capabilities() -> bool:
    """uid 0 *with* the capabilities the privileged layers need (chown, setgid, setuid, sys_admin):
    uid 0 without them (a container that dropped them) is treated as an unprivileged user."""
    try:
        status = Path("/proc/self/status").read_text()
        eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    except (OSError, StopIteration, ValueError):
        return os.geteuid() == 0
    need = (1 << 0) | (1 << 6) | (1 << 7) | (1 << 21)
    return os.geteuid() == 0 and eff & need == need


def prepare_host(fallback_workroot: str, privileged: bool = True) -> tuple[supervisor.Host, list[str]]:
    """Find out what this host allows. `privileged=False` forgoes root and namespaces even where
    available, to exercise (and test) the layers an unprivileged grader is left with."""
    root = privileged and _has_root_capabilities()
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


def _health() -> tuple[int, ...]:
    """The zygote's own limits and priority. Every supervisor and candidate inherits them, so if
    anything changed them (a candidate running under the grader's uid, before seccomp confined
    `prlimit`), later programs would fail for reasons that are not theirs."""
    limits = [v for r in _WATCHED_RLIMITS for v in resource.getrlimit(r)]
    return (*limits, os.getpriority(os.PRIO_PROCESS, 0))


def _restore(healthy: tuple[int, ...]) -> bool:
    """Put our limits and priority back (possible with CAP_SYS_RESOURCE, or where only soft limits
    were lowered); whether that worked."""
    for i, r in enumerate(_WATCHED_RLIMITS):
        try:
            resource.setrlimit(r, (healthy[2 * i], healthy[2 * i + 1]))
        except (OSError, ValueError):
            pass
    try:
        os.setpriority(os.PRIO_PROCESS, 0, healthy[-1])
    except OSError:
        pass
    return _health() == healthy


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
        seccomp.prepare(1)  # the filter of a candidate that is PID 1 of its namespace
    gc.freeze()  # keep the collector from touching (and so copying) the zygote's pages in every fork
    ctl.send(json.dumps({"layers": found, "workroot": host.workroot}).encode())
    _serve(ctl, host)
    os._exit(0)


def _serve(ctl: socket.socket, host: supervisor.Host) -> None:
    """Fork a supervisor per socket received until the grader goes away. Nothing a job does may end
    this loop while other jobs are in flight (their supervisors die with us): a failure here, or a
    change to our own limits, makes us retire instead. We close the control socket (the grader
    then starts a fresh zygote), let the supervisors in flight finish, and exit."""
    healthy = _health()
    active: set[int] = set()
    cleaners: set[int] = set()
    while True:
        try:
            readable, _, _ = select.select([ctl], [], [], 1.0)
            if _health() != healthy and not _restore(healthy):
                break  # before reading the job: its socket is dropped unread, and the grader retries it
            if readable:
                msg, fds, _, _ = socket.recv_fds(ctl, 64, 16)
                if not msg:  # the grader is gone: so are the readers of every reply
                    for pid in active:
                        os.kill(pid, signal.SIGKILL)
                    return
                while fds:
                    active.add(_spawn(ctl, fds.pop(0), host, fds))
            _reap(active, cleaners, host)
        except Exception:  # noqa: BLE001 - retire (below) rather than die with supervisors in flight
            break
    ctl.close()
    _drain(active, cleaners, host)


def _drain(active: set[int], cleaners: set[int], host: supervisor.Host) -> None:
    """Wait for the supervisors in flight (each ends by its own alarm) and the cleaners."""
    while active or cleaners:
        try:
            _reap(active, cleaners, host)
        except Exception:  # noqa: BLE001 - keep waiting: a supervisor's reply is worth more than our exit
            pass
        time.sleep(0.05)


def _spawn(ctl: socket.socket, fd: int, host: supervisor.Host, rest: list[int]) -> int:
    try:
        pid = os.fork()
    except OSError:
        for f in (fd, *rest):  # the grader sees these jobs' channels close: `error` for them only
            os.close(f)
        rest.clear()
        raise
    if pid == 0:
        try:
            ctl.close()
            supervisor.supervise(socket.socket(fileno=fd), host)
        finally:
            os._exit(1)
    os.close(fd)
    return pid


def _reap(active: set[int], cleaners: set[int], host: supervisor.Host) -> None:
    """Collect finished supervisors; after one that died abnormally, have a child remove its work
    directory (so a huge tree never stalls this loop) and kill anything it left behind
    (re-parented here, as this process is a subreaper)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        cleaners.discard(pid)
        if pid not in active:
            continue  # a cleaner, or a stray descendant re-parented here and now reaped
        active.discard(pid)
        if status != 0:
            cleaner = _clean(Path(host.workroot) / f"sb-{pid}")
            if cleaner > 0:
                cleaners.add(cleaner)
            for kid in supervisor.children():
                if kid not in active and kid not in cleaners:
                    try:
                        os.kill(kid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


def _clean(workdir: Path) -> int:
    """Remove `workdir` in a child process; returns its pid (-1: removed here, fork failed)."""
    try:
        pid = os.fork()
    except OSError:
        remove_tree(workdir)
        return -1
    if pid == 0:
        try:
            remove_tree(workdir)
        finally:
            os._exit(0)
    return pid


if __name__ == "__main__":
    main()

"""The per-program supervisor: a trusted process that forks the candidate, runs the tests itself
and decides the verdict.

Order matters for secrecy: the candidate is forked *before* the job is read from the grader, so
the tests (and the expected values in them) never exist in any memory the candidate can scan.
The supervisor then lives outside the candidate's PID and user identity, so the candidate can
neither signal, trace nor read it, and it trusts only what it observes itself: test code it runs,
plain values it decodes, its own clock, and the kernel's exit status and rusage of the candidate.
"""

from __future__ import annotations

import builtins
import dis
import importlib
import os
import resource
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any, NoReturn

from evaluators.code import candidate, namespaces, wire
from evaluators.code.budget import Budget, sched_probe
from evaluators.code.cleanup import remove_tree
from evaluators.code.jobs import Job, Outcome, Status, TimeoutKind
from evaluators.code.remote import CandidateLost, CandidateTimeout, Rpc

UID_BASE = 2_000_000_000  # sandbox uid = UID_BASE + supervisor pid: unique among live sandboxes


class ContextError(Exception):
    """The trusted test context itself failed (a dataset or harness bug, not the program's fault)."""


@dataclass(frozen=True)
class Host:
    """What the zygote found it may do; fixed for its lifetime."""

    root: bool  # may give each sandbox a uid of its own
    namespaces: bool  # may try PID/network namespaces per program
    workroot: str
    read_paths: tuple[str, ...]
    layers: tuple[str, ...]


def supervise(job_sock: socket.socket, host: Host) -> NoReturn:
    """Run one job end to end and send its `Outcome` on `job_sock`. Never returns."""
    namespaces.set_pdeathsig(signal.SIGKILL)
    t0 = time.monotonic()
    uid = UID_BASE + os.getpid() if host.root else None
    workdir = Path(host.workroot) / f"sb-{os.getpid()}"
    layers = list(host.layers)
    try:
        remove_tree(workdir)  # left by an earlier supervisor with our (reused) pid
        workdir.mkdir(mode=0o700)
        if uid is not None:
            os.chown(workdir, uid, uid)
        layers.append("tmpdir")
        in_pidns = _new_namespaces(layers) if host.namespaces else False
        if namespaces.set_subreaper():
            layers.append("subreaper")
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            ours.close()
            job_sock.close()
            candidate.main(theirs)
        theirs.close()
        # Only now does the job exist in this process: the candidate's image never held it.
        job = Job.from_dict(wire.recv(job_sock, time.monotonic() + 60))
        signal.setitimer(signal.ITIMER_REAL, job.limits.backstop_s + 5.0)  # last resort: SIGALRM ends us
        _limit_self(job)
        outcome = _run(job, ours, pid, workdir, uid, in_pidns, host, layers, t0)
    except BaseException as e:  # noqa: BLE001 - whatever failed (even SystemExit), the grader still gets an outcome
        outcome = Outcome("error", (), f"sandbox failure: {type(e).__name__}: {e}"[:300], tuple(layers))
        reap_all()
        _drain(job_sock)
    try:
        remove_tree(workdir)  # never raises, however deep the tree the program left
        wire.send(job_sock, outcome.to_dict())
    finally:
        os._exit(0)


class SupervisorOverrun(BaseException):
    """This supervisor used its own CPU limit (the candidate's replies made it work that hard)."""


def _limit_self(job: Job) -> None:
    """Bound what the candidate's replies can make this process spend: memory (a `MemoryError`
    while decoding counts as a lost candidate) and CPU (soft limit: `SupervisorOverrun` stops the
    tests and the program fails; hard limit two seconds later, should that land inside one long C
    call: killed, and the zygote cleans up). Set after the fork, so the candidate's own limits are
    not capped by them."""
    mem = job.limits.supervisor_memory_mb * 1024 * 1024
    cpu = job.limits.supervisor_cpu_seconds
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu += int(used.ru_utime + used.ru_stime) + 1

    def overrun(_signum: int, _frame: object) -> None:
        raise SupervisorOverrun("the supervisor's own CPU limit")

    signal.signal(signal.SIGXCPU, overrun)
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))


def _drain(sock: socket.socket) -> None:
    """Consume whatever the grader sent, so closing the socket does not reset it before it reads our reply."""
    sock.setblocking(False)
    try:
        while sock.recv(1 << 16):
            pass
    except OSError:
        pass


def _new_namespaces(layers: list[str]) -> bool:
    """New PID and network namespaces for the candidate-to-be (both only apply to children), and an
    IPC namespace (this process moves into it too: it uses none) so that System V IPC objects and
    POSIX message queues are private to this program and die with it, even where seccomp is absent."""
    if namespaces.unshare(namespaces.CLONE_NEWPID | namespaces.CLONE_NEWNET | namespaces.CLONE_NEWIPC):
        layers += ["pidns", "netns", "ipcns"]
        return True
    if namespaces.unshare(namespaces.CLONE_NEWPID | namespaces.CLONE_NEWNET):
        layers += ["pidns", "netns"]
        return True
    if namespaces.unshare(namespaces.CLONE_NEWNET):
        layers.append("netns")
    return False


def _run(job: Job, sock: socket.socket, pid: int, workdir: Path, uid: int | None, in_pidns: bool,
         host: Host, layers: list[str], t0: float) -> Outcome:
    budget = Budget(job.limits.timeout_s, job.limits.backstop_s, sched_probe(pid))
    rpc = Rpc(sock, budget)
    plan = {"workdir": str(workdir), "uid": uid, "read_paths": list(host.read_paths),
            "in_pid_namespace": in_pidns, "limits": job.limits.to_dict()}
    passed: list[bool] = []
    reason = ""
    setup_ok = False
    try:
        wire.send(sock, {"program": job.program, "plan": plan})
        hello = wire.recv(sock, budget)  # sent before the program runs, so still trustworthy
        layers += [str(x) for x in hello["layers"]]
        setup_ok = True
        rpc.interpret(wire.recv(sock, budget))  # the program's top level ran
        passed, reason = _run_tests(job, rpc)
    except CandidateTimeout:
        reason = "deadline passed"
    except SupervisorOverrun as e:
        reason = f"supervisor stopped: the candidate's replies used up {e}"
    except (wire.DeadlineExceeded, TimeoutError):
        rpc.timed_out = True
        reason = "deadline passed while loading the program"
    except ContextError as e:
        setup_ok, reason = False, str(e)
    except (wire.ChannelClosed, CandidateLost) as e:
        reason = f"candidate process gone: {e}" if setup_ok else f"sandbox setup failed: {e}"
    except Exception as e:  # noqa: BLE001 - the program's top level raised: any exception is its answer
        reason = f"program failed to load: {type(e).__name__}: {e}"
    budget.settle()  # while the candidate's schedstat can still be read
    wait_status, cpu = _stop(pid, in_pidns)
    passed += [False] * (len(job.tests) - len(passed))
    status = _classify(all(passed) and setup_ok and not reason, rpc, wait_status, cpu, job, setup_ok)
    kind = _timeout_kind(rpc, budget, wait_status, cpu, job) if status == "timeout" else ""
    if status == "correct":
        reason = f"passed {len(passed)} test(s)"
    elif kind:
        reason = _timeout_reason(kind, budget, cpu, job) + (" while loading the program" if "loading" in reason else "")
    elif status == "error" and setup_ok:
        reason = f"resource limit: {reason or _describe(wait_status)}"
    return Outcome(status, tuple(passed), reason[:500] or _describe(wait_status), tuple(layers), round(cpu, 4),
                   round(time.monotonic() - t0, 4), kind, round(budget.waited_s, 4) if budget.measured else -1.0)


def _timeout_kind(rpc: Rpc, budget: Budget, wait_status: int, cpu: float, job: Job) -> TimeoutKind:
    """CPU first: a program that used its CPU limit is slow, whichever clock noticed first."""
    if _cpu_limited(wait_status, cpu, job):
        return "cpu"
    return "load" if rpc.timed_out and budget.starved else "wall"


def _timeout_reason(kind: TimeoutKind, budget: Budget, cpu: float, job: Job) -> str:
    lim, wall = job.limits, budget.elapsed()
    waited = f"{budget.waited_s:.1f} s waiting for a CPU" if budget.measured else "no scheduler statistics"
    if kind == "cpu":
        return f"CPU time limit: {cpu:.2f} s of CPU used (limit {lim.cpu_seconds} s) in {wall:.1f} s wall"
    if kind == "wall":
        return (f"wall-clock limit: {wall - budget.waited_s:.1f} s able to run (limit {lim.timeout_s:g} s) "
                f"with only {cpu:.2f} s of CPU used (limit {lim.cpu_seconds} s): blocked or sleeping; {waited}")
    return (f"wall-clock backstop ({lim.backstop_s:g} s) passed while the machine was busy: {cpu:.2f} s of CPU "
            f"used (limit {lim.cpu_seconds} s), {waited}")


def _run_tests(job: Job, rpc: Rpc) -> tuple[list[bool], str]:
    g: dict[str, Any] = {"__name__": "__test__", "__builtins__": builtins}
    try:
        exec(compile(job.context, "context.py", "exec"), g)  # trusted: the dataset's own prompt/helpers
        codes = [compile(t, f"test_{i}.py", "exec") for i, t in enumerate(job.tests)]
    except Exception as e:  # noqa: BLE001 - the dataset's test code may raise anything; all are setup errors
        raise ContextError(f"test code failed: {type(e).__name__}: {e}") from None
    try:
        g[job.entry_point] = g["candidate"] = rpc.get(job.entry_point)
    except NameError:
        return [], f"program does not define {job.entry_point}"
    for name in sorted(_global_reads(codes) - set(g)):
        if hasattr(builtins, name):
            continue
        if name in sys.stdlib_module_names:  # imported here, never taken from the candidate
            try:
                g[name] = importlib.import_module(name)
                continue
            except ImportError:
                pass
        try:
            g[name] = rpc.get(name)
        except NameError:
            pass  # maybe the test defines it; otherwise the test fails with NameError
    passed, first_failure = [], ""
    for i, code in enumerate(codes):
        ok, why = True, ""
        try:
            exec(code, g)
        except (CandidateTimeout, CandidateLost):
            ok = False
        except SupervisorOverrun:
            raise
        except BaseException as e:  # noqa: BLE001 - any other failure (even SystemExit) fails this test only
            ok, why = False, f"test {i} failed: {type(e).__name__}: {e}"
        if rpc.timed_out:
            raise CandidateTimeout("deadline passed")
        if rpc.lost:
            raise CandidateLost(rpc.lost)
        passed.append(ok)
        first_failure = first_failure or why
    return passed, first_failure


def _global_reads(codes: list[CodeType]) -> set[str]:
    """Global names the tests read (recursively through nested functions), minus those they assign."""
    reads, stores = set(), set()
    stack = list(codes)
    while stack:
        code = stack.pop()
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                reads.add(ins.argval)
            elif ins.opname in ("STORE_NAME", "STORE_GLOBAL") and code in codes:
                stores.add(ins.argval)
        stack += [c for c in code.co_consts if isinstance(c, CodeType)]
    return reads - stores


def _stop(pid: int, in_pidns: bool) -> tuple[int, float]:
    """Kill the candidate and every descendant; return its wait status and CPU seconds (kernel's)."""
    try:
        os.kill(pid, signal.SIGKILL)  # in a PID namespace this takes the whole namespace with it
        if not in_pidns:
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, status, usage = os.wait4(pid, 0)
    reap_all()
    return status, usage.ru_utime + usage.ru_stime


def children() -> list[int]:
    kids: list[int] = []
    for tid in os.listdir("/proc/self/task"):
        try:
            kids += [int(p) for p in Path(f"/proc/self/task/{tid}/children").read_text().split()]
        except OSError:
            return children_by_scan()
    return kids


def children_by_scan() -> list[int]:
    me, kids = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                kids.append(int(entry))
    return kids


def reap_all() -> None:
    """Kill and reap every remaining descendant. Orphans (double-forked daemons that left the
    process group) are re-parented here because this process is a child subreaper."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            continue
        for kid in children():
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.0005)


def _classify(all_passed: bool, rpc: Rpc, wait_status: int, cpu: float, job: Job, setup_ok: bool) -> Status:
    """Only trusted observations decide: the supervisor's clock and the kernel's CPU accounting,
    run-queue statistics and exit status. A program can make itself look like a resource failure
    (by raising MemoryError or sending itself SIGXFSZ) but never like a pass."""
    if all_passed:
        return "correct"
    if rpc.timed_out:
        return "timeout"
    if _cpu_limited(wait_status, cpu, job):
        return "timeout"
    if not setup_ok:
        return "error"
    if rpc.memory_error or _killed_by(wait_status, signal.SIGXFSZ):
        return "error"
    return "wrong"


def _cpu_limited(wait_status: int, cpu: float, job: Job) -> bool:
    """The kernel's CPU limit ended it (SIGXCPU: the kernel's own rusage may show a little less
    than the limit), or its rusage shows it used (nearly) all of it."""
    return _killed_by(wait_status, signal.SIGXCPU) or cpu >= job.limits.cpu_seconds * 0.95


def _killed_by(wait_status: int, sig: int) -> bool:
    """Killed by `sig`, or (as PID 1 of its namespace, where the kernel ignores it) exited 128+sig."""
    if os.WIFSIGNALED(wait_status):
        return os.WTERMSIG(wait_status) == sig
    return os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 128 + sig


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"candidate killed by {signal.Signals(os.WTERMSIG(wait_status)).name}"
    return f"candidate exited with {os.waitstatus_to_exitcode(wait_status)}"

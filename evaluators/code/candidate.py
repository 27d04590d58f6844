"""The candidate process: lock itself down, run the untrusted program, answer calls with plain data.

Everything here before `exec(program)` is trusted; everything after may be subverted by the
program (it can patch this module, the codec, builtins). That is fine: the only thing that leaves
this process is bytes on one socket, which the supervisor decodes into builtin types or opaque
references and judges itself. Nothing in this process ever says "passed".
"""

from __future__ import annotations

import builtins
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from evaluators.code import landlock, namespaces, seccomp, wire
from evaluators.code.codec import Ref, pack, unpack
from evaluators.code.limits import Limits, apply_rlimits


@dataclass(frozen=True)
class LockdownPlan:
    """How the supervisor wants this process confined (decided on the trusted side)."""

    workdir: str
    uid: int | None  # a uid of its own, when the grader runs as root
    read_paths: tuple[str, ...]
    in_pid_namespace: bool
    limits: Limits = field(default_factory=Limits)


def lock_down(plan: LockdownPlan, keep_fd: int) -> list[str]:
    """Apply every available layer, in an order where each step still has the rights it needs.
    Returns the layers in force (for the record)."""
    layers: list[str] = []
    os.setsid()  # own session and process group: killpg reaches everything that stays in it
    layers.append("setsid")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 16)
    os.chdir(plan.workdir)
    # Python ignores SIGPIPE and SIGXFSZ; restore the kernel's defaults so a file-size kill is a kill
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGXFSZ, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    if plan.in_pid_namespace:
        # As PID 1 of its namespace the kernel would ignore these default-fatal signals; exit instead
        # with the conventional 128+signal status the supervisor reads as a resource kill.
        for sig in (signal.SIGXFSZ, signal.SIGXCPU):
            signal.signal(sig, lambda signum, _frame: os._exit(128 + signum))
    apply_rlimits(plan.limits, own_uid=plan.uid is not None)
    layers.append("rlimits" + ("+nproc" if plan.uid is not None else ""))
    if namespaces.set_no_new_privs():  # setuid binaries gain nothing; required by Landlock and seccomp
        layers.append("no_new_privs")
    try:
        got = landlock.restrict(plan.read_paths, (plan.workdir, os.devnull))
        layers += [f"landlock-{f}" for f in got]
    except OSError:
        pass
    if plan.uid is not None:
        os.setgroups([])
        os.setgid(plan.uid)
        os.setuid(plan.uid)  # also empties every capability set
        layers.append("uid")
    elif os.geteuid() == 0:
        namespaces.drop_capabilities()
        layers.append("nocaps")
    namespaces.set_pdeathsig(signal.SIGKILL)  # after the uid change, which clears it
    limit_kill = not plan.in_pid_namespace
    if seccomp.install(os.getpid(), limit_kill):  # pid 1 in a PID namespace (the zygote built that one)
        layers.append("seccomp" + ("+kill" if limit_kill else ""))
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": plan.workdir, "TMPDIR": plan.workdir, "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    sys.argv = ["solution"]
    return layers


class _Server:
    """Answers the supervisor's requests about the program's namespace."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ns: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
        self.table: list[Any] = []

    def to_ref(self, obj: Any) -> Ref:
        self.table.append(obj)
        return Ref(len(self.table) - 1)

    def from_ref(self, i: int) -> Any:
        return self.table[i]

    def target(self, msg: dict[str, Any]) -> Any:
        if "name" in msg:
            name = msg["name"]
            if name in self.ns:
                return self.ns[name]
            raise NameError(f"name {name!r} is not defined")
        return self.table[msg["ref"]]

    def handle(self, msg: dict[str, Any]) -> Any:
        op = msg["op"]
        if op == "get":
            return self.target(msg)
        obj = self.target(msg)
        if op == "call":
            args = unpack(msg["args"], self.from_ref)
            kwargs = unpack(msg["kwargs"], self.from_ref)
            return obj(*args, **kwargs)
        if op == "getattr":
            return getattr(obj, msg["attr"])
        if op == "setattr":
            setattr(obj, msg["attr"], unpack(msg["value"], self.from_ref))
            return None
        if op == "iter":
            return list(obj)
        if op == "len":
            return len(obj)
        raise ValueError(f"unknown op {op!r}")

    def reply_error(self, e: BaseException) -> None:
        wire.send(self.sock, {"raise": type(e).__name__, "msg": str(e)[:300]})

    def serve(self, program: str) -> None:
        try:
            exec(compile(program, "solution.py", "exec"), self.ns)
            wire.send(self.sock, {"value": None})
        except BaseException as e:  # noqa: BLE001 - any failure to load is an answer, not a crash
            self.reply_error(e)
        while True:
            msg = wire.recv(self.sock)
            try:
                value = self.handle(msg)
                reply = {"value": pack(value, self.to_ref)}
            except BaseException as e:  # noqa: BLE001 - whatever a call raises is the answer, sent back
                self.reply_error(e)
                continue
            wire.send(self.sock, reply)


def main(sock: socket.socket) -> None:
    """Entry in the forked child: wait for the program and the plan (sent by the supervisor, read
    before any untrusted code runs), confine, run, serve. Never returns."""
    code = 0
    try:
        first = wire.recv(sock)
        p = first["plan"]
        plan = LockdownPlan(p["workdir"], p["uid"], tuple(p["read_paths"]), p["in_pid_namespace"],
                            Limits.from_dict(p["limits"]))
        layers = lock_down(plan, sock.fileno())
        wire.send(sock, {"layers": layers})
        _Server(sock).serve(first["program"])
    except BaseException:  # noqa: BLE001 - the forked child exits here whatever happened, never returns
        code = 1
    finally:
        os._exit(code)

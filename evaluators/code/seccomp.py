"""A seccomp-bpf deny-list for the candidate process (x86-64 only), built with ctypes.

What it stops, whatever the program's uid: sockets of every family (a program may still make a
connected stream or seqpacket `socketpair`, which can address nothing outside it), which keeps it
off the network where no network namespace could be made and away from Unix socket files anywhere
(Landlock does not govern connecting to them); System V IPC and POSIX message queues (they outlive
the program and are shared across the host's IPC namespace); ptrace and cross-process memory
access; new namespaces, mounts, chroot; kernel keyrings, BPF, perf, io_uring, module loading and
other host-wide knobs; changes to file metadata (mode, owner, times, extended attributes: Landlock
does not govern these either, and a program under the grader's own uid could change the grader's
files); and resource limits, priority, affinity or I/O priority of any process but its own
(`prlimit` and friends reach every process of the same uid). With `limit_kill` it also refuses
signals to any process but the caller's own process group, for hosts where no PID namespace hides
the grader. Other architectures get no filter (the returned flag says so) and rely on the
remaining layers.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_ALLOW, _RET_KILL = 0x7FFF0000, 0x80000000
_RET_ERRNO = 0x00050000
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALU_AND_K = 0x54
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_X32_BIT = 0x40000000
_AF_UNIX, _SOCK_STREAM, _SOCK_SEQPACKET, _SOCK_TYPE_MASK = 1, 1, 5, 0xF
_CLONE_NS_FLAGS = 0x7E020000 | 0x80  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME

# Syscalls refused outright (x86-64 numbers).
_DENY = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164, "clock_settime": 227,
    "clock_adjtime": 305, "adjtimex": 159, "iopl": 172, "ioperm": 173, "quotactl": 179, "syslog": 103,
    "pidfd_send_signal": 424, "tkill": 200,
    # System V IPC and POSIX message queues: objects that outlive the program and that other
    # programs (and, under the grader's uid, the host's own) can open
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "mq_open": 240,
    "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    # file metadata, which Landlock does not govern (any file the uid owns, inside the sandbox or not)
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94,
    "fchownat": 260, "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198,
    "fremovexattr": 199, "setxattrat": 463, "removexattrat": 466,
    # acting on other processes of the same uid
    "process_madvise": 440, "process_mrelease": 448, "kcmp": 312, "migrate_pages": 256, "move_pages": 279,
}
# Syscalls whose first argument is a pid: allowed only for 0 (the caller) or the caller's own pid.
_SELF_ONLY = {"prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144, "sched_setparam": 142,
              "sched_setattr": 314}
_SOCKET, _SOCKETPAIR, _CLONE, _CLONE3 = 41, 53, 56, 435
_SETPRIORITY, _IOPRIO_SET = 141, 251
_KILL, _TGKILL, _RT_SIGQUEUEINFO, _RT_TGSIGQUEUEINFO = 62, 234, 129, 297
_FIRST_RULED = min(*_DENY.values(), *_SELF_ONLY.values(), _SOCKET, _SOCKETPAIR, _CLONE, _SETPRIORITY, _IOPRIO_SET,
                   _KILL, _TGKILL, _RT_SIGQUEUEINFO, _RT_TGSIGQUEUEINFO)
_ARG0, _ARG1 = 16, 24  # offsets of the low 32 bits of args[0], args[1] in struct seccomp_data


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def supported() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> tuple[int, int, int, int]:
    return (code, jt, jf, k & 0xFFFFFFFF)


def _program(own: int, limit_kill: bool) -> list[tuple[int, int, int, int]]:
    eperm = _RET_ERRNO | errno.EPERM
    allow, deny = _ins(_RET_K, _RET_ALLOW), _ins(_RET_K, eperm)
    p = [
        _ins(_LD_W_ABS, 4),  # arch
        _ins(_JEQ_K, _AUDIT_ARCH_X86_64, 1, 0),
        _ins(_RET_K, _RET_KILL),
        _ins(_LD_W_ABS, 0),  # syscall number
        _ins(_JSET_K, _X32_BIT, 0, 1),
        _ins(_RET_K, _RET_KILL),
        _ins(_JGE_K, _FIRST_RULED, 1, 0),  # read, write, mmap, close... (no rule below it): allow at once
        allow,
    ]

    def rule(nr: int, body: list[tuple[int, int, int, int]]) -> None:
        # if nr matches run body (which ends in a return), else skip it; reload nr for the next rule
        p.extend([_ins(_LD_W_ABS, 0), _ins(_JEQ_K, nr, 0, len(body)), *body])

    for nr in sorted(_DENY.values()):
        rule(nr, [deny])
    self_only = [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, 0, 1, 0), _ins(_JEQ_K, own, 0, 1), allow, deny]
    for nr in sorted(_SELF_ONLY.values()):
        rule(nr, self_only)
    # setpriority(which, who): PRIO_PROCESS of itself, or PRIO_PGRP 0 (its own group); never PRIO_USER
    rule(_SETPRIORITY, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, 0, 1, 0), _ins(_JEQ_K, 1, 0, 3),
                        _ins(_LD_W_ABS, _ARG1), _ins(_JEQ_K, 0, 2, 0), _ins(_JEQ_K, own, 1, 0), deny, allow])
    # ioprio_set(which, who): IOPRIO_WHO_PROCESS of itself only
    rule(_IOPRIO_SET, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, 1, 0, 4), _ins(_LD_W_ABS, _ARG1),
                       _ins(_JEQ_K, 0, 1, 0), _ins(_JEQ_K, own, 0, 1), allow, deny])
    rule(_SOCKET, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, _AF_UNIX, 0, 1), deny,
                   _ins(_RET_K, _RET_ERRNO | errno.EAFNOSUPPORT)])
    # socketpair: a connected AF_UNIX stream or seqpacket pair only (a datagram one could sendto a path)
    rule(_SOCKETPAIR, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, _AF_UNIX, 0, 4), _ins(_LD_W_ABS, _ARG1),
                       _ins(_ALU_AND_K, _SOCK_TYPE_MASK), _ins(_JEQ_K, _SOCK_STREAM, 2, 0),
                       _ins(_JEQ_K, _SOCK_SEQPACKET, 1, 0), deny, allow])
    rule(_CLONE, [_ins(_LD_W_ABS, _ARG0), _ins(_JSET_K, _CLONE_NS_FLAGS, 0, 1), deny, allow])
    rule(_CLONE3, [_ins(_RET_K, _RET_ERRNO | errno.ENOSYS)])  # its flags live in memory: make libc use clone
    if limit_kill:
        # kill(pid, sig): allowed for pid 0 (own group), own pid, -own pid (own group), or sig 0 (a probe)
        rule(_KILL, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, 0, 4, 0), _ins(_JEQ_K, own, 3, 0),
                     _ins(_JEQ_K, -own, 2, 0), _ins(_LD_W_ABS, _ARG1), _ins(_JEQ_K, 0, 0, 1), allow, deny])
        for nr in (_TGKILL, _RT_SIGQUEUEINFO, _RT_TGSIGQUEUEINFO):  # first argument is a tgid
            rule(nr, [_ins(_LD_W_ABS, _ARG0), _ins(_JEQ_K, own, 0, 1), allow, deny])
    p.append(allow)
    return p


_libc = ctypes.CDLL(None, use_errno=True)
_built: dict[tuple[int, bool], tuple[_Prog, ctypes.Array[_Filter]]] = {}


def prepare(own: int, limit_kill: bool = False) -> tuple[_Prog, ctypes.Array[_Filter]]:
    """Assemble the filter for a process whose pid is `own` (cached, so a zygote can build the one
    for PID 1 of a namespace once and every fork reuses it)."""
    key = (own, limit_kill)
    if key not in _built:
        ins = _program(own, limit_kill)
        arr = (_Filter * len(ins))(*[_Filter(c, jt, jf, k) for c, jt, jf, k in ins])
        _built[key] = (_Prog(len(ins), ctypes.cast(arr, ctypes.POINTER(_Filter))), arr)
    return _built[key]


def install(own: int, limit_kill: bool = False) -> bool:
    """Apply the filter to this process (pid `own` as it sees itself) and its future children
    (irrevocably). False when unsupported."""
    if not supported():
        return False
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    prog, _ = prepare(own, limit_kill)
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP failed")
    return True


def program_bytes(own: int = 1, limit_kill: bool = False) -> bytes:
    """The filter as raw sock_filter records (for inspection and tests)."""
    return b"".join(struct.pack("<HBBI", *i) for i in _program(own, limit_kill))

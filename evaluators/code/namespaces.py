"""Linux namespaces, mounts and process-control calls the standard library lacks (ctypes on libc).

Every function reports failure instead of raising where a missing kernel feature is expected,
so callers can fall back and record which layers are actually in force.
"""

from __future__ import annotations

import ctypes
import os
import stat
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWIPC = 0x08000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
_MS_REMOUNT = 32
_SYS_MOUNT_SETATTR, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 442, 0x8000, 0x1
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
_SYS_CAPGET, _SYS_CAPSET, _CAP_V3 = 125, 126, 0x20080522
_PR_CAPBSET_DROP = 24

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _err(what: str) -> OSError:
    e = ctypes.get_errno()
    return OSError(e, f"{what}: {os.strerror(e)}")


def unshare(flags: int) -> bool:
    return _libc.unshare(ctypes.c_int(flags)) == 0


def set_pdeathsig(sig: int) -> None:
    """Have the kernel send `sig` to this process when its parent dies (cleared by uid changes)."""
    _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def set_no_new_privs() -> bool:
    return _libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS


def set_subreaper() -> bool:
    """Orphaned descendants (double-forked daemons) are re-parented to us instead of init."""
    return _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def drop_capabilities() -> None:
    """Empty every capability set and the bounding set (for a uid-0 process that cannot change uid,
    e.g. root inside a user namespace)."""
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = (ctypes.c_uint32 * 2)(_CAP_V3, 0)
    data = (ctypes.c_uint32 * 6)()
    if _libc.syscall(_SYS_CAPSET, header, data) != 0:
        raise _err("capset")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    if _libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise _err(f"mount {target}")


def _set_readonly(path: str, readonly: bool, recursive: bool) -> None:
    class Attr(ctypes.Structure):
        _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64), ("prop", ctypes.c_uint64),
                    ("userns", ctypes.c_uint64)]

    attr = Attr(_MOUNT_ATTR_RDONLY, 0, 0, 0) if readonly else Attr(0, _MOUNT_ATTR_RDONLY, 0, 0)
    flags = _AT_RECURSIVE if recursive else 0
    rc = _libc.syscall(_SYS_MOUNT_SETATTR, ctypes.c_int(-100), path.encode(), ctypes.c_uint(flags),
                       ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    if rc != 0:
        raise _err("mount_setattr")


def _blocking_ancestor(path: Path) -> Path | None:
    """The highest directory on the way to `path` that other users cannot traverse."""
    for parent in reversed([path, *path.parents]):
        try:
            mode = parent.stat().st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return parent
    return None


def _outermost(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if not any(p == o or o in p.parents for o in out):
            out.append(p)
    return out


def private_filesystem(tmp_size_mb: int, reachable: list[Path]) -> list[str]:
    """Give this process (and its children) a mount namespace of its own in which every mount is
    read-only except a fresh size-capped tmpfs on /tmp (where work directories live, invisible to
    the host and freed with the namespace), and in which the `reachable` trees (the Python
    installation) stay reachable for an unprivileged uid even under a mode-0700 ancestor such as
    /root (which is replaced by an empty tmpfs, hiding the rest of it). Raises when the namespace
    cannot be made; returns the features set up."""
    if not unshare(CLONE_NEWNS):
        raise _err("unshare(CLONE_NEWNS)")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmp_size_mb}m,mode=0711")
    features = ["mountns", "tmpfs"]
    hidden: dict[Path, list[Path]] = {}
    for p in _outermost([q.resolve() for q in reachable if q.exists()]):
        anc = _blocking_ancestor(p)
        if anc is not None:
            hidden.setdefault(anc, []).append(p)
    stash = Path("/tmp/.stash")
    stash.mkdir(mode=0o700)
    for n, (anc, paths) in enumerate(hidden.items()):
        parked = []
        for i, p in enumerate(paths):
            slot = stash / f"{n}-{i}"
            slot.mkdir()
            _mount(str(p), str(slot), None, _MS_BIND | _MS_REC)
            parked.append((p, slot))
        _mount("tmpfs", str(anc), "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0755")
        for p, slot in parked:
            p.mkdir(parents=True, exist_ok=True)
            _mount(str(slot), str(p), None, _MS_BIND | _MS_REC)
            _libc.umount2(str(slot).encode(), 2)  # MNT_DETACH: the tree stays mounted at p
            slot.rmdir()
        features.append(f"reexposed:{anc}")
    stash.rmdir()
    try:
        _set_readonly("/", True, recursive=True)
        _set_readonly("/tmp", False, recursive=False)
        features.append("readonly-root")
    except OSError:
        pass
    return features

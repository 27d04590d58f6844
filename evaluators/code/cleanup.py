"""Removing a directory tree a hostile program built, without recursion and without raising.

`shutil.rmtree` recurses once per level (and, before Python 3.12, so does `os.walk`), so a
program that makes a tree a few thousand levels deep in its work directory turned the cleanup of
the supervisor and of the zygote into a `RecursionError` (which `ignore_errors` does not swallow).
This walks the tree with one open directory descriptor at a time, relative to its parent (so no
path ever grows past PATH_MAX and a symlink is never followed), and goes back up through `..`.
It runs only after every process of the program is dead, so nothing moves the tree meanwhile.
"""

from __future__ import annotations

import errno
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str | os.PathLike[str]) -> bool:
    """Delete `path` and everything under it. Never raises (not even on a missing path); returns
    whether it is gone. A directory its owner made unreadable (mode 0) is given back the rights
    needed to empty it."""
    try:
        return _remove(os.fspath(path))
    except Exception:  # noqa: BLE001 - cleanup of hostile data must not fail its caller; report, don't raise
        return not os.path.lexists(path)


def _open_dir(name: str, dir_fd: int | None) -> int | None:
    """Descriptor of directory `name` (relative to `dir_fd`), or None if it is not a directory."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=dir_fd)  # ours (or we are root): readable again
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except (NotADirectoryError, FileNotFoundError):
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:  # a symlink: removed as a file, never followed
            return None
        raise


def _remove(root: str) -> bool:
    try:
        fd = _open_dir(root, None)
    except FileNotFoundError:
        return True
    if fd is None:
        os.unlink(root)
        return True
    names: list[str] = []  # the path from `root` down to the directory `fd` is open on
    pending = [_empty_files(fd)]  # per open level: its subdirectories still to remove
    while True:
        if pending[-1]:
            child = pending[-1].pop()
            sub = _open_dir(child, fd)
            if sub is None:  # not a directory after all (or gone)
                _unlink(child, fd)
                continue
            os.close(fd)
            fd = sub
            names.append(child)
            pending.append(_empty_files(fd))
            continue
        pending.pop()
        if not names:
            os.close(fd)
            os.rmdir(root)
            return True
        parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = parent
        os.rmdir(names.pop(), dir_fd=fd)


def _empty_files(fd: int) -> list[str]:
    """Unlink every non-directory in the directory `fd` (each directory is scanned once, however
    wide); return its subdirectories."""
    try:
        os.fchmod(fd, stat.S_IRWXU)  # a read-only directory of ours cannot be emptied
    except OSError:
        pass
    subdirs = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
                continue
            _unlink(entry.name, fd)
    return subdirs


def _unlink(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass

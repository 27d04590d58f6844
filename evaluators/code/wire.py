"""Length-prefixed frames over a stream socket, with a deadline and a size cap on every read.

The reader never trusts the peer to finish a frame: a hostile writer that stalls, lies about the
length or closes half-way produces `ChannelClosed` or `DeadlineExceeded`, never a hang.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any, TypeAlias

from evaluators.code.codec import MAX_BYTES, dumps, loads

_HEADER = struct.Struct(">I")

# A `time.monotonic()` instant, or a callable returning the current one (a deadline that can move,
# asked again each time it seems to have passed), or None for no deadline.
Deadline: TypeAlias = float | Callable[[], float] | None


class ChannelClosed(ConnectionError):
    """The peer closed its end (or sent a frame that cannot be valid)."""


class DeadlineExceeded(TimeoutError):
    """The wall-clock deadline passed before a whole frame arrived."""


def send(sock: socket.socket, message: Any) -> None:
    data = dumps(message)
    try:
        sock.sendall(_HEADER.pack(len(data)) + data)
    except OSError as e:
        raise ChannelClosed(f"send failed: {e}") from None


def recv(sock: socket.socket, deadline: Deadline = None) -> Any:
    """One message; `deadline` is a `time.monotonic()` instant or a callable giving it (None waits for ever)."""
    (size,) = _HEADER.unpack(_read(sock, _HEADER.size, deadline))
    if size > MAX_BYTES:
        raise ChannelClosed(f"frame of {size} bytes exceeds {MAX_BYTES}")
    return loads(_read(sock, size, deadline))


def _read(sock: socket.socket, n: int, deadline: Deadline) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = (deadline() if callable(deadline) else deadline) - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded("deadline passed")
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            continue  # the top of the loop decides: passed, or (a moving deadline) moved
        except OSError as e:
            raise ChannelClosed(f"recv failed: {e}") from None
        if not chunk:
            raise ChannelClosed("peer closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)

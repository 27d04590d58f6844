"""Trusted-side stand-ins for the candidate's functions and objects.

Tests run in the supervisor, never in the candidate's process. When a test calls `candidate(x)`,
the call is sent over the socket and the answer comes back as plain data (built here from JSON,
so a spoofed `__eq__` cannot exist) or as a `Remote` handle whose comparisons are identity only and
which has no truth value. Loss of the candidate or the deadline are `BaseException`s and are
also latched, so a test's own `except:` cannot turn them into a pass.
"""

from __future__ import annotations

import builtins
import socket
import time
from typing import Any

from evaluators.code import wire
from evaluators.code.codec import CodecError, Ref, pack, unpack

MAX_REFS = 100_000  # distinct candidate objects one job may hold handles to


class CandidateLost(BaseException):
    """The candidate died, closed its channel or sent a malformed reply."""


class CandidateTimeout(BaseException):
    """The program's wall-clock deadline (or the backstop) passed."""


class CandidateRaised(Exception):
    """The candidate raised an exception that is not a builtin `Exception` type (re-raised by name)."""


class Rpc:
    """One candidate process, seen from the supervisor."""

    def __init__(self, sock: socket.socket, deadline: wire.Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self.timed_out = False
        self.lost: str | None = None
        self.memory_error = False
        self._refs: dict[int, Remote] = {}

    def _remote(self, index: int) -> "Remote":
        if index not in self._refs:
            if len(self._refs) >= MAX_REFS:  # each is a few hundred bytes here: bound them per job
                raise CodecError(f"more than {MAX_REFS} handles to candidate objects")
            self._refs[index] = Remote(self, {"ref": index})
        return self._refs[index]

    def _pack(self, value: Any) -> Any:
        def to_ref(obj: Any) -> Ref:
            if type(obj) is Remote and obj._rpc is self and "ref" in obj._target:
                return Ref(obj._target["ref"])
            raise CodecError(f"the test passed a {type(obj).__name__}, which cannot be sent to the candidate")

        return pack(value, to_ref)

    def request(self, msg: dict[str, Any]) -> Any:
        if self.timed_out:
            raise CandidateTimeout("deadline passed")
        if self.lost:
            raise CandidateLost(self.lost)
        try:
            wire.send(self.sock, msg)
            reply = wire.recv(self.sock, self.deadline)
        except wire.DeadlineExceeded:
            self.timed_out = True
            raise CandidateTimeout("deadline passed") from None
        except (wire.ChannelClosed, CodecError) as e:
            self.lost = f"candidate process gone ({e})"
            raise CandidateLost(self.lost) from None
        except MemoryError:
            self.lost = "candidate's reply exceeds the supervisor's memory limit"
            raise CandidateLost(self.lost) from None
        return self.interpret(reply)

    def interpret(self, reply: Any) -> Any:
        if type(reply) is dict and set(reply) == {"value"}:
            try:
                return unpack(reply["value"], self._remote)
            except CodecError as e:
                self.lost = f"malformed value from candidate ({e})"
                raise CandidateLost(self.lost) from None
            except MemoryError:
                self.lost = "candidate's reply exceeds the supervisor's memory limit"
                raise CandidateLost(self.lost) from None
        if type(reply) is dict and set(reply) == {"raise", "msg"} and type(reply["raise"]) is str:
            name, msg = reply["raise"], str(reply["msg"])
            if name == "MemoryError":
                self.memory_error = True
            exc = getattr(builtins, name, None)
            err: Exception = CandidateRaised(f"{name}: {msg}")
            if isinstance(exc, type) and issubclass(exc, Exception) and exc.__module__ == "builtins":
                try:
                    err = exc(msg)
                except TypeError:  # constructors needing more arguments: UnicodeDecodeError, ExceptionGroup
                    pass
            raise err
        self.lost = "malformed reply from candidate"
        raise CandidateLost(self.lost)

    def get(self, name: str) -> Any:
        return self.request({"op": "get", "name": name})

    def call(self, target: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            packed = {"args": self._pack(list(args)), "kwargs": self._pack(dict(kwargs))}
        except CodecError as e:
            raise TypeError(str(e)) from None
        return self.request({"op": "call", **target, **packed})


class Remote:
    """An object living in the candidate's process. Calls, attribute access, iteration and len() are
    forwarded and return plain data; equality is identity and truth value is an error, so the
    candidate's own `__eq__`/`__bool__` never decide anything on this side."""

    __slots__ = ("_rpc", "_target")

    def __init__(self, rpc: Rpc, target: dict[str, Any]) -> None:
        object.__setattr__(self, "_rpc", rpc)
        object.__setattr__(self, "_target", target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._rpc.call(self._target, args, kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._rpc.request({"op": "getattr", **self._target, "attr": attr})

    def __setattr__(self, attr: str, value: Any) -> None:
        try:
            packed = self._rpc._pack(value)
        except CodecError as e:
            raise TypeError(str(e)) from None
        self._rpc.request({"op": "setattr", **self._target, "attr": attr, "value": packed})

    def __iter__(self) -> Any:
        items = self._rpc.request({"op": "iter", **self._target})
        if type(items) is not list:
            raise TypeError("candidate object did not iterate to a list")
        return iter(items)

    def __len__(self) -> int:
        n = self._rpc.request({"op": "len", **self._target})
        if type(n) is not int or n < 0:
            raise TypeError("candidate object has no valid length")
        return n

    def __bool__(self) -> bool:
        raise TypeError("an object from the candidate has no trusted truth value")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<candidate object {self._target}>"


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds

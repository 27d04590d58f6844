"""Plain data across the trust boundary.

The candidate's process is hostile, so what it sends is bytes, never objects: the trusted side
rebuilds values with `decode`, which only ever constructs builtin types (None, bool, int, float,
complex, str, bytes, list, tuple, dict, set, frozenset) or an opaque `Ref` to an object that stays
in the candidate's process. A spoofed `__eq__`, a subclass of int or a patched builtin cannot cross:
`encode` runs in whichever process calls it, but only `decode` on the trusted side decides what a
value is.

Wire form is JSON: null/bool/str/list and finite floats are themselves; everything else is a
one-key object tag ({"t": [...]} tuple, {"d": [[k, v], ...]} dict, {"I": "hex"} big int, ...).
The collections types programs commonly return (Counter, defaultdict, OrderedDict, deque) are
carried as their items and rebuilt as the real types here; builtin types and functions (`int`,
`len`) travel by name and resolve to the receiver's own builtins.
"""

from __future__ import annotations

import builtins
import collections
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

MAX_DEPTH = 200
MAX_BYTES = 32 * 1024 * 1024
MAX_CONTAINERS = 1_000_000  # lists and objects in one message: each costs ~60 bytes once parsed
MAX_SAME_HASH = 32  # distinct keys of one set or dict that may share a hash
_SMALL_INT = 1 << 62


class CodecError(ValueError):
    """Bytes that are not a well-formed plain value (or a value too big or deep to carry)."""


@dataclass(frozen=True)
class Ref:
    """Names an object held by the other process (by index in its table); carries no behaviour."""

    index: int


def pack(value: Any, to_ref: Callable[[Any], Ref] | None = None) -> Any:
    """Plain data to a JSON-able tree; non-plain objects become `Ref`s through `to_ref` (or raise)."""

    def enc(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError("value nested too deeply")
        t = type(x)
        if x is None or t is bool or t is str:
            return x
        if t is int:
            return x if -_SMALL_INT < x < _SMALL_INT else {"I": hex(x)}
        if t is float:
            return x if math.isfinite(x) else {"F": repr(x)}
        if t is list:
            return [enc(v, depth + 1) for v in x]
        if t is tuple:
            return {"t": [enc(v, depth + 1) for v in x]}
        if t is dict:
            return {"d": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        if t is set or t is frozenset:
            return {"s" if t is set else "z": [enc(v, depth + 1) for v in x]}
        if t is complex:
            return {"c": [enc(x.real, depth + 1), enc(x.imag, depth + 1)]}
        if t is bytes:
            return {"b": x.hex()}
        if t in _DICTS:
            return {_DICTS[t]: [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        if t is collections.deque:
            return {"q": [enc(v, depth + 1) for v in x]}
        if t is Ref:
            return {"r": x.index}
        name = _builtin_name(x)
        if name is not None:
            return {"B": name}
        if to_ref is None:
            raise CodecError(f"{t.__name__} is not plain data")
        return {"r": to_ref(x).index}

    return enc(value, 0)


_DICTS: dict[type, str] = {collections.Counter: "C", collections.defaultdict: "D", collections.OrderedDict: "O"}
_DICT_TAGS = {"d": dict, "C": collections.Counter, "D": collections.defaultdict, "O": collections.OrderedDict}


_PURE_FUNCTIONS = frozenset("abs all any ascii bin callable chr divmod hash hex len max min oct ord pow repr round "
                            "sorted sum".split())


def _builtin_name(x: Any) -> str | None:
    name = getattr(x, "__name__", None) if type(x) in (type, type(len)) else None
    return name if type(name) is str and getattr(builtins, name, None) is x else None


def unpack(raw: Any, from_ref: Callable[[int], Any] | None = None) -> Any:
    """Rebuild a value from a JSON tree, constructing only builtin types (and `from_ref(i)` for refs)."""
    return _dec(raw, 0, from_ref or Ref)


def dumps(tree: Any) -> bytes:
    """A JSON tree (e.g. a message holding packed values) to bytes, refusing oversized output."""
    try:
        data = json.dumps(tree, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, RecursionError) as e:
        raise CodecError(f"cannot serialise: {type(e).__name__}") from None
    if len(data) > MAX_BYTES:
        raise CodecError(f"message of {len(data)} bytes exceeds {MAX_BYTES}")
    return data


def loads(data: bytes) -> Any:
    """Bytes from the other side to a JSON tree; json builds only dict/list/str/int/float/bool/None.
    The count of containers is bounded before parsing (memory: 32 MB of `[]` would be 10 million
    lists); brackets inside strings count too, which only makes the bound stricter."""
    if len(data) > MAX_BYTES:
        raise CodecError("message too large")
    if len(data) > MAX_CONTAINERS and data.count(b"[") + data.count(b"{") > MAX_CONTAINERS:
        raise CodecError(f"more than {MAX_CONTAINERS} containers in one message")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise CodecError(f"not JSON: {type(e).__name__}") from None


def _no_constant(name: str) -> Any:
    raise CodecError(f"bare {name} is not allowed")


def _dec(x: Any, depth: int, from_ref: Callable[[int], Any]) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(x)
    if x is None or t in (bool, int, float, str):
        return x
    if t is list:
        return [_dec(v, depth + 1, from_ref) for v in x]
    if t is not dict or len(x) != 1:
        raise CodecError("malformed value")
    ((tag, body),) = x.items()
    if tag == "t":
        return tuple(_dec(v, depth + 1, from_ref) for v in _list(body))
    if tag in _DICT_TAGS:
        out = _DICT_TAGS[tag]()
        pairs = _list(body)
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise CodecError("malformed dict item")
        keys = _keys([_dec(pair[0], depth + 1, from_ref) for pair in pairs])
        for k, pair in zip(keys, pairs):
            out[k] = _dec(pair[1], depth + 1, from_ref)
        return out
    if tag == "q":
        return collections.deque(_dec(v, depth + 1, from_ref) for v in _list(body))
    if tag == "B" and type(body) is str and not body.startswith("_"):
        value = getattr(builtins, body, None)
        if type(value) is type or body in _PURE_FUNCTIONS:  # never eval/exec/open/__import__
            return value
        raise CodecError(f"unknown builtin {body!r}")
    if tag in ("s", "z"):
        items = _keys([_dec(v, depth + 1, from_ref) for v in _list(body)])
        return set(items) if tag == "s" else frozenset(items)
    if tag == "I" and type(body) is str:
        try:
            return int(body, 16)
        except ValueError:
            raise CodecError("malformed big int") from None
    if tag == "F" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "c":
        parts = _list(body)
        if len(parts) != 2 or any(type(p) not in (int, float, dict) for p in parts):
            raise CodecError("malformed complex")
        re_, im = (_dec(p, depth + 1, from_ref) for p in parts)
        if type(re_) is not float or type(im) is not float:
            raise CodecError("malformed complex")
        return complex(re_, im)
    if tag == "b" and type(body) is str:
        try:
            return bytes.fromhex(body)
        except ValueError:
            raise CodecError("malformed bytes") from None
    if tag == "r" and type(body) is int and body >= 0:
        return from_ref(body)
    raise CodecError(f"unknown tag {tag!r}")


def _list(body: Any) -> list[Any]:
    if type(body) is not list:
        raise CodecError("malformed container")
    return body


def _keys(keys: list[Any]) -> list[Any]:
    """Keys for a set or dict, refused when many distinct ones share a hash. Python's int, float
    (and so tuple and frozenset) hashes are not randomised: n integers that differ by multiples of
    2**61 - 1 collide, and inserting them costs n**2 / 2 comparisons, minutes for a large message.
    Counting hashes first is linear; honest data has all but a handful distinct."""
    try:
        hashes = [hash(k) for k in keys]
    except TypeError:
        raise CodecError("unhashable key") from None
    if len(keys) > MAX_SAME_HASH:
        counts: dict[int, int] = {}
        for h in hashes:  # hash(h) == h for these ints, all distinct keys here: no collisions
            counts[h] = counts.get(h, 0) + 1
        if len(keys) - len(counts) > MAX_SAME_HASH:
            raise CodecError("keys crafted to collide in a hash table")
    return keys

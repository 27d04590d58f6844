"""Strings made storable: the store (Arrow, DuckDB) accepts only valid UTF-8.

A Python `str` can hold a lone surrogate (`'\ud800'`), for example from a sandboxed program's
exception message decoded out of JSON. Such a string cannot be encoded, so one of them in a row
made the whole commit raise. Every string that crosses into the store passes through here.
"""

from __future__ import annotations

from typing import Any


def valid_utf8(text: str) -> str:
    """`text` unchanged when it encodes; otherwise each unencodable code point as a visible
    `\\udXXX` escape, so the message stays readable and nothing is silently dropped."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable(value: Any) -> Any:
    """`value` with any string in it (also inside lists, tuples and dict keys or values) made valid UTF-8."""
    if type(value) is str:
        return valid_utf8(value)
    if type(value) in (list, tuple):
        return type(value)(storable(v) for v in value)
    if type(value) is dict:
        return {storable(k): storable(v) for k, v in value.items()}
    return value

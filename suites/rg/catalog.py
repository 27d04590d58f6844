"""The installed reasoning-gym: its tasks, their config fields (typed for suite names) and curriculum levels.

reasoning-gym is imported inside functions only, so discovering suites stays cheap; its version comes from
the package metadata (the module's own `__version__` lags behind the release).
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import datetime
import difflib
import enum
import functools
import importlib
import importlib.metadata
import io
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from core.errors import UserError

# Tasks not offered: `composite` mixes other tasks and needs a list of dataset specs no suite name can spell.
EXCLUDED = ("composite",)
# Fields the suite itself owns (problem count and seed): spelled `size` and `seed` like reasoning-gym's own.
OWN_FIELDS = ("size", "seed")


def version() -> str | None:
    """The installed reasoning-gym release, or None when it is not installed."""
    try:
        return importlib.metadata.version("reasoning-gym")
    except importlib.metadata.PackageNotFoundError:
        return None


def require() -> str:
    v = version()
    if v is None:
        raise UserError("rg: suites need reasoning-gym; install it with `pip install reasoning-gym` (make does)")
    return v


def factory() -> Any:
    """reasoning_gym.factory (DATASETS, CURRICULA), imported on first use: importing the package registers every
    task (about a second)."""
    require()
    with contextlib.redirect_stdout(io.StringIO()):  # a task module prints "..." on import; keep stdout clean
        return importlib.import_module("reasoning_gym.factory")


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, tuple[type, type]]:
    """reasoning-gym's task registry: name -> (dataset class, config dataclass)."""
    return {k: v for k, v in factory().DATASETS.items() if k not in EXCLUDED}


def tasks() -> list[str]:
    return sorted(registry())


def check_task(task: str) -> str:
    if task not in registry():
        close = difflib.get_close_matches(task, tasks(), n=5, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UserError(f"reasoning-gym {version()} has no task {task!r}; {hint}`thinkbench suites` lists its "
                        f"{len(tasks())} tasks")
    return task


@dataclass(frozen=True)
class Field:
    """One config field as a suite parameter: how to read it from a name and spell it back (round trip)."""

    name: str
    default: Any
    parse: Callable[[str], Any] | None  # None: the field cannot be set from a suite name
    spell: Callable[[Any], str]
    kind: str  # for listings: int, float, bool, str, list, ...


def _bool(raw: str) -> bool:
    low = raw.lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ValueError(f"{raw!r} is not true or false")


def _scalar(t: Any) -> tuple[Callable[[str], Any], Callable[[Any], str], str] | None:
    """Reader, speller and kind of a scalar type, or None if a suite name cannot spell it."""
    if t is bool:
        return _bool, lambda v: "true" if v else "false", "bool"
    if t is int:
        return int, str, "int"
    if t is float:
        return float, repr, "float"
    if t is str:
        return str, str, "str"
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return t, lambda v: str(v.value), "choice"
    if t in (datetime.date, datetime.time, datetime.datetime):
        return t.fromisoformat, lambda v: v.isoformat(), t.__name__
    if typing.get_origin(t) is typing.Literal:
        choices = typing.get_args(t)

        def pick(raw: str) -> Any:
            if raw not in choices:
                raise ValueError(f"{raw!r} is not one of {'/'.join(map(str, choices))}")
            return raw

        return pick, str, "choice"
    return None


def _field(f: dataclasses.Field, t: Any) -> Field:
    default = f.default if f.default is not dataclasses.MISSING else (
        f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (typing.Union, types.UnionType) and type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        base = _scalar(inner[0]) if len(inner) == 1 else None
        if base is not None:
            read, spell, kind = base
            return Field(f.name, default, lambda raw: None if raw.lower() == "none" else read(raw),
                         lambda v: "none" if v is None else spell(v), f"{kind} or none")
        t, origin, args = inner[0], typing.get_origin(inner[0]), typing.get_args(inner[0])
    scalar = _scalar(t)
    if scalar is not None:
        return Field(f.name, default, scalar[0], scalar[1], scalar[2])
    if t is tuple or origin in (list, tuple, typing.Sequence, collections.abc.Sequence):
        return _sequence(f.name, default, t, args)
    return Field(f.name, default, None, repr, "fixed")


def _sequence(name: str, default: Any, t: Any, args: tuple[Any, ...]) -> Field:
    """Lists are spelled `a+b+c`; lists of one-character symbols (operators) as the symbols: `+-*`."""
    item = args[0] if args else str
    scalar = _scalar(item)
    if scalar is None:
        return Field(name, default, None, repr, "fixed")
    read, spell, kind = scalar
    as_tuple = isinstance(default, tuple) or t is tuple or typing.get_origin(t) is tuple
    chars = kind == "str" and isinstance(default, (list, tuple)) and bool(default) and all(
        isinstance(x, str) and len(x) == 1 for x in default)

    def parse(raw: str) -> Any:
        items = [read(x) for x in (list(raw) if chars else raw.split("+"))]
        if not items or (not chars and "" in raw.split("+")):
            raise ValueError(f"{raw!r} is an empty item list")
        return tuple(items) if as_tuple else items

    def spelled(v: Any) -> str:
        return ("" if chars else "+").join(spell(x) for x in v)

    return Field(name, default, parse, spelled, f"{kind} list")


@functools.lru_cache(maxsize=None)
def fields(task: str) -> dict[str, Field]:
    """The task's config fields other than size and seed, in the dataclass's order."""
    config = registry()[check_task(task)][1]
    hints = typing.get_type_hints(config)
    return {f.name: _field(f, hints.get(f.name, f.type)) for f in dataclasses.fields(config)
            if f.name not in OWN_FIELDS}


def config_class(task: str) -> type:
    return registry()[check_task(task)][1]


def dataset_class(task: str) -> type:
    return registry()[check_task(task)][0]


def curriculum(task: str) -> Any | None:
    """A fresh curriculum of the task (levels start at their defaults), or None if it has none."""
    cls = factory().CURRICULA.get(check_task(task))
    return cls() if cls is not None else None


@functools.lru_cache(maxsize=None)
def levels(task: str) -> dict[str, int]:
    """Curriculum attributes -> number of levels ({} without a curriculum)."""
    c = curriculum(task)
    return {} if c is None else {name: len(a.levels) for name, a in c.attributes.items()}


def max_level(task: str) -> int | None:
    """The highest global level (0-based; every attribute clamps to its own top), or None without levels."""
    n = levels(task)
    return max(n.values()) - 1 if n else None

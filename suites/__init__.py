"""Suite registry. A suite module registers a factory `(params, data_dir) -> Suite` under a base name."""

from __future__ import annotations

import importlib
import os
from typing import Callable

from core.errors import UserError
from suites.base import Suite, data_dir, parse_suite_name

SuiteFactory = Callable[[dict[str, str], "os.PathLike | None"], Suite]
_REGISTRY: dict[str, SuiteFactory] = {}
# Modules that register suites; each adds its names on import.
_MODULES = ["suites.math_suites", "suites.generated.arith", "suites.logic_suites", "suites.generated.knights_knaves", "suites.generated.zebra", "suites.generated.countdown", "suites.code_suites"]


def register(name: str) -> Callable[[SuiteFactory], SuiteFactory]:
    def deco(factory: SuiteFactory) -> SuiteFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def _load_modules() -> None:
    for mod in _MODULES:
        importlib.import_module(mod)


def suite_names() -> list[str]:
    _load_modules()
    return sorted(_REGISTRY)


def load_suite(spec: str, data_dir_arg: str | None = None, limit: int | None = None) -> Suite:
    """Load a suite by its command-line name; `limit` keeps the first problems (not comparable runs)."""
    _load_modules()
    base, params = parse_suite_name(spec)
    if base not in _REGISTRY:
        raise UserError(f"unknown suite {base!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    suite = _REGISTRY[base](params, data_dir(data_dir_arg))
    if limit is not None:
        if limit <= 0:
            raise UserError(f"--limit must be positive, got {limit}")
        suite.problems = suite.problems[:limit]
    return suite


def pop_int(params: dict[str, str], key: str, default: int, lo: int = 0, hi: int = 10**9) -> int:
    """Read an integer suite parameter with a one-line error on bad values."""
    raw = params.pop(key, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"suite parameter {key}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise UserError(f"suite parameter {key}={value} is out of range [{lo}, {hi}]")
    return value


def int_range(raw: str, what: str, lo: int, hi: int) -> tuple[int, int]:
    """`3` or `3-7` -> (3, 7), bounded to [lo, hi], with a one-line error naming the parameter."""
    first, _, last = raw.partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise UserError(f"{what}={raw!r} must be an integer or a range like {lo}-{hi}") from None
    if not lo <= a <= b <= hi:
        raise UserError(f"{what}={raw!r} must lie within {lo}-{hi}")
    return a, b


def reject_unknown(base: str, params: dict[str, str]) -> None:
    if params:
        raise UserError(f"suite {base!r} has no parameter(s) {', '.join(sorted(params))}; remove them")


__all__ = ["Suite", "int_range", "load_suite", "pop_int", "register", "reject_unknown", "suite_names"]

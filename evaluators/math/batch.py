"""`grade_many`: many (response, gold) pairs graded in parallel, with a cache.

Parallelism: the exact fast path runs in the calling process (microseconds); every comparison that
needs sympy runs in the shared pool of worker processes, which threads here keep busy. The cache key is
(sha256(response), gold, rounding, GRADER_VERSION); timeouts and errors are not cached, so a rerun on a
quieter machine can still settle them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from core.grade import Grade
from evaluators.math import pool
from evaluators.math.grader import grade
from evaluators.math.version import GRADER_VERSION

CACHE_SIZE = 200_000
_cache: "OrderedDict[tuple[str, str, int | None, str], Grade]" = OrderedDict()
_cache_lock = threading.Lock()

Item = tuple[str, str] | tuple[str, str, int | None]


def cache_key(response: str, gold: str, rounding: int | None = None) -> tuple[str, str, int | None, str]:
    digest = hashlib.sha256(response.encode("utf-8", "surrogatepass")).hexdigest()
    return digest, gold, rounding, GRADER_VERSION


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def cache_size() -> int:
    return len(_cache)


def _lookup(key: tuple[str, str, int | None, str]) -> Grade | None:
    with _cache_lock:
        g = _cache.get(key)
        if g is not None:
            _cache.move_to_end(key)
        return g


def _store(key: tuple[str, str, int | None, str], g: Grade) -> None:
    if g.grader_error:
        return
    with _cache_lock:
        _cache[key] = g
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def grade_many(items: Sequence[Item], workers: int | None = None) -> list[Grade]:
    """Grades in input order. Items are (response, gold) or (response, gold, rounding places)."""
    n_workers = max(1, workers or pool.default_pool_size())
    keys = []
    todo: dict[tuple[str, str, int | None, str], tuple[str, str, int | None]] = {}
    results: dict[tuple[str, str, int | None, str], Grade] = {}
    for item in items:
        response, gold = item[0], item[1]
        rounding = item[2] if len(item) > 2 else None
        key = cache_key(response, gold, rounding)
        keys.append(key)
        hit = _lookup(key)
        if hit is not None:
            results[key] = hit
        elif key not in todo:
            todo[key] = (response, gold, rounding)
    if todo:
        pool.get_pool(n_workers)

        def work(entry: tuple[tuple[str, str, int | None, str], tuple[str, str, int | None]]) -> None:
            key, (response, gold, rounding) = entry
            g = grade(response, gold, rounding=rounding)
            _store(key, g)
            results[key] = g

        if len(todo) == 1 or n_workers == 1:
            for entry in todo.items():
                work(entry)
        else:
            with ThreadPoolExecutor(max_workers=n_workers + 1, thread_name_prefix="grade") as ex:
                list(ex.map(work, todo.items()))
    return [results[k] for k in keys]


def cached_grade(response: str, gold: str, rounding: int | None = None) -> Grade:
    """`grade` through the same cache as `grade_many`."""
    return grade_many([(response, gold, rounding)], workers=1)[0]

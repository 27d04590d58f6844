"""reasoning-gym entries made under a fixed hash seed, so that a suite name fixes its problems.

Some tasks (word_ladder, ransom_note, isomorphic_strings, knight_swap, polynomial_multiplication in 0.1.25)
iterate sets of strings while generating, so their problems depend on PYTHONHASHSEED, which Python picks at
random per process. Entries are therefore generated in a child interpreter started with PYTHONHASHSEED=0
(in this process when it already runs with that seed). One child can serve many requests at once.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from typing import Any

from core.errors import UserError

HASH_SEED = "0"
Request = tuple[str, Any]  # (task, config): config carries size and seed


_MADE: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (task, repr(config)) -> entries, for repeated loads
_KEEP = 32


def entries(task: str, config: Any) -> list[dict[str, Any]]:
    """The entries of one config; kept per process, since a sweep loads one suite for each of its strategies."""
    key = (task, repr(config))  # a config's repr names every field, size and seed included
    if key not in _MADE:
        if len(_MADE) >= _KEEP:
            _MADE.pop(next(iter(_MADE)))
        _MADE[key] = entries_many([(task, config)])[0]
    return _MADE[key]


def entries_many(requests: list[Request]) -> list[list[dict[str, Any]]]:
    """Entries of each request, in order; one child process for all of them."""
    if os.environ.get("PYTHONHASHSEED") == HASH_SEED:
        try:
            return [_generate(task, config) for task, config in requests]
        except Exception as e:  # noqa: BLE001 - generators raise many kinds; one line, as from the child
            raise UserError(f"reasoning-gym failed to generate problems ({type(e).__name__}: {e})") from None
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    proc = subprocess.run([sys.executable, "-c", "from suites.rg.generate import child; child()"],
                          input=pickle.dumps(requests), capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"reasoning-gym's generator process failed: {tail[0][:200]}")
    results: list[list[dict[str, Any]] | str] = pickle.loads(proc.stdout)  # our own child's output
    out = []
    for (task, _), result in zip(requests, results):
        if isinstance(result, str):
            raise UserError(f"reasoning-gym failed to generate rg:{task} problems ({result})")
        out.append(result)
    return out


def _generate(task: str, config: Any) -> list[dict[str, Any]]:
    from suites.rg import catalog  # noqa: PLC0415 - deferred: imports reasoning-gym

    dataset = catalog.dataset_class(task)(config=config)
    return [dataset[i] for i in range(config.size)]


def child() -> None:
    """Read pickled requests on stdin, write pickled entries (or an error line each) on stdout; what tasks
    print goes to stderr."""
    requests = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    result: list[list[dict[str, Any]] | str] = []
    with contextlib.redirect_stdout(sys.stderr):
        for task, config in requests:
            try:
                result.append(_generate(task, config))
            except Exception as e:  # noqa: BLE001 - reported per request, as one line, by the parent
                result.append(f"{type(e).__name__}: {str(e)[:160]}")
    out.write(pickle.dumps(result))
    out.flush()

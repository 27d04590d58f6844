"""Tasks that run inside a pool worker process (never in the caller): sympy judging, keys, math-verify.

Each task returns plain data. `run_task` turns exceptions into tagged results so the parent can tell
a resource bound (`toolarge`, `memory`) from a grader bug (`error`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from evaluators.math import keys
from evaluators.math.judge import GoldError, decide
from evaluators.math.latex_expr import LatexError, TooLarge
from evaluators.math.symbolic import SympyBackend

try:  # imported here so the forkserver preloads it once; optional
    import math_verify as _math_verify
except Exception:  # noqa: BLE001 - optional: any failure importing it only disables it  # pragma: no cover
    _math_verify = None

# math-verify warns on every call that its own timeouts are off; ours (a killed worker) is in force.
logging.getLogger("math_verify").setLevel(logging.ERROR)
logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)


def judge(answer: str, gold: str, rounding: int | None) -> tuple[str, bool, str]:
    """("ok", correct, reason) or ("gold_error", False, why)."""
    backend = SympyBackend(rounding)
    try:
        ok, reason = decide(answer, gold, backend)
        return "ok", ok, reason
    except GoldError as e:
        return "gold_error", False, str(e)
    except (LatexError, ValueError, TypeError, NotImplementedError) as e:
        try:
            decide(gold, gold, backend)
        except (LatexError, GoldError, ValueError, TypeError, NotImplementedError) as ge:
            return "gold_error", False, f"gold not comparable: {type(ge).__name__}: {ge}"
        return "ok", False, f"response not comparable ({type(e).__name__}: {e})"


def symbolic_key(answer: str) -> str:
    return keys.symbolic_key(answer)


def second_opinion(response: str, gold: str) -> bool | None:
    """math-verify's verdict, with its own SIGALRM timeouts off (this process is the bound)."""
    if _math_verify is None:
        return None
    gold_parsed = _math_verify.parse(f"${gold}$", parsing_timeout=None)
    if not gold_parsed:
        gold_parsed = _math_verify.parse(gold, parsing_timeout=None)
    answer_parsed = _math_verify.parse(response, parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return None if not gold_parsed else False
    return bool(_math_verify.verify(gold_parsed, answer_parsed, timeout_seconds=None))


def _sleep(seconds: float) -> bool:
    """Test hook: a task that overruns any deadline."""
    time.sleep(seconds)
    return True


def _allocate(megabytes: int) -> int:
    """Test hook: a task that exceeds the worker's memory limit."""
    block = bytearray(megabytes * 2**20)
    return len(block)


TASKS: dict[str, Callable[..., Any]] = {
    "judge": judge,
    "key": symbolic_key,
    "second_opinion": second_opinion,
    "sleep": _sleep,
    "allocate": _allocate,
}


def run_task(name: str, args: tuple) -> tuple[str, Any]:
    try:
        return "ok", TASKS[name](*args)
    except TooLarge as e:
        return "toolarge", str(e)
    except MemoryError:
        return "memory", "memory limit reached"
    except RecursionError:
        return "toolarge", "expression nested too deeply"
    except Exception as e:  # noqa: BLE001 - a grader bug must not kill the worker; it comes back tagged "error"
        return "error", f"{type(e).__name__}: {e}"

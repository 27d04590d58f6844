"""Units after a number: read, never dropped. `500 cm` against `5 m` is converted with pint.

Rules (the grader follows them exactly; `compare.py` applies them to scalar answers):
  * A trailing unit is split off a number (`5.4 \\text{ cents}`, `864 \\mbox{ inches}^2`, `34 hours`).
  * A unit must be understood: a unit pint knows (plus dollars and cents), or a plain noun phrase naming
    what is counted (`apples`, `red marbles`): letters only, at most three words, and no function word
    (`or more`, `is not the answer`, `at least`, `per`-less phrases with `than` ...). Anything else makes
    the answer not equal; it is never ignored.
  * Gold with no unit: the response's number must equal the gold's number. A response unit is accepted as a
    label (it is not converted: the gold does not say which unit it is in), so `34 hours` matches `34`, and
    `2040 minutes` does not.
  * Gold with a unit: a response without a unit must equal the gold's number; a response with a pint unit of
    the same dimension is converted to the gold's unit and compared exactly; two count nouns must be the same
    noun (singular or plural); anything else is not equal.
  * Angles: `degrees` becomes the `°` mark; `radians` is compared with the gold read in radians only, and against
    a gold with no unit only where that gold is written with pi (`72 radians` is not the bare gold `72`).
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction
from functools import lru_cache
from typing import Any

# Closed-class English words: a unit phrase that contains one says something about the number, so it is
# not a unit ("5 or more", "5 is not the answer", "at least 5", "more than 5").
FUNCTION_WORDS = frozenset(
    "a an the this that these those is are was were be been being am not no nor or and but if then than "
    "at least most more less fewer few many much over under above below about around approximately roughly "
    "nearly almost exactly only just also either neither each every any some all both answer answers correct "
    "incorrect wrong right true false maybe perhaps possibly probably likely times plus minus equals equal "
    "to of in on for with without from by as into onto up down out off it its they them he she we you i "
    "has have had do does did can could will would should may might must so therefore thus hence because "
    "since which who whom whose what when where why how there here never always sometimes".split()
)
_WORD = re.compile(r"[A-Za-z]+")
_UNIT_PHRASE = re.compile(r"[A-Za-z][A-Za-z .\-/^0-9*]*")
_SQUARE = re.compile(r"^(?:square|sq\.?)\s+(\w+)$|^(\w+)\s+squared$", re.I)
_CUBIC = re.compile(r"^(?:cubic|cu\.?)\s+(\w+)$|^(\w+)\s+cubed$", re.I)
_RADIANS = {"radian", "radians", "rad", "rads"}
_DEGREES = {"degree", "degrees", "deg"}
_lock = threading.Lock()
_registry: Any = None


def registry() -> Any:
    """pint's registry with money added (dollar, cent), built once per process on first use."""
    global _registry
    with _lock:
        if _registry is None:
            import pint  # noqa: PLC0415 - deferred: building the registry costs ~0.6-0.9 s, paid only when units appear

            ureg: Any = pint.UnitRegistry()
            ureg.define("dollar = [currency] = usd = buck")
            ureg.define("cent = 0.01 dollar = ¢")
            _registry = ureg
        return _registry


def _pint_name(unit: str) -> str:
    u = unit.strip().rstrip(".").replace("^", "**")
    m = _SQUARE.match(u)
    if m:
        u = f"({m.group(1) or m.group(2)})**2"
    m = _CUBIC.match(u)
    if m:
        u = f"({m.group(1) or m.group(2)})**3"
    return re.sub(r"\s+per\s+", " / ", u)


@lru_cache(maxsize=4096)
def pint_unit(unit: str) -> Any | None:
    """pint's unit for a unit phrase, or None when pint does not know it."""
    if not unit or not _UNIT_PHRASE.fullmatch(unit):
        return None
    try:
        return registry().parse_units(_pint_name(unit))
    except Exception:  # noqa: BLE001 - pint raises several error types for unknown or malformed units
        return None


def is_label(unit: str) -> bool:
    """A plain noun phrase naming what is counted: letters, at most three words, no function word."""
    words = unit.replace("-", " ").split()
    if not words or len(words) > 3 or not all(w.isalpha() for w in words):
        return False
    if len(words) == 3 and words[1].lower() == "of":  # `boxes of pizza`, `cups of flour`
        words = [words[0], words[2]]
    return not any(w.lower() in FUNCTION_WORDS for w in words)


def understood(unit: str) -> bool:
    """A unit the grader can reason about (see module docstring); anything else makes an answer not equal."""
    if not unit:
        return True
    words = [w.lower() for w in _WORD.findall(unit)]
    if "of" in words and is_label(unit):
        return True  # `boxes of pizza`
    if len(words) == 1 and pint_unit(unit) is not None:
        return True  # one unit word pint knows (`in^2`, `h`), even where it is also an English word
    if any(w in FUNCTION_WORDS and w != "per" for w in words):
        return False
    return is_label(unit) or pint_unit(unit) is not None


def is_radians(unit: str) -> bool:
    return unit.strip().rstrip(".").lower() in _RADIANS


def is_degrees(unit: str) -> bool:
    return unit.strip().rstrip(".").lower() in _DEGREES


def _singular(word: str) -> str:
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("sses", "ss"), ("s", "")):
        if w.endswith(suffix) and len(w) > len(suffix) + 1:
            return w[: -len(suffix)] + repl
    return w


def factor(resp_unit: str, gold_unit: str) -> Fraction | None:
    """Multiply a value in resp_unit by this to get it in gold_unit; None when they cannot be converted."""
    if " ".join(map(_singular, resp_unit.split())) == " ".join(map(_singular, gold_unit.split())):
        return Fraction(1)
    a, b = pint_unit(resp_unit), pint_unit(gold_unit)
    if a is None or b is None:
        return None
    try:
        q = registry().Quantity(1, a).to(b)
    except Exception:  # noqa: BLE001 - pint's DimensionalityError and offset-unit errors: not convertible
        return None
    return Fraction(repr(float(q.magnitude))).limit_denominator(10**9)

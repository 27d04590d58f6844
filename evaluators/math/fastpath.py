"""In-process exact backend: Fraction arithmetic and string identity only, never sympy.

Decides a leaf only when the verdict is certain (both sides exact numerals, or identical spellings);
otherwise raises `NeedSympy` so the bounded worker decides. Cost is microseconds and input sizes are capped.
"""

from __future__ import annotations

import re
from fractions import Fraction

from evaluators.math.compare import NeedSympy
from evaluators.math.numbers import parse_number, round_half_up, split_marker
from evaluators.math.structure import Node, Relation

_SPACE = re.compile(r"\s+")
_DIGIT_GAP = re.compile(r"(?<=\d)\s+(?=\d)")  # `2 3` is two numbers, not 23: the gap stays visible
_BRACED_SINGLE = re.compile(r"\{(\w)\}")
_DECIMAL = re.compile(r"-?\d+(?:\.(\d+))?")


def spelling(s: str) -> str:
    """Whitespace- and brace-insensitive spelling, so `\\frac{1}{2}` and `\\frac12` meet."""
    return _BRACED_SINGLE.sub(r"\1", _SPACE.sub("", _DIGIT_GAP.sub("␣", s)))


def percent_equal(g: Fraction, g_mark: str, r: Fraction, r_mark: str) -> bool:
    """A percent never equals a different percent; `a%` equals `a/100` only where the gold is a bare number."""
    if g_mark == "%":
        return r_mark in ("%", "") and g == r
    if r_mark == "%":
        return g_mark == "" and (r == g or r / 100 == g)
    return g == r


def shown_places(shown: str) -> int | None:
    """Decimal places a plain decimal shows (`0.333` -> 3, `12` -> 0); None for any other notation."""
    m = _DECIMAL.fullmatch(shown.strip())
    return None if not m else len(m.group(1) or "")


def approximates(exact: Fraction, shown: Fraction, places: int) -> bool:
    """Is `shown` the exact value rounded (half away from zero) or truncated to `places` decimals?"""
    q = Fraction(10) ** places
    truncated = Fraction(int(exact * q)) / q
    return shown in (round_half_up(exact, places), truncated)


class FastBackend:
    def __init__(self, rounding: int | None = None):
        self.rounding = rounding

    def scalar(self, gold: str, resp: str) -> bool:
        if spelling(gold) == spelling(resp):
            return True
        g_text, g_mark = split_marker(gold)
        r_text, r_mark = split_marker(resp)
        g, r = parse_number(g_text), parse_number(r_text)
        if g is None or r is None:
            raise NeedSympy(gold, resp)
        if "°" in (g_mark, r_mark) and g_mark != r_mark and (g != 0 or r != 0):
            # 30° against 30 is settled here; 30° against pi/6 needs pi, which a Fraction never equals
            if g == r:
                return True
        if percent_equal(g, g_mark, r, r_mark):
            return True
        if self.rounding is not None and r_mark in (g_mark, ""):
            k = self.rounding
            return round_half_up(g, k) == round_half_up(r, k)
        return False

    def approx(self, exact: str, shown: str) -> bool:
        places = shown_places(shown)
        a, b = parse_number(exact), parse_number(shown)
        if a is None or b is None or places is None:
            if spelling(exact) == spelling(shown):
                return True
            raise NeedSympy(exact, shown)
        return approximates(a, b, places)

    def equation(self, gold: Relation, resp: Relation) -> bool:
        if [spelling(p) for p in gold.parts] == [spelling(p) for p in resp.parts]:
            return True
        raise NeedSympy(gold, resp)

    def sets(self, gold: Node, resp: Node) -> bool:
        raise NeedSympy(gold, resp)

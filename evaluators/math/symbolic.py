"""Sympy backend: exact equivalence of expressions, equations and sets. Runs only in a bounded worker.

Equality is exact: rationals compare as rationals; other constants must agree to 10^-35 relative at
50 significant digits, which no truncated decimal (0.3333333333, 3.141593) survives. Expressions with
variables are compared symbolically first (the expanded difference is zero), then numerically at many
fixed pseudo-random rational points of both signs (so `|x|`, `\\sqrt{x^2}` and `\\lfloor x\\rfloor` never pass
for `x`): one disagreeing point decides "different", and most points must be defined and agree for "equal".
Tolerance appears only when the caller asks for rounding to a number of places.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import mpmath
import sympy as sp

from evaluators.math.fastpath import approximates, shown_places
from evaluators.math.latex_expr import DEG, PCT, parse_latex
from evaluators.math.numbers import parse_number, round_half_up
from evaluators.math.structure import Empty, Interval, Node, Reals, Relation, Scalar, Seq, Union

DPS = 50
REL_TOL = mpmath.mpf(10) ** -35
TINY = mpmath.mpf(10) ** -40
_SPECIAL = (sp.oo, -sp.oo, sp.zoo, sp.nan)


@lru_cache(maxsize=4096)
def value(text: str) -> sp.Expr:
    """sympy value of a scalar; exact numerals (`1 000 000`, `7 3/4`, `0.333...`) read as in the fast path."""
    number = parse_number(text)
    if number is not None:
        return sp.Rational(number.numerator, number.denominator)
    return parse_latex(text)


POINTS = 10


def _points(symbols: list[sp.Symbol], count: int = POINTS) -> list[dict[sp.Symbol, sp.Rational]]:
    """Fixed, irregular rationals of both signs and several sizes (reproducible pseudo-random values):
    unlikely roots of a nonzero difference, and negative so that `|x|` and `x` part."""
    out = []
    for k in range(count):
        pt = {}
        for j, s in enumerate(symbols):
            num = (7919 * (k + 1) + 104729 * (j + 1) + 31 * k * j) % 1999 - 999
            den = 97 + (k * 37 + j * 53) % 211
            pt[s] = sp.Rational(num if num else 1 + k, den)
        out.append(pt)
    return out


def _number(expr: sp.Expr, subs: dict | None = None) -> mpmath.mpc | None:
    try:
        v = expr.evalf(DPS, subs=subs) if subs else expr.evalf(DPS)
        re_, im_ = v.as_real_imag()
        re_, im_ = re_.evalf(DPS), im_.evalf(DPS)
        if not (re_.is_number and im_.is_number) or any(x.has(*_SPECIAL) for x in (re_, im_)):
            return None
        with mpmath.workdps(DPS):
            return mpmath.mpc(mpmath.mpf(str(re_)) if re_ != 0 else 0, mpmath.mpf(str(im_)) if im_ != 0 else 0)
    except (TypeError, ValueError, AttributeError, ZeroDivisionError):
        return None


def _close(a: mpmath.mpc, b: mpmath.mpc) -> bool:
    with mpmath.workdps(DPS):
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def expressions_equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Exact equivalence of two sympy expressions (see module docstring for how 'exact' is achieved)."""
    if a == b:
        return True
    if a.has(*_SPECIAL) or b.has(*_SPECIAL):
        return False
    if a.is_Rational and b.is_Rational:
        return False
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if not symbols:
        x, y = _number(a), _number(b)
        if x is None or y is None:
            return sp.simplify(a - b) == 0
        if max(abs(x), abs(y)) < TINY:  # both (numerically) zero: only algebra can tell
            return sp.simplify(a - b) == 0
        return _close(x, y)
    if _expanded_zero(a - b):
        return True
    agreed = 0
    for pt in _points(symbols):
        x, y = _number(a, pt), _number(b, pt)
        if x is None or y is None:
            continue
        if not _close(x, y):
            if max(abs(x), abs(y)) < TINY:
                continue
            return False
        agreed += 1
    if agreed >= POINTS // 2:
        return True
    return sp.simplify(a - b) == 0


def _expanded_zero(d: sp.Expr) -> bool:
    """The symbolic test: a difference that expands to 0 (polynomial identities), for small expressions only."""
    if sp.count_ops(d) > 60 or d.has(sp.Abs, sp.floor, sp.ceiling):
        return False
    try:
        return sp.expand(d) == 0
    except (TypeError, ValueError, RecursionError):
        return False


def _readings(e: sp.Expr, percent: tuple[int | sp.Rational, ...] = (1,)) -> list[sp.Expr]:
    """`30°` may be compared as 30 or as pi/6; a percent is read as its number (see `_percent_readings`)."""
    out = [e]
    if e.has(DEG):
        out = [x.subs(DEG, v) for x in out for v in (1, sp.pi / 180)]
    if e.has(PCT):
        out = [x.subs(PCT, v) for x in out for v in percent]
    return out


def _percent_readings(g: sp.Expr, r: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """A percent never equals a different percent; `a%` is `a/100` only where the gold is a bare number."""
    if r.has(PCT) and not g.has(PCT):
        return _readings(g), _readings(r, (1, sp.Rational(1, 100)))
    return _readings(g), _readings(r)


def _fraction(e: sp.Expr) -> Fraction | None:
    if e.free_symbols or e.has(*_SPECIAL):
        return None
    if e.is_Rational:
        return Fraction(int(e.p), int(e.q))
    v = _number(e)
    if v is None or abs(v.imag) > TINY:
        return None
    with mpmath.workdps(DPS):
        return Fraction(mpmath.nstr(v.real, 45, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))


class SympyBackend:
    def __init__(self, rounding: int | None = None):
        self.rounding = rounding

    def scalar(self, gold: str, resp: str) -> bool:
        g, r = value(gold), value(resp)
        gs, rs = _percent_readings(g, r)
        for a in gs:
            for b in rs:
                if expressions_equal(a, b):
                    return True
        if self.rounding is not None:
            k = self.rounding
            for a in gs:
                for b in rs:
                    fa, fb = _fraction(a), _fraction(b)
                    if fa is not None and fb is not None and round_half_up(fa, k) == round_half_up(fb, k):
                        return True
        return False

    def equation(self, gold: Relation, resp: Relation) -> bool:
        """Two equations are the same when one side-difference is a nonzero constant multiple of the other."""
        g = value(gold.parts[0]) - value(gold.parts[1])
        r = value(resp.parts[0]) - value(resp.parts[1])
        if expressions_equal(g, r) or expressions_equal(g, -r):
            return True
        symbols = sorted(g.free_symbols | r.free_symbols, key=lambda s: s.name)
        if not symbols:
            return False
        ratios = []
        for pt in _points(symbols, 4):
            x, y = _number(g, pt), _number(r, pt)
            if x is None or y is None or abs(y) < TINY or abs(x) < TINY:
                continue
            ratios.append(x / y)
        if len(ratios) >= 2 and all(_close(q, ratios[0]) for q in ratios[1:]):
            return True
        ratio = sp.simplify(g / r)
        return bool(ratio.is_number and ratio != 0 and ratio.is_finite)

    def approx(self, exact: str, shown: str) -> bool:
        places = shown_places(shown)
        a, b = _fraction(value(exact)), _fraction(value(shown))
        if places is None or a is None or b is None:
            return expressions_equal(value(exact), value(shown))
        return approximates(a, b, places)

    def sets(self, gold: Node, resp: Node) -> bool:
        if isinstance(gold, Seq) and gold.kind == "tuple" and len(gold.items) == 2 and not _nonempty_pair(gold):
            return False  # a pair read as an interval must be a non-empty one: `x<x` is not (15,-29)
        a, b = to_set(gold, open_pairs=True), to_set(resp, open_pairs=True)
        if a == b:
            return True
        if _components_equal(a, b):
            return True
        return bool(sp.Complement(a, b) == sp.S.EmptySet and sp.Complement(b, a) == sp.S.EmptySet)


def _nonempty_pair(pair: Seq) -> bool:
    lo, hi = (value(i.text) if isinstance(i, Scalar) and not i.unit else None for i in pair.items)
    return lo is not None and hi is not None and (hi - lo).is_positive is True


def _components(s: sp.Set) -> list[sp.Set]:
    if isinstance(s, sp.Union):
        return list(s.args)
    return [s]


def _components_equal(a: sp.Set, b: sp.Set) -> bool:
    ca, cb = _components(a), _components(b)
    if len(ca) != len(cb):
        return False
    left = list(cb)
    for x in ca:
        for k, y in enumerate(left):
            if _set_part_equal(x, y):
                del left[k]
                break
        else:
            return False
    return True


def _set_part_equal(x: sp.Set, y: sp.Set) -> bool:
    if isinstance(x, sp.Interval) and isinstance(y, sp.Interval):
        return (x.left_open, x.right_open) == (y.left_open, y.right_open) and all(
            p == q or (not p.has(*_SPECIAL) and not q.has(*_SPECIAL) and expressions_equal(p, q))
            for p, q in ((x.start, y.start), (x.end, y.end))
        )
    if isinstance(x, sp.FiniteSet) and isinstance(y, sp.FiniteSet) and len(x) == len(y):
        left = list(y.args)
        for p in x.args:
            for k, q in enumerate(left):
                if expressions_equal(p, q):
                    del left[k]
                    break
            else:
                return False
        return True
    return x == y


def _variable(exprs: list[sp.Expr]) -> sp.Symbol:
    symbols = set().union(*(e.free_symbols for e in exprs)) - {DEG, PCT}
    if len(symbols) != 1:
        raise ValueError("an inequality must have exactly one variable")
    return symbols.pop()


_OPS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "=": sp.Eq, "!=": sp.Ne}


_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


def _solve(left: sp.Expr, op: str, right: sp.Expr, var: sp.Symbol) -> sp.Set:
    """Solution set of `left op right`; `x < c` and `c < x` are read off directly (solveset is slow)."""
    if right == var and not left.has(var):
        left, right, op = right, left, _MIRROR[op]
    if left == var and not right.has(var) and right.is_real is not False:
        c = right
        return {
            "<": sp.Interval.open(-sp.oo, c), "<=": sp.Interval(-sp.oo, c), ">": sp.Interval.open(c, sp.oo),
            ">=": sp.Interval(c, sp.oo), "=": sp.FiniteSet(c), "!=": sp.Union(sp.Interval.open(-sp.oo, c),
                                                                             sp.Interval.open(c, sp.oo)),
        }[op]
    return sp.solveset(_OPS[op](left, right), var, domain=sp.S.Reals)


def to_set(node: Node, open_pairs: bool = False) -> sp.Set:
    """A set-like answer as a sympy subset of the reals (intervals, unions, inequalities, point sets)."""
    if isinstance(node, Interval):
        lo, hi = value(node.lo), value(node.hi)
        return sp.Interval(lo, hi, node.lo_open or lo == -sp.oo, node.hi_open or hi == sp.oo)
    if isinstance(node, Union):
        return sp.Union(*(to_set(p, open_pairs=True) for p in node.parts))  # pieces are intervals, not points
    if isinstance(node, Reals):
        return sp.S.Reals
    if isinstance(node, Empty):
        return sp.S.EmptySet
    if isinstance(node, Relation):
        exprs = [value(p) for p in node.parts]
        var = _variable(exprs)
        result: sp.Set = sp.S.Reals
        for left, op, right in zip(exprs, node.ops, exprs[1:]):
            result = sp.Intersection(result, _solve(left, op, right, var))
        return result
    if isinstance(node, Seq):
        if open_pairs and node.kind == "tuple" and len(node.items) == 2:
            lo, hi = (value(i.text) if isinstance(i, Scalar) else None for i in node.items)
            if lo is not None and hi is not None:
                return sp.Interval(lo, hi, True, True)
        points = []
        for item in node.items:
            if not isinstance(item, Scalar):
                raise ValueError("a point set holds numbers only")
            points.append(value(item.text))
        return sp.FiniteSet(*points)
    if isinstance(node, Scalar):
        return sp.FiniteSet(value(node.text))
    raise ValueError(f"not a set: {type(node).__name__}")

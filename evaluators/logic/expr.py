"""Safe arithmetic checker for Game of 24 / Countdown answers. Never calls `eval`.

The answer is tokenised against a whitelist (integers, + - * /, brackets), parsed by an explicit
operator-precedence loop (no recursion, so 10^5 nested brackets cannot blow the stack) and
evaluated with exact fractions. Hostile input is bounded up front: text length, literal length,
bracket depth and the bit size of every intermediate value, so `44**19**35` or a megabyte of
brackets is refused in microseconds instead of hanging a grader.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

MAX_CHARS = 400  # longer than any honest answer for <= 8 numbers
MAX_DIGITS = 12  # per integer literal
MAX_DEPTH = 50  # bracket nesting
MAX_BITS = 256  # numerator/denominator size of any intermediate value

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
_TOKEN = re.compile(r"\s*(?:(\d+)|([-+*/()]))")
_SYNONYMS = (
    ("\\left", ""), ("\\right", ""), ("\\times", "*"), ("\\cdot", "*"), ("\\div", "/"),
    ("×", "*"), ("·", "*"), ("∗", "*"), ("÷", "/"), ("−", "-"), ("–", "-"), ("—", "-"),
    ("[", "("), ("]", ")"), ("{", "("), ("}", ")"),
)


class ExprError(ValueError):
    """The answer is not a whitelisted arithmetic expression (or its value is out of bounds)."""


@dataclass(frozen=True)
class Evaluated:
    value: Fraction
    numbers: tuple[int, ...]  # integer literals in order of appearance


def normalise(text: str) -> str:
    """Map common surface forms (LaTeX, unicode operators, 'x', '= 24') to plain ASCII."""
    s = text.strip().strip("$").strip()
    for a, b in _SYNONYMS:
        s = s.replace(a, b)
    s = re.sub(r"(?<=[\d)\s])[xX](?=[\s\d(])", "*", s)
    if "=" in s:  # "(1+2)*8 = 24" or "24 = (1+2)*8": keep the side with an operator
        sides = [p for p in s.split("=") if p.strip()]
        with_ops = [p for p in sides if re.search(r"\d\s*[-+*/]|\)", p)]
        s = with_ops[0] if with_ops else (sides[0] if sides else "")
    return s.strip().rstrip(".").strip()


def _apply(op: str, a: Fraction, b: Fraction) -> Fraction:
    if op == "*" and _bits(a) + _bits(b) > 2 * MAX_BITS:
        raise ExprError("number too large")
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    else:
        if b == 0:
            raise ZeroDivisionError
        r = a / b
    if _bits(r) > MAX_BITS:
        raise ExprError("number too large")
    return r


def _bits(x: Fraction) -> int:
    return max(x.numerator.bit_length(), x.denominator.bit_length())


class _Parser:
    """Shunting-yard over exact fractions, one handler per token kind, every bound checked as it grows."""

    def __init__(self) -> None:
        self.values: list[Fraction] = []
        self.ops: list[str] = []  # operators and "(" ; "neg" marks unary minus
        self.numbers: list[int] = []
        self.depth = 0
        self.expect_operand = True

    def reduce_once(self) -> None:
        op = self.ops.pop()
        if op == "neg":
            self.values.append(-self.values.pop())
            return
        b, a = self.values.pop(), self.values.pop()
        self.values.append(_apply(op, a, b))

    def number(self, num: str) -> None:
        if not self.expect_operand:
            raise ExprError("two numbers in a row")
        if len(num) > MAX_DIGITS:
            raise ExprError("number literal too long")
        self.numbers.append(int(num))
        self.values.append(Fraction(int(num)))
        self.expect_operand = False

    def open(self) -> None:
        if not self.expect_operand:
            raise ExprError("missing operator before '('")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("brackets nested too deeply")
        self.ops.append("(")

    def close(self) -> None:
        if self.expect_operand:
            raise ExprError("empty or unfinished bracket")
        while self.ops and self.ops[-1] != "(":
            self.reduce_once()
        if not self.ops:
            raise ExprError("unbalanced ')'")
        self.ops.pop()
        self.depth -= 1

    def sign(self, sym: str) -> None:
        if sym == "-":
            if self.ops.count("neg") > MAX_DEPTH:
                raise ExprError("too many signs")
            self.ops.append("neg")
        elif sym != "+":
            raise ExprError(f"operator {sym!r} without a left operand")

    def binary(self, sym: str) -> None:
        ops = self.ops
        while ops and ops[-1] not in ("(",) and (ops[-1] == "neg" or _PREC[ops[-1]] >= _PREC[sym]):
            self.reduce_once()
        ops.append(sym)
        self.expect_operand = True

    def finish(self) -> Evaluated:
        if self.expect_operand:
            raise ExprError("expression ends with an operator")
        while self.ops:
            if self.ops[-1] == "(":
                raise ExprError("unbalanced '('")
            self.reduce_once()
        return Evaluated(self.values[0], tuple(self.numbers))


def evaluate(text: str) -> Evaluated:
    """Parse and evaluate; raises ExprError (malformed/oversized) or ZeroDivisionError."""
    if len(text) > 4 * MAX_CHARS:
        raise ExprError("answer too long")
    s = normalise(text)
    if not s:
        raise ExprError("empty expression")
    if len(s) > MAX_CHARS:
        raise ExprError("answer too long")
    parser = _Parser()
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise ExprError(f"unexpected character {s[pos:].lstrip()[:1]!r}")
        pos = m.end()
        num, sym = m.group(1), m.group(2)
        if num is not None:
            parser.number(num)
        elif sym == "(":
            parser.open()
        elif sym == ")":
            parser.close()
        elif parser.expect_operand:
            parser.sign(sym)
        else:
            parser.binary(sym)
    return parser.finish()


@dataclass(frozen=True)
class Check:
    """Outcome of checking an answer: status is correct / wrong / invalid."""

    status: str
    reason: str


def check(text: str, numbers: list[int], target: int | Fraction, exact_use: bool) -> Check:
    """Does `text` reach `target` using `numbers` (each exactly once if `exact_use`, else at most once)?"""
    try:
        ev = evaluate(text)
    except ZeroDivisionError:
        return Check("wrong", "division by zero")
    except ExprError as e:
        return Check("invalid", str(e))
    used, have = Counter(ev.numbers), Counter(numbers)
    if exact_use and used != have:
        return Check("wrong", f"must use each of {sorted(numbers)} exactly once; used {sorted(ev.numbers)}")
    if not exact_use and used - have:
        return Check("wrong", f"uses numbers not available: {sorted((used - have).elements())}")
    if ev.value != target:
        return Check("wrong", f"evaluates to {ev.value}, not {target}")
    return Check("correct", f"= {target}")


def expression_key(text: str) -> str:
    """Vote key: value and multiset of numbers, so equivalent solutions pool their votes."""
    try:
        ev = evaluate(text)
    except (ExprError, ZeroDivisionError):
        return re.sub(r"\s+", "", text)
    return f"{ev.value}|{','.join(map(str, sorted(ev.numbers)))}"

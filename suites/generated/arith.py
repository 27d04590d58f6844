"""`arith`: multi-step integer arithmetic, generated from a seed.

Difficulty knobs (all in the suite name, e.g. `arith:digits=2,ops=3,n=50,seed=7`):
- `digits`: digits per operand, or a range `1-3` to mix difficulties within one suite (round-robin).
- `ops`: number of binary operations (1 = "a + b"; more = longer chains, usual precedence).
- `operators`: which of `+-*` may appear (default `+-*`; `+` alone gives the demo's plain sums).
Difficulty value of a problem = digits x ops, so results can be broken down by it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from core.prompt import PromptTemplate
from core.records import Problem
from suites import SUITES, GeneratedParams, Span, SuiteSpec, bounded, by_index, span
from suites.generated.rng import StableRng

TEMPLATE = PromptTemplate(user="What is {expression}? Answer with just the number.")


def evaluate(tokens: list[str]) -> int:
    """Usual precedence: fold products first, then sums, on exact integers."""
    terms: list[int] = [int(tokens[0])]
    signs: list[str] = []
    for op, num in zip(tokens[1::2], tokens[2::2]):
        if op == "*":
            terms[-1] *= int(num)
        else:
            signs.append(op)
            terms.append(int(num))
    total = terms[0]
    for sign, term in zip(signs, terms[1:]):
        total = total + term if sign == "+" else total - term
    return total


def _operators(raw: str) -> str:
    if not raw or set(raw) - set("+-*"):
        raise ValueError(f"arith operators={raw!r} must use only + - *")
    return raw


class ArithParams(GeneratedParams):
    digits: Annotated[Span, span(1, 12)] = Span(1, 1)
    ops: Annotated[int, bounded(1, 8)] = 1
    operators: Annotated[str, AfterValidator(_operators)] = "+-*"
    n: Annotated[int, bounded(1, 1_000_000)] = 50


def arith_problem(seed: int, i: int, d: int, ops: int, operators: str) -> Problem:
    """Problem `i` of stream `seed`: `ops` operations on `d`-digit operands."""
    rng = StableRng("arith", seed, i)
    tokens = [str(rng.randint(10 ** (d - 1) if d > 1 else 0, 10**d - 1))]
    for _ in range(ops):
        tokens += [rng.choice(operators), str(rng.randint(10 ** (d - 1) if d > 1 else 0, 10**d - 1))]
    return Problem(
        id=f"arith-{seed}-{i}",
        fields={"expression": " ".join(tokens)},
        answer=str(evaluate(tokens)),
        answer_type="integer",
        difficulty=float(d * ops),
        metadata={"digits": d, "ops": ops},
    )


def generate(seed: int, n: int, digits: list[int], ops: int, operators: str) -> list[Problem]:
    """n problems, digit counts mixed round-robin (kept for the generator benchmark)."""
    return [arith_problem(seed, i, digits[i % len(digits)], ops, operators) for i in range(n)]


def _problem(p: ArithParams, i: int) -> Problem:
    return arith_problem(p.seed, i, p.digits.pick(i), p.ops, p.operators)


SUITES.register(SuiteSpec("arith", ArithParams, by_index(_problem), TEMPLATE, "math",
                          "multi-step integer arithmetic, generated"))

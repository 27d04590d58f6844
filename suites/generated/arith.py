"""`arith`: multi-step integer arithmetic, generated from a seed.

Difficulty knobs (all in the suite name, e.g. `arith:digits=2,ops=3,n=50,seed=7`):
- `digits`: digits per operand, or a range `1-3` to mix difficulties within one suite (round-robin).
- `ops`: number of binary operations (1 = "a + b"; more = longer chains, usual precedence).
- `operators`: which of `+-*` may appear (default `+-*`; `+` alone gives the demo's plain sums).
Difficulty value of a problem = digits x ops, so results can be broken down by it.
"""

from __future__ import annotations

from core.errors import UserError
from core.records import Problem
from suites import int_range, pop_int, register, reject_unknown
from core.prompt import PromptTemplate
from suites.base import Suite
from suites.generated.rng import StableRng
from suites.math_suites import math_suite_parts

TEMPLATE = PromptTemplate(user="What is {expression}? Answer with just the number.")


def _digit_range(raw: str) -> list[int]:
    a, b = int_range(raw, "arith digits", 1, 12)
    return list(range(a, b + 1))


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


def generate(seed: int, n: int, digits: list[int], ops: int, operators: str) -> list[Problem]:
    problems = []
    for i in range(n):
        d = digits[i % len(digits)]
        rng = StableRng("arith", seed, i)
        tokens = [str(rng.randint(10 ** (d - 1) if d > 1 else 0, 10**d - 1))]
        for _ in range(ops):
            tokens += [rng.choice(operators), str(rng.randint(10 ** (d - 1) if d > 1 else 0, 10**d - 1))]
        expression = " ".join(tokens)
        problems.append(
            Problem(
                id=f"arith-{seed}-{i}",
                fields={"expression": expression},
                answer=str(evaluate(tokens)),
                answer_type="integer",
                difficulty=float(d * ops),
                metadata={"digits": d, "ops": ops},
            )
        )
    return problems


@register("arith")
def arith_suite(params: dict[str, str], _data_dir) -> Suite:  # type: ignore[no-untyped-def]
    params = dict(params)
    digits = _digit_range(params.pop("digits", "1"))
    ops = pop_int(params, "ops", 1, 1, 8)
    n = pop_int(params, "n", 50, 1, 1_000_000)
    seed = pop_int(params, "seed", 0)
    operators = params.pop("operators", "+-*")
    if not operators or set(operators) - set("+-*"):
        raise UserError(f"arith operators={operators!r} must use only + - *")
    reject_unknown("arith", params)
    name = f"arith:digits={'-'.join(map(str, sorted({digits[0], digits[-1]})))},ops={ops},operators={operators},n={n},seed={seed}"
    return Suite(name=name, problems=generate(seed, n, digits, ops, operators), template=TEMPLATE, **math_suite_parts())

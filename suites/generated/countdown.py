"""`countdown_gen`: reach a target from a handful of numbers, each used at most once.

Name: `countdown_gen:numbers=4,target=100-999,n=100,seed=7` (`numbers` 3-6, default 4;
`target` an inclusive range, default 100-999). Difficulty knob: `numbers` (the search space
grows roughly as numbers! x 4^numbers); the difficulty value of a problem is its count of numbers.
Numbers are drawn as in the TV game: up to two "large" from {25, 50, 75, 100}, the rest from 1-10
(each at most twice). A target is drawn uniformly from the range and kept only if it is not
reachable in one operation (no trivial puzzles) and the solver finds a solution (kept in the
gold answer as a witness, never shown), so every puzzle is solvable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from core.prompt import PromptTemplate
from core.records import Problem
from suites import SUITES, GeneratedParams, Span, SuiteSpec, bounded, by_index, span
from suites.generated.countdown_solver import solve
from suites.generated.rng import StableRng

LARGE = (25, 50, 75, 100)
SMALL = tuple(n for n in range(1, 11) for _ in range(2))
TEMPLATE = PromptTemplate(
    user=(
        "Use some or all of the numbers {numbers} to make {target}. Each number may be used at most once; "
        "you may use +, -, *, / and brackets.\n\nThink step by step. Then finish with a line of the form "
        "'Final answer: EXPRESSION', where EXPRESSION uses only the given numbers and evaluates to {target}."
    )
)


def countdown_problem(
    pid: str, numbers: list[int], target: int, difficulty: float, metadata: dict[str, Any], solution: str = ""
) -> Problem:
    """A countdown problem. Gold is 'target|n1,n2,...|witness' so the grader needs nothing else; the
    solver's witness lives in gold, not metadata, because strategies see metadata."""
    return Problem(
        id=pid,
        fields={"numbers": ", ".join(map(str, numbers)), "target": target},
        answer=f"{target}|{','.join(map(str, numbers))}|{solution}",
        answer_type="countdown",
        difficulty=difficulty,
        metadata=metadata,
    )


@dataclass(frozen=True)
class CountdownPuzzle:
    numbers: tuple[int, ...]
    target: int
    solution: str


def generate_puzzle(seed: int, index: int, count: int, lo: int, hi: int) -> CountdownPuzzle:
    """Puzzle `index` of stream `seed`; redraws numbers and target until a solution is found."""
    rng = StableRng("countdown", seed, count, lo, hi, index)
    while True:
        large = list(LARGE)
        small = list(SMALL)
        rng.shuffle(large)
        rng.shuffle(small)
        n_large = rng.randint(0, min(2, count - 1))
        numbers = large[:n_large] + small[: count - n_large]
        rng.shuffle(numbers)
        for _ in range(4):  # a few targets per draw before redrawing the numbers
            target = rng.randint(lo, hi)
            if target in _one_step(numbers):
                continue
            found = solve(numbers, target, budget=20_000)
            if found is not None:
                return CountdownPuzzle(tuple(numbers), target, found)


def _one_step(numbers: list[int]) -> set[int]:
    """Targets too easy to ask for: a given number, or one operation on two of them."""
    out = set(numbers)
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            hi_, lo_ = max(a, b), min(a, b)
            out |= {hi_ + lo_, hi_ - lo_, hi_ * lo_}
            if hi_ % lo_ == 0:
                out.add(hi_ // lo_)
    return out


def to_problem(p: CountdownPuzzle, seed: int, index: int) -> Problem:
    return countdown_problem(
        pid=f"countdown_gen-{len(p.numbers)}-{seed}-{index}",
        numbers=list(p.numbers),
        target=p.target,
        difficulty=float(len(p.numbers)),
        metadata={"numbers": len(p.numbers)},
        solution=p.solution,
    )


class CountdownGenParams(GeneratedParams):
    numbers: Annotated[int, bounded(3, 6)] = 4
    target: Annotated[Span, span(1, 100_000, compact=False)] = Span(100, 999, compact=False)


def _problem(p: CountdownGenParams, i: int) -> Problem:
    return to_problem(generate_puzzle(p.seed, i, p.numbers, p.target.lo, p.target.hi), p.seed, i)


SUITES.register(SuiteSpec("countdown_gen", CountdownGenParams, by_index(_problem), TEMPLATE, "countdown",
                          "countdown puzzles (reach a target), generated"))

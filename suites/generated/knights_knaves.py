"""`kk_gen`: knights-and-knaves puzzles with exactly one solution, generated from a seed.

Name: `kk_gen:people=5,depth=2,n=100,seed=7` (`people` 2-8 or a range like `3-7`, mixed
round-robin; `depth` 1-3, default 1). Difficulty knobs: `people` (more unknowns, 2^people
candidate worlds) and `depth`, the connective nesting of the statements: depth 1 is
"A is a knight or B is a knave" (as in the K&K set), depth 2 nests one more level.
Every puzzle has one statement per person whose nesting is 0..depth, at least one at exactly
`depth`; puzzles are kept only when the brute-force solver finds exactly one consistent world.
Difficulty value = people x depth (so depth 1 lines up with the mirror's people count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Union, cast

from core.prompt import PromptTemplate
from core.records import Problem
from evaluators.logic import kk as kk_grader
from suites import SUITES, GeneratedParams, Span, SuiteSpec, bounded, by_index, span
from suites.generated.rng import StableRng

NAMES = (
    "Amelia", "Benjamin", "Charlotte", "Daniel", "Evelyn", "Felix", "Grace", "Henry", "Isabella", "Jack",
    "Katherine", "Liam", "Mia", "Noah", "Olivia", "Penelope", "Quinn", "Ruby", "Samuel", "Theo",
    "Uma", "Victor", "Willow", "Xavier", "Yara", "Zoe",
)
BINARY = ("and", "or", "iff", "implies")

# A statement: ("knight", i) | ("knave", i) | ("not", s) | (op, s, t) with op in BINARY.
Statement = Union[tuple[str, int], tuple[str, "Statement"], tuple[str, "Statement", "Statement"]]


def _person(s: Statement) -> int:
    """The person of a ("knight"/"knave", i) atom; s[0] tags the shape, which mypy cannot narrow on."""
    return cast(tuple[str, int], s)[1]


def _parts(s: Statement) -> tuple[Statement, ...]:
    """The sub-statements of a ("not", s) or (op, s, t) node."""
    return cast(tuple[Statement, ...], s[1:])

TEMPLATE = PromptTemplate(
    user=(
        "{quiz}\n\nThink step by step. Then finish with a line of the form 'Final answer: NAME is a knight, "
        "NAME is a knave, ...' that gives the role of every inhabitant exactly once."
    )
)


def holds(s: Statement, world: tuple[bool, ...]) -> bool:
    """Truth of a statement in a world (world[i] is True when person i is a knight)."""
    op = s[0]
    if op == "knight":
        return world[_person(s)]
    if op == "knave":
        return not world[_person(s)]
    if op == "not":
        return not holds(_parts(s)[0], world)
    a, b = (holds(part, world) for part in _parts(s))
    if op == "and":
        return a and b
    if op == "or":
        return a or b
    if op == "iff":
        return a == b
    return (not a) or b


def solutions(statements: list[Statement], limit: int = 2) -> list[tuple[bool, ...]]:
    """Worlds where every knight's statement is true and every knave's is false (up to `limit`)."""
    n = len(statements)
    found = []
    for bits in range(1 << n):
        world = tuple(bool(bits >> (n - 1 - i) & 1) for i in range(n))
        if all(holds(s, world) == world[i] for i, s in enumerate(statements)):
            found.append(world)
            if len(found) >= limit:
                break
    return found


def _statement(rng: StableRng, n: int, depth: int) -> Statement:
    if depth == 0:
        return (rng.choice(("knight", "knave")), rng.randint(0, n - 1))
    if depth >= 2 and rng.randint(0, 5) == 0:
        return ("not", _statement(rng, n, depth - 1))
    left = _statement(rng, n, depth - 1)
    right = _statement(rng, n, rng.randint(0, depth - 1))
    while right == left:  # "A is a knave or A is a knave" says nothing new
        right = _statement(rng, n, rng.randint(0, depth - 1))
    if rng.randint(0, 1):
        left, right = right, left
    return (rng.choice(BINARY), left, right)


def render(s: Statement, names: tuple[str, ...], top: bool = True) -> str:
    op = s[0]
    if op in ("knight", "knave"):
        return f"{names[_person(s)]} is a {op}"
    if op == "not":
        text = f"it is not the case that {render(_parts(s)[0], names, False)}"
    else:
        a, b = (render(part, names, False) for part in _parts(s))
        text = {"and": f"{a} and {b}", "or": f"{a} or {b}", "iff": f"{a} if and only if {b}",
                "implies": f"if {a} then {b}"}[op]
    return text if top else f"({text})"


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class KKPuzzle:
    names: tuple[str, ...]
    statements: tuple[Statement, ...]
    knights: tuple[bool, ...]
    depth: int

    def quiz(self) -> str:
        n = len(self.names)
        listing = ", ".join(self.names[:-1]) + f", and {self.names[-1]}" if n > 2 else " and ".join(self.names)
        said = " ".join(f'{name} says: "{_sentence(render(s, self.names))}."'
                        for name, s in zip(self.names, self.statements))
        return (
            "On an island every inhabitant is either a knight, who always tells the truth, or a knave, who always "
            f"lies. You meet {n} inhabitants: {listing}. {said} Who is a knight and who is a knave?"
        )


def generate_puzzle(seed: int, index: int, people: int, depth: int) -> KKPuzzle:
    """Puzzle `index` of stream `seed`; resamples statements until the solution is unique."""
    rng = StableRng("kk", seed, people, depth, index)
    pool = list(NAMES)
    rng.shuffle(pool)
    names = tuple(pool[:people])
    while True:
        deep = rng.randint(0, people - 1)
        stmts = [_statement(rng, people, depth if i == deep else rng.randint(0, depth)) for i in range(people)]
        found = solutions(stmts)
        if len(found) == 1:
            return KKPuzzle(names, tuple(stmts), found[0], depth)


def to_problem(p: KKPuzzle, seed: int, index: int) -> Problem:
    n = len(p.names)
    return Problem(
        id=f"kk_gen-{n}-{p.depth}-{seed}-{index}",
        fields={"quiz": p.quiz()},
        answer=kk_grader.gold_answer(list(p.names), list(p.knights)),
        answer_type="knights_knaves",
        difficulty=float(n * p.depth),
        metadata={"people": n, "depth": p.depth, "names": list(p.names)},
    )


class KKGenParams(GeneratedParams):
    people: Annotated[Span, span(2, 8)] = Span(3, 7)
    depth: Annotated[int, bounded(1, 3)] = 1


def _problem(p: KKGenParams, i: int) -> Problem:
    return to_problem(generate_puzzle(p.seed, i, p.people.pick(i), p.depth), p.seed, i)


SUITES.register(SuiteSpec("kk_gen", KKGenParams, by_index(_problem), TEMPLATE, "knights_knaves",
                          "knights-and-knaves puzzles with one solution, generated"))

"""`zebra`: grid (Einstein) puzzles, houses x attributes, each with exactly one solution.

Name: `zebra:size=4x4,n=200,seed=7` (`size` = HOUSESxATTRIBUTES, 2-6 each; default 4x4).
Difficulty knob: `size`. More houses mean longer permutations per attribute, more attributes
mean more cross-links to track; the difficulty value of a problem is houses x attributes (cells).
Generation (per problem, from `StableRng("zebra", seed, H, A, i)`): draw a solution grid, add
random true clues until the solver proves the solution unique, then drop every clue whose
removal keeps it unique, so each puzzle is minimal and needs all its clues.
Graded per cell and per puzzle by `evaluators.logic.zebra` (the reason carries `cells k/N`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from core.prompt import PromptTemplate
from core.records import Problem
from evaluators.logic import zebra as zebra_grader
from suites import SUITES, GeneratedParams, SuiteSpec, by_index, choice
from suites.generated.rng import StableRng
from suites.generated.zebra_solver import Clue, count_solutions

MAX_SIDE = 6


@dataclass(frozen=True)
class Category:
    """An attribute: its values, and how clues speak about a value (as a predicate and a subject)."""

    name: str
    values: tuple[str, ...]
    pred: str  # "{v}" is replaced by the value
    neg: str
    ref: str


# Values are distinct words across categories, so an answer line names each cell unambiguously.
CATEGORIES = (
    Category("name", ("Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry"),
             "is {v}", "is not {v}", "{v}"),
    Category("color", ("red", "green", "blue", "yellow", "white", "black", "purple", "gray"),
             "lives in the {v} house", "does not live in the {v} house", "the person in the {v} house"),
    Category("pet", ("cat", "dog", "bird", "fish", "horse", "rabbit", "hamster", "turtle"),
             "owns the {v}", "does not own the {v}", "the owner of the {v}"),
    Category("drink", ("tea", "coffee", "milk", "water", "juice", "soda", "cocoa", "lemonade"),
             "drinks {v}", "does not drink {v}", "the person who drinks {v}"),
    Category("hobby", ("painting", "chess", "gardening", "cooking", "hiking", "reading", "knitting", "dancing"),
             "enjoys {v}", "does not enjoy {v}", "the person who enjoys {v}"),
    Category("job", ("doctor", "teacher", "pilot", "chef", "lawyer", "nurse", "artist", "farmer"),
             "is the {v}", "is not the {v}", "the {v}"),
    Category("car", ("Ford", "Toyota", "BMW", "Honda", "Tesla", "Audi", "Volvo", "Fiat"),
             "drives the {v}", "does not drive the {v}", "the person who drives the {v}"),
    Category("sport", ("tennis", "soccer", "golf", "rugby", "hockey", "cricket", "boxing", "skiing"),
             "plays {v}", "does not play {v}", "the person who plays {v}"),
)

# Kinds drawn for candidate clues; positional facts are rarer so puzzles need relational reasoning.
_KIND_WEIGHTS = (("same", 5), ("notsame", 2), ("leftof", 2), ("nextto", 2), ("before", 2), ("pos", 1), ("notpos", 1))
_KIND_BAG = tuple(k for k, w in _KIND_WEIGHTS for _ in range(w))

TEMPLATE = PromptTemplate(
    user=(
        "{puzzle}\n\nSolve the puzzle step by step. Then write 'Final answer:' and, on the lines after it, "
        "one line per house in the form '{answer_format}', giving the values in exactly that order."
    )
)


@dataclass(frozen=True)
class ZebraPuzzle:
    houses: int
    categories: tuple[Category, ...]
    values: tuple[tuple[str, ...], ...]  # values[a] = the values of attribute a used in this puzzle
    grid: tuple[tuple[int, ...], ...]  # grid[h][a] = value index of attribute a in house h
    clues: tuple[Clue, ...]

    def text(self) -> str:
        lines = [
            f"There are {self.houses} houses in a row, numbered 1 to {self.houses} from left to right. "
            "Each house has exactly one occupant, and each attribute below takes each of its values exactly once:"
        ]
        for cat, vals in zip(self.categories, self.values):
            lines.append(f"- {cat.name}: {', '.join(vals)}")
        lines.append("\nClues:")
        lines += [f"{i}. {self.clue_text(c)}" for i, c in enumerate(self.clues, 1)]
        return "\n".join(lines)

    def clue_text(self, c: Clue) -> str:
        ref_a = self._phrase(c.a, c.v, "ref")
        if c.kind == "pos":
            s = f"{ref_a} lives in house {c.k + 1}."
        elif c.kind == "notpos":
            s = f"{ref_a} does not live in house {c.k + 1}."
        elif c.kind == "same":
            s = f"{ref_a} {self._phrase(c.b, c.w, 'pred')}."
        elif c.kind == "notsame":
            s = f"{ref_a} {self._phrase(c.b, c.w, 'neg')}."
        elif c.kind == "leftof":
            s = f"{ref_a} lives directly left of {self._phrase(c.b, c.w, 'ref')}."
        elif c.kind == "nextto":
            s = f"{ref_a} and {self._phrase(c.b, c.w, 'ref')} live next to each other."
        else:
            s = f"{ref_a} lives somewhere to the left of {self._phrase(c.b, c.w, 'ref')}."
        return s[0].upper() + s[1:]

    def _phrase(self, a: int, v: int, which: str) -> str:
        return getattr(self.categories[a], which).format(v=self.values[a][v])

    def answer(self) -> str:
        return zebra_grader.gold_answer([[self.values[a][row[a]] for a in range(len(row))] for row in self.grid])


def _random_clue(rng: StableRng, houses: int, attrs: int, pos: list[list[int]], grid: list[list[int]]) -> Clue:
    """A clue that is true of the hidden grid (pos[a][v] = house of value v of attribute a)."""
    kind = rng.choice(_KIND_BAG)
    a = rng.randint(0, attrs - 1)
    if kind in ("pos", "notpos"):
        v = rng.randint(0, houses - 1)
        k = pos[a][v]
        if kind == "notpos":
            k = (k + rng.randint(1, houses - 1)) % houses
        return Clue(kind, a, v, k=k)
    b = rng.randint(0, attrs - 1)
    if kind in ("same", "notsame") and a == b:
        b = (a + rng.randint(1, attrs - 1)) % attrs if attrs > 1 else a
        if a == b:
            kind = "before" if houses > 1 else kind
    if kind == "same":
        h = rng.randint(0, houses - 1)
        return Clue(kind, a, grid[h][a], b, grid[h][b])
    if kind in ("leftof", "nextto"):
        h = rng.randint(0, houses - 2)
        p, q = (h, h + 1) if kind == "leftof" or rng.randint(0, 1) else (h + 1, h)
    else:  # notsame / before: two different houses
        p = rng.randint(0, houses - 1)
        q = (p + rng.randint(1, houses - 1)) % houses
        if kind == "before" and p > q:
            p, q = q, p
    return Clue(kind, a, grid[p][a], b, grid[q][b])


def generate_puzzle(seed: int, index: int, houses: int, attrs: int) -> ZebraPuzzle:
    """Puzzle `index` of the stream `seed` at size houses x attrs; a pure function of its arguments."""
    rng = StableRng("zebra", seed, houses, attrs, index)
    cats = [CATEGORIES[0]] + list(CATEGORIES[1:])
    rest = cats[1:]
    rng.shuffle(rest)
    chosen = tuple([cats[0]] + sorted(rest[: attrs - 1], key=lambda c: CATEGORIES.index(c)))
    values = []
    for cat in chosen:
        vals = list(cat.values)
        rng.shuffle(vals)
        values.append(tuple(sorted(vals[:houses], key=cat.values.index)))
    pos = []
    for _ in range(attrs):
        perm = list(range(houses))
        rng.shuffle(perm)
        pos.append(perm)
    grid = [[0] * attrs for _ in range(houses)]
    for a in range(attrs):
        for v, h in enumerate(pos[a]):
            grid[h][a] = v
    clues: list[Clue] = []
    seen: set[Clue] = set()
    while count_solutions(houses, attrs, clues, 2) > 1:
        for _ in range(2):  # two at a time: halves the solver calls while growing
            c = _random_clue(rng, houses, attrs, pos, grid)
            if c not in seen and not (c.a == c.b and c.v == c.w):
                seen.add(c)
                clues.append(c)
    order = list(range(len(clues)))
    rng.shuffle(order)
    keep = list(clues)
    for i in order:  # drop redundant clues, in a seeded order
        trial = [c for c in keep if c is not clues[i]]
        if count_solutions(houses, attrs, trial, 2) == 1:
            keep = trial
    rng.shuffle(keep)
    return ZebraPuzzle(houses, chosen, tuple(values), tuple(tuple(r) for r in grid), tuple(keep))


def to_problem(p: ZebraPuzzle, seed: int, index: int) -> Problem:
    return Problem(
        id=f"zebra-{p.houses}x{len(p.categories)}-{seed}-{index}",
        fields={"puzzle": p.text(), "answer_format": "House N: " + ", ".join(c.name for c in p.categories)},
        answer=p.answer(),
        answer_type="zebra",
        difficulty=float(p.houses * len(p.categories)),
        metadata={"houses": p.houses, "attributes": [c.name for c in p.categories], "clues": len(p.clues)},
    )


@dataclass(frozen=True)
class Size:
    houses: int
    attrs: int

    def __str__(self) -> str:
        return f"{self.houses}x{self.attrs}"


def parse_size(raw: str) -> Size:
    m = re.fullmatch(r"(\d+)\s*[xX×]\s*(\d+)", raw.strip())
    if not m:
        raise ValueError(f"zebra size={raw!r} must look like 4x4 (houses x attributes)")
    h, a = int(m.group(1)), int(m.group(2))
    if not (2 <= h <= MAX_SIDE and 2 <= a <= MAX_SIDE):
        raise ValueError(f"zebra size={raw!r}: houses and attributes must each be 2-{MAX_SIDE}")
    return Size(h, a)


class ZebraParams(GeneratedParams):
    size: Annotated[Size, choice(parse_size)] = Size(4, 4)


def _problem(p: ZebraParams, i: int) -> Problem:
    return to_problem(generate_puzzle(p.seed, i, p.size.houses, p.size.attrs), p.seed, i)


SUITES.register(SuiteSpec("zebra", ZebraParams, by_index(_problem), TEMPLATE, "zebra",
                          "zebra (Einstein) grid puzzles with one solution, generated"))

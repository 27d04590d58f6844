"""Generators: determinism (same name -> same problems, on any machine), unique solutions, solvability."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from itertools import permutations, product
from pathlib import Path

import pytest

from core.errors import UserError
from evaluators.logic import expr
from suites import load_suite
from suites.generated import knights_knaves as kkg
from suites.generated import zebra as zg
from suites.generated.countdown import _one_step
from suites.generated.countdown import generate_puzzle as countdown_puzzle
from suites.generated.zebra_solver import Clue, count_solutions

ROOT = Path(__file__).resolve().parents[1]
SPECS = {
    "kk_gen:people=3-7,depth=2,n=20,seed=11": "a43e81fc7e6a8e2b",
    "zebra:size=4x4,n=20,seed=11": "414497f8cb78512b",
    "countdown_gen:numbers=5,target=100-999,n=20,seed=11": "40f2260d2cc4bf27",
}
DIGEST_SCRIPT = """
import hashlib, json, sys
from suites import load_suite
for spec in sys.argv[1:]:
    payload = [[p.id, p.fields, p.answer, p.difficulty] for p in load_suite(spec).problems]
    print(hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16])
"""


def digest(spec: str) -> str:
    s = load_suite(spec)
    payload = [[p.id, p.fields, p.answer, p.difficulty] for p in s.problems]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_same_name_same_problems_pinned(spec: str) -> None:
    # Pinned digests: a change here means every earlier run of this suite name is no longer comparable.
    assert digest(spec) == SPECS[spec]
    assert load_suite(spec).name == spec


def test_same_problems_in_a_fresh_process_with_other_hash_seed() -> None:
    env = dict(os.environ, PYTHONHASHSEED="12345")  # string hashing differs: set order must not matter
    out = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT, *sorted(SPECS)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == [SPECS[s] for s in sorted(SPECS)]


def test_names_are_canonical_and_seeds_differ() -> None:
    a = load_suite("zebra:seed=7,n=5,size=3X4")
    assert a.name == "zebra:size=3x4,n=5,seed=7"
    assert [p.answer for p in load_suite(a.name).problems] == [p.answer for p in a.problems]
    assert load_suite("kk_gen:n=3,seed=1,people=4").name == "kk_gen:people=4,depth=1,n=3,seed=1"
    assert load_suite("countdown_gen:n=3").name == "countdown_gen:numbers=4,target=100-999,n=3,seed=0"
    for base in ("zebra", "kk_gen", "countdown_gen"):
        one = [p.fields for p in load_suite(f"{base}:n=5,seed=1").problems]
        two = [p.fields for p in load_suite(f"{base}:n=5,seed=2").problems]
        assert one != two
        assert len({json.dumps(f, sort_keys=True) for f in one}) == 5  # no repeats within a suite


@pytest.mark.parametrize(
    "spec",
    ["zebra:size=7x4", "zebra:size=4", "zebra:colour=red", "kk_gen:people=9", "kk_gen:depth=4",
     "countdown_gen:numbers=8", "countdown_gen:target=9-1", "kk_gen:n=0"],
)
def test_bad_parameters_are_user_errors(spec: str) -> None:
    with pytest.raises(UserError):
        load_suite(spec)


# ---------------------------------------------------------------- knights and knaves


def _truth(s, world) -> bool:
    """Independent evaluator of the generator's statement trees."""
    if s[0] in ("knight", "knave"):
        return world[s[1]] == (s[0] == "knight")
    if s[0] == "not":
        return not _truth(s[1], world)
    a, b = _truth(s[1], world), _truth(s[2], world)
    return {"and": a and b, "or": a or b, "iff": a == b, "implies": (not a) or b}[s[0]]


def _depth(s) -> int:
    return 0 if s[0] in ("knight", "knave") else 1 + max(_depth(x) for x in s[1:])


@pytest.mark.parametrize("people, depth", [(2, 1), (3, 1), (5, 2), (7, 3), (8, 2)])
def test_kk_unique_solution_and_depth_knob(people: int, depth: int) -> None:
    for i in range(6):
        p = kkg.generate_puzzle(3, i, people, depth)
        worlds = [w for w in product([True, False], repeat=people)
                  if all(_truth(s, w) == w[j] for j, s in enumerate(p.statements))]
        assert worlds == [p.knights]
        assert max(_depth(s) for s in p.statements) == depth
        assert len(set(p.names)) == people and all(n in p.quiz() for n in p.names)


def test_kk_gen_suite_grades_its_gold() -> None:
    suite = load_suite("kk_gen:people=3-5,depth=2,n=6,seed=4")
    assert [p.metadata["people"] for p in suite.problems] == [3, 4, 5, 3, 4, 5]
    for p in suite.problems:
        assert p.difficulty == p.metadata["people"] * 2
        assert suite.grade(f"Final answer: {p.answer}", p).correct
        flipped = p.answer.replace("knight", "X").replace("knave", "knight").replace("X", "knave")
        assert not suite.grade(f"Final answer: {flipped}", p).correct


# ---------------------------------------------------------------- zebra


def _brute(houses: int, attrs: int, clues: tuple[Clue, ...]) -> int:
    """Count solutions by enumerating every grid: independent of the solver's search."""
    perms = list(permutations(range(houses)))
    return sum(
        all(c.holds(combo[c.a][c.v], combo[c.b][c.w] if c.b >= 0 else -1) for c in clues)
        for combo in product(perms, repeat=attrs)
    )


@pytest.mark.parametrize("houses, attrs, count", [(3, 3, 6), (4, 3, 2), (3, 4, 2)])
def test_zebra_unique_by_brute_force(houses: int, attrs: int, count: int) -> None:
    for i in range(count):
        p = zg.generate_puzzle(5, i, houses, attrs)
        assert _brute(houses, attrs, p.clues) == 1
        for k in range(len(p.clues)):  # minimal: every clue is needed
            assert _brute(houses, attrs, p.clues[:k] + p.clues[k + 1:]) > 1


def test_zebra_solver_counts_match_brute_force_on_partial_clue_sets() -> None:
    for i in range(4):
        p = zg.generate_puzzle(9, i, 3, 3)
        for k in range(len(p.clues) + 1):
            assert count_solutions(3, 3, list(p.clues[:k]), limit=10**6) == _brute(3, 3, p.clues[:k])


@pytest.mark.parametrize("houses, attrs", [(4, 4), (5, 5), (2, 2)])
def test_zebra_gold_satisfies_clues_and_is_unique(houses: int, attrs: int) -> None:
    for i in range(5):
        p = zg.generate_puzzle(1, i, houses, attrs)
        pos = [[0] * houses for _ in range(attrs)]
        for h, row in enumerate(p.grid):
            for a, v in enumerate(row):
                pos[a][v] = h
        assert all(c.holds(pos[c.a][c.v], pos[c.b][c.w] if c.b >= 0 else -1) for c in p.clues)
        assert count_solutions(houses, attrs, list(p.clues), limit=3) == 1
        if houses >= 4:
            assert all(count_solutions(houses, attrs, [c for c in p.clues if c is not d], 2) == 2 for d in p.clues)


def test_zebra_suite_grades_gold_and_cells() -> None:
    suite = load_suite("zebra:size=4x3,n=4,seed=2")
    for p in suite.problems:
        assert p.difficulty == 12.0
        g = suite.grade(f"Let me think.\nFinal answer:\n{p.answer}", p)
        assert g.correct and g.reason == "cells 12/12"
        lines = p.answer.splitlines()
        swapped = "\n".join([lines[1].replace("House 2", "House 1"), lines[0].replace("House 1", "House 2")]
                            + lines[2:])
        g = suite.grade(f"Final answer:\n{swapped}", p)
        assert not g.correct and g.reason == "cells 6/12"
        text = suite.template.render(p.question())[-1]["content"]
        assert "Final answer:" in text and "House N: name" in text


# ---------------------------------------------------------------- countdown


@pytest.mark.parametrize("count", [3, 4, 6])
def test_countdown_gen_solvable_and_not_trivial(count: int) -> None:
    for i in range(8):
        p = countdown_puzzle(2, i, count, 100, 999)
        assert len(p.numbers) == count and 100 <= p.target <= 999
        assert expr.check(p.solution, list(p.numbers), p.target, exact_use=False).status == "correct"
        assert p.target not in _one_step(list(p.numbers))


def test_countdown_gen_suite_grades_solution() -> None:
    suite = load_suite("countdown_gen:numbers=4,target=50-200,n=5,seed=3")
    for p in suite.problems:
        assert p.difficulty == 4.0 and 50 <= int(p.fields["target"]) <= 200
        witness = p.answer.split("|")[2]
        assert "solution" not in p.metadata and witness not in str(p.question())
        assert suite.grade(f"Final answer: {witness}", p).correct
        assert not suite.grade(f"Final answer: {witness} + 1", p).correct
        assert suite.vote_key(witness).startswith(f"{p.fields['target']}|")

"""Mirror suites: counts, gold answers consistent with the puzzles, graders accept solver answers."""

from __future__ import annotations

import ast
from fractions import Fraction
from itertools import product
from pathlib import Path

import pytest

from core.errors import UserError
from suites import load_suite
from suites.generated.countdown_solver import solve as countdown_solve

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _load(spec: str):
    return load_suite(spec, str(DATA))


def test_bbh_counts_tasks_and_gold_self_grading() -> None:
    suite = _load("bbh")
    assert len(suite.problems) == 6511
    subjects = {p.metadata["subject"] for p in suite.problems}
    assert len(subjects) == 27
    assert sum(p.metadata["subject"] == "snarks" for p in suite.problems) == 178
    assert all(p.difficulty is not None for p in suite.problems)
    wrong_letter = {"(A)": "(B)", "(B)": "(A)"}
    for p in suite.problems:
        assert suite.grade(f"Reasoning...\nFinal answer: {p.answer}", p).correct, p.id
        if p.answer in wrong_letter:
            assert not suite.grade(f"Final answer: {wrong_letter[p.answer]}", p).correct, p.id
        assert "Final answer:" in suite.template.render(p.question())[-1]["content"]


def test_bbh_task_param() -> None:
    suite = _load("bbh:task=snarks+navigate")
    assert suite.name == "bbh:task=navigate+snarks"
    assert len(suite.problems) == 178 + 250
    with pytest.raises(UserError):
        _load("bbh:task=nope")
    with pytest.raises(UserError):
        _load("bbh:tasks=navigate")


def _kk_statement_holds(s, world) -> bool:
    op = s[0]
    if op == "telling-truth":
        return world[s[1]]
    if op == "lying":
        return not world[s[1]]
    if op == "not":
        return not _kk_statement_holds(s[1], world)
    vals = [_kk_statement_holds(x, world) for x in s[1:]]
    if op == "and":
        return all(vals)
    if op == "or":
        return any(vals)
    if op == "->":
        return (not vals[0]) or vals[1]
    assert op == "<=>", op
    return vals[0] == vals[1]


def test_knights_knaves_counts_and_gold_is_the_unique_solution() -> None:
    import json

    suite = _load("knights_knaves")
    assert len(suite.problems) == 500
    assert sorted({p.difficulty for p in suite.problems}) == [3.0, 4.0, 5.0, 6.0, 7.0]
    for n in range(3, 8):
        rows = [json.loads(line) for line in (DATA / "knights_knaves" / f"kk_{n}ppl_test.jsonl").open()]
        problems = [p for p in suite.problems if p.metadata["people"] == n]
        for row, p in zip(rows, problems):
            statements = ast.literal_eval(row["statements"])  # the data file's formal form, not model text
            worlds = [w for w in product([True, False], repeat=n)
                      if all(_kk_statement_holds(s, w) == w[i] for i, s in enumerate(statements))]
            assert len(worlds) == 1, p.id
            names = p.metadata["names"]
            answer = ", ".join(f"{nm} is a {'knight' if k else 'knave'}" for nm, k in zip(names, worlds[0]))
            assert suite.grade(f"Final answer: {answer}", p).correct, p.id
    assert len(_load("knights_knaves:people=4-5").problems) == 200


def _solve24(items: list[tuple[Fraction, str]]) -> str | None:
    if len(items) == 1:
        return items[0][1] if items[0][0] == 24 else None
    for i in range(len(items)):
        for j in range(len(items)):
            if i == j:
                continue
            (a, ta), (b, tb) = items[i], items[j]
            rest = [items[k] for k in range(len(items)) if k not in (i, j)]
            options = [(a + b, f"({ta}+{tb})"), (a - b, f"({ta}-{tb})"), (a * b, f"({ta}*{tb})")]
            if b != 0:
                options.append((a / b, f"({ta}/{tb})"))
            for value, text in options:
                found = _solve24(rest + [(value, text)])
                if found:
                    return found
    return None


def test_game24_counts_and_solver_answers_accepted() -> None:
    suite = _load("game24")
    assert len(suite.problems) == 1362
    assert all(p.difficulty is not None and p.difficulty > 0 for p in suite.problems)
    for p in suite.problems:
        nums = [int(x) for x in p.fields["numbers"].split()]
        answer = _solve24([(Fraction(n), str(n)) for n in nums])
        assert answer is not None, p.id
        assert suite.grade(f"Final answer: {answer} = 24", p).correct, p.id
        assert not suite.grade(f"Final answer: {answer} + {nums[0]} - {nums[0]}", p).correct, p.id
    tot = _load("game24:start=900,stop=1000")
    assert len(tot.problems) == 100 and tot.problems[0].id == "game24-900"


def test_countdown_counts_and_every_problem_solvable() -> None:
    suite = _load("countdown")
    assert len(suite.problems) == 256
    for p in suite.problems:
        target = int(p.fields["target"])
        nums = [int(x) for x in p.fields["numbers"].split(",")]
        answer = countdown_solve(nums, target)
        assert answer is not None, p.id
        assert suite.grade(f"Final answer: {answer}", p).correct, p.id
        assert p.difficulty == 3.0


def test_countdown_needs_the_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THINKBENCH_DATA_DIR", raising=False)
    with pytest.raises(UserError, match="mirror"):
        load_suite("countdown", None)

"""Checkers: right answers accepted in several surface forms; wrong and hostile ones rejected fast."""

from __future__ import annotations

import time

import pytest

from core.records import Problem
from evaluators.graders.expression import grade_expression
from evaluators.logic import bbh, expr, kk, zebra
from evaluators.logic.report import breakdown
from evaluators.spec import GRADERS
from suites.generated.countdown import countdown_problem

FAST = 0.25  # seconds: generous for a shared 2-core machine; real cost is well under 50 ms


def g24(response: str, numbers: list[int]):
    return grade_expression(response, numbers, 24, True, "t")


@pytest.mark.parametrize(
    "response",
    [
        "Final answer: 6*4*1*1",
        "So: (6 × 4) × 1 × 1 = 24\nFinal answer: (6 × 4) × 1 × 1 = 24",
        "\\boxed{6 \\times 4 \\times 1 \\times 1}",
        "**Final answer:** 6*4*(1*1).",
        "Final answer: 24 = 6 * 4 / 1 / 1",
        "<answer>6 * 4 / (1 * 1)</answer>",
        "Final answer: $(6\\cdot 4)\\cdot(1\\cdot 1)$",
        "Final answer: [6*4]*1*1",
        "Final answer: 6 x 4 x 1 x 1",
        "Final answer: `(6 + 1 - 1) * 4`",
        "Final answer: -(1 - 1 - 6) * 4",
    ],
)
def test_game24_surface_forms_accepted(response: str) -> None:
    g = g24(response, [1, 1, 4, 6])
    assert g.correct, (response, g)


def test_exact_fractions_not_floats() -> None:
    assert g24("Final answer: 8 / (3 - 8/3)", [3, 3, 8, 8]).correct
    assert g24("Final answer: 5 * (5 - 1/5)", [1, 5, 5, 5]).correct
    assert not g24("Final answer: 5 * (5 - 1/5) + 1/10**30", [1, 5, 5, 5]).correct


@pytest.mark.parametrize(
    "response, status",
    [
        ("Final answer: 6*4", "wrong"),  # misses the two 1s
        ("Final answer: 6*4*1*1*1", "wrong"),  # uses 1 three times
        ("Final answer: 6*4*1+1", "wrong"),  # 25
        ("Final answer: 24", "wrong"),
        ("Final answer: 6*4*(1-1)/(1-1)", "wrong"),  # wrong numbers and division by zero
        ("Final answer: 6*4/(1-1)", "wrong"),
        ("Final answer: 6**4*1*1", "invalid"),
        ("Final answer: 6^4", "invalid"),
        ("Final answer: 44**19**35", "invalid"),
        ("Final answer: __import__('os').system('true')", "invalid"),
        ("Final answer: 6*4*1*1 if True else 0", "invalid"),
        ("Final answer: (6*4*1*1", "invalid"),
        ("I could not find one.", "invalid"),
    ],
)
def test_game24_wrong_answers_rejected(response: str, status: str) -> None:
    g = g24(response, [1, 1, 4, 6])
    assert not g.correct and g.status == status, (response, g)


@pytest.mark.parametrize(
    "payload",
    [
        "44**19**35",
        "9" * 1_000_000,
        "(" * 100_000 + "1" + ")" * 100_000,
        "1" + "*99999999999" * 100_000,
        "-" * 100_000 + "24",
        "((((" * 12 + "99999999999*" * 30 + "1" + "))))" * 12,
        "x" * 1_000_000,
    ],
)
def test_hostile_expressions_rejected_quickly(payload: str) -> None:
    for response in (f"Final answer: {payload}", payload, f"\\boxed{{{payload}}}"):
        t = time.perf_counter()
        g = g24(response, [1, 1, 4, 6])
        assert time.perf_counter() - t < FAST
        assert not g.correct and g.status in ("wrong", "invalid")


def test_value_bound_rejects_huge_intermediates() -> None:
    with pytest.raises(expr.ExprError):
        expr.evaluate("*".join(["999999999999"] * 30))
    assert expr.evaluate("(1+2)*(3+4)").value == 21
    assert expr.evaluate("2-3-4").value == -5  # left-associative
    assert expr.evaluate("12/2/3").value == 2
    assert expr.evaluate("2+3*4").value == 14
    assert expr.evaluate("-2*-3").value == 6


def test_countdown_at_most_once() -> None:
    p = countdown_problem("c", [25, 50, 3, 7], 175, 4.0, {})
    grade = GRADERS.get("countdown").grade
    assert grade("Final answer: 25 * 7", p).correct  # a subset is allowed
    assert grade("Final answer: (50 + 25) * 3 - 50", p).status == "wrong"  # 50 twice
    assert grade("Final answer: 25 * 7 = 175.", p).correct
    assert not grade("Final answer: 175", p).correct
    assert grade("Final answer: 25 * 7 + 0", p).status == "wrong"  # 0 not available


def test_expression_vote_key_pools_equivalent_solutions() -> None:
    assert expr.expression_key("6*4*1*1") == expr.expression_key("(1+1-1)*6*4*1".replace("(1+1-1)", "1"))
    assert expr.expression_key("6*4*1*1") != expr.expression_key("6*4*1+1")


# ---------------------------------------------------------------- knights and knaves

KK_GOLD = kk.gold_answer(["Amelia", "Penelope", "Evelyn"], [True, True, False])


@pytest.mark.parametrize(
    "response",
    [
        "Final answer: Amelia is a knight, Penelope is a knight, and Evelyn is a knave.",
        "**Final answer:** **Amelia** is a **knight**; Penelope: Knight; Evelyn - knave",
        "Assume Evelyn is a knight... contradiction.\n\nSo Amelia and Penelope are knights, and Evelyn is a knave.",
        "Final answer: Knights: Amelia, Penelope. Knaves: Evelyn",
        "<answer>(1) Amelia is a knight\n(2) Penelope is a knight\n(3) Evelyn is a knave</answer>",
        "Final answer: Amelia is a knight, Penelope is a knight, Evelyn is not a knight",
        "Final answer:\n- AMELIA is a Knight\n- penelope is a knight\n- Evelyn is a KNAVE",
    ],
)
def test_kk_surface_forms_accepted(response: str) -> None:
    g = kk.grade(response, KK_GOLD)
    assert g.correct, (response, g)


@pytest.mark.parametrize(
    "response, why",
    [
        ("Final answer: Amelia is a knight, Penelope is a knight or a knave, Evelyn is a knave", "both roles"),
        ("Final answer: Amelia is a knight, Penelope is a knight, Evelyn is a knave, Penelope is a knave",
         "both roles"),
        ("Final answer: Amelia is a knight, Evelyn is a knave", "missing"),
        ("Final answer: Amelia is a knight, Penelope is a knave, Evelyn is a knave", "wrong"),
        ("Final answer: Knights: Amelia, Penelope, Evelyn. Knaves: Amelia, Penelope, Evelyn", "both roles"),
    ],
)
def test_kk_hedges_and_omissions_are_wrong(response: str, why: str) -> None:
    g = kk.grade(response, KK_GOLD)
    assert not g.correct and why in g.reason, g


def test_kk_reasoning_before_final_answer_is_ignored() -> None:
    response = ("Assume Amelia is a knave. Then Evelyn is a knight...\n"
                "Final answer: Amelia is a knight, Penelope is a knight, Evelyn is a knave")
    assert kk.grade(response, KK_GOLD).correct
    assert kk.grade("no idea", KK_GOLD).status == "invalid"
    assert kk.extract(response) == kk.extract("Final answer: Evelyn is a knave; Amelia: knight; Penelope: knight")


# ---------------------------------------------------------------- zebra

Z_GOLD = zebra.gold_answer([["Alice", "red", "cat"], ["Bob", "blue", "dog"]])


@pytest.mark.parametrize(
    "response",
    [
        "Final answer:\nHouse 1: Alice, red, cat\nHouse 2: Bob, blue, dog",
        "Final answer:\n**House 1**: alice, RED, cat.\n**House 2**: Bob, blue, dog.",
        "Final answer:\n| House | name | color | pet |\n|---|---|---|---|\n"
        "| 1 | Alice | red | cat |\n| 2 | Bob | blue | dog |",
        "Draft:\nHouse 1: Bob, red, cat\nHouse 2: Alice, blue, dog\n"
        "Fixed:\nHouse 1: name=Alice, color=red, pet=cat\nHouse 2: name=Bob, color=blue, pet=dog",
    ],
)
def test_zebra_surface_forms_accepted(response: str) -> None:
    g = zebra.grade(response, Z_GOLD)
    assert g.correct and g.reason == "cells 6/6", g


def test_zebra_per_cell_scores_and_hedging() -> None:
    g = zebra.grade("Final answer:\nHouse 1: Alice, blue, cat\nHouse 2: Bob, red, dog", Z_GOLD)
    assert not g.correct and g.reason == "cells 4/6" and zebra.cell_accuracy(g) == pytest.approx(4 / 6)
    hedge = zebra.grade("Final answer:\nHouse 1: Alice, Bob, red, blue, cat, dog\n"
                        "House 2: Alice, Bob, red, blue, cat, dog", Z_GOLD)
    assert hedge.reason == "cells 0/6"
    assert zebra.grade("Final answer:\nHouse 1: Alice, red, cat", Z_GOLD).reason == "cells 3/6"
    assert zebra.grade("I give up", Z_GOLD).status == "invalid"
    echoed = ("Clues:\n1. Bob owns the cat.\n2. Alice is in house 2.\n"
              "So:\nHouse 1: Alice, red, cat\nHouse 2: Bob, blue, dog")
    assert zebra.grade(echoed, Z_GOLD).correct  # no marker: numbered clue lines are not houses


# ---------------------------------------------------------------- BBH

MC_Q = "Which shape?\nOptions:\n(A) circle\n(B) heptagon\n(C) kite"


@pytest.mark.parametrize(
    "task, question, gold, response, ok",
    [
        ("geometric_shapes", MC_Q, "(B)", "Final answer: (B)", True),
        ("geometric_shapes", MC_Q, "(B)", "Final answer: B", True),
        ("geometric_shapes", MC_Q, "(B)", "So the answer is **(B) heptagon**.", True),
        ("geometric_shapes", MC_Q, "(B)", "Final answer: heptagon", True),
        ("geometric_shapes", MC_Q, "(B)", "\\boxed{B}", True),
        ("geometric_shapes", MC_Q, "(B)", "Final answer: (C)", False),
        ("geometric_shapes", MC_Q, "(B)", "Final answer: kite", False),
        ("boolean_expressions", "not True is", "False", "Final answer: False.", True),
        ("boolean_expressions", "not True is", "False", "Final answer: **false**", True),
        ("boolean_expressions", "not True is", "False", "Final answer: True", False),
        ("sports_understanding", "Plausible?", "no", "Final answer: No", True),
        ("formal_fallacies", "valid?", "invalid", "Final answer: valid", False),
        ("formal_fallacies", "valid?", "invalid", "Final answer: invalid", True),
        ("object_counting", "How many?", "8", "Final answer: 8 instruments", True),
        ("object_counting", "How many?", "8", "Final answer: eight", True),
        ("object_counting", "How many?", "8", "Final answer: 18", False),
        ("multistep_arithmetic_two", "x =", "-11520", "Final answer: -11,520", True),
        ("dyck_languages", "Input: [ {", "} ]", "Final answer: }]", True),
        ("dyck_languages", "Input: [ {", "} ]", "Final answer: ] }", False),
        ("word_sorting", "List: b a", "a b", "Final answer: a, b", True),
        ("word_sorting", "List: b a", "a b", "Final answer: b a", False),
        ("navigate", "Return?", "No", "no answer here", False),
    ],
)
def test_bbh_normalisation(task: str, question: str, gold: str, response: str, ok: bool) -> None:
    assert bbh.grade(response, gold, task, question).correct is ok


def test_bbh_vote_key_merges_surface_forms() -> None:
    assert bbh.vote_key("(A)") == bbh.vote_key("A") == bbh.vote_key("**(A)**")
    assert bbh.vote_key("True.") == bbh.vote_key("true")
    assert bbh.vote_key("] ] >") == bbh.vote_key("]]>")
    assert bbh.vote_key("(A)") != bbh.vote_key("(B)")


def test_hostile_responses_graded_quickly() -> None:
    payloads = [
        "Final answer: " + "Amelia, " * 100_000,
        "Final answer: " + "Amelia and " * 100_000,
        "<answer>" * 100_000,
        "\\boxed{" * 100_000,
        "House 1: " * 100_000,
        "A" * 1_000_000,
    ]
    for p in payloads:
        t = time.perf_counter()
        assert not kk.grade(p, KK_GOLD).correct
        assert not zebra.grade(p, Z_GOLD).correct
        assert not bbh.grade(p, "(B)", "geometric_shapes", MC_Q).correct
        assert time.perf_counter() - t < 3 * FAST


def test_breakdown_by_subject_and_overall() -> None:
    from core.grade import Grade

    probs = [Problem(str(i), {}, "", metadata={"subject": s}, difficulty=d)
             for i, (s, d) in enumerate([("a", 1.0), ("a", 2.0), ("b", 2.0)])]
    grades = [Grade.ok("", "", "v"), Grade.wrong("", "", "v"), Grade.ok("", "", "v")]
    by = breakdown(zip(probs, grades))
    assert (by["a"].correct, by["a"].total, by["b"].accuracy, by["overall"].total) == (1, 2, 1.0, 3)
    assert breakdown(zip(probs, grades), "difficulty")["2.0"].accuracy == 0.5

"""Public API of evaluators.math: extraction, hedges, voting keys, batch grading, second opinion, MATH-500."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.grade import Grade
from evaluators.math import (
    GRADER_VERSION,
    answer_key,
    batch,
    clear_cache,
    extract_answer,
    grade,
    grade_many,
    rounding_places,
    second_opinion,
)

DATA = Path(os.environ.get("THINKBENCH_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"))


def test_version_is_bumped() -> None:
    assert GRADER_VERSION == "math-2.0"
    assert grade("\\boxed{1}", "1").grader_version == GRADER_VERSION


@pytest.mark.parametrize(("response", "expected", "why"), [
    ("so we get \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", "boxed, nested braces"),
    ("first \\boxed{3}, finally \\fbox{4}", "4", "the last box (fbox too)"),
    ("The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}", "Minerva format"),
    ("Final Answer: 17", "17", "Final Answer: line"),
    ("Therefore the answer is 12 apples.\n", "12 apples", "'the answer is' up to the sentence end"),
    ("Work...\n**Answer:** 2.5", "2.5", "markdown answer label"),
    ("Lots of work.\nSo we conclude\n**7**", "7", "markdown bold at the end"),
    ("x = 5", "x = 5", "a bare answer is its own answer"),
    ("We add 2 and 3 to get 5, then multiply by 4 and obtain 20 as the total count of items", None,
     "several different numbers and no '=': no commitment (no 'last number' guess)"),
    ("Step one.\nTherefore, Verna received \\$7.00 in change.", "7.00", "the last 'therefore' statement"),
    ("She has 3 + 4 = 7 apples.", "7 apples", "a conclusion after '='"),
    ("We get \\boxed{5}. Checking again, the final answer is $6$.", "6", "the last commitment wins"),
    ("Answer: 18\n\nActually, that's wrong. Answer: 20", "20", "a retraction counts its replacement"),
    ("#### 42", "42", "GSM8K's marker"),
    ("\\boxed 5 is it", "5", "\\boxed without braces"),
])
def test_extraction(response: str, expected: str | None, why: str) -> None:
    assert extract_answer(response) == expected, why


def test_no_answer_is_invalid() -> None:
    assert extract_answer("") is None
    g = grade("", "5")
    assert g.status == "invalid" and not g.correct
    assert extract_answer("\\boxed{unterminated") is None


@pytest.mark.parametrize(("response", "gold", "why"), [
    ("\\boxed{3} ... wait, actually \\boxed{4}", "3", "two different boxes: the right one does not save it"),
    ("\\boxed{3} ... wait, actually \\boxed{4}", "4", "nor does the last one"),
    ("The answer is 3 or 4.", "3", "'3 or 4' hedges"),
    ("\\boxed{3 \\text{ or } 4}", "4", "hedge inside a box"),
])
def test_hedges_are_wrong(response: str, gold: str, why: str) -> None:
    g = grade(response, gold)
    assert not g.correct and g.status == "wrong", why
    assert "hedge" in g.reason, g.reason


def test_repeated_equivalent_boxes_are_not_a_hedge() -> None:
    response = "So $\\boxed{15\\frac{39}{40}}$, i.e. $\\boxed{\\frac{639}{40}}$."
    assert grade(response, "\\frac{639}{40}").correct
    assert not grade(response, "\\frac{639}{41}").correct


@pytest.mark.parametrize(("a", "b"), [
    ("0.5", "1/2"), ("\\frac12", "\\dfrac{1}{2}"), ("\\boxed{0.50}", "\\frac{1}{2}"),
    ("\\frac{1}{\\sqrt3}", "\\frac{\\sqrt{3}}{3}"), ("x = 5", "5"), ("\\{2, 1\\}", "\\{1,2\\}"),
    ("1,000", "1000"), ("\\left( 1, 2 \\right)", "(1,2)"), ("\\text{East}", "east"), ("2\\sqrt2", "\\sqrt{8}"),
])
def test_equal_answers_share_a_key(a: str, b: str) -> None:
    assert answer_key(a) == answer_key(b)


@pytest.mark.parametrize(("a", "b"), [
    ("0.5", "0.25"), ("(1,2)", "(2,1)"), ("\\sqrt2", "\\sqrt3"), ("x+1", "x-1"), ("52_8", "52_9"), ("", "0"),
])
def test_different_answers_get_different_keys(a: str, b: str) -> None:
    assert answer_key(a) != answer_key(b)


def test_rounding_is_opt_in() -> None:
    assert not grade("\\boxed{3.14159}", "3.14").correct  # exact by default
    assert grade("\\boxed{3.14159}", "3.14", rounding=2).correct
    assert grade("\\boxed{\\pi}", "3.14", rounding=2).correct
    assert not grade("\\boxed{3.15}", "3.14", rounding=2).correct
    assert not grade("\\boxed{3.1}", "3.14", rounding=2).correct


@pytest.mark.parametrize(("problem", "places"), [
    ("Express your answer as a decimal to the nearest hundredth.", 2),
    ("Round to the nearest tenth.", 1),
    ("to the nearest whole number", 0),
    ("Give your answer to three decimal places.", 3),
    ("Express your answer as a common fraction.", None),
])
def test_rounding_places(problem: str, places: int | None) -> None:
    assert rounding_places(problem) == places


def test_grade_many_matches_grade_and_caches() -> None:
    clear_cache()
    items = [("\\boxed{\\frac12}", "0.5"), ("\\boxed{2\\sqrt2}", "\\sqrt8"), ("\\boxed{3}", "4"),
             ("\\boxed{x^2-1}", "(x-1)(x+1)"), ("\\boxed{\\frac12}", "0.5")]
    out = grade_many(items, workers=2)
    assert [g.correct for g in out] == [True, True, False, True, True]
    assert all(isinstance(g, Grade) for g in out)
    assert [g.correct for g in out] == [grade(r, gd).correct for r, gd in items]
    assert batch.cache_size() == 4  # the duplicate was graded once
    key = batch.cache_key("\\boxed{3}", "4")
    assert key[2:] == (None, GRADER_VERSION) and len(key[0]) == 64
    assert grade_many(items[:1])[0] is out[0]  # served from the cache


def test_timeouts_are_not_cached() -> None:
    clear_cache()
    g = grade_many([("\\boxed{9^{9^{9^9}}}", "1")])[0]
    assert g.status == "timeout" and g.grader_error
    assert batch.cache_size() == 0


def test_second_opinion_is_math_verify() -> None:
    assert second_opinion("The answer is $\\boxed{\\frac{1}{2}}$", "0.5") is True
    assert second_opinion("The answer is $\\boxed{3}$", "4") is False
    # math-verify's known weakness: 6-decimal rounding accepts a truncation; ours does not
    assert second_opinion("$\\boxed{0.3333333}$", "\\frac{1}{3}") is True
    assert not grade("$\\boxed{0.3333333}$", "\\frac{1}{3}").correct


def _math500() -> list[dict]:
    path = DATA / "math500" / "test.jsonl"
    return [json.loads(line) for line in path.open()]


def test_math500_gold_solutions_all_correct() -> None:
    rows = _math500()
    assert len(rows) == 500
    grades = grade_many([(r["solution"], r["answer"]) for r in rows], workers=2)
    failures = [(r["answer"], g.reason) for r, g in zip(rows, grades) if not g.correct]
    assert failures == []


def test_math500_answers_detect_types() -> None:
    """Every gold answer of MATH-500 parses into a known shape (none is a grader error on itself)."""
    rows = _math500()
    grades = grade_many([(f"\\boxed{{{r['answer']}}}", r["answer"]) for r in rows])
    assert all(g.correct for g in grades)
    kinds = {g.reason.split(":")[0] for g in grades}
    assert {"scalar", "tuple", "text", "interval", "matrix", "base-b numeral", "multiple answers"} <= kinds


def test_math_full_boxed_answers_self_consistent() -> None:
    """The first 1000 MATH test solutions graded against their own last box: right unless they hedge."""
    rows = [json.loads(line) for line in (DATA / "math_full_test" / "test.jsonl").open()][:1000]
    items = [(r["solution"], extract_answer(r["solution"]) or "") for r in rows]
    grades = grade_many(items, workers=2)
    errors = [g.reason for g in grades if g.grader_error]
    assert errors == []
    wrong = [g for g in grades if not g.correct]
    assert all("boxed answers" in g.reason for g in wrong), [g.reason for g in wrong]

"""`countdown` and `game24`: an arithmetic expression over given numbers that hits a target.

Never evaluates model text (`evaluators.logic.expr` parses it). Countdown allows each number at most
once and keeps gold as 'target|n1,n2,...|witness'; Game of 24 needs every number exactly once and
keeps gold as 'n1,n2,n3,n4'.
"""

from __future__ import annotations

from core.grade import Grade
from core.records import Problem
from evaluators.logic import expr
from evaluators.logic.extract import answer_region, clean_short
from evaluators.spec import GRADERS, GraderSpec

COUNTDOWN_VERSION = "countdown-1"
GAME24_VERSION = "game24-1"


def extract(response: str) -> str | None:
    """The expression after 'Final answer:' (or in \\boxed{} / <answer>), markup stripped."""
    r = answer_region(response)
    return clean_short(r) if r is not None else None


def grade_expression(response: str, numbers: list[int], target: int, exact_use: bool, version: str) -> Grade:
    """Shared by countdown (at most once) and game24 (exactly once): never evaluates model text."""
    got = extract(response)
    if got is None:
        return Grade.wrong(None, "no final answer", version, "invalid")
    result = expr.check(got, numbers, target, exact_use)
    if result.status == "correct":
        return Grade.ok(got, result.reason, version)
    return Grade.wrong(got, result.reason, version, "invalid" if result.status == "invalid" else "wrong")


def grade_countdown(response: str, problem: Problem) -> Grade:
    target, nums = problem.answer.split("|")[:2]
    return grade_expression(response, [int(x) for x in nums.split(",")], int(target), False, COUNTDOWN_VERSION)


def grade_game24(response: str, problem: Problem) -> Grade:
    return grade_expression(response, [int(x) for x in problem.answer.split(",")], 24, True, GAME24_VERSION)


GRADERS.register(GraderSpec("countdown", COUNTDOWN_VERSION, grade_countdown, extract, expr.expression_key,
                            doc="reach the target, each number at most once"))
GRADERS.register(GraderSpec("game24", GAME24_VERSION, grade_game24, extract, expr.expression_key,
                            doc="make 24, each number exactly once"))

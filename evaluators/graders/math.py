"""`math`: answers equal to gold up to mathematical equivalence (`evaluators.math`), with math-verify beside it."""

from __future__ import annotations

from core.grade import Grade
from core.records import Problem
from evaluators import math as math_grader
from evaluators.spec import GRADERS, GraderSpec


def grade(response: str, problem: Problem) -> Grade:
    # Tolerance only where the problem itself asks for rounding ("to the nearest tenth").
    return math_grader.grade(response, problem.answer, rounding=problem.metadata.get("rounding"))


def second_opinion(response: str, problem: Problem) -> bool | None:
    return math_grader.second_opinion(response, problem.answer)


GRADERS.register(GraderSpec("math", math_grader.GRADER_VERSION, grade, math_grader.extract_answer,
                            math_grader.answer_key, second_opinion, "equivalence to gold, sympy in a bounded pool",
                            warm_up=math_grader.warm_up))

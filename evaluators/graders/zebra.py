"""`zebra`: the whole grid right, per cell too (`evaluators.logic.zebra`; the reason carries `cells k/N`)."""

from __future__ import annotations

from core.grade import Grade
from core.records import Problem
from evaluators.logic import zebra
from evaluators.spec import GRADERS, GraderSpec


def grade(response: str, problem: Problem) -> Grade:
    return zebra.grade(response, problem.answer)


GRADERS.register(GraderSpec("zebra", zebra.GRADER_VERSION, grade, zebra.extract, doc="grid puzzle, per cell"))

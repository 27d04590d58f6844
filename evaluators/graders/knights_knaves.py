"""`knights_knaves`: every inhabitant's role, each exactly once (`evaluators.logic.kk`)."""

from __future__ import annotations

from core.grade import Grade
from core.records import Problem
from evaluators.logic import kk
from evaluators.spec import GRADERS, GraderSpec


def grade(response: str, problem: Problem) -> Grade:
    return kk.grade(response, problem.answer)


GRADERS.register(GraderSpec("knights_knaves", kk.GRADER_VERSION, grade, kk.extract, doc="one role per person"))

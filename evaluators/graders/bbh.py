"""`bbh`: BIG-Bench Hard answers normalised per task kind (`evaluators.logic.bbh`)."""

from __future__ import annotations

from core.grade import Grade
from core.records import Problem
from evaluators.logic import bbh
from evaluators.spec import GRADERS, GraderSpec


def grade(response: str, problem: Problem) -> Grade:
    # The task (in metadata) picks the answer shape; the question lists the options to match against.
    return bbh.grade(response, problem.answer, problem.metadata["subject"], problem.fields["input"])


GRADERS.register(GraderSpec("bbh", bbh.GRADER_VERSION, grade, bbh.extract, bbh.vote_key, doc="BBH, per task kind"))

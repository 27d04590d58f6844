"""Math grading: `grade(response, gold)`, `grade_many`, and gold-free `extract_answer` / `answer_key` for voting.

Layout (one job per module):
  normalize  LaTeX noise -> one spelling          extract   final answer(s) from a model output
  numbers    exact numerals -> Fraction           structure answer shape (tuple, set, interval, ...)
  compare    shape-directed comparison rules      fastpath  exact in-process backend
  symbolic   sympy backend (worker only)          latex_expr LaTeX -> sympy with size guards
  pool       killable worker processes            worker    tasks run inside workers
  judge      one answer vs gold                   grader    grade(): extraction + fast path + pool
  batch      grade_many + cache                   keys      answer_key for voting
  second     math-verify second opinion           rounding  rounding places asked by a problem
"""

from __future__ import annotations

from evaluators.math import pool, units
from evaluators.math.batch import cached_grade, clear_cache, grade_many
from evaluators.math.extract import boxed_answers
from evaluators.math.grader import extract_answer, grade
from evaluators.math.keys import answer_key
from evaluators.math.pool import shutdown
from evaluators.math.rounding import rounding_places
from evaluators.math.second import second_opinion
from evaluators.math.version import GRADER_VERSION


def warm_up(workers: int | None = None) -> None:
    """Start the worker pool and build pint's unit registry now (each about a second of CPU, once per process),
    before anything is timed or a model is generating on the same cores."""
    pool.get_pool(workers).warm_up()
    units.registry()


__all__ = [
    "GRADER_VERSION", "answer_key", "boxed_answers", "cached_grade", "clear_cache", "extract_answer", "grade",
    "grade_many", "rounding_places", "second_opinion", "shutdown", "warm_up",
]

"""The grader seam: a `GraderSpec` per grader, registered in one line in `evaluators/graders/`.

A suite names its grader (`grader="math"`) and the spec supplies everything a suite needs to grade
and vote: `grade` (sees gold), `extract` and `vote_key` (gold-free, so strategies may use them), the
version stored with every grade, and an optional independent second opinion.

Discovery walks only `evaluators.graders`: the grader implementations (`evaluators.math`, `.code`,
`.logic`) hold worker-only modules that import sympy or set up the sandbox, which no process that
merely loads a suite should pay for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from core.grade import Grade
from core.records import Problem
from core.registry import Registry


def casefold_key(answer: str) -> str:
    """Default vote key: answers that differ only in case or surrounding space vote together."""
    return answer.strip().lower()


@dataclass(frozen=True)
class GraderSpec:
    """`grade(response, problem, **options)`; options (a timeout) come from the suite's parameters."""

    name: str
    version: str  # stored with every grade: bump on any rule change, never otherwise
    grade: Callable[..., Grade]
    extract: Callable[[str], str | None]
    vote_key: Callable[[str], str] = casefold_key
    second_opinion: Callable[[str, Problem], bool | None] | None = None
    doc: str = ""
    # Starts what grading and voting will use (a worker pool that imports sympy) and waits until it is ready, so that
    # this start-up is paid while the engine loads, not in the middle of generation on the model's cores.
    warm_up: Callable[[], None] | None = None

    def bind(self, **options: Any) -> Callable[[str, Problem], Grade]:
        """The two-argument grade a `Suite` holds, with this suite's options fixed."""
        return functools.partial(self.grade, **options) if options else self.grade


GRADERS: Registry[GraderSpec] = Registry("grader", "evaluators.graders")

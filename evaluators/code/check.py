"""Grading entry points: HumanEval-format `check`, MBPP assert lists, and parallel `check_many`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.grade import Grade
from evaluators.code.client import default_sandbox
from evaluators.code.jobs import Job, Outcome
from evaluators.code.limits import Limits

# 2: timeouts by CPU time; load-caused timeouts retried. 3: sockets, System V IPC and chmod/utime/xattr refused
# (a program relying on them now fails).
GRADER_VERSION = "code-sandbox-3"
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CodeItem:
    """One thing to grade: a program and its hidden tests in HumanEval form (`test` defines
    `check(candidate)`) or as MBPP-style assert statements."""

    program: str
    entry_point: str
    test: str = ""
    asserts: tuple[str, ...] = ()
    setup: str = ""
    context: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    limits: Limits | None = field(default=None)

    def job(self) -> Job:
        limits = self.limits or Limits(timeout_s=self.timeout_s)
        if self.asserts:
            tests = tuple(f"{self.setup}\n{a}" if self.setup.strip() else a for a in self.asserts)
        else:
            tests = (f"{self.test}\n\ncheck(candidate)\n",)
        return Job(self.program, tests, self.entry_point, self.context, limits)


def run_job(job: Job) -> Outcome:
    return default_sandbox().run(job)


def to_grade(outcome: Outcome, extracted: str | None = None) -> Grade:
    passed = sum(outcome.passed)
    reason = outcome.reason
    if outcome.status != "correct":
        reason = f"{outcome.reason} ({passed}/{len(outcome.passed)} passed)"
    if outcome.attempts > 1:
        reason += f" after {outcome.attempts} runs (earlier runs starved of CPU by load)"
    return Grade(outcome.status == "correct", extracted, reason, GRADER_VERSION, outcome.status)


def check(program: str, test: str, entry_point: str, timeout_s: float = DEFAULT_TIMEOUT_S, *,
          context: str = "", limits: Limits | None = None) -> Grade:
    """Run `test` (which defines `check(candidate)`) against `program` in the sandbox.
    `context` is trusted code the test may rely on (for HumanEval, the problem's prompt)."""
    return grade_item(CodeItem(program, entry_point, test=test, context=context, timeout_s=timeout_s, limits=limits))


def check_asserts(program: str, asserts: Sequence[str], entry_point: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                  *, setup: str = "", limits: Limits | None = None) -> Grade:
    """MBPP form: every assert statement must hold (each runs as its own test, same program process)."""
    return grade_item(CodeItem(program, entry_point, asserts=tuple(asserts), setup=setup, timeout_s=timeout_s,
                               limits=limits))


def grade_item(item: CodeItem) -> Grade:
    return to_grade(run_job(item.job()))


def check_many(items: Iterable[CodeItem], workers: int | None = None) -> list[Grade]:
    """Grade in parallel (one sandbox per item); results in input order. More jobs in flight than
    cores (default 4 per cpu) keeps the cores busy while supervisor and candidate hand off."""
    items = list(items)
    workers = workers or 4 * max(1, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(grade_item, items))

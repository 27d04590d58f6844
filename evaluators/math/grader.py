"""`grade(response, gold)`: extraction, prescreen, exact fast path in-process, sympy in a bounded worker.

Status meanings (see evaluators/grade.py): `invalid` no answer found; `timeout` a resource bound was hit
(deadline, memory, size prescreen) so no verdict exists; `error` a grader or gold-data fault. Both of the
latter are grader failures and are kept apart from `wrong`.
"""

from __future__ import annotations

import time

from core.grade import Grade
from evaluators.math import pool
from evaluators.math.compare import NeedSympy
from evaluators.math.extract import extract
from evaluators.math.fastpath import FastBackend, spelling
from evaluators.math.judge import GoldError, decide
from evaluators.math.normalize import clean
from evaluators.math.version import GRADER_VERSION

MAX_ANSWER_CHARS = 2000
MAX_GOLD_CHARS = 2000
SHOWN_CHARS = 500


def _shown(answer: str) -> str:
    return answer if len(answer) <= SHOWN_CHARS else answer[:SHOWN_CHARS] + "…"


def judge_one(answer: str, gold: str, rounding: int | None = None, deadline_s: float | None = None) -> Grade:
    """Grade one extracted answer against gold (no extraction)."""
    shown = _shown(answer)
    if len(answer) > MAX_ANSWER_CHARS:
        return Grade.wrong(shown, f"resource bound: answer is {len(answer)} chars (> {MAX_ANSWER_CHARS}); "
                           "not compared", GRADER_VERSION, "timeout")
    try:
        ok, reason = decide(answer, gold, FastBackend(rounding))
        return Grade.ok(shown, reason, GRADER_VERSION) if ok else Grade.wrong(shown, reason, GRADER_VERSION)
    except GoldError as e:
        return Grade.wrong(shown, f"gold error: {e}", GRADER_VERSION, "error")
    except NeedSympy:
        pass
    try:
        status, payload = pool.get_pool().call("judge", (answer, gold, rounding), deadline_s)
    except pool.WorkerTimeout as e:
        return Grade.wrong(shown, f"timeout: {e}", GRADER_VERSION, "timeout")
    except pool.WorkerFailed as e:
        return Grade.wrong(shown, f"resource bound: {e}", GRADER_VERSION, "timeout")
    if status == "ok":
        tag, ok, reason = payload
        if tag == "gold_error":
            return Grade.wrong(shown, f"gold error: {reason}", GRADER_VERSION, "error")
        return Grade.ok(shown, reason, GRADER_VERSION) if ok else Grade.wrong(shown, reason, GRADER_VERSION)
    if status in ("toolarge", "memory"):
        return Grade.wrong(shown, f"resource bound: {payload}", GRADER_VERSION, "timeout")
    return Grade.wrong(shown, f"grader error: {payload}", GRADER_VERSION, "error")


def grade(response: str, gold: str, *, rounding: int | None = None, deadline_s: float | None = None) -> Grade:
    """Is the answer in `response` (a whole output or a bare answer) equal to `gold`?

    `rounding`: decimal places the problem asked to round to (then the response's value rounded to that
    many places may match); None means exact. Never raises: failures come back as a Grade.
    """
    try:
        if len(gold) > MAX_GOLD_CHARS:
            return Grade.wrong(None, f"gold error: gold is {len(gold)} chars", GRADER_VERSION, "error")
        ex = extract(response)
        if not ex.answers:
            return Grade.wrong(None, "no answer found", GRADER_VERSION, "invalid")
        distinct: list[str] = []
        seen: set[str] = set()
        for a in ex.answers:
            k = spelling(clean(a)) if len(a) <= MAX_ANSWER_CHARS else a
            if k not in seen:
                seen.add(k)
                distinct.append(a)
        budget = pool.DEFAULT_DEADLINE_S if deadline_s is None else deadline_s
        end = time.monotonic() + budget  # one bound for the whole response, however many boxes it has
        grades = []
        for a in distinct:
            left = end - time.monotonic()
            if left <= 0:
                grades.append(Grade.wrong(_shown(a), f"timeout: {budget:.2f} s budget spent on earlier boxes",
                                          GRADER_VERSION, "timeout"))
                continue
            grades.append(judge_one(a, gold, rounding, left))
        via = f" [{ex.method}]"
        if len(grades) == 1:
            g = grades[0]
            return Grade(g.correct, g.extracted, g.reason + via, g.grader_version, g.status)
        last = _shown(ex.answers[-1])
        failed = [g for g in grades if g.grader_error]
        if failed:
            f = failed[0]
            return Grade.wrong(last, f"{len(distinct)} boxed answers; {f.reason}", GRADER_VERSION, f.status)
        if all(g.correct for g in grades):
            return Grade.ok(last, f"{len(distinct)} boxed answers, all equivalent to gold{via}", GRADER_VERSION)
        if any(g.correct for g in grades):
            return Grade.wrong(last, f"hedged: {len(distinct)} different boxed answers{via}", GRADER_VERSION)
        return Grade.wrong(last, f"{len(distinct)} boxed answers, none equivalent to gold{via}", GRADER_VERSION)
    except Exception as e:  # noqa: BLE001 - the grader must never take a run down; a bug becomes an "error" grade
        return Grade.wrong(None, f"grader error: {type(e).__name__}: {e}", GRADER_VERSION, "error")


def extract_answer(response: str) -> str | None:
    """The final answer a response commits to (the last box when there are several), or None."""
    return extract(response).answer

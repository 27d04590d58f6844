"""`rg` graders: reasoning-gym's own verifier, with our stricter checker deciding where it is more lenient.

reasoning-gym scores an answer in [0, 1] with partial credit (0.01 for any countdown attempt, 0.3 + 0.7 x the
fraction right for knights and knaves). The raw score travels in `Grade.score` and leads the reason
("rg score 0.65; ..."), and a sample counts correct only at full score. Four tasks are decided by our checkers,
with reasoning-gym's full-score verdict as the second opinion (disagreements are stored, as math-verify's are):
- countdown, puzzle24: the puzzle's own numbers, each exactly once, evaluated in exact rationals (reasoning-gym
  compares floats, and its puzzle24 accepts any four numbers in range and truncates the value to an integer);
- knights_knaves: every person exactly one role (reasoning-gym's set comparison);
- game_of_life_halting: the answer True or False itself (reasoning-gym's check accepts any non-empty answer).
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import replace
from typing import Any, Callable

from core.grade import Grade
from core.records import Problem
from evaluators.graders import rg_bounded
from evaluators.graders.expression import extract as expression_extract
from evaluators.graders.expression import grade_expression
from evaluators.logic import expr, kk
from evaluators.logic.extract import MAX_SCAN, answer_region, clean_short
from evaluators.spec import GRADERS, GraderSpec


def _rg_version() -> str:
    try:
        return importlib.metadata.version("reasoning-gym")
    except importlib.metadata.PackageNotFoundError:
        return "none"


# Our rules and reasoning-gym's release: either changing changes grades.
VERSION = f"rg-1+{_rg_version()}"


def extract(response: str) -> str | None:
    """reasoning-gym's answer: the last <answer>...</answer> as written (multi-line answers such as grids whole);
    else, as our other graders read answers, the last \\boxed{} or the line after 'final answer:' / 'the answer
    is', markup and trailing punctuation removed. Gold-free."""
    text = response[-MAX_SCAN:]
    low = text.lower()
    end = low.rfind("</answer>")
    start = low.rfind("<answer>", 0, end) if end >= 0 else -1
    if start >= 0:
        return text[start + len("<answer>"):end].strip()
    region = answer_region(text)
    return (clean_short(region).strip("*").strip() or None) if region is not None else None


def vote_key(answer: str) -> str:
    """Answers that differ only in case or spacing vote together."""
    return " ".join(answer.split()).lower()


def rg_score(response: str, problem: Problem) -> tuple[float, str | None]:
    """reasoning-gym's raw score of the response's answer (0 where its verifier raises or overruns), and why not.
    Asked of a bounded worker process (`rg_bounded`): its verifiers may hand model text to sympy."""
    ref = problem.reference
    try:
        status, value = rg_bounded.score(ref["rg_task"], ref["rg_config"], extract(response), ref["rg_entry"])
    except rg_bounded.VerifierTimeout:
        return 0.0, "timeout"
    except rg_bounded.VerifierFailed:
        return 0.0, "died"
    return (float(value), None) if status == "ok" else (0.0, str(value))


def _own(response: str, problem: Problem) -> Grade:
    """reasoning-gym decides: correct only at full score."""
    score, error = rg_score(response, problem)
    answer = extract(response)
    if answer is None:
        return Grade(False, None, f"rg score {score:.2f}; no final answer", VERSION, "invalid", score)
    if error in ("timeout", "died"):  # a grader failure, counted apart from wrong answers
        return Grade(False, answer, f"rg verifier {error} (bounded at {rg_bounded.DEADLINE_S:g} s)", VERSION,
                     "timeout" if error == "timeout" else "error", None)
    if error is not None:
        return Grade(False, answer, f"rg score 0.00; its verifier raised {error}", VERSION, "invalid", score)
    verdict = score >= 1.0
    return Grade(verdict, answer, f"rg score {score:.2f}", VERSION, "correct" if verdict else "wrong", score)


def _checked(ours: Callable[[str, Problem], Grade]) -> Callable[[str, Problem], Grade]:
    """Our checker decides; reasoning-gym's raw score is kept beside it."""

    def grade(response: str, problem: Problem) -> Grade:
        g = ours(response, problem)
        readable = _rg_may_read(problem, g)
        score, error = rg_score(response, problem) if readable else (0.0, "not shown to it")
        note = f"rg score {score:.2f}" if error is None else f"rg score 0.00 ({error})"
        return replace(g, grader_version=VERSION, score=score, reason=f"{note}; {g.reason}")

    return grade


def _rg_may_read(problem: Problem, ours: Grade) -> bool:
    """reasoning-gym's expression verifiers run sympy's parse_expr, which evaluates (`9**9**9**9` hangs):
    they see only answers our bounded parser accepted as arithmetic."""
    return problem.reference["rg_task"] not in ("countdown", "puzzle24") or ours.status != "invalid"


def _countdown(response: str, problem: Problem) -> Grade:
    target, nums = problem.answer.split("|")[:2]  # reasoning-gym asks for all numbers, each once
    return grade_expression(response, [int(x) for x in nums.split(",")], int(target), True, VERSION)


def _puzzle24(response: str, problem: Problem) -> Grade:
    return grade_expression(response, [int(x) for x in problem.answer.split(",")], 24, True, VERSION)


# reasoning-gym's knights and knaves speak of other pairs too (0.1.25's KNIGHT_KNAVE_PAIRS): the truthful
# role reads as knight, the lying one as knave, so our checker sees its own words.
_ROLES = {"pioneer": "knight", "laggard": "knave", "saint": "knight", "sinner": "knave", "hero": "knight",
          "villain": "knave", "angel": "knight", "devil": "knave", "altruist": "knight", "egoist": "knave",
          "sage": "knight", "fool": "knave"}
_ROLE_WORD = re.compile(rf"\b({'|'.join(_ROLES)})(?:e?s)?\b", re.IGNORECASE)


def as_knights(text: str) -> str:
    """The response with reasoning-gym's role words as knight/knave (plurals too)."""
    return _ROLE_WORD.sub(lambda m: _ROLES[m.group(1).lower()] + ("s" if m.group(0)[-1:] in "sS" and
                                                                 m.group(0).lower() != m.group(1).lower() else ""),
                          text[-MAX_SCAN:])


def _knights_knaves(response: str, problem: Problem) -> Grade:
    """Our K&K checker on the answer the prompt asks for: a response with no final-answer marker (tags, boxed,
    'final answer:') has none, where the mirror suite's checker would read its last paragraph (which may only
    quote a statement of the puzzle)."""
    text = as_knights(response)
    if answer_region(text, multiline=True) is None:
        return Grade.wrong(None, "no final answer", VERSION, "invalid")
    return kk.grade(text, problem.answer)


def _kk_extract(response: str) -> str | None:
    return kk.extract(as_knights(response))


def _halting(response: str, problem: Problem) -> Grade:
    answer = extract(response)
    if answer is None:
        return Grade.wrong(None, "no final answer", VERSION, "invalid")
    said = answer.strip().strip(".").lower()
    if said not in ("true", "false"):
        return Grade.wrong(answer, "answer is not True or False", VERSION, "invalid")
    if said == problem.answer.strip().lower():
        return Grade.ok(answer, "matches", VERSION)
    return Grade.wrong(answer, "wrong", VERSION)


def _second_opinion(response: str, problem: Problem) -> bool | None:
    """reasoning-gym's verdict (full score), where it may read the answer."""
    ours = CHECKED[problem.reference["rg_task"]][0](response, problem)
    if not _rg_may_read(problem, ours):
        return None
    score, error = rg_score(response, problem)
    return None if error is not None else score >= 1.0


def gold(task: str, entry: dict[str, Any]) -> str:
    """Gold as stored and as our checker reads it: reasoning-gym's answer ('' where any valid answer will do)."""
    meta = entry["metadata"]
    if task == "countdown":
        return f"{meta['target']}|{','.join(str(int(n)) for n in meta['numbers'])}|{meta.get('expression', '')}"
    if task == "puzzle24":
        return ",".join(str(int(n)) for n in meta["numbers"])
    if task == "knights_knaves":
        return kk.gold_answer([str(n) for n in meta["names"]], [bool(x) for x in meta["solution"]])
    return "" if entry["answer"] is None else str(entry["answer"])


# task -> (our checker, its extract, its vote key)
CHECKED: dict[str, tuple[Callable[[str, Problem], Grade], Callable[[str], str | None], Callable[[str], str]]] = {
    "countdown": (_countdown, expression_extract, expr.expression_key),
    "puzzle24": (_puzzle24, expression_extract, expr.expression_key),
    "knights_knaves": (_knights_knaves, _kk_extract, vote_key),
    "game_of_life_halting": (_halting, extract, vote_key),
}


def grader_name(task: str) -> str:
    return f"rg_{task}" if task in CHECKED else "rg"


GRADERS.register(GraderSpec("rg", VERSION, _own, extract, vote_key,
                            doc="reasoning-gym's verifier; correct at full score, raw score kept"))
for _task, (_check, _extract, _key) in CHECKED.items():
    GRADERS.register(GraderSpec(f"rg_{_task}", VERSION, _checked(_check), _extract, _key, _second_opinion,
                                doc=f"reasoning-gym {_task}, our stricter checker decides"))

"""`code`: run the hidden tests kept in gold (HumanEval's `check`, MBPP's asserts) in the sandbox."""

from __future__ import annotations

import json

from core.grade import Grade
from core.records import Problem
from evaluators.code import DEFAULT_TIMEOUT_S, GRADER_VERSION, CodeItem, grade_item
from evaluators.code.extract import extract_code, vote_key
from evaluators.spec import GRADERS, GraderSpec


def hidden_item(program: str, problem: Problem, timeout_s: float) -> CodeItem:
    """The grading job for a program: HumanEval programs run after the prompt (its imports and
    helpers, such as `poly`), so a response may give the whole function or only its body."""
    gold = json.loads(problem.answer)
    if gold["format"] == "humaneval":
        return CodeItem(f"{gold['context']}\n{program}", gold["entry_point"], test=gold["test"],
                        context=gold["context"], timeout_s=timeout_s)
    return CodeItem(program, gold["entry_point"], asserts=tuple(gold["asserts"]), setup=gold["setup"],
                    timeout_s=timeout_s)


def grade(response: str, problem: Problem, timeout_s: float = DEFAULT_TIMEOUT_S) -> Grade:
    code = extract_code(response)
    if code is None:
        return Grade.wrong(None, "no code found in the response", GRADER_VERSION, "invalid")
    g = grade_item(hidden_item(code, problem, timeout_s))
    return Grade(g.correct, code, g.reason, g.grader_version, g.status)


GRADERS.register(GraderSpec("code", GRADER_VERSION, grade, extract_code, vote_key,
                            doc="hidden tests in the sandbox; option timeout_s per program"))

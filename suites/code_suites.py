"""Code suites: HumanEval (164) and MBPP (974), graded by running hidden tests in the sandbox.

Hidden tests live in `Problem.answer` (JSON), which strategies never see; `fields` hold only what
the prompt shows (HumanEval's signature and docstring, MBPP's task text and its first assert).
"""

from __future__ import annotations

import ast
import builtins
import json
import warnings
from typing import Any

from evaluators.code import GRADER_VERSION, CodeItem, grade_item
from evaluators.code.extract import extract_code, vote_key
from core.grade import Grade
from core.errors import UserError
from core.records import Problem
from suites import pop_int, register, reject_unknown
from core.prompt import PromptTemplate
from suites.base import Suite
from suites.loading import load_records

HUMANEVAL_TEMPLATE = PromptTemplate(
    user="Complete the following Python function. Reply with the complete function, including any imports "
    "it needs, in a single ```python code block.\n\n```python\n{prompt}```"
)
MBPP_TEMPLATE = PromptTemplate(
    user="You are an expert Python programmer, and here is your task: {text}\nYour code should pass this "
    "test:\n\n{first_test}\n\nWrite the complete function `{entry_point}` in a single ```python code block."
)
MBPP_TEST_IDS = range(11, 511)  # the standard 500-problem test split


def humaneval_problems(rows: list[dict[str, Any]]) -> list[Problem]:
    return [
        Problem(
            id=r["task_id"],
            fields={"prompt": r["prompt"], "entry_point": r["entry_point"]},
            answer=json.dumps({"format": "humaneval", "test": r["test"], "entry_point": r["entry_point"],
                               "context": r["prompt"], "reference": r["canonical_solution"]}),
            answer_type="code",
        )
        for r in rows
    ]


def mbpp_entry_point(code: str, first_test: str) -> str:
    """The function the asserts call: the first called name the reference solution defines."""
    with warnings.catch_warnings():  # some references have invalid escapes in strings
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(code)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    called = [n.func.id for n in ast.walk(ast.parse(first_test))
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    for pick in ([c for c in called if c in defined], [c for c in called if not hasattr(builtins, c)], called):
        if pick:
            return pick[0]
    raise UserError(f"cannot find the function under test in {first_test!r}")


def mbpp_problems(rows: list[dict[str, Any]]) -> list[Problem]:
    out = []
    for r in sorted(rows, key=lambda r: int(r["task_id"])):
        code = r["code"].replace("\r\n", "\n")
        entry = mbpp_entry_point(code, r["test_list"][0])
        out.append(Problem(
            id=f"mbpp/{r['task_id']}",
            fields={"text": r["text"], "first_test": r["test_list"][0], "entry_point": entry},
            answer=json.dumps({"format": "mbpp", "asserts": list(r["test_list"]), "entry_point": entry,
                               "setup": r.get("test_setup_code", "") or "", "reference": code}),
            answer_type="code",
            metadata={"task_id": int(r["task_id"])},
        ))
    return out


def hidden_item(program: str, problem: Problem, timeout_s: float) -> CodeItem:
    """The grading job for a program: HumanEval programs run after the prompt (its imports and
    helpers, such as `poly`), so a response may give the whole function or only its body."""
    gold = json.loads(problem.answer)
    if gold["format"] == "humaneval":
        return CodeItem(f"{gold['context']}\n{program}", gold["entry_point"], test=gold["test"],
                        context=gold["context"], timeout_s=timeout_s)
    return CodeItem(program, gold["entry_point"], asserts=tuple(gold["asserts"]), setup=gold["setup"],
                    timeout_s=timeout_s)


def reference_program(problem: Problem) -> str:
    """The dataset's own solution, in the form `hidden_item` expects (HumanEval's is a body only)."""
    return str(json.loads(problem.answer)["reference"])


def _code_suite(name: str, problems: list[Problem], template: PromptTemplate, timeout_s: float) -> Suite:
    def grade(response: str, problem: Problem) -> Grade:
        code = extract_code(response)
        if code is None:
            return Grade.wrong(None, "no code found in the response", GRADER_VERSION, "invalid")
        g = grade_item(hidden_item(code, problem, timeout_s))
        return Grade(g.correct, code, g.reason, g.grader_version, g.status)

    return Suite(name=name, problems=problems, template=template, grade=grade, extract=extract_code,
                 vote_key=vote_key, grader_version=GRADER_VERSION, meta={"answer_type": "code", "timeout_s": timeout_s})


@register("humaneval")
def humaneval_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    params = dict(params)
    timeout_s = float(pop_int(params, "timeout", 10, 1, 600))
    reject_unknown("humaneval", params)
    rows = load_records(data_dir, "humaneval/HumanEval.jsonl", "openai/openai_humaneval", "test")
    return _code_suite("humaneval", humaneval_problems(rows), HUMANEVAL_TEMPLATE, timeout_s)


@register("mbpp")
def mbpp_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    """`mbpp` is all 974 problems; `mbpp:split=test` the standard 500 (task ids 11-510)."""
    params = dict(params)
    timeout_s = float(pop_int(params, "timeout", 10, 1, 600))
    split = params.pop("split", "all")
    if split not in ("all", "test"):
        raise UserError(f"mbpp split must be 'all' or 'test', got {split!r}")
    reject_unknown("mbpp", params)
    if data_dir is not None:
        rows = load_records(data_dir, "mbpp/mbpp.jsonl", "google-research-datasets/mbpp")
    else:  # the hub splits the 974 problems into prompt/train/validation/test
        rows = [r for s in ("prompt", "train", "validation", "test")
                for r in load_records(None, "mbpp/mbpp.jsonl", "google-research-datasets/mbpp", s, "full")]
    if split == "test":
        rows = [r for r in rows if int(r["task_id"]) in MBPP_TEST_IDS]
    name = "mbpp" if split == "all" else "mbpp:split=test"
    return _code_suite(name, mbpp_problems(rows), MBPP_TEMPLATE, timeout_s)

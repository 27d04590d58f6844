"""Code suites: HumanEval (164) and MBPP (974), graded by running hidden tests in the sandbox.

Hidden tests live in `Problem.answer` (JSON), which strategies never see; `fields` hold only what
the prompt shows (HumanEval's signature and docstring, MBPP's task text and its first assert).
"""

from __future__ import annotations

import ast
import builtins
import json
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar

from core.errors import UserError
from core.prompt import PromptTemplate
from core.records import Problem
from suites import SUITES, SuiteParams, SuiteSpec, bounded, choice, mirrored
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


def reference_program(problem: Problem) -> str:
    """The dataset's own solution, in the form `hidden_item` expects (HumanEval's is a body only)."""
    return str(json.loads(problem.answer)["reference"])


class CodeParams(SuiteParams):
    """`timeout` (seconds per program, 1-600) changes grading, not the problems, so it stays out of the name."""

    timeout: Annotated[int, bounded(1, 600)] = 10
    unnamed: ClassVar[tuple[str, ...]] = ("timeout",)

    def grader_options(self) -> dict[str, Any]:
        return {"timeout_s": float(self.timeout)}

    def meta(self) -> dict[str, Any]:
        return {"answer_type": "code", "timeout_s": float(self.timeout)}


def _split(raw: str) -> str:
    if raw not in ("all", "test"):
        raise ValueError(f"mbpp split must be 'all' or 'test', got {raw!r}")
    return raw


class MbppParams(CodeParams):
    """`split=test` is the standard 500 (task ids 11-510); the bare name is all 974."""

    split: Annotated[str, choice(_split)] = "all"

    def name_fields(self) -> list[str]:
        return ["split"] if self.split != "all" else []


def mbpp_rows(p: MbppParams, data_dir: Path | None) -> list[dict[str, Any]]:
    if data_dir is not None:
        rows = load_records(data_dir, "mbpp/mbpp.jsonl", "google-research-datasets/mbpp")
    else:  # the hub splits the 974 problems into prompt/train/validation/test
        rows = [r for s in ("prompt", "train", "validation", "test")
                for r in load_records(None, "mbpp/mbpp.jsonl", "google-research-datasets/mbpp", s, "full")]
    return [r for r in rows if int(r["task_id"]) in MBPP_TEST_IDS] if p.split == "test" else rows


SUITES.register(SuiteSpec("humaneval", CodeParams,
                          mirrored(humaneval_problems, "humaneval/HumanEval.jsonl", "openai/openai_humaneval"),
                          HUMANEVAL_TEMPLATE, "code", "HumanEval (164), hidden tests in the sandbox"))
SUITES.register(SuiteSpec("mbpp", MbppParams, lambda p, data_dir: mbpp_problems(mbpp_rows(p, data_dir)),
                          MBPP_TEMPLATE, "code", "MBPP (974), or the standard 500 by split=test"))

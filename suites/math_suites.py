"""Math suites: MATH-500, MATH (5000), GSM8K, AIME 2024/2025, AMC 2023 - graded by `evaluators.math`."""

from __future__ import annotations

import re
from typing import Any

from evaluators import math as math_grader
from core.records import Problem
from suites import register, reject_unknown
from core.prompt import PromptTemplate
from suites.base import Suite
from suites.loading import load_records

MATH_TEMPLATE = PromptTemplate(
    user="{problem}\n\nSolve the problem step by step. Put your final answer within \\boxed{{}}."
)


def math_suite_parts() -> dict[str, Any]:
    """Grader, gold-free extractor and vote key shared by every math-graded suite."""
    return {
        "grade": _grade,
        "extract": math_grader.extract_answer,
        "vote_key": math_grader.answer_key,
        "grader_version": math_grader.GRADER_VERSION,
        "second_opinion": _second_opinion,
    }


def _grade(response: str, problem: Problem):  # type: ignore[no-untyped-def]
    # Tolerance only where the problem itself asks for rounding ("to the nearest tenth").
    return math_grader.grade(response, problem.answer, rounding=problem.metadata.get("rounding"))


def _second_opinion(response: str, problem: Problem) -> bool | None:
    return math_grader.second_opinion(response, problem.answer)


def _math_problems(rows: list[dict[str, Any]], prefix: str) -> list[Problem]:
    out = []
    for i, r in enumerate(rows):
        level = str(r.get("level", ""))
        m = re.search(r"\d+", level)
        out.append(
            Problem(
                id=str(r.get("unique_id") or r.get("idx") or r.get("id") or f"{prefix}-{i}"),
                fields={"problem": r["problem"]},
                answer=str(r["answer"]) if "answer" in r else math_grader.extract_answer(r["solution"]) or "",
                answer_type="math",
                difficulty=float(m.group()) if m else None,
                metadata={"subject": r.get("subject") or r.get("type"),
                          "rounding": math_grader.rounding_places(r["problem"])},
                reference={"solution": r.get("solution")},
            )
        )
    return out


def _simple(base: str, mirror_file: str, hub_id: str, hub_config: str | None = None, split: str = "test"):  # type: ignore[no-untyped-def]
    @register(base)
    def factory(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
        reject_unknown(base, dict(params))
        rows = load_records(data_dir, mirror_file, hub_id, split, hub_config)
        return Suite(name=base, problems=_math_problems(rows, base), template=MATH_TEMPLATE, **math_suite_parts())

    return factory


_simple("math500", "math500/test.jsonl", "HuggingFaceH4/MATH-500")
_simple("math", "math_full_test/test.jsonl", "EleutherAI/hendrycks_math")
_simple("aime24", "aime24/test.jsonl", "HuggingFaceH4/aime_2024", split="train")
_simple("aime25", "aime25/test.jsonl", "yentinglin/aime_2025", split="train")
_simple("amc23", "amc23/test.jsonl", "math-ai/amc23")

GSM8K_TEMPLATE = PromptTemplate(
    user="{question}\n\nSolve the problem step by step. Put your final answer within \\boxed{{}}."
)


@register("gsm8k")
def gsm8k_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    reject_unknown("gsm8k", dict(params))
    rows = load_records(data_dir, "gsm8k/test.jsonl", "openai/gsm8k", "test", "main")
    problems = [
        Problem(
            id=f"gsm8k-{i}",
            fields={"question": r["question"]},
            answer=r["answer"].rsplit("####", 1)[-1].strip().replace(",", ""),
            answer_type="integer",
            reference={"solution": r["answer"]},
        )
        for i, r in enumerate(rows)
    ]
    return Suite(name="gsm8k", problems=problems, template=GSM8K_TEMPLATE, **math_suite_parts())

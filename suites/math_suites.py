"""Math suites: MATH-500, MATH (5000), GSM8K, AIME 2024/2025, AMC 2023, graded by the `math` grader."""

from __future__ import annotations

import re
from typing import Any, Callable

from core.prompt import PromptTemplate
from core.records import Problem
from evaluators import math as math_grader
from suites import SUITES, SuiteParams, SuiteSpec, mirrored

MATH_TEMPLATE = PromptTemplate(
    user="{problem}\n\nSolve the problem step by step. Put your final answer within \\boxed{{}}."
)
GSM8K_TEMPLATE = PromptTemplate(
    user="{question}\n\nSolve the problem step by step. Put your final answer within \\boxed{{}}."
)


def math_problems(prefix: str) -> Callable[[list[dict[str, Any]]], list[Problem]]:
    """Rows in the MATH layout (problem, answer or a boxed solution, level, subject) -> problems."""

    def convert(rows: list[dict[str, Any]]) -> list[Problem]:
        out = []
        for i, r in enumerate(rows):
            m = re.search(r"\d+", str(r.get("level", "")))
            out.append(Problem(
                id=str(r.get("unique_id") or r.get("idx") or r.get("id") or f"{prefix}-{i}"),
                fields={"problem": r["problem"]},
                answer=(str(r["answer"]) if r.get("answer") is not None  # datasets gives absent keys as None
                        else math_grader.extract_answer(r["solution"]) or ""),
                answer_type="math",
                difficulty=float(m.group()) if m else None,
                metadata={"subject": r.get("subject") or r.get("type"),
                          "rounding": math_grader.rounding_places(r["problem"])},
                reference={"solution": r.get("solution")},
            ))
        return out

    return convert


def gsm8k_problems(rows: list[dict[str, Any]]) -> list[Problem]:
    return [
        Problem(
            id=f"gsm8k-{i}",
            fields={"question": r["question"]},
            answer=r["answer"].rsplit("####", 1)[-1].strip().replace(",", ""),
            answer_type="integer",
            reference={"solution": r["answer"]},
        )
        for i, r in enumerate(rows)
    ]


def _math(name: str, mirror_file: str, hub_id: str, doc: str, split: str = "test") -> SuiteSpec[SuiteParams]:
    return SuiteSpec(name, SuiteParams, mirrored(math_problems(name), mirror_file, hub_id, split),
                     MATH_TEMPLATE, "math", doc)


SUITES.register(_math("math500", "math500/test.jsonl", "HuggingFaceH4/MATH-500", "MATH-500, levels 1-5"))
SUITES.register(_math("math", "math_full_test/test.jsonl", "EleutherAI/hendrycks_math", "MATH test set (5000)"))
SUITES.register(_math("aime24", "aime24/test.jsonl", "HuggingFaceH4/aime_2024", "AIME 2024 (30)", "train"))
SUITES.register(_math("aime25", "aime25/test.jsonl", "yentinglin/aime_2025", "AIME 2025 (30)", "train"))
SUITES.register(_math("amc23", "amc23/test.jsonl", "math-ai/amc23", "AMC 2023 (40)"))
SUITES.register(SuiteSpec("gsm8k", SuiteParams,
                          mirrored(gsm8k_problems, "gsm8k/test.jsonl", "openai/gsm8k", "test", "main"),
                          GSM8K_TEMPLATE, "math", "GSM8K test set (1319), integer answers"))

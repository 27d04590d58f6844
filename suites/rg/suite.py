"""The `rg` suite family: `rg:<task>[:key=value,...]` for every task of the installed reasoning-gym.

The prompt is reasoning-gym's question under its default system prompt (answer inside <answer> tags). Problem
`i` of `rg:<task>:...,seed=S` has id `rg-<task>-S-i`; its difficulty is the curriculum level when one is named,
and reasoning-gym's whole entry (with its config) stays in `Problem.reference` for the grader, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.prompt import PromptTemplate
from core.records import Problem
from evaluators.graders.rg import gold, grader_name
from suites.rg import catalog
from suites.rg.generate import entries
from suites.rg.params import RgParams
from suites.spec import SUITES, SuiteSpec

# reasoning-gym's SYSTEM_PROMPTS["default"] (0.1.25), copied so the template digest never moves by itself.
SYSTEM = (
    "Given a problem, your task is to answer the question by thinking step-by-step in a clear and specific manner.\n"
    "Once you have thought about the reasoning process, provide the answer in the following format:\n"
    "<answer>answer here</answer>\n"
    "Do not explain your reasoning inside the answer tags, provide only the final answer. When an example is "
    "provided, you should strictly follow the format of the output/answer in that example.\n"
)
TEMPLATE = PromptTemplate(user="{question}", system=SYSTEM)


def to_problem(p: RgParams, i: int, entry: dict[str, Any]) -> Problem:
    return Problem(
        id=f"rg-{p.task}-{p.seed}-{i}",
        fields={"question": str(entry["question"])},
        answer=gold(p.task, entry),
        answer_type="rg",
        difficulty=float(p.level) if p.level is not None else None,
        metadata={"subject": f"rg:{p.task}", "level": p.level},
        reference={"rg_task": p.task, "rg_entry": entry, "rg_config": p.config},
    )


def rg_problems(p: RgParams, _data_dir: Path | None) -> list[Problem]:
    return [to_problem(p, i, e) for i, e in enumerate(entries(p.task, p.config))]


@dataclass(frozen=True)
class RgSuiteSpec(SuiteSpec[RgParams]):
    """The family spec (`task` empty) hands out one spec per task through `member`."""

    task: str = ""

    def member(self, name: str) -> SuiteSpec[Any]:
        task = catalog.check_task(name)
        return replace(self, name=f"rg:{task}", task=task, grader=grader_name(task))

    def parse(self, raw: dict[str, str]) -> RgParams:
        if not self.task:
            raise UserError("name a reasoning-gym task: rg:<task>[:key=value,...], e.g. rg:basic_arithmetic:level=2 "
                            "(`thinkbench suites` lists them)")
        return RgParams.parse(self.task, raw)


SUITES.register(RgSuiteSpec("rg", RgParams, rg_problems, TEMPLATE, "rg",
                            "reasoning-gym tasks: rg:<task>[:field=value,...,level=L,size=N,seed=S]"))

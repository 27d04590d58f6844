"""Logic suites from the mirror or the hub: `bbh`, `knights_knaves`, `game24`, `countdown`.

Names and parameters:
- `bbh` (all 27 tasks, 6511 problems) or `bbh:task=navigate` / `bbh:task=navigate+snarks`.
  Task in `metadata["subject"]` for per-task breakdowns. Difficulty: a per-task size (objects to
  track, options to choose from, words to sort, symbols, operators, items) - comparable within a
  task only; break down by subject first.
- `knights_knaves` (500: 100 each of 3-7 people) or `knights_knaves:people=5` / `people=3-5`.
  Difficulty = number of people.
- `game24` (1362) or `game24:start=900,stop=1000` (0-based slice; ToT's test set). Difficulty =
  mean human solve time in seconds from 4nums.com.
- `countdown` (256, d1's 3-number test set; mirror only). Each number at most once. Difficulty = count
  of numbers.
Generated counterparts live in `suites.generated` (`kk_gen`, `zebra`, `countdown_gen`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import model_validator

from core.errors import UserError
from core.prompt import PromptTemplate
from core.records import Problem
from evaluators.logic import bbh as bbh_grader
from evaluators.logic import kk as kk_grader
from suites import SUITES, Span, SuiteParams, SuiteSpec, bounded, choice, span
from suites.generated.countdown import TEMPLATE as COUNTDOWN_TEMPLATE
from suites.generated.countdown import countdown_problem
from suites.generated.knights_knaves import TEMPLATE as KK_TEMPLATE
from suites.loading import load_records

# ---------------------------------------------------------------- BBH

BBH_TEMPLATE = PromptTemplate(user="{input}\n\nThink step by step. {format_hint}")
_OBJECTS = {"three": 3, "five": 5, "seven": 7}


def _bbh_rows(data_dir: Path | None, task: str) -> list[dict[str, Any]]:
    # The mirror keeps the task files as in BIG-Bench-Hard: one JSON document, rows under "examples".
    return load_records(data_dir, f"bbh/{task}.json", "lukaemon/bbh", "test", task, field="examples")


def bbh_difficulty(task: str, question: str) -> float:
    """A size measure of the item that never looks at gold (see module docstring)."""
    m = re.search(r"_(three|five|seven)_objects$", task)
    if m:
        return float(_OBJECTS[m.group(1)])
    kind = bbh_grader.task_kind(task)
    if kind == "mc":
        return float(len(bbh_grader.options(question)) or 2)
    if kind == "binary":
        return 2.0
    if task == "word_sorting":
        return float(len(question.split("List:", 1)[-1].split()))
    if task == "dyck_languages":
        return float(sum(c in "([{<>}])" for c in question.split("Input:", 1)[-1]))
    if task == "multistep_arithmetic_two":
        return float(len(re.findall(r"(?<=\s)[-+*](?=\s)", question)))
    return float(question.count(",") + 1)  # object_counting: items listed


def bbh_problems(data_dir: Path | None, tasks: list[str]) -> list[Problem]:
    problems = []
    for task in tasks:
        for i, row in enumerate(_bbh_rows(data_dir, task)):
            problems.append(
                Problem(
                    id=f"bbh-{task}-{i}",
                    fields={"input": row["input"], "format_hint": bbh_grader.format_hint(task)},
                    answer=str(row["target"]),
                    answer_type="bbh",
                    difficulty=bbh_difficulty(task, row["input"]),
                    metadata={"subject": task, "kind": bbh_grader.task_kind(task)},
                )
            )
    return problems


def _tasks(raw: str) -> tuple[str, ...]:
    tasks = sorted(set(filter(None, raw.split("+"))))
    unknown = [t for t in tasks if t not in bbh_grader.TASKS]
    if unknown or not tasks:
        raise ValueError(f"bbh task={raw!r}: unknown task(s) {unknown}; choose from {', '.join(bbh_grader.TASKS)}")
    return tuple(tasks)


class BbhParams(SuiteParams):
    """`task=navigate+snarks` picks tasks (named sorted, without repeats); the bare name is all 27."""

    task: Annotated[tuple[str, ...], choice(_tasks)] = bbh_grader.TASKS

    def suite_name(self, base: str) -> str:
        return f"{base}:task={'+'.join(self.task)}" if "task" in self.model_fields_set else base


SUITES.register(SuiteSpec("bbh", BbhParams, lambda p, data_dir: bbh_problems(data_dir, list(p.task)), BBH_TEMPLATE,
                          "bbh", "BIG-Bench Hard, 27 tasks (6511), or some by task="))


# ---------------------------------------------------------------- Knights and knaves (K&K)


class KnightsKnavesParams(SuiteParams):
    people: Annotated[Span, span(3, 7)] = Span(3, 7)  # the K&K test sizes


def knights_knaves_problems(p: KnightsKnavesParams, data_dir: Path | None) -> list[Problem]:
    problems = []
    for n in p.people.values():
        rows = load_records(data_dir, f"knights_knaves/kk_{n}ppl_test.jsonl", "K-and-K/knights-and-knaves",
                            f"{n}ppl", "test")
        for i, r in enumerate(rows):
            names = list(r["names"])
            problems.append(
                Problem(
                    id=f"kk-{n}ppl-{i}",
                    fields={"quiz": r["quiz"]},
                    answer=kk_grader.gold_answer(names, [bool(x) for x in r["solution"]]),
                    answer_type="knights_knaves",
                    difficulty=float(n),
                    metadata={"people": n, "names": names},
                )
            )
    return problems


SUITES.register(SuiteSpec("knights_knaves", KnightsKnavesParams, knights_knaves_problems, KK_TEMPLATE,
                          "knights_knaves", "K&K test set, 100 each of 3-7 people"))


# ---------------------------------------------------------------- Game of 24

GAME24_TEMPLATE = PromptTemplate(
    user=(
        "Use the numbers {numbers} and the operations +, -, *, / (with brackets) to make 24. Each number must be "
        "used exactly once.\n\nThink step by step. Then finish with a line of the form 'Final answer: EXPRESSION', "
        "where EXPRESSION uses each given number exactly once and evaluates to 24."
    )
)


def _game24_numbers(row: dict[str, Any]) -> list[int]:
    raw = row.get("Puzzles", row.get("numbers"))
    items = raw.split() if isinstance(raw, str) else list(raw or [])
    return [int(x) for x in items]


def _float(x: Any) -> float | None:
    try:
        return float(str(x).rstrip("%"))
    except (TypeError, ValueError):
        return None


class Game24Params(SuiteParams):
    """A 0-based slice `start=900,stop=1000` (ToT's test set); naming either bound names both."""

    start: Annotated[int, bounded(0, 1362)] = 0
    stop: Annotated[int, bounded(1, 1362)] = 1362

    @model_validator(mode="after")
    def _ordered(self) -> Game24Params:
        if self.start >= self.stop:
            raise ValueError(f"game24 start={self.start} must be below stop={self.stop}")
        return self

    def name_fields(self) -> list[str]:
        return ["start", "stop"] if self.model_fields_set else []


def game24_problems(p: Game24Params, data_dir: Path | None) -> list[Problem]:
    rows = load_records(data_dir, "game24/24.jsonl", "nlile/24-game", "train")
    problems = []
    for i, r in enumerate(rows[p.start:p.stop], p.start):
        numbers = _game24_numbers(r)
        problems.append(
            Problem(
                id=f"game24-{i}",
                fields={"numbers": " ".join(map(str, numbers))},
                answer=",".join(map(str, numbers)),
                answer_type="game24",
                difficulty=_float(r.get("AMT (s)", r.get("amt"))),
                metadata={"rank": r.get("Rank", i + 1), "solved_rate": r.get("Solved rate", r.get("solved_rate"))},
            )
        )
    return problems


SUITES.register(SuiteSpec("game24", Game24Params, game24_problems, GAME24_TEMPLATE, "game24",
                          "Game of 24 (1362, 4nums.com), or a slice by start=/stop="))


# ---------------------------------------------------------------- Countdown (d1 test set)


def countdown_problems(_params: SuiteParams, data_dir: Path | None) -> list[Problem]:
    if data_dir is None:
        raise UserError(
            "suite 'countdown' (d1's 256-problem set) exists only in the local mirror; pass --data-dir MIRROR, "
            "or use the generated 'countdown_gen'"
        )
    rows = load_records(data_dir, "countdown/countdown_cd3_test.jsonl", "", "test")
    problems = []
    for i, r in enumerate(rows):
        numbers = [int(x) for x in str(r["input"]).split(",")]
        problems.append(countdown_problem(f"countdown-{i}", numbers, int(r["output"]), float(len(numbers)),
                                          {"numbers": len(numbers)}))
    return problems


SUITES.register(SuiteSpec("countdown", SuiteParams, countdown_problems, COUNTDOWN_TEMPLATE, "countdown",
                          "d1's 3-number countdown test set (256; mirror only)"))

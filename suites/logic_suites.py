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

import json
import re
from pathlib import Path
from typing import Any

from core.grade import Grade
from evaluators.logic import bbh as bbh_grader
from evaluators.logic import expr
from evaluators.logic import kk as kk_grader
from core.errors import UserError
from core.records import Problem
from suites import int_range, pop_int, register, reject_unknown
from core.prompt import PromptTemplate
from suites.base import Suite, gold_grader_parts
from suites.generated.countdown import countdown_problem, countdown_suite_parts, grade_expression
from suites.generated.countdown import extract as expr_extract
from suites.generated.knights_knaves import TEMPLATE as KK_TEMPLATE
from suites.loading import load_records

# ---------------------------------------------------------------- BBH

BBH_TEMPLATE = PromptTemplate(user="{input}\n\nThink step by step. {format_hint}")
_OBJECTS = {"three": 3, "five": 5, "seven": 7}


def _bbh_rows(data_dir: Path | None, task: str) -> list[dict[str, Any]]:
    if data_dir is None:
        return load_records(None, "", "lukaemon/bbh", "test", task)
    path = Path(data_dir) / "bbh" / f"{task}.json"
    if not path.is_file():
        raise UserError(f"data file {path} is missing; point --data-dir / THINKBENCH_DATA_DIR at a complete mirror")
    try:
        return list(json.loads(path.read_text(encoding="utf-8"))["examples"])
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UserError(f"{path} is not a BBH task file ({{'examples': [...]}}); re-copy the mirror file") from None


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


@register("bbh")
def bbh_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    params = dict(params)
    raw = params.pop("task", None)
    reject_unknown("bbh", params)
    tasks = list(bbh_grader.TASKS)
    if raw is not None:
        tasks = sorted(set(filter(None, raw.split("+"))))
        unknown = [t for t in tasks if t not in bbh_grader.TASKS]
        if unknown or not tasks:
            raise UserError(f"bbh task={raw!r}: unknown task(s) {unknown}; choose from {', '.join(bbh_grader.TASKS)}")
    return Suite(
        name="bbh" if raw is None else f"bbh:task={'+'.join(tasks)}",
        problems=bbh_problems(data_dir, tasks),
        template=BBH_TEMPLATE,
        grade=lambda response, p: bbh_grader.grade(response, p.answer, p.metadata["subject"], p.fields["input"]),
        extract=bbh_grader.extract,
        vote_key=bbh_grader.vote_key,
        grader_version=bbh_grader.GRADER_VERSION,
    )


# ---------------------------------------------------------------- Knights and knaves (K&K)


def _people(raw: str) -> list[int]:
    a, b = int_range(raw, "knights_knaves people", 3, 7)  # the K&K test sizes
    return list(range(a, b + 1))


@register("knights_knaves")
def knights_knaves_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    params = dict(params)
    raw = params.pop("people", None)
    reject_unknown("knights_knaves", params)
    sizes = _people(raw or "3-7")
    problems = []
    for n in sizes:
        rows = load_records(data_dir, f"knights_knaves/kk_{n}ppl_test.jsonl", "K-and-K/knights-and-knaves", f"{n}ppl", "test")
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
    span = f"{sizes[0]}-{sizes[-1]}" if len(sizes) > 1 else str(sizes[0])
    return Suite(
        name="knights_knaves" if raw is None else f"knights_knaves:people={span}",
        problems=problems,
        template=KK_TEMPLATE,
        **gold_grader_parts(kk_grader),
    )


# ---------------------------------------------------------------- Game of 24

GAME24_VERSION = "game24-1"
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


@register("game24")
def game24_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    params = dict(params)
    has_slice = "start" in params or "stop" in params
    start = pop_int(params, "start", 0, 0, 1362)
    stop = pop_int(params, "stop", 1362, 1, 1362)
    reject_unknown("game24", params)
    if start >= stop:
        raise UserError(f"game24 start={start} must be below stop={stop}")
    rows = load_records(data_dir, "game24/24.jsonl", "nlile/24-game", "train")
    problems = []
    for i, r in enumerate(rows[start:stop], start):
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

    def grade(response: str, p: Problem) -> Grade:
        return grade_expression(response, [int(x) for x in p.answer.split(",")], 24, True, GAME24_VERSION)

    return Suite(
        name=f"game24:start={start},stop={stop}" if has_slice else "game24",
        problems=problems,
        template=GAME24_TEMPLATE,
        grade=grade,
        extract=expr_extract,
        vote_key=expr.expression_key,
        grader_version=GAME24_VERSION,
    )


# ---------------------------------------------------------------- Countdown (d1 test set)


@register("countdown")
def countdown_suite(params: dict[str, str], data_dir) -> Suite:  # type: ignore[no-untyped-def]
    reject_unknown("countdown", dict(params))
    if data_dir is None:
        raise UserError(
            "suite 'countdown' (d1's 256-problem set) exists only in the local mirror; pass --data-dir MIRROR, "
            "or use the generated 'countdown_gen'"
        )
    rows = load_records(data_dir, "countdown/countdown_cd3_test.jsonl", "", "test")
    problems = []
    for i, r in enumerate(rows):
        numbers = [int(x) for x in str(r["input"]).split(",")]
        problems.append(
            countdown_problem(f"countdown-{i}", numbers, int(r["output"]), float(len(numbers)), {"numbers": len(numbers)})
        )
    return Suite(name="countdown", problems=problems, **countdown_suite_parts())

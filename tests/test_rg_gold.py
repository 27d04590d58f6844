"""Every reasoning-gym task's load-and-grade path with gold answers, no model: a few problems each (one generator
process for all tasks), gold graded correct at full score, an obviously wrong answer never correct."""

from __future__ import annotations

import pytest

from evaluators.graders.rg import CHECKED, grader_name
from evaluators.spec import GRADERS
from suites.rg import catalog
from suites.rg.generate import entries_many
from suites.rg.params import RgParams
from suites.rg.suite import to_problem
from suites.spec import SUITES

pytest.importorskip("reasoning_gym")

PER_TASK = 2
# Tasks whose entries carry no single gold answer (any valid one scores): a valid example lives in metadata.
EXAMPLES = {"graph_color": "possible_answer", "propositional_logic": "example_answer",
            "rubiks_cube": "example_correct_answer"}
# No single answer and no example to check gold with (the wrong-answer half still runs).
NO_GOLD = {"boxnet", "rush_hour"}


def gold_response(task: str, entry: dict) -> str | None:
    if task in EXAMPLES:
        example = entry["metadata"][EXAMPLES[task]]
        return f"<answer>{example if isinstance(example, str) else _json(example)}</answer>"
    if entry["answer"] is None:
        return None
    return f"Some reasoning.\n<answer>{entry['answer']}</answer>"


def _json(value) -> str:
    import json

    return json.dumps({str(k): v for k, v in value.items()})


@pytest.fixture(scope="module")
def all_tasks():
    """(task, params, entries) for every task; generated together in one child process."""
    params = [RgParams.parse(t, {"size": str(PER_TASK), "seed": "1"}) for t in catalog.tasks()]
    made = entries_many([(p.task, p.config) for p in params])
    return [(p.task, p, e) for p, e in zip(params, made)]


def test_every_task_loads_and_grades_gold(all_tasks):
    assert len(all_tasks) >= 100  # 105 in reasoning-gym 0.1.25 (composite is left out)
    failures, gold_checked = [], 0
    for task, params, entries in all_tasks:
        grade = GRADERS.get(grader_name(task)).bind()  # what the task's suite binds, without generating twice
        assert SUITES.get("rg").member(task).grader == grader_name(task)
        assert params.suite_name(f"rg:{task}") == f"rg:{task}:size={PER_TASK},seed=1,version={params.version}"
        assert len(entries) == PER_TASK
        for i, entry in enumerate(entries):
            problem = to_problem(params, i, entry)
            assert problem.fields["question"] and problem.id == f"rg-{task}-1-{i}"
            good = gold_response(task, entry)
            if good is not None and task not in NO_GOLD:
                g = grade(good, problem)
                gold_checked += 1
                if not (g.correct and g.score == 1.0 and g.status == "correct"):
                    failures.append(f"{task}: gold graded {g}")
            for bad in ("<answer>xyzzy</answer>", "no answer here"):
                g = grade(bad, problem)
                if g.correct or g.status == "correct" or g.score is None or not 0.0 <= g.score <= 1.0:
                    failures.append(f"{task}: {bad!r} graded {g}")
    assert not failures, "\n".join(failures)
    assert gold_checked >= (len(all_tasks) - len(NO_GOLD)) * PER_TASK


def _first(all_tasks, task):
    params, entry = next((p, e[0]) for t, p, e in all_tasks if t == task)
    return to_problem(params, 0, entry), GRADERS.get(grader_name(task))


def test_stricter_checkers_decide_and_disagreements_show(all_tasks):
    """reasoning-gym's verifier passes these wrong answers; ours fails them, and its verdict is the second opinion
    (stored as a disagreement); its raw partial credit is kept in the grade."""
    assert set(CHECKED) == {"countdown", "puzzle24", "knights_knaves", "game_of_life_halting"}
    p, spec = _first(all_tasks, "puzzle24")
    numbers = [int(x) for x in p.answer.split(",")]
    cheat = "<answer>8*3 + 0*1</answer>" if 8 not in numbers else "<answer>6*4*1*1</answer>"  # not its numbers
    g = spec.grade(cheat, p)
    assert not g.correct and spec.second_opinion(cheat, p) is True and g.score == 1.0
    p, spec = _first(all_tasks, "game_of_life_halting")
    wrong = "<answer>False</answer>" if p.answer == "True" else "<answer>True</answer>"
    g = spec.grade(wrong, p)
    assert not g.correct and g.score == 1.0 and spec.second_opinion(wrong, p) is True
    p, spec = _first(all_tasks, "knights_knaves")
    pairs = [part.strip().split(" is a ") for part in p.answer.split(",")]
    terms = p.reference["rg_entry"]["metadata"]["knight_knave_terms"]  # its own words (hero/villain, ...)
    say = {"knight": str(terms["a_knight"]), "knave": str(terms["a_knave"])}
    flipped = ", ".join(f"{n} is {say['knave' if r == 'knight' else 'knight'] if i == 0 else say[r]}"
                        for i, (n, r) in enumerate(pairs))
    g = spec.grade(f"<answer>{flipped}</answer>", p)
    assert not g.correct and g.score == pytest.approx(0.3 + 0.7 * (len(pairs) - 1) / len(pairs))
    assert g.reason.startswith(f"rg score {g.score:.2f}; ")
    assert spec.second_opinion(f"<answer>{flipped}</answer>", p) is False  # agrees: no disagreement stored
    quoted = f'One of them says "{p.answer}". Hmm, hard to say.'  # no final answer, only a quoted statement
    assert spec.grade(quoted, p).status == "invalid"


def test_verifiers_run_bounded(all_tasks):
    """simple_integration hands the answer to sympy, which never returns on `9**9**9**9`: the verifier's process is
    killed at the deadline (a grader timeout, not a wrong answer) and the next score gets a fresh one."""
    from evaluators.graders import rg_bounded

    p, _ = _first(all_tasks, "simple_integration")
    ref = p.reference
    with pytest.raises(rg_bounded.VerifierTimeout):
        rg_bounded.score("simple_integration", ref["rg_config"], "9**9**9**9", ref["rg_entry"], deadline_s=1.0)
    assert rg_bounded.score("simple_integration", ref["rg_config"], ref["rg_entry"]["answer"], ref["rg_entry"]) == (
        "ok", 1.0)

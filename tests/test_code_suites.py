"""HumanEval and MBPP through the sandbox: references pass, mutants fail, hidden tests stay hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.code import check_many
from evaluators.code.codec import CodecError, Ref, pack, unpack
from evaluators.code.extract import extract_code, vote_key
from evaluators.code.public_tests import public_test_score, public_tests
from evaluators.graders.code import hidden_item
from suites import load_suite, suite_names
from suites.code_suites import reference_program

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# Docstring examples that contradict the problem's own tests upstream (the canonical solution is right):
# 47 median([-10, 4, 6, 1000, 10, 20]) is 8.0, not 15.0; 116 the first example ignores the "sort by
# number of ones" rule; 148 shows ("Venus") where a one-element tuple is meant.
PUBLIC_EXAMPLES_WRONG_UPSTREAM = {"HumanEval/47", "HumanEval/116", "HumanEval/148"}


@pytest.fixture(scope="module")
def humaneval():
    return load_suite("humaneval", str(DATA))


@pytest.fixture(scope="module")
def mbpp():
    return load_suite("mbpp", str(DATA))


def test_suites_register_and_load(humaneval, mbpp) -> None:
    assert {"humaneval", "mbpp"} <= set(suite_names())
    assert len(humaneval.problems) == 164 and len(mbpp.problems) == 974
    assert len(load_suite("mbpp:split=test", str(DATA)).problems) == 500
    assert humaneval.problems[0].id == "HumanEval/0" and mbpp.problems[0].id == "mbpp/1"
    assert mbpp.problems[125].fields["entry_point"] == "sum"  # a function named like a builtin
    msgs = humaneval.template.render(humaneval.problems[0].question())
    assert "def has_close_elements" in msgs[-1]["content"] and "```python" in msgs[-1]["content"]
    msgs = mbpp.template.render(mbpp.problems[1].question())
    assert "similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)" in msgs[-1]["content"]
    assert "(1, 2, 3, 4),(5, 4, 3, 7)" not in msgs[-1]["content"]  # the other asserts stay hidden


def test_hidden_tests_are_not_visible_to_strategies(humaneval, mbpp) -> None:
    for p in humaneval.problems:
        visible = json.dumps([p.question().fields, p.question().metadata])
        gold = json.loads(p.answer)
        assert gold["test"].strip() not in visible and "def check(candidate)" not in visible
    for p in mbpp.problems:
        visible = json.dumps([p.question().fields, p.question().metadata])
        gold = json.loads(p.answer)
        assert all(json.dumps(a)[1:-1] not in visible for a in gold["asserts"][1:] if a != gold["asserts"][0])
        assert json.dumps(gold["reference"])[1:-1] not in visible


def test_every_humaneval_canonical_solution_passes_and_mutants_fail(humaneval) -> None:
    items = [hidden_item(reference_program(p), p, 10.0) for p in humaneval.problems]
    grades = check_many(items, workers=8)
    failed = {p.id: g.reason for p, g in zip(humaneval.problems, grades) if not g.correct}
    assert failed == {}
    mutants = [hidden_item("    return None\n", p, 10.0) for p in humaneval.problems]
    passed = [p.id for p, g in zip(humaneval.problems, check_many(mutants, workers=8)) if g.correct]
    assert passed == []


def test_every_mbpp_reference_solution_passes_and_mutants_fail(mbpp) -> None:
    items = [hidden_item(reference_program(p), p, 10.0) for p in mbpp.problems]
    grades = check_many(items, workers=8)
    failed = {p.id: g.reason for p, g in zip(mbpp.problems, grades) if not g.correct}
    assert failed == {}
    mutants = [hidden_item(f"def {p.fields['entry_point']}(*args, **kwargs):\n    return None\n", p, 10.0)
               for p in mbpp.problems]
    passed = [p.id for p, g in zip(mbpp.problems, check_many(mutants, workers=8)) if g.correct]
    assert passed == []


def test_suite_grade_extracts_code_from_responses(humaneval, mbpp) -> None:
    p = humaneval.problems[2]  # truncate_number
    good = "Here you go:\n```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```\nDone."
    bad = "```python\ndef truncate_number(number: float) -> float:\n    return number // 1.0\n```"
    g = humaneval.grade(good, p)
    assert g.correct and g.status == "correct" and "return number % 1.0" in (g.extracted or "")
    assert humaneval.grade(bad, p).status == "wrong"
    assert humaneval.grade("I am not sure how to do this.", p).status == "invalid"
    body_only = "    return number - int(number)\n"  # a body continuing the prompt is a program too
    assert humaneval.grade(f"```python\n{body_only}```", p).correct
    q = mbpp.problems[1]  # similar_elements
    ans = "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b)))\n"
    assert mbpp.grade(ans, q).correct  # bare code, no fence
    assert not mbpp.grade(ans.replace("&", "|"), q).correct


def test_extract_code_and_vote_key() -> None:
    two = "```python\nprint(f(1))\n```\ntext\n```python\ndef f(x):\n    return x\n```\n```\nf(2)\n```"
    assert extract_code(two) == "def f(x):\n    return x"
    assert extract_code("Sure.\ndef f(x):\n    return x\nThis returns x.") == "def f(x):\n    return x"
    assert extract_code("```python\ndef f(x):\n    return x") == "def f(x):\n    return x"  # cut off
    assert extract_code("no code here") is None
    assert extract_code("```text\nhello\n```") is None
    assert vote_key("def f(x):\n    return x  # same\n") == vote_key("def f(x):\n\n    return (x)")
    assert vote_key("def f(x):\n    return x\n") != vote_key("def f(x):\n    return -x\n")


def test_public_tests_come_from_the_prompt_and_rank_samples(humaneval, mbpp) -> None:
    with_examples = [p for p in humaneval.problems if public_tests(p.question())]
    assert len(with_examples) >= 120
    for p in with_examples:
        for t in public_tests(p.question()):
            assert t not in json.loads(p.answer)["test"] or t.startswith("assert")
    wrong_upstream = {p.id for p in with_examples if public_test_score(reference_program(p), p.question()) < 1.0}
    assert wrong_upstream == PUBLIC_EXAMPLES_WRONG_UPSTREAM
    q = humaneval.problems[0].question()
    assert public_test_score("def has_close_elements(numbers, threshold):\n    return False\n", q) == 0.5
    mq = mbpp.problems[1].question()
    assert public_tests(mq) == [mbpp.problems[1].fields["first_test"]]
    assert public_test_score("def similar_elements(a, b):\n    return (4, 5)\n", mq) == 1.0
    assert public_test_score("def similar_elements(a, b):\n    return ()\n", mq) == 0.0


def test_codec_builds_only_plain_values() -> None:
    value = (1, [2.5, {"k": {3, 4}}], frozenset({"a"}), None, True, 2**100, b"\x00", 1j, float("inf"))
    assert unpack(json.loads(json.dumps(pack(value)))) == value

    class Spoof(int):
        def __eq__(self, other):
            return True

    with pytest.raises(CodecError):
        pack(Spoof(1))
    assert pack(Spoof(1), to_ref=lambda o: Ref(7)) == {"r": 7}
    for bad in ({"x": 1}, {"B": "eval"}, {"B": "__import__"}, {"I": "zz"}, {"t": 5}, {"d": [[[], 1]]}):
        with pytest.raises(CodecError):
            unpack(bad)

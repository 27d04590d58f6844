"""A verifier strategies may use: run the examples shown in the prompt against a sample.

Built only from what a strategy sees (the `Question`): HumanEval's docstring examples (doctest
`>>>` lines and the `f(x) ==> y` / `f(x) ➞ y` styles) and MBPP's first assert, which the prompt
shows. The hidden tests in `Problem.answer` are never read here. Runs in the same sandbox as
grading, so a sample cannot fake its score either.
"""

from __future__ import annotations

import ast
import doctest
import re

from core.records import Question
from evaluators.code.check import run_job
from evaluators.code.jobs import Job
from evaluators.code.limits import Limits

_ARROW = re.compile(r"^\s*(?:>>>\s*)?(?P<call>{name}\s*\(.*\))\s*"
                    r"(?:==>|=>|➞|->|→|==|should return|returns?)\s*(?P<want>.+?)\s*[.,;]?\s*$")


def _docstring(prompt: str, entry_point: str) -> str:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            return ast.get_docstring(node, clean=True) or ""
    return ""


def _assertion(call: str, want: str) -> str | None:
    """`assert call == want` when the call's arguments and `want` are literals (floats compared with
    a tolerance). Comments are dropped by re-printing the call; prose like `f(a) => 1` is skipped."""
    try:
        node = ast.parse(call.strip(), mode="eval").body
        if not isinstance(node, ast.Call):
            node = next(n for n in ast.walk(node) if isinstance(n, ast.Call))
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(arg)
        call = ast.unparse(ast.parse(call.strip(), mode="eval"))
        value = ast.literal_eval(want.strip())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, StopIteration):
        return None
    if type(value) is float:
        return f"assert abs(({call}) - ({value!r})) < 1e-6"
    return f"assert ({call}) == {value!r}"


def humaneval_examples(prompt: str, entry_point: str) -> list[str]:
    doc = _docstring(prompt, entry_point)
    tests: list[str] = []
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        examples = []
    for ex in examples:
        if entry_point in ex.source and ex.want.strip():
            t = _assertion(ex.source.strip(), ex.want)
            if t:
                tests.append(t)
    if not tests:
        arrow = re.compile(_ARROW.pattern.format(name=re.escape(entry_point)))
        for line in doc.splitlines():
            m = arrow.match(line)
            if m:
                t = _assertion(m.group("call"), m.group("want"))
                if t:
                    tests.append(t)
    return list(dict.fromkeys(tests))


def public_tests(question: Question) -> list[str]:
    """Assert statements a strategy may run, from the question's visible fields only."""
    f = question.fields
    if "first_test" in f:
        return [str(f["first_test"])]
    if "prompt" in f and "entry_point" in f:
        return humaneval_examples(str(f["prompt"]), str(f["entry_point"]))
    return []


def public_program(program: str, question: Question) -> str:
    """HumanEval programs run after the prompt (its imports and helpers), as in grading."""
    f = question.fields
    return f"{f['prompt']}\n{program}" if "prompt" in f and "first_test" not in f else program


def public_test_score(program: str, question: Question, timeout_s: float = 5.0) -> float:
    """Fraction of the public tests `program` passes (0.0 when the question shows none)."""
    tests = public_tests(question)
    if not tests:
        return 0.0
    job = Job(public_program(program, question), tuple(tests), str(question.fields["entry_point"]),
              limits=Limits(timeout_s=timeout_s))
    return run_job(job).fraction_passed

"""docs/extending.md is executable: each example is loaded as the module it names and the five run together.

Also the layering the folder tree promises: `core` imports nothing else of ours, no function in `harness/` is
longer than 60 lines, every pragma says why, and each seam finds its implementations without a list.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import types
from pathlib import Path

import pytest

from core.errors import UserError
from core.registry import Registry
from harness.config import load_config
from harness.engines import ENGINES, make_engine
from harness.grading import Grader
from harness.models import ModelRef
from harness.solve import SuiteView, solve
from harness.strategies import STRATEGIES
from harness.verifiers import VERIFIERS, make_verifier
from suites import SUITES, load_suite

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extending.md"
PACKAGES = ("core", "harness", "evaluators", "suites", "leaderboard")


def _examples() -> dict[str, str]:
    """{module name: source} of every python block whose first line names its file."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    out = {}
    for block in blocks:
        first = block.splitlines()[0]
        m = re.fullmatch(r"# ([\w/]+)\.py", first.strip())
        if m:
            out[m.group(1).replace("/", ".")] = block
    return out


@pytest.fixture()
def doc_modules():
    from evaluators.spec import GRADERS

    registries: list[Registry] = [ENGINES, STRATEGIES, VERIFIERS, GRADERS, SUITES]
    for r in registries:
        r.discover()
    saved = [dict(r._specs) for r in registries]
    examples = _examples()
    try:
        for name, source in examples.items():
            module = types.ModuleType(name)
            module.__file__ = str(ROOT / (name.replace(".", "/") + ".py"))
            sys.modules[name] = module
            exec(compile(source, module.__file__, "exec"), module.__dict__)
        yield examples
    finally:
        for r, specs in zip(registries, saved):
            r._specs = specs
        for name in examples:
            sys.modules.pop(name, None)


def test_every_seam_has_an_example():
    assert set(_examples()) == {"harness.engines.echo", "harness.strategies.first_answer",
                                "harness.verifiers.length_prior", "evaluators.graders.exact_word", "suites.parity"}


def test_doc_examples_run_together(doc_modules):
    suite = load_suite("parity:length=3,n=6")
    assert suite.name == "parity:length=3,n=6,seed=0" and suite.grader_version == "exact-word-1"
    with pytest.raises(UserError, match="length"):
        load_suite("parity:length=99")

    cfg = load_config(None, {"suite": suite.name, "engine.kind": "echo", "engine.suffix": " Final answer: even",
                             "strategy.name": "first_answer"})
    assert cfg.engine.identity() == {"kind": "echo", "suffix": " Final answer: even"}
    assert not cfg.engine_spec.needs_weights
    with pytest.raises(UserError, match="engine.colour"):
        load_config(None, {"engine.kind": "echo", "engine.colour": "red"})

    engine = make_engine(cfg.engine, ModelRef("echo", "echo"), 0)
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    grader = Grader.of(suite)
    attempts = [asyncio.run(solve(engine, view, p.question(), "first_answer", {"n": 3}, 0)) for p in suite.problems]
    assert all(a.error is None and a.final_answer == "even" and a.ledger.engine_calls == 1 for a in attempts)
    verdicts = [grader.grade(a.final_text or "", p).correct for a, p in zip(attempts, suite.problems)]
    assert verdicts == [p.answer == "even" for p in suite.problems]

    prior = make_verifier("length_prior", options={"scale": 10})
    scored = asyncio.run(solve(engine, view, suite.problems[0].question(), "best_of_n", {"n": 2}, 0, prior))
    assert scored.meta.get("verifier") == "length_prior" and all(s.score is not None for s in scored.samples)
    with pytest.raises(UserError, match="bad option"):
        make_verifier("length_prior", options={"width": 3})


def test_seams_find_their_implementations_without_a_list():
    from evaluators.spec import GRADERS

    assert {"vllm", "openai", "scripted"} <= set(ENGINES)
    assert {"cot", "self_consistency", "beam_search", "adaptive"} <= set(STRATEGIES)
    assert {s.name for s in STRATEGIES.specs() if s.sample_pool} == {"cot", "self_consistency", "best_of_n",
                                                                      "weighted_best_of_n"}
    assert {"prm", "llm_judge", "confidence", "public_tests", "oracle"} <= set(VERIFIERS)
    assert {"math", "code", "countdown"} <= set(GRADERS)
    assert {"arith", "math500", "gsm8k", "zebra", "humaneval"} <= set(SUITES)


def _own_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(PACKAGES)


def test_core_imports_nothing_else_of_ours():
    for path in (ROOT / "core").glob("*.py"):
        assert _own_imports(path) <= {"core"}, path


def test_evaluators_and_suites_do_not_reach_into_harness_or_leaderboard():
    for package in ("evaluators", "suites"):
        for path in (ROOT / package).rglob("*.py"):
            assert not _own_imports(path) & {"harness", "leaderboard"}, path


def test_functions_in_harness_are_short():
    long = []
    for path in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(ROOT)}::{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long


def test_every_pragma_says_why():
    bare = []
    pragma = re.compile(r"#\s*(noqa|type:\s*ignore)\b(?P<rest>.*)$")
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                m = pragma.search(line)
                if m and not re.search(r"(\s-\s|#)\s*\w", m.group("rest")):
                    bare.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bare

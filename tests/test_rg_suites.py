"""reasoning-gym suite names: parameters, levels, canonical names with the release, one-line errors, problems fixed
by the name across processes, and the grouped `thinkbench suites` listing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from core.errors import UserError
from suites import load_suite
from suites.rg import catalog
from suites.rg.params import RgParams

pytest.importorskip("reasoning_gym")
VERSION = catalog.version()


@pytest.mark.parametrize("spec,name", [
    ("rg:knights_knaves:n_people=4,size=200,seed=3", "rg:knights_knaves:n_people=4,size=200,seed=3"),
    ("rg:knights_knaves:n_people=2", "rg:knights_knaves:size=100,seed=0"),  # the default is not spelled
    ("rg:basic_arithmetic:level=3", "rg:basic_arithmetic:level=3,size=100,seed=0"),
    ("rg:basic_arithmetic:seed=1,operators=+-,level.num_terms=1,allow_negation=no",
     "rg:basic_arithmetic:operators=+-,allow_negation=false,level.num_terms=1,size=100,seed=1"),
    ("rg:advanced_geometry:task_types=orthocenter+angle_measure,size=5",
     "rg:advanced_geometry:task_types=orthocenter+angle_measure,size=5,seed=0"),
])
def test_canonical_names_spell_changes_levels_size_seed_and_release(spec, name):
    task, raw = spec.split(":")[1], dict(kv.split("=") for kv in spec.split(":")[2].split(","))
    p = RgParams.parse(task, raw)
    assert p.suite_name(f"rg:{task}") == f"{name},version={VERSION}"
    again = dict(kv.split("=") for kv in p.suite_name(f"rg:{task}").split(":")[2].split(","))
    assert RgParams.parse(task, again) == p  # a stored name loads the same config


def test_level_sets_the_curriculum_and_difficulty():
    low, high = RgParams.parse("basic_arithmetic", {"level": "0"}), RgParams.parse("basic_arithmetic", {"level": "4"})
    assert low.config.max_terms < high.config.max_terms  # harder at the higher level
    s = load_suite("rg:basic_arithmetic:level=2,size=3,seed=9")
    assert [p.difficulty for p in s.problems] == [2.0, 2.0, 2.0]
    assert [p.id for p in s.problems] == [f"rg-basic_arithmetic-9-{i}" for i in range(3)]
    assert s.meta["reasoning_gym_version"] == VERSION and s.grader_version.endswith(f"+{VERSION}")
    q = s.problems[0].question()
    assert "rg_entry" not in json.dumps(q.metadata) and s.problems[0].answer not in json.dumps(q.metadata)


@pytest.mark.parametrize("spec,msg", [
    ("rg:basic_arithmetic:colour=red", r"has no parameter\(s\) colour; valid: size, seed, level, level.num_terms"),
    ("rg:basic_arithmetic:level=9", r"level=9 is out of range \[0, 4\]"),
    ("rg:basic_arithmetic:min_terms=x", "min_terms='x'"),
    ("rg:basic_arithmetic:format_style=fancy", "not one of simple/natural"),
    ("rg:basic_arithmetic:min_terms=7,max_terms=3", "reasoning-gym rejects this config"),
    ("rg:acre:level=1", r"has no parameter\(s\) level"),
    ("rg:arc_agi:board_format_opts=x", "no parameter"),
    ("rg:knight_knaves", "did you mean knights_knaves"),
    ("rg", "name a reasoning-gym task"),
    ("rg:basic_arithmetic:version=0.0.1", "made with reasoning-gym 0.0.1"),
])
def test_bad_names_are_one_line_errors(spec, msg):
    with pytest.raises(UserError, match=msg) as e:
        load_suite(spec)
    assert "\n" not in str(e.value)


def test_problems_do_not_depend_on_the_hash_seed():
    """word_ladder iterates sets of strings: generation runs under a fixed hash seed, so another interpreter (with
    another PYTHONHASHSEED) gets the same problems from the same name."""
    spec = "rg:word_ladder:size=3,seed=4"

    def digest(problems) -> str:
        return hashlib.sha256(json.dumps([(p.id, p.fields, p.answer) for p in problems]).encode()).hexdigest()

    code = ("import hashlib, json; from suites import load_suite; "
            f"ps = load_suite({spec!r}).problems; "
            "print(hashlib.sha256(json.dumps([(p.id, p.fields, p.answer) for p in ps]).encode()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.split()[-1]
    assert digest(load_suite(spec).problems) == other


def test_suites_lists_sources_and_parameters(capsys):
    from harness.cli import main

    assert main(["suites"]) == 0
    text = capsys.readouterr().out
    assert text.index("Datasets") < text.index("math500") < text.index("Generated") < text.index("arith")
    assert f"reasoning-gym {VERSION} (105 tasks)" in text
    assert "digits=1 ops=1 operators=+-* n=50 seed=0" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("rg:knights_knaves "))
    assert "levels 0-3" in line and "n_people" in line
    assert main(["suites", "rg:knights_knaves"]) == 0
    one = capsys.readouterr().out
    assert "level.n_people" in one and "default 2" in one
    assert main(["suites", "rg:nope"]) == 2
    assert "no task 'nope'" in capsys.readouterr().err

from __future__ import annotations

import pytest

from core.errors import UserError
from suites import load_suite, suite_names
from suites.base import parse_suite_name
from suites.generated.arith import evaluate
from suites.generated.rng import StableRng

# SHA-256 based: these draws are the same on every machine and Python version.
PINNED_DRAWS = [3, 8, 7, 8, 2, 7, 5, 3, 1, 0, 7, 6]


def test_suite_name_parsing():
    assert parse_suite_name("zebra:size=4x4,n=200,seed=7") == ("zebra", {"size": "4x4", "n": "200", "seed": "7"})
    assert parse_suite_name("math500") == ("math500", {})
    # A family member (reasoning-gym's tasks) keeps its name in the base.
    assert parse_suite_name("rg:knights_knaves:n_people=4,size=200") == ("rg:knights_knaves",
                                                                        {"n_people": "4", "size": "200"})
    assert parse_suite_name("rg:basic_arithmetic") == ("rg:basic_arithmetic", {})
    with pytest.raises(UserError, match="key=value"):
        load_suite("arith:digits")
    with pytest.raises(UserError, match="key=value"):
        parse_suite_name("arith:digits,n=5")


def test_stable_rng_is_pinned():
    # These values are part of the suite contract: changing them changes every generated suite.
    rng = StableRng("arith", 0, 0)
    draws = [rng.randint(0, 9) for _ in range(12)]
    assert draws == PINNED_DRAWS
    a = [StableRng("x", 1).randint(0, 10**6) for _ in range(3)]
    b = [StableRng("x", 1).randint(0, 10**6) for _ in range(3)]
    assert a == b
    assert StableRng("x", 1).randint(0, 10**6) != StableRng("x", 2).randint(0, 10**6)


def test_arith_is_deterministic_and_correct():
    s1 = load_suite("arith:digits=1-3,ops=3,n=40,seed=5")
    s2 = load_suite("arith:digits=1-3,ops=3,n=40,seed=5")
    assert [p.fields for p in s1.problems] == [p.fields for p in s2.problems]
    assert {p.difficulty for p in s1.problems} == {3.0, 6.0, 9.0}
    for p in s1.problems:
        tokens = p.fields["expression"].split()
        assert len(tokens) == 7
        assert int(p.answer) == evaluate(tokens)
    assert load_suite("arith:n=5,seed=6").problems[0].fields != load_suite("arith:n=5,seed=5").problems[0].fields


def test_arith_precedence():
    assert evaluate("2 + 3 * 4 - 5".split()) == 9
    assert evaluate("7 * 8 * 2".split()) == 112


def test_arith_name_is_canonical():
    assert load_suite("arith:seed=0,n=3").name == load_suite("arith:n=3").name


@pytest.mark.parametrize("spec,msg", [
    ("arith:digits=0", "within 1-12"),
    ("arith:n=abc", "not an integer"),
    ("arith:color=red", "no parameter"),
    ("arith:operators=/", "only"),
    ("nosuchsuite", "unknown suite"),
])
def test_bad_suite_specs(spec, msg):
    with pytest.raises(UserError, match=msg):
        load_suite(spec)


def test_mirror_math_suites_load(data_dir):
    math500 = load_suite("math500", str(data_dir))
    assert len(math500.problems) == 500
    assert len({p.id for p in math500.problems}) == 500
    assert all(p.answer for p in math500.problems)
    assert {p.difficulty for p in math500.problems} == {1.0, 2.0, 3.0, 4.0, 5.0}
    gsm = load_suite("gsm8k", str(data_dir))
    assert len(gsm.problems) == 1319
    assert gsm.problems[0].answer == "18"
    assert len(load_suite("math", str(data_dir)).problems) == 5000
    assert len(load_suite("aime24", str(data_dir)).problems) == 30


def test_questions_hide_gold(data_dir):
    p = load_suite("gsm8k", str(data_dir), limit=1).problems[0]
    q = p.question()
    assert not hasattr(q, "answer")
    assert p.answer not in str(q.fields) or p.answer in p.fields["question"]


def test_missing_mirror_file(tmp_path):
    with pytest.raises(UserError, match="missing"):
        load_suite("math500", str(tmp_path))


def test_registry_lists_spine_suites():
    names = suite_names()
    for name in ("math500", "gsm8k", "arith"):
        assert name in names


def test_limit_keeps_first(data_dir):
    assert [p.id for p in load_suite("gsm8k", str(data_dir), limit=3).problems] == ["gsm8k-0", "gsm8k-1", "gsm8k-2"]
    with pytest.raises(UserError):
        load_suite("gsm8k", str(data_dir), limit=0)


# Canonical names are hashed into run ids and stored: these spellings are a contract.
PINNED_NAMES = [
    ("arith", "arith:digits=1,ops=1,operators=+-*,n=50,seed=0"),
    ("arith:digits=1-2,ops=1,operators=+,n=24,seed=0", "arith:digits=1-2,ops=1,operators=+,n=24,seed=0"),
    ("arith:seed=5,n=3,digits=2-4", "arith:digits=2-4,ops=1,operators=+-*,n=3,seed=5"),
    ("arith:digits=3-3", "arith:digits=3,ops=1,operators=+-*,n=50,seed=0"),
    ("kk_gen:people=4-4,depth=3,n=4", "kk_gen:people=4,depth=3,n=4,seed=0"),
    ("zebra:size=2X2,n=3", "zebra:size=2x2,n=3,seed=0"),
    ("countdown_gen:target=500,n=3", "countdown_gen:numbers=4,target=500-500,n=3,seed=0"),
]


@pytest.mark.parametrize("spec,name", PINNED_NAMES)
def test_canonical_names_are_pinned(spec, name):
    assert load_suite(spec).name == name


def test_graders_are_registered_with_stored_versions():
    from evaluators.spec import GRADERS

    versions = {g.name: g.version for g in GRADERS.specs() if not g.name.startswith("rg")}
    rg = {g.name: g.version for g in GRADERS.specs() if g.name.startswith("rg")}
    assert set(rg) == {"rg", "rg_countdown", "rg_puzzle24", "rg_knights_knaves", "rg_game_of_life_halting"}
    assert len(set(rg.values())) == 1 and next(iter(rg.values())).startswith("rg-1+")  # + reasoning-gym's release
    assert versions == {"bbh": "bbh-1", "code": "code-sandbox-3", "countdown": "countdown-1", "game24": "game24-1",
                        "knights_knaves": "kk-1", "math": "math-2.0", "zebra": "zebra-1"}


def test_mirror_files_load_through_datasets(tmp_path, monkeypatch):
    """The mirror path is `datasets`' json builder (cached per user): rows equal the file's objects, in order, with
    their types (ints stay ints, nested lists stay lists); a broken file is one line naming it."""
    import json

    from suites.loading import cache_dir, read_mirror

    rows = [{"id": i, "x": 0.5 * i, "tags": ["a", str(i)], "ok": i % 2 == 0, "note": None} for i in range(40)]
    good = tmp_path / "rows.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    loaded = read_mirror(good)
    assert loaded == rows and [type(r["id"]) for r in loaded] == [int] * 40
    assert json.dumps(loaded) == json.dumps(rows)  # byte for byte once serialised again
    assert cache_dir().is_dir() and any(cache_dir().iterdir())
    doc = tmp_path / "task.json"
    doc.write_text(json.dumps({"examples": rows[:3], "canary": "x"}), encoding="utf-8")
    assert read_mirror(doc, field="examples") == rows[:3]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(UserError, match="bad.jsonl could not be read as JSON lines.*re-copy"):
        read_mirror(bad)
    with pytest.raises(UserError, match="missing"):
        read_mirror(tmp_path / "absent.jsonl")


def test_mirror_suites_keep_ids_order_and_content(data_dir):
    """Digests of problems (ids, order, every field) for a few mirrored suites, as the line-by-line JSON reader
    produced them before suites loaded through `datasets`."""
    import dataclasses
    import hashlib
    import json

    def digest(spec: str) -> str:
        h = hashlib.sha256()
        for p in load_suite(spec, str(data_dir)).problems:
            h.update(json.dumps(dataclasses.asdict(p), sort_keys=True, default=repr).encode())
        return h.hexdigest()[:16]

    assert {s: digest(s) for s in ("math500", "gsm8k", "humaneval", "bbh:task=navigate", "knights_knaves")} == {
        "math500": "f7ec284b223dadbf", "gsm8k": "8307b6b6cd48856f", "humaneval": "3c2718af7daacd7a",
        "bbh:task=navigate": "3139c12c97c15429", "knights_knaves": "f98448b16a247c3c"}

"""Property tests: adversarial families generated from every real MATH-500 and GSM8K gold answer.

For each gold `g` and a different value `h` of the same shape, each family builds responses whose label is
known by construction (a hedge between g and h is wrong; a retraction that ends on g is right, ...). Labels
never come from the grader under test. For every family the test counts false "equal" (a wrong response
graded correct) and false "different" (a right response graded wrong), for our grader and for Math-Verify on
the same cases, and prints the table when an assertion fails.

Targets: no false "equal" in any family; no more false "different" than Math-Verify in any family.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import pytest

from evaluators.math import grade_many

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
_INT = re.compile(r"-?\d+")
_DEC = re.compile(r"-?\d+(?:\.\d+)?")
_PCT = re.compile(r"(\d+(?:\.\d+)?)\\%")
_CHOICE = re.compile(r"\\text\{\(([A-E])\)\}|\(([A-E])\)|([A-E])")
_PAIR = re.compile(r"\((-?\d+),\s*(-?\d+)\)")


@dataclass(frozen=True)
class Case:
    family: str
    response: str
    gold: str
    correct: bool  # the label, by construction


def other(gold: str) -> str:
    """A different value of the same shape: the first integer bumped by one, or `+1` appended."""
    m = re.search(r"\d+", gold)
    if m:
        return gold[: m.start()] + str(int(m.group()) + 1) + gold[m.end() :]
    if gold.startswith("\\text{"):
        return gold[:-1] + "x}"
    return gold + "+1"


def _fmt(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    s = f"{float(x):.12f}".rstrip("0")
    return s if Fraction(s) == x else f"\\frac{{{x.numerator}}}{{{x.denominator}}}"


def hedges(g: str, h: str) -> list[Case]:
    wrong = [f"The answer is ${g}$ or ${h}$.", f"The answer is ${h}$ or ${g}$.", f"\\boxed{{{g} \\sim {h}}}",
             f"\\boxed{{{g} \\approx {h}}}", f"\\boxed{{{g}}} or \\boxed{{{h}}}", f"\\boxed{{{g} \\text{{ or }} {h}}}",
             f"So the answer is either ${g}$ or ${h}$.", f"**Answer:** ${g}$ or ${h}$"]
    return [Case("hedge", r, g, False) for r in wrong]


def retractions(g: str, h: str) -> list[Case]:
    recheck = "Wait, let me re-check the computation.\nRedoing the last step carefully gives"
    return [
        Case("retract", f"We get $\\boxed{{{h}}}$. Checking again, the final answer is ${g}$.", g, True),
        Case("retract", f"We get $\\boxed{{{g}}}$. Checking again, the final answer is ${h}$.", g, False),
        Case("retract", f"Answer: {g}\n\nActually, that's wrong. Answer: {h}", g, False),
        Case("retract", f"Answer: {h}\n\nActually, that's wrong. Answer: {g}", g, True),
        Case("retract", f"So $\\boxed{{{g}}}$.\n\nActually, that's wrong. Answer: ${h}$", g, False),
        Case("retract", f"So $\\boxed{{{h}}}$.\n\n{recheck} $\\boxed{{{g}}}$.", g, True),
        Case("retract", f"So $\\boxed{{{g}}}$.\n\n{recheck} $\\boxed{{{h}}}$.", g, False),
    ]


def structure(g: str, h: str) -> list[Case]:
    out = [Case("structure", r, g, False) for r in (
        "\\boxed{}", "\\boxed{\\text{}}", "\\boxed{ }", f"\\boxed{{{g} \\quad {h}}}", f"\\boxed{{{g} = {h}}}",
        f"\\boxed{{{h} = {g}}}")]
    if _INT.fullmatch(g):
        n = abs(int(g))
        if n >= 10:
            out.append(Case("structure", f"\\boxed{{{g[:-1]}\\quad {g[-1]}}}", g, False))
        for a in range(2, min(n, 50)):
            if n % a == 0 and n // a > 1:
                out.append(Case("structure", f"\\boxed{{{a}\\quad {n // a}}}", g, False))
                break
    m = _PAIR.fullmatch(g.replace("\\left", "").replace("\\right", "").replace(" ", ""))
    if m:
        a, b = m.groups()
        out += [Case("structure", r, g, False) for r in (
            f"\\boxed{{[{a},{b}]}}", f"\\boxed{{[{b},{a}]}}", "\\boxed{x<x}", "\\boxed{\\emptyset}",
            f"\\boxed{{({a},{b}]}}")]
        if a != b:
            out.append(Case("structure", f"\\boxed{{({b},{a})}}", g, False))
        out.append(Case("structure", f"\\boxed{{(x,y)=({a},{b})}}", g, True))
    return out


def trailing(g: str) -> list[Case]:
    wrong = [f"\\boxed{{{g} \\text{{ or more}}}}", f"\\boxed{{{g} \\text{{ or less}}}}",
             f"\\boxed{{\\text{{not }} {g}}}", f"\\boxed{{{g} \\text{{ is not the answer}}}}",
             f"\\boxed{{\\text{{at least }} {g}}}",
             f"\\boxed{{\\neq {g}}}", f"The answer is not ${g}$.", f"\\boxed{{{g} \\text{{ or fewer}}}}"]
    out = [Case("semantics", r, g, False) for r in wrong]
    deg = re.fullmatch(r"(\d+)\^\\circ", g)
    if deg:
        out += [Case("semantics", f"\\boxed{{{deg.group(1)} \\text{{ radians}}}}", g, False),
                Case("semantics", f"\\boxed{{{deg.group(1)}}}", g, True)]
    return out


def percents(g: str) -> list[Case]:
    m = _PCT.fullmatch(g)
    if m:
        v = Fraction(m.group(1))
        return [Case("percent", f"\\boxed{{{_fmt(v / 100)}\\%}}", g, v == 0),
                Case("percent", f"\\boxed{{{_fmt(v * 100)}\\%}}", g, v == 0),
                Case("percent", f"\\boxed{{{g}}}", g, True)]
    if not _DEC.fullmatch(g):
        return []
    v = Fraction(g)
    return [Case("percent", f"\\boxed{{{_fmt(v / 100)}\\%}}", g, v == 0),
            Case("percent", f"\\boxed{{{g}\\%}}", g, True),
            Case("percent", f"\\boxed{{{_fmt(v * 100)}\\%}}", g, True)]


def choices(g: str) -> list[Case]:
    m = _CHOICE.fullmatch(g.strip())
    if not m:
        return []
    c = next(x for x in m.groups() if x)
    d = "B" if c != "B" else "C"
    wrong = [f"\\boxed{{({c}) \\text{{ or }} ({d})}}", "\\boxed{A B C D E}", f"\\boxed{{\\text{{{c} is incorrect}}}}",
             f"\\boxed{{\\neq {c}}}", f"\\boxed{{\\text{{not }} ({c})}}"]
    return [Case("choice", r, g, False) for r in wrong] + [Case("choice", f"\\boxed{{({c})}}", g, True)]


@lru_cache(maxsize=None)
def _differs_somewhere(a: str, b: str) -> bool | None:
    """Independent label for expression families: do a and b differ at some random real point (negatives too)?
    Read with latex2sympy (Math-Verify's parser, not ours); None when it cannot read them."""
    import sympy as sp
    from latex2sympy2_extended import latex2sympy

    try:
        ea, eb = latex2sympy(a), latex2sympy(b)
        syms = sorted((ea.free_symbols | eb.free_symbols), key=str)
        rng = random.Random(0)
        for _ in range(12):
            pt = {s: sp.Rational(rng.randint(-400, 400), rng.randint(1, 97)) for s in syms}
            x, y = complex(ea.evalf(30, subs=pt)), complex(eb.evalf(30, subs=pt))
            if abs(x - y) > 1e-9 * max(1.0, abs(x), abs(y)):
                return True
        return False
    except Exception:  # noqa: BLE001 - any parse or evaluation failure means: no independent label, skip the case
        return None


def expressions(g: str) -> list[Case]:
    if "\\text" in g or "," in g or "=" in g or not re.search(r"(?<!\\)\b[a-z]\b|\\theta", g):
        return []
    out = []
    for r in (f"\\left|{g}\\right|", f"\\sqrt{{\\left({g}\\right)^2}}", f"\\lfloor {g} \\rfloor"):
        differs = _differs_somewhere(g, r)
        if differs is not None:
            out.append(Case("expression", f"\\boxed{{{r}}}", g, not differs))
    return out


def controls(g: str) -> list[Case]:
    """Right answers in the styles models write: none of these may be rejected more often than Math-Verify does."""
    right = [f"\\boxed{{{g}}}", f"The final answer is ${g}$.", f"So the answer is ${g}$.", f"**Answer:** ${g}$",
             f"We first get $\\boxed{{{g}}}$, and double-checking confirms $\\boxed{{{g}}}$."]
    if _INT.fullmatch(g):
        right += [f"Therefore, the answer is {g}.", f"The total is {g} apples.", f"#### {g}", f"\\boxed{{{g}.00}}",
                  f"So she pays \\${g}.", f"**Answer:** {g} hours"]
    return [Case("control", r, g, True) for r in right]


def cases_for(g: str) -> list[Case]:
    h = other(g)
    return (hedges(g, h) + retractions(g, h) + structure(g, h) + trailing(g) + percents(g) + choices(g)
            + expressions(g) + controls(g))


def golds() -> list[str]:
    from suites import load_suite

    out = [p.answer for p in load_suite("math500", str(DATA)).problems]
    out += sorted({p.answer for p in load_suite("gsm8k", str(DATA)).problems})
    return list(dict.fromkeys(out))


def math_verify_verdicts(cases: list[Case]) -> list[bool]:
    """Math-Verify on the same pairs (in this process, with its own timeouts)."""
    import math_verify as mv

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    gold_cache: dict[str, list] = {}
    out = []
    for c in cases:
        if c.gold not in gold_cache:
            gold_cache[c.gold] = mv.parse(f"${c.gold}$") or mv.parse(c.gold)
        try:
            parsed = mv.parse(c.response)
            out.append(bool(parsed) and bool(mv.verify(gold_cache[c.gold], parsed)))
        except Exception:  # noqa: BLE001 - a Math-Verify failure counts as its "different", as it would in use
            out.append(False)
    return out


Table = dict[str, dict[str, int]]


def tabulate(cases: list[Case], ours: list[bool], theirs: list[bool]) -> Table:
    t: Table = defaultdict(lambda: defaultdict(int))
    for c, a, b in zip(cases, ours, theirs):
        row = t[c.family]
        row["n"] += 1
        row["ours_false_equal"] += int(a and not c.correct)
        row["ours_false_diff"] += int(c.correct and not a)
        row["mv_false_equal"] += int(b and not c.correct)
        row["mv_false_diff"] += int(c.correct and not b)
    return t


def render(t: Table) -> str:
    cols = ["n", "ours_false_equal", "mv_false_equal", "ours_false_diff", "mv_false_diff"]
    lines = [f"{'family':12s}" + "".join(f"{c:>18s}" for c in cols)]
    for fam in sorted(t):
        lines.append(f"{fam:12s}" + "".join(f"{t[fam][c]:>18d}" for c in cols))
    return "\n".join(lines)


MV_STRIDE = 6  # Math-Verify is ~100x slower than our grader: it sees every 6th case, plus every case we get wrong


@dataclass
class Results:
    cases: list[Case]  # every generated case, with our verdicts in `ours`
    ours: list[bool]
    compared: list[Case]  # the subset both graders judged
    ours_compared: list[bool]
    theirs: list[bool]


@pytest.fixture(scope="module")
def results() -> Results:
    cases = [c for g in golds() for c in cases_for(g)]
    ours = [g.correct for g in grade_many([(c.response, c.gold) for c in cases], workers=2)]
    wrong = {i for i, (c, a) in enumerate(zip(cases, ours)) if a != c.correct}
    keep = sorted(set(range(0, len(cases), MV_STRIDE)) | wrong)
    compared = [cases[i] for i in keep]
    return Results(cases, ours, compared, [ours[i] for i in keep], math_verify_verdicts(compared))


# Families not closed yet keep a ceiling here (reached counts), so they cannot regress; empty means all closed.
FALSE_EQUAL_CEILING: dict[str, int] = {}
FALSE_DIFF_EXCESS: dict[str, int] = {}


def test_no_false_equal_in_any_family(results: Results) -> None:
    """Over every case: our grader never says "equal" to a wrong answer."""
    t = tabulate(results.cases, results.ours, results.ours)
    print("\n" + render(tabulate(results.compared, results.ours_compared, results.theirs)))
    bad = {f: r["ours_false_equal"] for f, r in t.items() if r["ours_false_equal"] > FALSE_EQUAL_CEILING.get(f, 0)}
    examples = [(c.family, c.response, c.gold) for c, a in zip(results.cases, results.ours)
                if a and not c.correct][:25]
    assert not bad, f"false 'equal' per family {bad}\nexamples: {examples}"


def test_no_more_false_different_than_math_verify(results: Results) -> None:
    """On the compared subset (which holds every case we get wrong): no more false "different" than Math-Verify."""
    t = tabulate(results.compared, results.ours_compared, results.theirs)
    bad = {f: (r["ours_false_diff"], r["mv_false_diff"]) for f, r in t.items()
           if r["ours_false_diff"] > r["mv_false_diff"] + FALSE_DIFF_EXCESS.get(f, 0)}
    examples = [(c.family, c.response, c.gold) for c, a in zip(results.compared, results.ours_compared)
                if c.correct and not a][:25]
    assert not bad, f"false 'different' (ours, Math-Verify) {bad}\n{render(t)}\nexamples: {examples}"

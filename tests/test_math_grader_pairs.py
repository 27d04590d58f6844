"""Labelled (response, gold) pairs for every answer type, both directions, each with the reason for its label.

A pair is (response, gold, expected, reason). `True` pairs are equivalent answers written differently;
`False` pairs are near misses that a lenient grader would wrongly accept.
"""

from __future__ import annotations

import pytest

from evaluators.math import grade


def B(s: str) -> str:
    """Most responses box their answer."""
    return f"\\boxed{{{s}}}"


PAIRS: list[tuple[str, str, bool, str]] = [
    # integers
    (B("42"), "42", True, "same integer"),
    (B("042"), "42", True, "a leading zero does not change the value"),
    (B("42.0"), "42", True, "42.0 is exactly 42"),
    (B("43"), "42", False, "off by one"),
    (B("-42"), "42", False, "sign differs"),
    (B("42.01"), "42", False, "close is not equal"),
    # rationals
    (B("\\frac{1}{2}"), "0.5", True, "1/2 is exactly 0.5"),
    (B("1/2"), "\\frac12", True, "slash fraction vs single-character \\frac arguments"),
    (B("\\dfrac{2}{4}"), "\\frac{1}{2}", True, "unreduced fraction, \\dfrac"),
    (B("-\\frac{3}{4}"), "\\frac{-3}{4}", True, "sign outside vs inside"),
    (B("\\frac{1}{3}"), "\\frac{1}{2}", False, "different rational"),
    (B("\\frac{1}{2^{99}}"), "\\frac{1}{2^{98}}", False, "tiny values differ by 2x: no absolute-tolerance chop"),
    (B("2^{-99}"), "\\frac{1}{2^{99}}", True, "negative exponent"),
    (B("\\frac{3}{-4}"), "-0.75", True, "negative denominator"),
    # decimals: exact by default
    (B("0.3333333333"), "\\frac{1}{3}", False, "a truncation is not 1/3"),
    (B("3.141593"), "\\pi", False, "6-decimal rounding of pi is not pi"),
    (B("\\pi"), "3.141593", False, "and not the other way round"),
    (B("0.\\overline{3}"), "\\frac13", True, "repeating decimal notation is exact"),
    (B("0.1\\overline{6}"), "\\frac16", True, "repeating block after a fixed digit"),
    (B("0.\\overline{3}"), "0.3333", False, "repeating 3s are not 0.3333"),
    (B(".35625"), "0.35625", True, "missing leading zero"),
    (B("1.25"), "\\frac54", True, "terminating decimal equals the fraction"),
    (B("1.2"), "1.25", False, "dropped digit"),
    (B("1.5e6"), "1500000", True, "scientific notation"),
    (B("1.5 \\times 10^6"), "1500000", True, "LaTeX scientific notation"),
    (B("1.5e5"), "1500000", False, "wrong exponent"),
    (B(".0000672"), "6.72 \\times 10^{-5}", True, "small decimal vs scientific"),
    # expressions
    (B("2\\sqrt{2}"), "\\sqrt{8}", True, "simplified radical"),
    (B("\\frac{\\sqrt3}{3}"), "\\frac{1}{\\sqrt{3}}", True, "rationalised denominator"),
    (B("x^2+2x+1"), "(x+1)^2", True, "expanded polynomial"),
    (B("x^2+2x"), "(x+1)^2", False, "missing constant term"),
    (B("\\sin^2 x + \\cos^2 x"), "1", True, "trigonometric identity"),
    (B("q - p"), "p - q", False, "negated expression"),
    (B("2(k+1)"), "2k+2", True, "factored form"),
    (B("2n+2"), "2k+2", False, "different variable"),
    (B("\\sqrt{2}+\\sqrt{3}"), "\\sqrt{5+2\\sqrt6}", True, "denested radical"),
    (B("12\\sqrt2"), "11\\sqrt2", False, "coefficient differs"),
    (B("\\frac{\\cos x}{\\sin x}"), "\\cot x", True, "cot as cos/sin"),
    (B("\\tan x"), "\\cot x", False, "reciprocal function"),
    (B("x^5 - x^4 + x^3 - x^2 + x - 1"), "(x-1)(x^4+x^2+1)", True, "factored vs expanded"),
    (B("\\frac{11+9a}{20}"), "\\frac{11}{20}+\\frac{9a}{20}", True, "split fraction"),
    (B("\\frac{11+9a}{20}"), "\\frac{11+9a}{21}", False, "denominator differs"),
    (B("10!"), "3628800", True, "factorial evaluates"),
    (B("\\binom{5}{2}"), "10", True, "binomial coefficient"),
    (B("\\log_2 8"), "3", True, "logarithm with base"),
    (B("e^{i\\pi}"), "-1", True, "e is Euler's number and i the imaginary unit"),
    # equations
    (B("y = 2x + 3"), "y=2x+3", True, "same line"),
    (B("2x - y + 3 = 0"), "y = 2x + 3", True, "same line in general form"),
    (B("y = 2x - 3"), "y = 2x + 3", False, "different intercept"),
    (B("-5x+7y-11z-4=0"), "5x - 7y + 11z + 4 = 0", True, "plane equation times -1"),
    (B("10x-14y+22z+8=0"), "5x - 7y + 11z + 4 = 0", True, "plane equation times 2"),
    (B("5x - 7y + 11z - 4 = 0"), "5x - 7y + 11z + 4 = 0", False, "different plane"),
    (B("5"), "x=5", True, "value of the named variable"),
    (B("x = 5"), "5", True, "response names the variable"),
    (B("x=6"), "x=5", False, "wrong value"),
    (B("y = -2x"), "y = -2x", True, "identical"),
    (B("y = 2x"), "y = -2x", False, "slope sign"),
    # inequalities, intervals, unions
    (B("x<3 \\text{ or } x>5"), "(-\\infty,3)\\cup(5,\\infty)", True, "inequalities as a union"),
    (B("x \\le 3 \\text{ or } x>5"), "(-\\infty,3)\\cup(5,\\infty)", False, "closed endpoint at 3"),
    (B("(3,4]"), "(3,4]", True, "identical half-open interval"),
    (B("3 < x \\le 4"), "(3,4]", True, "chained inequality"),
    (B("[3,4]"), "(3,4]", False, "left endpoint closed"),
    (B("x \\in [-2,7]"), "[-2,7]", True, "membership notation"),
    (B("[-2, 7)"), "x \\in [-2,7]", False, "right endpoint open"),
    (B("(5, \\infty)"), "x > 5", True, "interval for an inequality"),
    (B("x>5"), "(5,\\infty)", True, "inequality for an interval"),
    (B("x \\ge 5"), "(5,\\infty)", False, "5 included"),
    (B("(9,36) \\cup (0,9)"), "(0,9) \\cup (9,36)", True, "union in another order"),
    (B("(0,36)"), "(0,9) \\cup (9,36)", False, "9 is excluded from gold"),
    (B("x^2 < 4"), "(-2, 2)", True, "an open pair read as an interval against an inequality"),
    (B("\\left(\\frac{3}{5},\\frac{8}{3}\\right]"), "(0.6, 8/3]", True, "endpoints in other notations"),
    (B("\\left[ \\frac{\\pi^2}{8}, \\frac{5 \\pi^2}{4} \\right]"), "[\\pi^2/8, 1.25\\pi^2]", True,
     "symbolic endpoints"),
    (B("(-\\infty, \\infty)"), "\\mathbb{R}", True, "all reals"),
    # sets and multiple answers (unordered)
    (B("\\{3, 1, 2\\}"), "\\{1,2,3\\}", True, "set order does not matter"),
    (B("\\{1, 2\\}"), "\\{1,2,3\\}", False, "missing element"),
    (B("7, 3, 5"), "3, 5, 7", True, "answers in another order"),
    (B("3, 5"), "3, 5, 7", False, "one answer missing"),
    (B("3, 5, 7, 9"), "3, 5, 7", False, "an extra answer"),
    (B("x=1, x=-2"), "1,-2", True, "solutions written as assignments"),
    (B("1, 2"), "1,-2", False, "sign of one solution"),
    (B("\\{1+\\sqrt5, 1-\\sqrt5, -2\\}"), "\\{1\\pm\\sqrt{5},-2\\}", True, "± expanded"),
    ("x = 3 \\text{ or } x = 4", "3, 4", True, "a solution set written with 'or' is not a hedge"),
    # tuples and points (ordered)
    (B("(2,1)"), "(1,2)", False, "order matters in a point"),
    (B("\\left( \\frac{3}{2}, -13 \\right)"), "(1.5, -13)", True, "coordinates in other notations"),
    (B("(6,31,1)"), "(6,31,-1)", False, "one coordinate differs"),
    (B("(1,2,3)"), "(1,2)", False, "different length"),
    (B("(3, \\pi/2)"), "\\left( 3, \\frac{\\pi}{2} \\right)", True, "polar coordinates"),
    (B("(3, 90^\\circ)"), "\\left( 3, \\frac{\\pi}{2} \\right)", True, "angle in degrees"),
    # matrices and vectors
    (B("\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}"),
     "\\begin{pmatrix} -\\frac13 \\\\ \\frac23 \\\\ \\frac53 \\end{pmatrix}", True, "vector entries in other notation"),
    (B("\\begin{bmatrix} -1 & 0 \\\\ 0 & -1 \\end{bmatrix}"), "\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}",
     True, "bmatrix vs pmatrix"),
    (B("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"), "\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}",
     False, "transpose"),
    (B("(-2, -14, -7)"), "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", True, "vector as a tuple"),
    (B("\\begin{pmatrix} -2 \\\\ -14 \\\\ 7 \\end{pmatrix}"), "\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}",
     False, "one entry differs"),
    (B("\\begin{pmatrix} 1 & 2 \\end{pmatrix}"), "\\begin{pmatrix} 1 & 2 \\\\ 0 & 0 \\end{pmatrix}", False, "shape"),
    # ± and multiple answers
    (B("1+\\sqrt{19}, 1-\\sqrt{19}"), "1 \\pm \\sqrt{19}", True, "± written out"),
    (B("1+\\sqrt{19}"), "1 \\pm \\sqrt{19}", False, "only one of the two roots"),
    (B("3 \\pm 2\\sqrt2"), "3 \\pm 2 \\sqrt{2}", True, "same ± answer"),
    (B("\\pm 2"), "2, -2", True, "± of a number"),
    (B("\\pm 2"), "2", False, "gold has one answer"),
    # complex numbers
    (B("-5i+6"), "6-5i", True, "terms reordered"),
    (B("6+5i"), "6 - 5i", False, "conjugate"),
    (B("\\frac{(1+i)^2}{2}"), "i", True, "i is the imaginary unit"),
    (B("i^2"), "-1", True, "i squared"),
    (B("1 - 12i"), "1+12i", False, "sign of the imaginary part"),
    # base-b numerals
    (B("52_8"), "52_8", True, "same numeral"),
    (B("52_{8}"), "52_8", True, "braced base"),
    (B("52"), "52_8", True, "base subscript omitted, digits as asked"),
    (B("42"), "52_8", False, "the decimal value is not the base-8 numeral asked for"),
    (B("1011_{10}"), "1011_2", False, "1011 in base 10 is not 1011 in base 2"),
    (B("1011_2"), "11", True, "a base-2 numeral with value 11"),
    (B("4210_5"), "4210_{5}", True, "subscript braces"),
    # angles
    (B("90"), "90^\\circ", True, "degree sign omitted"),
    (B("90°"), "90^\\circ", True, "Unicode degree sign"),
    (B("\\frac{\\pi}{2}"), "90^\\circ", True, "same angle in radians"),
    (B("91^\\circ"), "90^\\circ", False, "different angle"),
    (B("90^{\\circ}"), "\\frac{\\pi}{2}", True, "degrees against radians gold"),
    (B("90"), "\\frac{\\pi}{2}", False, "90 radians is not pi/2"),
    (B("\\frac{270}{7}"), "\\frac{270}7\\text{ degrees}", True, "unit word 'degrees'"),
    # percentages
    (B("25\\%"), "25\\%", True, "identical"),
    (B("25"), "25\\%", True, "percent sign omitted"),
    (B("0.25"), "25\\%", False, "a percent gold wants its own number: a/100 only for a bare gold (issue 17)"),
    (B("\\frac{25}{2}\\%"), "12.5\\%", True, "fraction percent"),
    (B("25/2 \\%"), "12.5", True, "slash fraction with percent"),
    (B("2.5\\%"), "25\\%", False, "factor of ten"),
    # units and thousands separators
    (B("10080"), "10,\\!080", True, "thousands separator with \\!"),
    (B("10,080"), "10080", True, "comma thousands separator"),
    (B("12\\,345"), "12345", True, "thin space inside a number is a separator"),
    (B("12\\,345"), "357", False, "not read as 12*345 or 12+345"),
    (B("11111111100"), "11,\\! 111,\\! 111,\\! 100", True, "several separators"),
    (B("\\$32,348"), "\\$32,\\!348", True, "dollars"),
    (B("864"), "864 \\mbox{ inches}^2", True, "unit omitted"),
    (B("864 \\text{ in}^2"), "864 \\mbox{ inches}^2", True, "unit abbreviated"),
    (B("865"), "864 \\mbox{ inches}^2", False, "wrong number with a unit gold"),
    (B("5.4"), "5.4 \\text{ cents}", True, "unit word"),
    (B("18.9"), "\\$18.90", True, "trailing zero and dollar sign"),
    (B("18.09"), "\\$18.90", False, "digits swapped"),
    (B("15 cm^2"), "15\\mbox{ cm}^2", True, "plain-text unit"),
    (B("58,500"), "58500", True, "comma-grouped integer"),
    # text and choices
    (B("\\text{Evelyn}"), "\\text{Evelyn}", True, "identical name"),
    (B("evelyn"), "\\text{Evelyn}", True, "case does not matter"),
    (B("Navin"), "\\text{Evelyn}", False, "another name"),
    (B("C"), "\\text{(C)}", True, "choice letter"),
    (B("(C)"), "\\text{(C)}", True, "choice in parentheses"),
    (B("\\textbf{(C)}"), "\\text{(C)}", True, "bold choice"),
    (B("B"), "\\text{(C)}", False, "another choice"),
    (B("\\text{odd}"), "\\text{even}", False, "another word"),
    (B("\\text{ellipse}"), "\\text{ellipse}", True, "same word"),
    (B("\\text{parabola}"), "\\text{ellipse}", False, "different conic"),
    # mixed numbers
    (B("7 3/4"), "\\frac{31}{4}", True, "mixed number with a space"),
    (B("7\\frac{3}{4}"), "7.75", True, "LaTeX mixed number"),
    (B("\\frac{9}{5}"), "1\\frac{4}{5}", True, "improper vs mixed"),
    (B("7 3/4"), "\\frac{21}{4}", False, "a mixed number is not a product"),
    (B("275/2"), "137 \\frac{1}{2}", True, "mixed number gold with a space"),
    # empty set
    (B("\\varnothing"), "\\emptyset", True, "two spellings of the empty set"),
    (B("\\{\\}"), "\\varnothing", True, "empty braces"),
    (B("0"), "\\emptyset", False, "zero is not the empty set"),
    (B("\\emptyset"), "0", False, "and the empty set is not zero"),
    # LaTeX noise
    (B("\\left( 3, \\frac{\\pi}{2} \\right)"), "(3, \\frac{\\pi}{2})", True, "\\left/\\right"),
    (B("\\displaystyle\\tfrac{1}{2}"), "0.5", True, "\\displaystyle and \\tfrac"),
    (B("\u22125"), "-5", True, "Unicode minus"),
    (B("\u221e"), "\\infty", True, "Unicode infinity"),
    (B("5."), "5", True, "trailing period"),
    (B("\\text{5}"), "5", True, "number in \\text"),
    (B("\\mathrm{12}"), "12", True, "number in \\mathrm"),
    (B("3\\!\\sqrt{13}"), "3\\sqrt{13}", True, "negative thin space"),
    # harder spellings
    (B("4x = y^2"), "y^2 = 4x", True, "equation sides swapped"),
    (B("y^2+x^2=1"), "x^2+y^2=1", True, "terms reordered in an equation"),
    (B("f(x) = x^2 + 1"), "x^2+1", True, "function definition around the expression"),
    (B("\\frac{6}{12} = \\frac{1}{2}"), "\\frac12", True, "a chain of equalities ends in the answer"),
    (B("\\frac{1}{3} \\approx 0.333"), "\\frac13", True, "exact value followed by an approximation"),
    (B("x = \\frac{6}{12} = \\frac{1}{2}"), "\\frac12", True, "assignment chain ending in the value"),
    (B("2x + 1 = 7"), "7", False, "an equation is not its right-hand side"),
    (B("0.333..."), "\\frac13", True, "repeating digits with an ellipsis"),
    (B("0.33"), "\\frac13", False, "two digits are a truncation"),
    (B("\\{x \\mid x > 2\\}"), "(2,\\infty)", True, "set-builder notation"),
    (B("\\{x : x \\ge 2\\}"), "(2,\\infty)", False, "set-builder with the endpoint included"),
    (B("x \\neq -3"), "(-\\infty,-3)\\cup(-3,\\infty)", True, "all reals but one"),
    (B("[-3, 3]"), "|x| \\le 3", True, "absolute-value inequality"),
    (B("(-3, 3)"), "|x| \\le 3", False, "absolute-value inequality, endpoints missing"),
    (B("(-2,2)"), "-2 < x < 2", True, "an open pair against a chained inequality"),
    (B("\\langle 1, 2 \\rangle"), "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", True, "angle-bracket vector"),
    (B("x=1, y=2"), "(1,2)", True, "point written as assignments"),
    (B("x=2, y=1"), "(1,2)", False, "assignments in the wrong order"),
    (B("1267650600228229401496703205376"), "2^{100}", True, "big integer, exactly"),
    (B("1267650600228229401496703205377"), "2^{100}", False, "big integer off by one"),
    (B("1 000 000"), "10^6", True, "space-grouped digits"),
    (B("\\sqrt{-2}"), "i\\sqrt{2}", True, "square root of a negative"),
    (B("\\sqrt[3]{2}"), "2^{1/3}", True, "cube root as a power"),
    (B("\\ln 8"), "3\\ln 2", True, "logarithm rules"),
    (B("\\frac{x+1}{x-1}"), "\\frac{x-1}{x+1}", False, "reciprocal rational function"),
    (B("\\infty"), "-\\infty", False, "sign of infinity"),
    (B("\\text{(C)}\\ 12"), "\\text{(C)}", True, "choice followed by its value"),
    (B("\\text{(D)}\\ 12"), "\\text{(C)}", False, "another choice followed by a value"),
    (B("1"), "\\text{(A)}", False, "a number is not a choice letter"),
    (B("\\text{no solution}"), "\\emptyset", True, "no solution is the empty set"),
    (B("3, 3"), "3", False, "a list is not a single answer"),
    (B("\\{1,2\\}"), "\\{1,2,2\\}", True, "repeated set element"),
    (B("0.05"), "5\\%", False, "percent gold, decimal response: not the same percent (issue 17)"),
    (B("5\\%"), "0.05", True, "bare gold, the same value as a percent"),
    (B("0.05\\%"), "5\\%", False, "a percent never equals a different percent"),
    (B("5 dollars"), "\\$5", True, "currency word"),
]


@pytest.mark.parametrize(("response", "gold", "expected", "reason"), PAIRS, ids=[p[3] for p in PAIRS])
def test_labelled_pair(response: str, gold: str, expected: bool, reason: str) -> None:
    g = grade(response, gold)
    assert g.status in ("correct", "wrong"), (reason, g)
    assert g.correct is expected, (reason, g)


def test_every_type_has_both_directions() -> None:
    """The table is only useful if near misses sit beside the matches."""
    assert sum(1 for p in PAIRS if p[2]) > 60
    assert sum(1 for p in PAIRS if not p[2]) > 50

"""LaTeX noise removal: one canonical spelling per answer before any parsing.

Everything here is plain string work (linear-time regexes), so it is safe to run in-process on any input.
Internal markers: `°` degrees, `%` percent, `∅` empty set, `ℝ` the reals.
"""

from __future__ import annotations

import re

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-",
    "\u221e": r"\infty ", "\u03c0": r"\pi ", "\u00d7": r"\times ", "\u00b7": r"\cdot ", "\u22c5": r"\cdot ",
    "\u00f7": r"\div ", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u00b1": r"\pm ", "\u2213": r"\mp ",
    "\u222a": r"\cup ", "\u2229": r"\cap ", "\u2205": "∅", "\u2208": r"\in ", "\u211d": "ℝ",
    "\u2009": " ", "\u00a0": " ", "\u202f": " ", "\u2005": " ", "\u2006": " ", "\u200b": "",
    "\u2032": "'", "\u2248": "\\approx ", "\u2026": "...", "\u00ba": "°", "\u02da": "°", "\u2044": "/", "\u2215": "/",
    "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4", "\u2153": "1/3", "\u2154": "2/3",
    "\u03b8": r"\theta ", "\u03b1": r"\alpha ", "\u03b2": r"\beta ",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_SQRT_UNICODE = re.compile(r"\u221a\s*(\d+|[a-zA-Z])")

# Digit-group separators: `{,}`, `,\!`, thin spaces between a digit and a group of exactly three digits.
_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,\{\}|,\\!\s*|(?<!\\)\\[,!;: ]\s*)(?=\d{3}(?!\d))")
_SIZING = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)"
                     r"(?![a-zA-Z])\s*\.?")
_SPACES = re.compile(r"(?<!\\)\\(?:[,;:> ])|~")
_QUADS = re.compile(r"\s*(?<!\\)\\q?quad(?![a-zA-Z])\s*")  # `2 \quad 3` separates two answers: a list, never 23 or 6
_DROP = re.compile(r"(?<!\\)\\(?:displaystyle|textstyle|scriptstyle|!|limits|nolimits|mathstrut)(?![a-zA-Z])")
_PHANTOM = re.compile(r"\\(?:phantom|hphantom|vphantom)\{[^{}]*\}")
_TEXTLIKE = re.compile(r"\\(?:textbf|textrm|textit|textnormal|textup|texttt|textsf|mathrm|mbox|emph|hbox|text)\s*\{")
_UNWRAP = re.compile(r"\\(?:mathbf|boldsymbol|mathit|mathsf|bm|mathnormal)\s*\{")
_OPERATORNAME = re.compile(r"\\operatorname\*?\s*\{\s*([a-zA-Z]+)\s*\}")
_DEGREE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree(?![a-zA-Z])|\^\s*\{\s*°\s*\}|\^\s*°")
_LE = re.compile(r"\\(?:leqslant|leq|le)(?![a-zA-Z])")
_GE = re.compile(r"\\(?:geqslant|geq|ge)(?![a-zA-Z])")
_NE = re.compile(r"\\(?:neq|ne)(?![a-zA-Z])")
_EMPTY = re.compile(r"\\(?:emptyset|varnothing)(?![a-zA-Z])|\\\{\s*\\\}")
_REALS = re.compile(r"\\mathbb\s*\{?\s*R\s*\}?|\\R(?![a-zA-Z])")
_FRAC_ALIASES = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_BINOM_ALIASES = re.compile(r"\\[dt]binom(?![a-zA-Z])")
_WS = re.compile(r"\s+")
# `\frac{1}{3} \approx 0.333` is a relation: compare.py checks that the two sides agree (else it is a hedge)
_APPROX = re.compile(r"\s*(?:\\approx|\\simeq|\\sim|≈)(?![a-zA-Z])\s*")
_DOLLAR_INSIDE = re.compile(r"\\\$|\$")
_ESCAPED_DIGIT = re.compile(r"(?<![\\a-zA-Z])\\(?=\d)")  # `\boxed{\15}`: a dollar sign lost its `$`
_BOXES = re.compile(r"\\(?:boxed|fbox)\s*\{")
_OVER_GROUP = re.compile(r"\{([^{}]*?)\\over(?![a-zA-Z])([^{}]*)\}")
_OVER_TOP = re.compile(r"^([^{}]*?)\\over(?![a-zA-Z])([^{}]*)$")
_REALS_MINUS = re.compile(r"^ℝ\s*(?:\\setminus|\\backslash|-|\\smallsetminus)\s*\\\{([^{}]*)\\\}$")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _unwrap_command(s: str, pattern: re.Pattern[str], keep: str) -> str:
    """Replace `\\cmd{body}` by keep.format(body), braces balanced (regexes cannot balance them)."""
    out: list[str] = []
    pos = 0
    while True:
        m = pattern.search(s, pos)
        if not m:
            out.append(s[pos:])
            return "".join(out)
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        if depth:  # unbalanced: drop the command word, keep the rest
            out.append(s[pos : m.start()])
            pos = m.end()
            continue
        out.append(s[pos : m.start()])
        out.append(keep.format(s[m.end() : j - 1]))
        pos = j


def strip_math_delimiters(s: str) -> str:
    """Remove surrounding `$...$`, `\\(...\\)`, `\\[...\\]` wrappers."""
    s = s.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            s = s[len(left) : len(s) - len(right)].strip()
    return s


def clean(ans: str) -> str:
    """Canonical LaTeX spelling of one answer: noise removed, relations and markers made plain."""
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group()], ans)
    s = _SQRT_UNICODE.sub(r"\\sqrt{\1}", s)
    s = strip_math_delimiters(s)
    s = _DOLLAR_INSIDE.sub("", s)  # currency signs and stray math delimiters
    s = _ESCAPED_DIGIT.sub("", s)
    for _ in range(4):  # nested `\\boxed{\\boxed{5}}`
        if not _BOXES.search(s):
            break
        s = _unwrap_command(s, _BOXES, "{}")
    s = _plain_tex_over(s)
    s = _PHANTOM.sub("", s)
    s = _THOUSANDS.sub("", s)
    s = _SIZING.sub("", s)
    s = _DROP.sub("", s)
    s = _QUADS.sub(", ", s).strip(" ,")
    s = _SPACES.sub(" ", s)
    s = _FRAC_ALIASES.sub(r"\\frac", s)
    s = _BINOM_ALIASES.sub(r"\\binom", s)
    s = _OPERATORNAME.sub(r"\\\1 ", s)
    s = _unwrap_command(s, _TEXTLIKE, "\\text{{{}}}")
    s = _unwrap_command(s, _UNWRAP, "{}")
    s = _DEGREE.sub("°", s)
    s = s.replace("\\%", "%").replace("\\lbrace", "\\{").replace("\\rbrace", "\\}")
    s = _LE.sub("<=", s)
    s = _GE.sub(">=", s)
    s = _NE.sub("!=", s)
    s = s.replace("\\lt", "<").replace("\\gt", ">").replace("=<", "<=").replace("=>", ">=")
    s = _EMPTY.sub("∅", s)
    s = _REALS.sub("ℝ", s)
    s = s.replace("\\lvert", "|").replace("\\rvert", "|").replace("\\vert", "|").replace("\\mid", "|")
    s = s.replace("\\langle", "(").replace("\\rangle", ")")
    s = s.replace("\\lVert", "|").replace("\\rVert", "|").replace("\\|", "|")
    s = _WS.sub(" ", s).strip()
    s = s[len("\\approx") :] if s.startswith("\\approx") else _APPROX.sub(" ≈ ", s)
    s = _reals_minus_points(s.strip())
    return strip_trailing_punctuation(s.strip())


def _plain_tex_over(s: str) -> str:
    """Plain TeX `{1 \\over 2}` -> `{\\frac{1}{2}}` (innermost groups first), and a bare `1 \\over 2`."""
    for _ in range(8):
        t = _OVER_GROUP.sub(r"{\\frac{\1}{\2}}", s)
        if t == s:
            break
        s = t
    return _OVER_TOP.sub(r"\\frac{\1}{\2}", s)


def _reals_minus_points(s: str) -> str:
    """`ℝ \\setminus \\{3\\}` -> `(-\\infty,3)\\cup(3,\\infty)` when the removed points are plain numbers."""
    m = _REALS_MINUS.match(s)
    if not m:
        return s
    points = [p.strip() for p in m.group(1).split(",")]
    if not points or not all(_PLAIN_NUMBER.fullmatch(p) for p in points):
        return s
    ordered = sorted(set(points), key=float)
    ends = ["-\\infty", *ordered, "\\infty"]
    return "\\cup".join(f"({a},{b})" for a, b in zip(ends, ends[1:]))


def strip_trailing_punctuation(s: str) -> str:
    """Sentence punctuation after an answer ("5.", "x=2;") is not part of it."""
    while s:
        if re.search(r"\d\s*\.\.\.$", s):  # `0.333...` is repeating-decimal notation, not punctuation
            break
        t = s.rstrip(" .,;:")
        if t.endswith("\\"):  # a dangling LaTeX line break
            t = t.rstrip("\\").rstrip()
        if t == s:
            break
        s = t
    return s.lstrip(" ,;:")

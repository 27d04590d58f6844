"""Answer shape detection: tuple, list, set, interval, union, relation, matrix, base numeral, text, scalar.

Pure string work on a `normalize.clean`ed answer, so it runs in-process. Scalars stay LaTeX strings;
their values are decided later (exactly in-process, or by sympy in a bounded worker).
The gold answer's shape chooses how a response is compared (see `compare.py`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Union as TUnion

from evaluators.math.normalize import strip_trailing_punctuation
from evaluators.math.units import FUNCTION_WORDS

MAX_ITEMS = 64
MAX_DEPTH = 6


class Unparseable(ValueError):
    """The answer has no recognisable shape (empty, unbalanced brackets, too deep)."""


@dataclass(frozen=True)
class Scalar:
    text: str
    unit: str = ""  # a trailing unit or label, read by `units.py` (never dropped)


@dataclass(frozen=True)
class Text:
    key: str
    choice: str | None = None  # "C" when the text is a multiple-choice letter


@dataclass(frozen=True)
class Seq:
    kind: str  # "tuple" (ordered), "list" (bare commas, unordered), "set" (\{..\}), "pm" (±), "or" (a hedge)
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Interval:
    lo: str
    hi: str
    lo_open: bool
    hi_open: bool


@dataclass(frozen=True)
class Union:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Relation:
    parts: tuple[str, ...]
    ops: tuple[str, ...]  # "=", "<", "<=", ">", ">=", "!="

    def assignment(self) -> tuple[str, str] | None:
        """(variable, value) for `x = value` style answers whose value does not mention the variable."""
        if self.ops != ("=",):
            return None
        lhs, rhs = self.parts
        if not _VARIABLE.fullmatch(lhs):
            return None
        name = lhs.split("_")[0]
        if re.search(rf"(?<![a-zA-Z\\]){re.escape(name)}(?![a-zA-Z])", rhs):
            return None
        return lhs, rhs


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple["Node", ...], ...]


@dataclass(frozen=True)
class Base:
    digits: str
    base: int

    def value(self) -> int | None:
        try:
            return int(self.digits, self.base)
        except ValueError:
            return None


@dataclass(frozen=True)
class Empty:
    pass


@dataclass(frozen=True)
class Reals:
    pass


Node = TUnion[Scalar, Text, Seq, Interval, Union, Relation, Matrix, Base, Empty, Reals]

_VARIABLE = re.compile(r"[a-zA-Z](?:_\{?[a-zA-Z0-9]+\}?)?|\\[a-zA-Z]+|[a-zA-Z]\([a-zA-Z]\)")
_CHOICE = re.compile(r"\(?\s*([A-Ea-e])\s*\)?")
_TEXT_WRAPPED = re.compile(r"\\text\{([^{}]*)\}")
_WORDS_ONLY = re.compile(r"[A-Za-z][A-Za-z' \-]*")
_MATH_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "pi", "inf", "infty",
               "infinity", "or", "and", "oo"}
_EMPTY_WORDS = {"∅", "{}", "none", "nosolution", "nosolutions", "norealsolutions", "norealsolution", "emptyset"}
_REAL_WORDS = {"ℝ", "allrealnumbers", "allreals", "(-\\infty,\\infty)"}
_BASE = re.compile(r"(?:\\text\{)?([0-9A-Za-z]+)\}?\s*_\s*\{?\s*(\d{1,2})\s*\}?")
_MATRIX = re.compile(r"\\begin\{([pbBvV]?matrix|array|smallmatrix)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}", re.S)
_WORD_OPS = re.compile(r"\\text\{\s*(or|and)\s*\}|\\(?:vee|lor)(?![a-zA-Z])|\\(?:wedge|land)(?![a-zA-Z])")
_UNIT_TEXT = re.compile(r"\s*\\text\{\s*([^{}]*?)\s*\}\s*(?:\^\s*\{?\s*([23])\s*\}?)?$")
_UNIT_WORDS = re.compile(r"(?<=[\d}.])\s+((?:sq(?:uare)?\.?\s+)?[A-Za-z]{2,}(?:\s+[A-Za-z]{2,})*\.?)"
                         r"\s*(?:\^\s*\{?\s*([23])\s*\}?)?$")
_TUPLE_OF_NAMES = re.compile(r"\(\s*[a-zA-Z](?:_\{?\w+\}?)?(?:\s*,\s*[a-zA-Z](?:_\{?\w+\}?)?)+\s*\)")
_GROUPED_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SET_BUILDER = re.compile(r"([a-zA-Z])\s*(?:\||:)\s*(.+)", re.S)
_REL_OPS = ("<=", ">=", "!=", "=", "<", ">", "≈")
_PROSE = re.compile(r"[A-Za-z]{2,}")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_SCALED_MATRIX = re.compile(r"([^\\&{}]*?|\\frac\{[^{}]*\}\{[^{}]*\}|\\sqrt\{[^{}]*\}|\\sqrt\d)\s*(?:\\cdot\s*)?"
                            r"(\\begin\{.*)", re.S)
_OPENERS = "([{"
_CLOSERS = ")]}"


def text_key(s: str) -> str:
    """Case- and punctuation-free spelling of a text answer: `\\text{(C)}` -> `c`, `East.` -> `east`."""
    s = _TEXT_WRAPPED.sub(r"\1", s)
    return re.sub(r"[^a-z0-9]", "", s.lower())


def as_text(s: str) -> Text | None:
    """A text or multiple-choice answer, or None when the answer is mathematical."""
    m = _CHOICE.fullmatch(_TEXT_WRAPPED.sub(r"\1", s).strip())
    if m and (s.startswith("\\text") or "(" in s or m.group(1).isupper()):
        return Text(m.group(1).lower(), m.group(1).upper())
    inner = _TEXT_WRAPPED.fullmatch(s.strip())
    body = inner.group(1).strip() if inner else s.strip()
    if not _WORDS_ONLY.fullmatch(body):
        return None
    words = re.findall(r"[A-Za-z]+", body)
    if inner and any(len(w) >= 2 for w in words):
        return Text(text_key(body))
    if any(len(w) >= 3 and w.lower() not in _MATH_WORDS for w in words):
        return Text(text_key(body))
    return None


def split_top(s: str, sep: str) -> list[str]:
    """Split on `sep` outside brackets (interval brackets may be mismatched, so depth is one counter)."""
    parts, depth, start, i, n = [], 0, 0, 0, len(s)
    while i < n:
        delta, width = _bracket_step(s, i)
        if width == 1 and delta == 0 and depth == 0 and s.startswith(sep, i) and (
                sep[-1] != "n" or not s[i + len(sep) : i + len(sep) + 1].isalpha()):
            parts.append(s[start:i])
            i += len(sep)
            start = i
            continue
        depth += delta
        i += width
    parts.append(s[start:])
    return parts


def _bracket_step(s: str, i: int) -> tuple[int, int]:
    """(depth change, characters read) at s[i]; an escaped brace `\\{` / `\\}` counts as a bracket."""
    if s[i] == "\\" and s[i + 1 : i + 2] in ("{", "}"):
        return (1 if s[i + 1] == "{" else -1), 2
    if s[i] in _OPENERS:
        return 1, 1
    if s[i] in _CLOSERS:
        return -1, 1
    return 0, 1


def _outer(s: str) -> tuple[str, str, str] | None:
    """(opener, inner, closer) when one bracket pair wraps the whole answer."""
    if s.startswith("\\{") and s.endswith("\\}"):
        open_, inner, close = "\\{", s[2:-2], "\\}"
    elif s[:1] in "([" and s[-1:] in ")]":
        open_, inner, close = s[0], s[1:-1], s[-1]
    elif s[:1] == "{" and s[-1:] == "}":
        open_, inner, close = "{", s[1:-1], "}"
    else:
        return None
    depth = 0
    i = 0
    while i < len(inner):
        delta, width = _bracket_step(inner, i)
        depth += delta
        if width == 1 and depth < 0:  # (escaped braces are not checked mid-way, only at the end)
            return None
        i += width
    return (open_, inner.strip(), close) if depth == 0 else None


def _relation(s: str) -> Relation | None:
    """Top-level relation chain `a < x <= b`, `y = 2x + 3`, or None."""
    parts, ops, depth, start, i = [], [], 0, 0, 0
    while i < len(s):
        c = s[i]
        if c in _OPENERS:
            depth += 1
        elif c in _CLOSERS:
            depth -= 1
        elif depth == 0:
            for op in _REL_OPS:
                if s.startswith(op, i):
                    parts.append(s[start:i].strip())
                    ops.append(op)
                    i += len(op)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    if not ops:
        return None
    parts.append(s[start:].strip())
    if any(not p for p in parts):
        raise Unparseable(f"empty side in relation {s!r}")
    return Relation(tuple(parts), tuple(ops))


def expand_pm(s: str) -> list[str]:
    """`1 \\pm \\sqrt{2}` -> [`1 + \\sqrt{2}`, `1 - \\sqrt{2}`]; `\\mp` takes the opposite sign."""
    pieces = re.split(r"\\(pm|mp)(?![a-zA-Z])", s)
    signs = pieces[1::2]
    if not signs or len(signs) > 3:
        return [s]
    out = []
    for choice in itertools.product((True, False), repeat=len(signs)):
        text = pieces[0]
        for k, (plus, sign) in enumerate(zip(choice, signs)):
            text += ("+" if plus == (sign == "pm") else "-") + pieces[2 * k + 2]
        out.append(text)
    return out


def split_units(s: str) -> tuple[str, str]:
    """(value, unit): `5.4 \\text{ cents}` -> ("5.4", "cents"), `864 \\mbox{ inches}^2` -> ("864", "inches^2").
    `degrees` becomes the `°` mark. Units are returned, never dropped: `units.py` decides what they mean."""
    unit = ""
    m = _UNIT_TEXT.search(s)
    if not m or not m.string[: m.start()].strip():
        m = _UNIT_WORDS.search(s)
        if not m or not s[: m.start()].strip():
            return s, ""
    unit = m.group(1).strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z .\-/]*", unit or "x"):
        return s, ""
    s = s[: m.start()].rstrip()
    if m.group(2):
        unit = f"{unit}^{m.group(2)}"
    if re.fullmatch(r"deg(?:rees?|\.)?", unit, re.I):
        return s + "°", ""
    return s, unit


_SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6}


def number_words(s: str) -> int | None:
    """`twenty-three`, `one hundred and five`, `Seven` -> the integer; None for anything else."""
    words = re.sub(r"\\text\{([^{}]*)\}", r"\1", s).lower().replace("-", " ").replace(" and ", " ").split()
    if not words or not all(w in _SMALL or w in _TENS or w in _SCALES for w in words):
        return None
    total, current = 0, 0
    for w in words:
        if w in _SCALES:
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0
        else:
            current += _SMALL.get(w, _TENS.get(w, 0))
    return total + current


def _whole_shape(s: str, depth: int) -> Node | None:
    """Shapes read from the whole answer at once: number words, text, a matrix (or a scalar times one)."""
    spelled = number_words(s)
    if spelled is not None:
        return Scalar(str(spelled))
    text = as_text(s)
    if text is not None:
        return text
    m = _MATRIX.fullmatch(s)
    if m:
        return _matrix(m.group(2), depth)
    scaled = _SCALED_MATRIX.fullmatch(s)
    inner = _MATRIX.fullmatch(scaled.group(2)) if scaled and scaled.group(1).strip() else None
    if scaled and inner:
        return _scaled(scaled.group(1), _matrix(inner.group(2), depth))
    return None


def parse(s: str, depth: int = 0) -> Node:
    """The shape of a cleaned answer string."""
    s = s.strip()
    if depth > MAX_DEPTH:
        raise Unparseable("nested too deeply")
    if not s:
        raise Unparseable("empty answer")
    compact = re.sub(r"\s+", "", s).lower()
    if compact in _EMPTY_WORDS or compact in ("\\text{none}", "\\text{nosolution}", "\\text{nosolutions}"):
        return Empty()
    if compact in _REAL_WORDS or compact in ("\\text{allrealnumbers}", "(-\\infty,+\\infty)"):
        return Reals()
    s = _WORD_OPS.sub(lambda m: " or " if ("or" in m.group() or "vee" in m.group()) else " and ", s)
    whole = _whole_shape(s, depth)
    if whole is not None:
        return whole
    joined = _joined(s, depth)
    if joined is not None:
        return joined
    pieces = split_top(s, "\\in")
    if len(pieces) == 2 and _VARIABLE.fullmatch(pieces[0].strip()):
        return parse(pieces[1], depth + 1)
    pieces = split_top(s, "\\cup")
    if len(pieces) > 1:
        return Union(tuple(parse(p, depth + 1) for p in pieces[:MAX_ITEMS]))
    if _GROUPED_NUMBER.fullmatch(s):
        return Scalar(s.replace(",", ""))
    pieces = split_top(s, ",")
    if len(pieces) > 1:
        if any(not p.strip() for p in pieces):
            raise Unparseable("empty list item")
        return Seq("list", _flatten_pm([parse(p, depth + 1) for p in pieces[:MAX_ITEMS]]))
    outer = _outer(s)
    if outer is not None:
        return _bracketed(*outer, depth=depth)
    if re.search(r"\\(pm|mp)(?![a-zA-Z])", s):
        options = expand_pm(s)
        if len(options) > 1:
            return Seq("pm", tuple(parse(o, depth + 1) for o in options))
    rel = _relation(s)
    if rel is not None:
        if rel.ops == ("=",) and _TUPLE_OF_NAMES.fullmatch(rel.parts[0]):
            return parse(rel.parts[1], depth + 1)  # `(b,c)=(6,5)`: the names label the tuple
        return rel
    m = _BASE.fullmatch(s)
    if m and 2 <= int(m.group(2)) <= 36:
        return Base(m.group(1).upper(), int(m.group(2)))
    value, unit = split_units(s)
    if not value:
        raise Unparseable("only units")
    words = {w.lower() for w in _PROSE.findall(_COMMAND.sub(" ", value))}
    words = {w for w in words if len(w) >= 3 or w in ("or", "is", "no")}  # `an`, `at` may be products
    if words & FUNCTION_WORDS:
        raise Unparseable(f"words in a value: {sorted(words & FUNCTION_WORDS)}")  # `not 5`, `at least 5`
    return Scalar(value, unit)


def _matrix(body: str, depth: int) -> Matrix:
    rows = [r for r in re.split(r"\\\\", body) if r.strip() and not r.strip().startswith("\\hline")]
    if not rows or len(rows) > MAX_ITEMS:
        raise Unparseable("bad matrix")
    return Matrix(tuple(tuple(parse(c, depth + 1) for c in r.split("&")) for r in rows))


def _scaled(k: str, m: Matrix) -> Matrix:
    """`2 \\begin{pmatrix}1\\\\2\\end{pmatrix}`: a scalar times a matrix, entry by entry."""
    def times(c: Node) -> Node:
        if not isinstance(c, Scalar) or c.unit:
            raise Unparseable("a scalar multiple of a non-numeric matrix")
        return Scalar(f"({k})({c.text})")
    return Matrix(tuple(tuple(times(c) for c in row) for row in m.rows))


def _joined(s: str, depth: int) -> Node | None:
    """Answers joined by words: `x = 1 or x = 2` (alternatives) and `3 and 5` (a list); None if neither."""
    for word, kind in ((" or ", "or"), (" and ", "list")):
        pieces = [p for p in split_top(f" {s} ", word) if p.strip()]
        if len(pieces) > 1:
            items = tuple(parse(p.strip().strip(","), depth + 1) for p in pieces[:MAX_ITEMS])
            if kind == "or" and all(isinstance(it, Relation) for it in items):
                if all(isinstance(it, Relation) and it.assignment() for it in items):
                    return Seq("list", items)
                return Union(items)  # `x < 2 or x > 5`; intervals joined by "or" stay a hedge
            return Seq(kind, items)
    return None


def _flatten_pm(nodes: list[Node]) -> tuple[Node, ...]:
    """`1 \\pm 2, 5` lists three answers: ± items are spliced into the surrounding list or set."""
    out: list[Node] = []
    for node in nodes:
        out.extend(node.items if isinstance(node, Seq) and node.kind == "pm" else [node])
    return tuple(out)


def _bracketed(open_: str, inner: str, close: str, depth: int) -> Node:
    if open_ == "{":
        return parse(strip_trailing_punctuation(inner), depth + 1)
    items = [p.strip() for p in split_top(inner, ",")]
    if open_ == "\\{":
        if inner == "":
            return Empty()
        builder = _SET_BUILDER.fullmatch(inner)
        if builder:  # {x | x > 2}: the condition is the answer
            return parse(builder.group(2), depth + 1)
        return Seq("set", _flatten_pm([parse(p, depth + 1) for p in items[:MAX_ITEMS]]))
    if any(not p for p in items):
        raise Unparseable("empty tuple item")
    if len(items) == 1:
        return parse(inner, depth + 1)
    mixed = (open_ == "(") != (close == ")")
    infinite = any("\\infty" in p or p in ("inf", "-inf", "+inf") for p in items)
    if len(items) == 2 and (mixed or infinite or open_ == "["):
        return Interval(items[0], items[1], open_ == "(", close == ")")
    return Seq("tuple", tuple(parse(p, depth + 1) for p in items[:MAX_ITEMS]))

"""Shape-directed comparison: the gold answer's shape decides how a response is matched.

The same rules run twice: first in-process with an exact-only backend (`fastpath.FastBackend`), which
raises `NeedSympy` as soon as a leaf needs algebra; then, only if needed, inside a bounded worker with the
sympy backend (`symbolic.SympyBackend`). Rules live here once so both paths agree.
"""

from __future__ import annotations

import re
from typing import Protocol

from evaluators.math import units
from evaluators.math.structure import (
    Base,
    Empty,
    Interval,
    Matrix,
    Node,
    Reals,
    Relation,
    Scalar,
    Seq,
    Text,
    Union,
    split_units,
    text_key,
)

SET_LIKE = (Interval, Union, Reals)
_CHOICE_LEAD = re.compile(r"\s*(?:\\text\{\s*)?(?:\(([A-Ea-e])\)|([A-E])(?=[\s.:}]|$))(.*)", re.S)
_TEXT_WRAPPED_ALL = re.compile(r"\\text\{([^{}]*)\}")
_VARIABLE_LIKE = re.compile(r"(?<![a-zA-Z\\])[a-zA-Z](?![a-zA-Z])")
_CHAIN_VARIABLE = re.compile(r"(?<![a-zA-Z\\])[a-df-hj-zA-Z](?![a-zA-Z])")  # `i` and `e` are numbers in a chain
UNORDERED = ("list", "set", "pm", "or")
_TEXT_ONLY = re.compile(r"[A-Za-z0-9 .,'()\-]*")
_CHOICE_REST = re.compile(r"[\s}.:]*(?:[-+]?[\d\\(]|$)")  # `(C) 12`, `(C) \frac12`: the choice restated


class NeedSympy(Exception):
    """The fast backend cannot decide this leaf exactly; the sympy worker must."""


class Backend(Protocol):
    def scalar(self, gold: str, resp: str) -> bool: ...

    def equation(self, gold: Relation, resp: Relation) -> bool: ...

    def sets(self, gold: Node, resp: Node) -> bool: ...

    def approx(self, exact: str, shown: str) -> bool: ...


def shape_name(node: Node) -> str:
    """The answer type the gold string was detected as (reported in every Grade's reason)."""
    if isinstance(node, Seq):
        kinds = {"tuple": "tuple", "list": "multiple answers", "set": "set", "pm": "± answers", "or": "or-list"}
        return kinds[node.kind]
    if isinstance(node, Relation):
        if node.assignment():
            return "assignment"
        return "equation" if node.ops == ("=",) else "inequality"
    if isinstance(node, Scalar):
        return "scalar"
    return {Text: "text", Interval: "interval", Union: "union", Matrix: "matrix", Base: "base-b numeral",
            Empty: "empty set", Reals: "all reals"}[type(node)]


def text_matches(gold: Text, response_answer: str) -> bool:
    """Text and multiple-choice answers: case and punctuation do not matter; `(C) 12` chooses C.
    Anything beyond words and punctuation (`\\neq C`, `C \\text{ or } D`, `C is incorrect`) is not the same."""
    bare = _TEXT_WRAPPED_ALL.sub(r"\1", response_answer).strip()
    if _TEXT_ONLY.fullmatch(bare) and text_key(bare) == gold.key:
        return True
    if gold.choice:
        m = _CHOICE_LEAD.match(response_answer)
        if m and _CHOICE_REST.match(m.group(3)) and not re.search(r"[A-Za-z]{2,}|\(\s*[A-E]\s*\)", m.group(3)
                                                                  .replace("\\frac", "").replace("\\sqrt", "")):
            return (m.group(1) or m.group(2)).upper() == gold.choice
    return False


def _as_scalar(text: str) -> Scalar:
    value, unit = split_units(text.strip())
    return Scalar(value, unit)


def _chain_value(node: Relation, be: Backend) -> Scalar | None:
    """The value a chain of `=` / `≈` commits to, if every link holds: `6/12 = 1/2` -> 1/2, `1/3 ≈ 0.333` -> 1/3.
    A false link (`6 = 5`, `12 ≈ 15`) makes the chain a contradiction: no value."""
    if not set(node.ops) <= {"=", "≈"} or _CHAIN_VARIABLE.search(node.parts[-1]):
        return None
    parts, ops = list(node.parts), list(node.ops)
    if _CHAIN_VARIABLE.search(parts[0]):
        if len(parts) == 2:
            return None  # `2x + 1 = 7` is an equation, not a value
        parts, ops = parts[1:], ops[1:]
    if any(_CHAIN_VARIABLE.search(p) for p in parts):
        return None
    for a, op, b in zip(parts, ops, parts[1:]):
        if not (be.scalar(a, b) if op == "=" else be.approx(a, b)):
            return None
    exact = [p for p, op in zip(parts, ["="] + ops) if op == "="]
    return _as_scalar(exact[-1])


def _scalar_of(node: Node, be: Backend) -> Scalar | None:
    """The one value a response node stands for (`x = 5`, `5`, `{5}`, `6/12 = 1/2`), or None."""
    if isinstance(node, Scalar):
        return node
    if isinstance(node, Relation):
        a = node.assignment()
        if a:
            return _as_scalar(a[1])
        return _chain_value(node, be)
    if isinstance(node, Base):
        v = node.value()
        return None if v is None else Scalar(str(v))
    if isinstance(node, Seq) and len(node.items) == 1:
        return _scalar_of(node.items[0], be)
    return None


def scalar_equal(gold: Scalar, resp: Scalar, be: Backend) -> bool:
    """Values with their units, by the rules in `units.py`."""
    if not units.understood(resp.unit) or (gold.unit and not units.understood(gold.unit)):
        return False
    if units.is_radians(resp.unit):
        if gold.text.endswith("°"):
            return be.scalar(f"\\frac{{({gold.text[:-1]})\\pi}}{{180}}", resp.text)
        return not gold.unit and "\\pi" in gold.text and be.scalar(gold.text, resp.text)
    if not gold.unit or not resp.unit:
        return be.scalar(gold.text, resp.text)
    f = units.factor(resp.unit, gold.unit)
    if f is None:
        return False
    if f == 1:
        return be.scalar(gold.text, resp.text)
    return be.scalar(gold.text, f"\\frac{{{f.numerator}}}{{{f.denominator}}}\\cdot({resp.text})")


def _items(node: Node) -> tuple[Node, ...] | None:
    if isinstance(node, Seq):
        return node.items
    if isinstance(node, Matrix) and (len(node.rows) == 1 or all(len(r) == 1 for r in node.rows)):
        return tuple(c for r in node.rows for c in r)
    return None


def _unordered_equal(gold: tuple[Node, ...], resp: tuple[Node, ...], be: Backend) -> bool:
    """Same answers in any order; repeated answers count once (`1, 1, 2` lists the set {1, 2})."""
    def dedupe(items: tuple[Node, ...]) -> list[Node]:
        out: list[Node] = []
        for it in items:
            if not any(it == o or equal(o, it, be) for o in out):
                out.append(it)
        return out

    g = list(dict.fromkeys(gold))
    r = list(dict.fromkeys(resp))
    if len(g) != len(gold) or len(r) != len(resp) or len(g) != len(r):
        g, r = dedupe(gold), dedupe(resp)
        if len(g) != len(r):
            return False
    unmatched = list(r)
    for item in g:
        for k, cand in enumerate(unmatched):
            if equal(item, cand, be):
                del unmatched[k]
                break
        else:
            return False
    return True


def equal(gold: Node, resp: Node, be: Backend) -> bool:
    """Does the response node say the same as the gold node, read as the gold's type?"""
    if gold == resp:
        return True
    if isinstance(resp, Seq) and resp.kind == "or" and not (isinstance(gold, Seq) and gold.kind in UNORDERED):
        return all(equal(gold, item, be) for item in resp.items)  # a hedge is right only if every branch is
    if isinstance(gold, Text):
        return isinstance(resp, Text) and resp.key == gold.key
    if isinstance(gold, Empty):
        return isinstance(resp, Empty) or (isinstance(resp, Seq) and resp.kind == "set" and not resp.items)
    if isinstance(gold, Scalar):
        if isinstance(resp, (Interval, Union)):
            return False
        value = _scalar_of(resp, be)
        return value is not None and scalar_equal(gold, value, be)
    if isinstance(resp, Relation) and "≈" in resp.ops and not isinstance(gold, Base):
        return False  # an approximation is only ever a scalar's
    if isinstance(gold, Base):
        if isinstance(resp, Base):
            return resp.value() is not None and resp.value() == gold.value()
        value = _scalar_of(resp, be)
        if value is None or value.unit:
            return False
        text = value.text.strip()
        return text.upper() == gold.digits or text.lstrip("0") == gold.digits.lstrip("0") != ""
    if isinstance(gold, Relation):
        return _relation_equal(gold, resp, be)
    if isinstance(gold, SET_LIKE):
        if isinstance(resp, Interval) and isinstance(gold, Interval) and (gold.lo_open, gold.hi_open) == (
            resp.lo_open, resp.hi_open,
        ):
            return be.scalar(gold.lo, resp.lo) and be.scalar(gold.hi, resp.hi)
        if isinstance(resp, (Interval, Union, Reals, Relation, Empty)) or (
            isinstance(resp, Seq) and resp.kind in ("tuple", "set") and len(resp.items) == 2
        ):
            return be.sets(gold, resp)
        return False
    if isinstance(gold, Seq):
        if gold.kind == "tuple":
            if isinstance(resp, (Union, Relation)) and len(gold.items) == 2:
                return be.sets(gold, resp)  # "(2, 4)" may be an open interval (never an empty one: see sets)
            items = _items(resp)
            if items is None or (isinstance(resp, Seq) and resp.kind not in ("tuple", "list")):
                return False
            return len(items) == len(gold.items) and all(equal(g, r, be) for g, r in zip(gold.items, items))
        items = _items(resp)
        if items is None:
            items = (resp,)
        return _unordered_equal(gold.items, items, be)
    if isinstance(gold, Matrix):
        if isinstance(resp, Matrix):
            return [len(r) for r in gold.rows] == [len(r) for r in resp.rows] and all(
                equal(g, r, be) for gr, rr in zip(gold.rows, resp.rows) for g, r in zip(gr, rr)
            )
        g_items, r_items = _items(gold), _items(resp)
        if g_items is None or r_items is None or (isinstance(resp, Seq) and resp.kind != "tuple"):
            return False
        return len(g_items) == len(r_items) and all(equal(g, r, be) for g, r in zip(g_items, r_items))
    return False


def _relation_equal(gold: Relation, resp: Node, be: Backend) -> bool:
    assign = gold.assignment()
    if assign is not None:
        if isinstance(resp, Relation):
            other = resp.assignment()
            if other is not None and other[0] == assign[0]:
                return be.scalar(assign[1], other[1])
            return resp.ops == ("=",) and be.equation(gold, resp)
        if isinstance(resp, Scalar):
            return scalar_equal(_as_scalar(assign[1]), resp, be)
        if isinstance(resp, Seq) and len(resp.items) == 1:
            return _relation_equal(gold, resp.items[0], be)
        return False
    if gold.ops == ("=",):
        return isinstance(resp, Relation) and resp.ops == ("=",) and be.equation(gold, resp)
    if isinstance(resp, (Relation, Interval, Union, Reals, Empty)) or (
        isinstance(resp, Seq) and resp.kind == "tuple" and len(resp.items) == 2
    ):
        return be.sets(gold, resp)
    return False

"""Shape-directed comparison: the gold answer's shape decides how a response is matched.

The same rules run twice: first in-process with an exact-only backend (`fastpath.FastBackend`), which
raises `NeedSympy` as soon as a leaf needs algebra; then, only if needed, inside a bounded worker with the
sympy backend (`symbolic.SympyBackend`). Rules live here once so both paths agree.
"""

from __future__ import annotations

import re
from typing import Protocol

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
    text_key,
)

SET_LIKE = (Interval, Union, Reals)
_CHOICE_LEAD = re.compile(r"\s*(?:\\text\{\s*)?(?:\(([A-Ea-e])\)|([A-E])(?=[\s.:}]|$))(.*)", re.S)
_VARIABLE_LIKE = re.compile(r"(?<![a-zA-Z\\])[a-zA-Z](?![a-zA-Z])")
UNORDERED = ("list", "set", "pm", "or")


class NeedSympy(Exception):
    """The fast backend cannot decide this leaf exactly; the sympy worker must."""


class Backend(Protocol):
    def scalar(self, gold: str, resp: str) -> bool: ...

    def equation(self, gold: Relation, resp: Relation) -> bool: ...

    def sets(self, gold: Node, resp: Node) -> bool: ...


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
    """Text and multiple-choice answers: case and punctuation do not matter; `(C) 12` chooses C."""
    key = text_key(response_answer)
    if key == gold.key:
        return True
    if gold.choice:
        m = _CHOICE_LEAD.match(response_answer)
        if m and (m.group(3) == "" or m.group(3)[0] in " }.:"):
            return (m.group(1) or m.group(2)).upper() == gold.choice
    return False


def _scalar_text(node: Node) -> str | None:
    """The value string of a response node that stands for one value (`x = 5`, `5`, `{5}`, `6/12 = 1/2`)."""
    if isinstance(node, Scalar):
        return node.text
    if isinstance(node, Relation):
        a = node.assignment()
        if a:
            return a[1]
        if set(node.ops) != {"="} or _VARIABLE_LIKE.search(node.parts[-1]):
            return None
        # `6/12 = 1/2` or `x = 6/12 = 1/2`: a worked chain ending in a value (not `2x + 1 = 7`)
        if len(node.parts) > 2 or not _VARIABLE_LIKE.search(node.parts[0]):
            return node.parts[-1]
        return None
    if isinstance(node, Base):
        v = node.value()
        return None if v is None else str(v)
    if isinstance(node, Seq) and len(node.items) == 1:
        return _scalar_text(node.items[0])
    return None


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
        text = _scalar_text(resp)
        return text is not None and be.scalar(gold.text, text)
    if isinstance(gold, Base):
        if isinstance(resp, Base):
            return resp.value() is not None and resp.value() == gold.value()
        text = _scalar_text(resp)
        if text is None:
            return False
        return text.strip().upper() == gold.digits or text.strip().lstrip("0") == gold.digits.lstrip("0") != ""
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
            if isinstance(resp, (Interval, Union, Relation)) and len(gold.items) == 2:
                return be.sets(gold, resp)  # "(2, 4)" may be an open interval
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
            return be.scalar(assign[1], resp.text)
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

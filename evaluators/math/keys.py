"""Gold-free canonical keys, so that equal answers vote together (`0.5`, `1/2`, `\\frac12` -> `1/2`).

Numeric leaves are keyed in-process with exact Fractions; an answer with any symbolic leaf is keyed in a
bounded worker by sympy's canonical form (`\\frac{1}{\\sqrt3}` and `\\frac{\\sqrt3}{3}` meet). When that
fails or times out, the key falls back to the normalised spelling.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from evaluators.math import pool
from evaluators.math.compare import NeedSympy
from evaluators.math.extract import boxed_answers
from evaluators.math.fastpath import spelling
from evaluators.math.normalize import clean
from evaluators.math.numbers import parse_number, split_marker
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
    Unparseable,
    parse,
)

Leaf = Callable[[str], str]


def node_key(node: Node, leaf: Leaf) -> str:
    """Canonical text of a shape; `leaf` keys one scalar (may raise NeedSympy)."""
    if isinstance(node, Scalar):
        return leaf(node.text)
    if isinstance(node, Text):
        return f"text:{node.key}"
    if isinstance(node, Seq):
        keys = [node_key(i, leaf) for i in node.items]
        if node.kind == "tuple":
            return "(" + ",".join(keys) + ")"
        return ("or" if node.kind == "or" else "") + "{" + ",".join(sorted(set(keys))) + "}"
    if isinstance(node, Interval):
        return f"{'(' if node.lo_open else '['}{leaf(node.lo)},{leaf(node.hi)}{')' if node.hi_open else ']'}"
    if isinstance(node, Union):
        return "U".join(sorted(node_key(p, leaf) for p in node.parts))
    if isinstance(node, Relation):
        a = node.assignment()
        if a is not None:
            return leaf(a[1])
        return "".join(leaf(p) if k % 2 == 0 else p for k, p in enumerate(_interleave(node)))
    if isinstance(node, Matrix):
        return "[" + ";".join(",".join(node_key(c, leaf) for c in row) for row in node.rows) + "]"
    if isinstance(node, Base):
        return f"{node.digits}_{node.base}"
    if isinstance(node, Empty):
        return "∅"
    if isinstance(node, Reals):
        return "ℝ"
    raise TypeError(type(node).__name__)


def _interleave(rel: Relation) -> list[str]:
    out = [rel.parts[0]]
    for op, part in zip(rel.ops, rel.parts[1:]):
        out += [op, part]
    return out


def fast_leaf(text: str) -> str:
    value = parse_number(split_marker(text)[0])
    if value is None:
        raise NeedSympy(text)
    return str(value)


def sympy_leaf(text: str) -> str:
    # Deferred: both load sympy, which only pool workers import (this runs under the pool's deadline).
    from evaluators.math.latex_expr import DEG, PCT  # noqa: PLC0415 - sympy loads in workers only
    from evaluators.math.symbolic import value  # noqa: PLC0415 - sympy loads in workers only

    e = value(split_marker(text)[0])
    return str(e.subs({DEG: 1, PCT: 1}))


def symbolic_key(answer: str) -> str:
    """Worker-side key: sympy canonical leaves (runs under the pool's deadline)."""
    return node_key(parse(clean(answer)), sympy_leaf)


@lru_cache(maxsize=65536)
def answer_key(answer: str) -> str:
    """Gold-free key: equal keys mean the same answer; different spellings of one value share a key."""
    if "box" in answer:
        boxes = boxed_answers(answer)
        answer = boxes[-1] if boxes else answer
    cleaned = clean(answer)
    if not cleaned:
        return ""
    if len(cleaned) > 2000:
        return spelling(cleaned)
    try:
        node = parse(cleaned)
    except Unparseable:
        return spelling(cleaned)
    try:
        return node_key(node, fast_leaf)
    except NeedSympy:
        pass
    try:
        status, payload = pool.get_pool().call("key", (answer,))
    except (pool.WorkerTimeout, pool.WorkerFailed):
        return spelling(cleaned)
    return payload if status == "ok" else spelling(cleaned)

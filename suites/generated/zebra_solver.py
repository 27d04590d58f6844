"""Exact solution counter for zebra puzzles, fast enough to prove uniqueness while generating.

Each attribute's assignment is one permutation (perm[value] = house); candidates for an attribute
are a bitmask over all H! permutations. A clue "value v of attribute b is in one of houses S"
is the precomputed mask AT[v][S], so propagating a binary clue from an assigned attribute is a
table lookup and an AND. The search assigns the attribute with fewest candidates first and stops
at `limit` solutions, so "is it unique?" costs little when the answer is no.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

KINDS = ("pos", "notpos", "same", "notsame", "leftof", "nextto", "before")


@dataclass(frozen=True)
class Clue:
    """A fact about positions p = house of (a, v) and q = house of (b, w) (or house k).

    pos: p == k; notpos: p != k; same: p == q; notsame: p != q; leftof: p + 1 == q;
    nextto: |p - q| == 1; before: p < q. Houses are 0-based here, 1-based in text.
    """

    kind: str
    a: int
    v: int
    b: int = -1
    w: int = -1
    k: int = -1

    def holds(self, p: int, q: int = -1) -> bool:
        kind = self.kind
        if kind == "pos":
            return p == self.k
        if kind == "notpos":
            return p != self.k
        if kind == "same":
            return p == q
        if kind == "notsame":
            return p != q
        if kind == "leftof":
            return p + 1 == q
        if kind == "nextto":
            return abs(p - q) == 1
        return p < q


@dataclass(frozen=True)
class Tables:
    perms: tuple[tuple[int, ...], ...]
    at: tuple[tuple[int, ...], ...]  # at[v][house_set] -> mask of perms with perm[v] in house_set
    fwd: dict[str, tuple[int, ...]]  # kind -> p -> house set allowed for q
    bwd: dict[str, tuple[int, ...]]  # kind -> q -> house set allowed for p


@lru_cache(maxsize=None)
def tables(houses: int) -> Tables:
    perms = tuple(itertools.permutations(range(houses)))
    at = []
    for v in range(houses):
        by_house = [0] * houses
        for i, perm in enumerate(perms):
            by_house[perm[v]] |= 1 << i
        row = []
        for s in range(1 << houses):
            row.append(_union(by_house, s))
        at.append(tuple(row))
    fwd: dict[str, tuple[int, ...]] = {}
    bwd: dict[str, tuple[int, ...]] = {}
    for kind in ("same", "notsame", "leftof", "nextto", "before"):
        c = Clue(kind, 0, 0)
        fwd[kind] = tuple(_set(q for q in range(houses) if c.holds(p, q)) for p in range(houses))
        bwd[kind] = tuple(_set(p for p in range(houses) if c.holds(p, q)) for q in range(houses))
    return Tables(perms, tuple(at), fwd, bwd)


def _set(items: Iterable[int]) -> int:
    out = 0
    for i in items:
        out |= 1 << i
    return out


def _union(by_house: list[int], s: int) -> int:
    out = 0
    for h, mask in enumerate(by_house):
        if s >> h & 1:
            out |= mask
    return out


def count_solutions(houses: int, attrs: int, clues: list[Clue], limit: int = 2) -> int:
    """Number of grids satisfying every clue, counting no further than `limit`."""
    t = tables(houses)
    full_houses = (1 << houses) - 1
    unary = [(1 << len(t.perms)) - 1] * attrs
    # links[x]: (y, value of y, value of x, house-set table indexed by the house of y's value)
    links: list[list[tuple[int, int, int, tuple[int, ...]]]] = [[] for _ in range(attrs)]
    for c in clues:
        if c.kind == "pos":
            unary[c.a] &= t.at[c.v][1 << c.k]
        elif c.kind == "notpos":
            unary[c.a] &= t.at[c.v][full_houses ^ (1 << c.k)]
        elif c.a == c.b:
            keep = 0
            for i, perm in enumerate(t.perms):
                if c.holds(perm[c.v], perm[c.w]):
                    keep |= 1 << i
            unary[c.a] &= keep
        else:
            links[c.b].append((c.a, c.v, c.w, t.fwd[c.kind]))
            links[c.a].append((c.b, c.w, c.v, t.bwd[c.kind]))
    if not all(unary):
        return 0
    at, perms = t.at, t.perms
    chosen: list[tuple[int, ...] | None] = [None] * attrs
    found = 0

    def search(left: int) -> None:
        nonlocal found
        if left == 0:
            found += 1
            return
        best, best_mask, best_n = -1, 0, 1 << 30
        for x in range(attrs):
            if chosen[x] is not None:
                continue
            mask = unary[x]
            for y, vy, vx, table in links[x]:
                py = chosen[y]
                if py is not None:
                    mask &= at[vx][table[py[vy]]]
                    if not mask:
                        return
            n = mask.bit_count()
            if n < best_n:
                best, best_mask, best_n = x, mask, n
        mask = best_mask
        while mask:
            low = mask & -mask
            chosen[best] = perms[low.bit_length() - 1]
            search(left - 1)
            if found >= limit:
                break
            mask ^= low
        chosen[best] = None

    search(attrs)
    return found

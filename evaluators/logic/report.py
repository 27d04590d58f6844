"""Accuracy broken down by a problem attribute (BBH task, difficulty), plus the overall figure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.grade import Grade
from core.records import Problem


@dataclass(frozen=True)
class Tally:
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def breakdown(pairs: Iterable[tuple[Problem, Grade]], key: str = "subject") -> dict[str, Tally]:
    """`key` is a metadata field, or "difficulty"; the "overall" entry covers every problem."""
    counts: dict[str, list[int]] = {}
    for problem, grade in pairs:
        group = problem.difficulty if key == "difficulty" else problem.metadata.get(key)
        for name in (str(group), "overall"):
            c = counts.setdefault(name, [0, 0])
            c[0] += grade.correct
            c[1] += 1
    return {k: Tally(*v) for k, v in sorted(counts.items())}

"""The verdict every grader returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "timeout" and "error" are grader failures, kept apart from "wrong" so results can count them.
GradeStatus = Literal["correct", "wrong", "invalid", "timeout", "error"]


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None
    reason: str
    grader_version: str
    status: GradeStatus = "wrong"
    # A grader's raw partial credit in [0, 1] where it gives one (reasoning-gym); correct stays the verdict.
    score: float | None = None

    @property
    def grader_error(self) -> bool:
        return self.status in ("timeout", "error")

    @classmethod
    def ok(cls, extracted: str | None, reason: str, version: str) -> "Grade":
        return cls(True, extracted, reason, version, "correct")

    @classmethod
    def wrong(cls, extracted: str | None, reason: str, version: str, status: GradeStatus = "wrong") -> "Grade":
        return cls(False, extracted, reason, version, status)

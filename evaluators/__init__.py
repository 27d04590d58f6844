"""Graders: decide whether a final answer is correct against gold. Never called by strategies."""

from core.grade import Grade, GradeStatus

__all__ = ["Grade", "GradeStatus"]

"""The chat prompt a suite renders for each question: part of a run's identity through its digest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.errors import UserError
from core.records import Question


@dataclass(frozen=True)
class PromptTemplate:
    """A chat prompt: a user message template over problem fields and an optional system message."""

    user: str
    system: str | None = None

    def render(self, question: Question) -> list[dict[str, str]]:
        try:
            content = self.user.format(**question.fields)
        except KeyError as e:
            raise UserError(f"prompt template needs field {e} which problem {question.id} lacks; "
                            "fix the template") from None
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return messages + [{"role": "user", "content": content}]

    def digest(self) -> str:
        return hashlib.sha256(f"{self.system}\x00{self.user}".encode()).hexdigest()[:16]

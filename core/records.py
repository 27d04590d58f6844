"""Plain-data records that cross process boundaries (Ray actors, the store, graders).

A `Problem` carries the gold answer; strategies only ever receive its `Question` view,
so a strategy cannot peek at gold even by accident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Question:
    """What a strategy may see of a problem: everything but the gold answer."""

    id: str
    fields: dict[str, Any]
    answer_type: str = "math"
    difficulty: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """One item of a suite. `fields` feed the prompt template; `answer` is gold.

    `metadata` is visible to strategies (subject, difficulty knobs); `reference` is for graders only
    (worked solutions, hidden tests) and is never copied into the `Question`.
    """

    id: str
    fields: dict[str, Any]
    answer: str
    answer_type: str = "math"
    difficulty: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)

    def question(self) -> Question:
        return Question(self.id, dict(self.fields), self.answer_type, self.difficulty, dict(self.metadata))


@dataclass
class Ledger:
    """Compute spent on one attempt, by kind. FLOPs are derived in `harness.compute`."""

    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    generated_tokens: int = 0
    reasoning_tokens: int = 0
    verifier_tokens: int = 0
    engine_calls: int = 0
    verifier_calls: int = 0
    wall_seconds: float = 0.0

    def add(self, other: "Ledger") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


@dataclass
class Sample:
    """One generated text a strategy produced (kept whether or not it was chosen)."""

    index: int
    text: str
    finish_reason: str | None
    prompt_tokens: int
    generated_tokens: int
    cached_prompt_tokens: int = 0
    extracted: str | None = None
    score: float | None = None
    mean_logprob: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """Generation stopped at its token limit: whatever answer it holds was never committed to."""
        return self.finish_reason == "length"

    @property
    def votes(self) -> bool:
        """Whether it takes part in a vote: it has an answer and was not cut off at its token limit."""
        return self.extracted is not None and not self.truncated


@dataclass(frozen=True)
class CallRecord:
    """One engine call an attempt made: when, by which model and step, and what it cost in tokens.

    Times are Unix seconds. `first_token` is None where the engine does not report it. `in_flight` is the
    number of requests its engine had outstanding when it started (itself included): a self-hosted engine's
    time is shared among them when it is priced by the hour.
    """

    index: int
    model: str
    stage: str  # the strategy step that made it: sample, step, pilot, revise, answer, cascade:<stage>, ...
    started: float
    first_token: float | None
    finished: float
    prompt_tokens: int
    cached_prompt_tokens: int
    generated_tokens: int
    reasoning_tokens: int
    n: int
    finish_reason: str | None  # of its first completion ("length": cut off at the token limit)
    in_flight: int = 1

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)


def critical_path_seconds(calls: list[CallRecord]) -> float:
    """The latency a user waits for: the longest chain of calls each starting after the previous one finished.
    Calls in flight together (parallel samples) overlap; sequential rounds (beam depths, revisions) add up."""
    order = sorted(calls, key=lambda c: c.started)
    path: list[float] = []
    for i, c in enumerate(order):
        before = [path[j] for j in range(i) if order[j].finished <= c.started]
        path.append(c.seconds + max(before, default=0.0))
    return max(path, default=0.0)


@dataclass
class Attempt:
    """The outcome of one strategy on one problem, before grading."""

    problem_id: str
    final_text: str | None  # the response the strategy stands by; this is what gets graded
    final_answer: str | None  # its extracted answer, for display and voting
    samples: list[Sample]
    ledger: Ledger
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    calls: list[CallRecord] = field(default_factory=list)

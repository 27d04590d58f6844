"""Grading an attempt into store rows. Runs as a stateless Ray task: never on an engine actor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from core.grade import Grade
from core.records import Attempt, CallRecord, Problem, critical_path_seconds
from harness.compute import Costing

if TYPE_CHECKING:
    from suites import Suite

# (attempt row, sample rows, grader disagreements, call rows) of one graded attempt, ready for the store.
GradedRows = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]

FINAL = -1  # sample_idx under which the attempt's final answer is recorded in disagreements


@dataclass(frozen=True)
class Grader:
    """The gold-seeing half of a suite, shipped once to grading tasks."""

    grade: Callable[[str, Problem], Grade]
    vote_key: Callable[[str], str]
    second_opinion: Callable[[str, Problem], bool | None] | None = None
    warm_up: Callable[[], None] | None = None

    @classmethod
    def of(cls, suite: Suite) -> Grader:
        return cls(suite.grade, suite.vote_key, suite.second_opinion, suite.warm_up)

    def judge(self, run_id: str, problem: Problem, idx: int, text: str,
              disagreements: list[dict[str, Any]], seen: dict[str, tuple[Grade, bool | None]] | None = None) -> Grade:
        """Grade one response; when a second grader disagrees, keep both verdicts for review. `seen` holds the
        verdicts of texts already graded for this problem (a vote's winner is one of its samples; small models repeat
        themselves), so each distinct text is graded once."""
        if seen is not None and text in seen:
            g, other = seen[text]
        else:
            g, other = self._verdicts(text, problem)
            if seen is not None:
                seen[text] = (g, other)
        if other is not None and other != g.correct:
            disagreements.append({
                "run_id": run_id, "problem_id": problem.id, "sample_idx": idx, "response": text,
                "gold": problem.answer, "extracted": g.extracted, "ours": g.correct, "ours_reason": g.reason,
                "theirs": other, "grader_version": g.grader_version,
            })
        return g

    def _verdicts(self, text: str, problem: Problem) -> tuple[Grade, bool | None]:
        """Ours and the second grader's (None: none, or ours failed). A grader that raises (on hostile input) gives
        this response an `error` grade: one response must not abort the run."""
        try:
            g = self.grade(text, problem)
        except Exception as e:  # noqa: BLE001 - any grader bug or hostile response is this response's error only
            return Grade.wrong(None, f"grader failed: {type(e).__name__}: {e}"[:500], "-", "error"), None
        if self.second_opinion is None or g.grader_error:
            return g, None
        return g, self.second_opinion(text, problem)


def grade_attempt(grader: Grader, run_id: str, problem: Problem, index: int, attempt: Attempt, worker: str,
                  costing: Costing) -> GradedRows:
    """Every sample is graded too, so one pool yields pass@k and majority@k for every k."""
    sample_rows: list[dict[str, Any]] = []
    disagreements: list[dict[str, Any]] = []
    vote_key = grader.vote_key
    seen: dict[str, tuple[Grade, bool | None]] = {}
    for s in attempt.samples:
        g = grader.judge(run_id, problem, s.index, s.text, disagreements, seen)
        sample_rows.append({
            "run_id": run_id, "problem_id": problem.id, "sample_idx": s.index, "text": s.text,
            "finish_reason": s.finish_reason, "prompt_tokens": s.prompt_tokens,
            "cached_prompt_tokens": s.cached_prompt_tokens, "generated_tokens": s.generated_tokens,
            "extracted": s.extracted, "vote_key": vote_key(s.extracted) if s.extracted is not None else None,
            "correct": g.correct, "grade_status": g.status, "score": s.score, "mean_logprob": s.mean_logprob,
            "meta": json.dumps(s.meta) if s.meta else None, "grade_score": g.score,
        })
    if attempt.error is not None:
        final = Grade.wrong(None, (attempt.error.strip().splitlines() or ["failed"])[0][:500], "-", "error")
    elif attempt.final_text is None:
        final = Grade.wrong(None, "no answer", "-", "invalid")
    else:
        final = grader.judge(run_id, problem, FINAL, attempt.final_text, disagreements, seen)
    led = attempt.ledger
    row = {
        "run_id": run_id, "problem_id": problem.id, "problem_index": index, "gold": problem.answer,
        "difficulty": problem.difficulty, "subject": problem.metadata.get("subject"),
        "final_answer": attempt.final_answer, "final_text": attempt.final_text, "correct": final.correct,
        "grade_status": final.status, "grade_reason": final.reason, "grader_version": final.grader_version,
        "n_samples": len(attempt.samples), "prompt_tokens": led.prompt_tokens,
        "cached_prompt_tokens": led.cached_prompt_tokens, "generated_tokens": led.generated_tokens,
        "reasoning_tokens": led.reasoning_tokens, "verifier_tokens": led.verifier_tokens,
        "engine_calls": led.engine_calls, "verifier_calls": led.verifier_calls, "wall_seconds": led.wall_seconds,
        "flops": costing.flops(led, attempt.calls), "worker": worker, "error": attempt.error,
        "meta": json.dumps(attempt.meta, default=str) if attempt.meta else None,
        "committed_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "dollars": costing.dollars(attempt.calls, led.verifier_tokens),
        "critical_path_seconds": critical_path_seconds(attempt.calls) if attempt.calls else None,
        "grade_score": final.score,  # a grader's partial credit (reasoning-gym's score); correct only at full score
    }
    return row, sample_rows, disagreements, call_rows(run_id, problem.id, attempt.calls, costing)


def call_rows(run_id: str, problem_id: str, calls: list[CallRecord], costing: Costing) -> list[dict[str, Any]]:
    """The `calls` table's rows: one per engine call, with its dollars where its model is priced."""
    def at(t: float | None) -> datetime | None:
        return None if t is None else datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None)

    return [{
        "run_id": run_id, "problem_id": problem_id, "call_idx": c.index, "model": c.model, "stage": c.stage,
        "started_at": at(c.started), "first_token_at": at(c.first_token), "finished_at": at(c.finished),
        "seconds": c.seconds, "first_token_seconds": None if c.first_token is None else c.first_token - c.started,
        "prompt_tokens": c.prompt_tokens, "cached_prompt_tokens": c.cached_prompt_tokens,
        "generated_tokens": c.generated_tokens, "reasoning_tokens": c.reasoning_tokens, "n": c.n,
        "finish_reason": c.finish_reason, "in_flight": c.in_flight,
        "dollars": costing.pricing.call_dollars(c) if costing.pricing else None,
    } for c in calls]

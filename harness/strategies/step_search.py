"""Shared machinery of step-level search (beam search, DVTS, lookahead): beams, expansion, scoring.

A step is the text up to the next `step_delimiter` (a blank line by default): each expansion
continues a beam's partial assistant turn (`Prompt.assistant_prefix`) and stops at the delimiter.
All expansions of a step are issued at once (`asyncio.gather`, and n>1 per prompt), and the
runner interleaves many problems' searches, so the engine batches steps across beams and problems.

A beam is finished when the model ends its turn (the engine's exact signal where it gives one,
`Completion.ended_turn`: vLLM does, in-process and over its server; otherwise a continuation that
comes back empty), when a step runs out of tokens, when its `final_marker` (e.g. "\\boxed")
appears, or at the depth limit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from pydantic import model_validator

from harness.engines.base import Completion
from harness.strategies.base import Decision, StrategyContext, StrategyParams
from harness.strategies.scoring import best_scored, weighted_vote
from harness.verifiers.base import Aggregation, Candidate, aggregate


class StepSearchParams(StrategyParams):
    n: int = 8  # N: beams alive per step, and candidates scored per step
    temperature: float = 0.8
    max_tokens: int = 1024  # per beam, over all its steps
    beam_width: int = 4  # M: expansions of each kept beam
    max_depth: int = 10
    step_delimiter: str = "\n\n"
    step_max_tokens: int = 256
    agg: Aggregation = "last"
    final_marker: str | None = None
    select: Literal["best", "weighted"] = "best"

    @model_validator(mode="after")
    def _shape(self) -> "StepSearchParams":
        if not 1 <= self.beam_width <= self.n or self.n % self.beam_width:
            raise ValueError(f"beam_width must divide n and lie in [1, n], "
                             f"got n={self.n}, beam_width={self.beam_width}")
        if self.max_depth < 1 or self.step_max_tokens < 1:
            raise ValueError("max_depth and step_max_tokens must be at least 1")
        if not self.step_delimiter:
            raise ValueError("step_delimiter must not be empty")
        return self


@dataclass
class Beam:
    steps: list[str]
    logprobs: list[float] = field(default_factory=list)
    tokens: int = 0  # generated along this path
    finished: bool = False
    finish_reason: str | None = None
    score: float = 0.0
    tree: int = 0  # DVTS subtree it belongs to
    scored: bool = False
    ids: tuple[int, ...] | None = ()  # the path as generated tokens (stop tokens included); None: text only

    def text(self, delimiter: str) -> str:
        return delimiter.join(self.steps)

    def prefix(self, delimiter: str) -> str:
        return delimiter.join(self.steps) + delimiter if self.steps else ""

    def candidate(self, delimiter: str) -> Candidate:
        """What the verifier scores: the text, and its steps without the blank lines kept for the text's sake."""
        steps = tuple(s for s in self.steps if s.strip())
        return Candidate(self.text(delimiter), steps, tuple(self.logprobs) if self.logprobs else None)


BLANK_RUN = 4  # blank steps in a row absorbed into the delimiter before a beam counts as stuck


async def expand(ctx: StrategyContext, p: StepSearchParams, beam: Beam, k: int,
                 temperature: float | None = None) -> list[Beam]:
    """k continuations of `beam` by one non-empty step: one engine call, plus one per run of blank lines.

    A continuation that stops at the delimiter before writing anything is a blank line, not a step
    (a "\n" delimiter meets paragraph breaks): it goes on from one more delimiter in the same step,
    so a blank line costs no verifier call and no keep/prune round.
    """
    d = p.step_delimiter
    out: list[Beam] = []
    base, ended = beam, False
    for run in range(BLANK_RUN + 1):
        sampling = p.sampling(n=k, max_tokens=min(p.step_max_tokens, p.max_tokens - base.tokens), stop=(d, *p.stop),
                              logprobs=0 if ctx.needs_logprobs else None,
                              temperature=p.temperature if temperature is None else temperature)
        result = await ctx.generate(ctx.prompt(base.prefix(d), base.ids), sampling, keep=False)
        blank: list[Completion] = []  # stopped at the delimiter before writing anything: the step has not begun
        for c in result.completions:
            tokens = base.tokens + c.generated_tokens
            if not c.text.strip():
                if c.ended_turn is False and c.finish_reason != "length" and run < BLANK_RUN and tokens < p.max_tokens:
                    blank.append(c)
                elif not ended:  # the turn ended after the last step: the parent, finished, keeps its score
                    out.append(Beam(beam.steps, beam.logprobs, tokens, True, c.finish_reason, beam.score, beam.tree,
                                    scored=bool(beam.steps)))
                    ended = True
                continue
            finished = (c.ended_turn is True or c.finish_reason == "length" or tokens >= p.max_tokens
                        or bool(p.final_marker and p.final_marker in c.text))
            out.append(Beam([*base.steps, c.text], base.logprobs + list(c.token_logprobs or []), tokens, finished,
                            c.finish_reason, tree=beam.tree, ids=_extend(base.ids, c, p)))
        if not blank:
            break
        spent = max(c.generated_tokens for c in blank)
        base = Beam([*base.steps, ""], base.logprobs, base.tokens + spent, tree=beam.tree,
                    ids=_extend(base.ids, blank[0], p))
        k = len(blank)
    return out


def _extend(ids: tuple[int, ...] | None, c: Completion, p: StepSearchParams) -> tuple[int, ...] | None:
    """The path's tokens after this step. The stop token already holds the delimiter; with extra stop
    strings the step may have ended on one of those, which the text path replaces by the delimiter."""
    if ids is None or c.token_ids is None or p.stop:
        return None
    return ids + c.token_ids


async def rollout(ctx: StrategyContext, p: StepSearchParams, beam: Beam, steps: int) -> Beam:
    """Greedy continuation `steps` steps ahead (Snell et al. 2024's lookahead); charged, never kept."""
    for _ in range(steps):
        if beam.finished or beam.tokens >= p.max_tokens:
            break
        beam = (await expand(ctx, p, beam, 1, temperature=0.0))[0]
    return beam


async def score_beams(ctx: StrategyContext, p: StepSearchParams, beams: list[Beam], lookahead: int = 0) -> None:
    """Score every new candidate of a step in one verifier call (the verifier batches across problems)."""
    beams = [b for b in beams if not b.scored]
    targets = beams
    if lookahead:
        targets = list(await asyncio.gather(*(rollout(ctx, p, b, lookahead) for b in beams)))
    scores = await ctx.score([t.candidate(p.step_delimiter) for t in targets])
    for beam, steps in zip(beams, scores):
        beam.score, beam.scored = aggregate(steps, p.agg), True


async def search(ctx: StrategyContext, p: StepSearchParams, frontier: list[Beam], keep: int, width: int,
                 lookahead: int = 0, trace: list[dict] | None = None) -> list[Beam]:
    """Score the frontier, set finished beams apart, keep the best `keep`, expand each `width` ways; repeat."""
    finished: list[Beam] = []
    for depth in range(1, p.max_depth + 1):
        await score_beams(ctx, p, frontier, lookahead)
        finished += [b for b in frontier if b.finished]
        live = sorted((b for b in frontier if not b.finished), key=lambda b: -b.score)[:keep]
        if trace is not None:
            trace.append({"depth": depth, "candidates": len(frontier), "kept": len(live),
                          "finished": len(finished)})
        if not live:
            break
        if depth == p.max_depth:  # out of depth: the kept beams stand as they are
            finished += live
            break
        frontier = [b for group in await asyncio.gather(*(expand(ctx, p, b, width) for b in live)) for b in group]
    return finished


def decide(ctx: StrategyContext, p: StepSearchParams, finished: list[Beam], meta: dict) -> Decision:
    """Record the finished beams as samples and pick one: best score, or score-weighted answer vote."""
    for b in finished:
        ctx.add_sample(b.text(p.step_delimiter), b.finish_reason, b.tokens, score=b.score, logprobs=b.logprobs,
                       meta={"tree": b.tree, "steps": sum(1 for s in b.steps if s.strip())})
    pool = ctx.samples[len(ctx.samples) - len(finished):]
    chosen = best_scored(pool) if p.select == "best" else weighted_vote(pool, ctx.vote_key)
    if chosen is None:
        return Decision(None, None, meta)
    return Decision(chosen.text, chosen.extracted, {**meta, "score": chosen.score})

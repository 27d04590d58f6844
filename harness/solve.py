"""Run one strategy on one problem against an engine, and package the attempt.

Kept free of Ray so the same code path runs in an actor, in a test, or in a notebook.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from core.prompt import PromptTemplate
from core.records import Attempt, Question
from harness.engines.base import Engine, engine_dead
from harness.strategies import StrategyContext, get_strategy, make_params
from harness.strategies.base import EngineProvider, OracleFn
from harness.verifiers.base import Verifier
from harness.verifiers.confidence import ConfidenceVerifier

DEFAULT_VERIFIER = ConfidenceVerifier()  # needs no second model; used when a run names no verifier


@dataclass(frozen=True)
class SuiteView:
    """The gold-free part of a suite that strategies may use: prompt, extractor, vote key."""

    template: PromptTemplate
    extract: Callable[[str], str | None]
    vote_key: Callable[[str], str]
    warm_up: Callable[[], None] | None = None  # starts what extract and vote_key use (the suite's grader's)


async def solve(engine: Engine, view: SuiteView, question: Question, strategy: str, params: dict,
                seed: int, verifier: Verifier | None = None, oracle: OracleFn | None = None,
                model: str = "", engines: EngineProvider | None = None) -> Attempt:
    """`oracle` (a gold check of this question) is given only for runs labelled as oracle bounds; `model` names
    the policy on each call record (prices are per model)."""
    spec = get_strategy(strategy)
    scorer: Verifier = verifier or DEFAULT_VERIFIER
    ctx = StrategyContext(question, engine, view.template, view.extract, view.vote_key, seed,
                          verifier=scorer, oracle=oracle, model=model, engines=engines)
    start = time.perf_counter()
    try:
        decision = await spec.fn(ctx, make_params(strategy, params))
    except Exception as e:  # noqa: BLE001 - any strategy or engine failure is recorded on the problem, not fatal to the run
        dead = engine_dead(e)
        if dead is e:  # the engine's fault, not the problem's: the worker restarts it and the problem is retried
            raise
        if dead is not None:  # the same, raised from inside what a strategy wrapped it in
            raise dead from e
        ctx.ledger.wall_seconds = time.perf_counter() - start
        return Attempt(question.id, None, None, ctx.samples, ctx.ledger, meta=_labels(ctx, scorer),
                       error=describe(e)[:2000], calls=ctx.calls)
    ctx.ledger.wall_seconds = time.perf_counter() - start
    return Attempt(question.id, decision.text, decision.answer, ctx.samples, ctx.ledger,
                   meta={**decision.meta, **_labels(ctx, scorer), **_truncation(ctx, decision.text)}, calls=ctx.calls)


def describe(e: BaseException) -> str:
    """What went wrong, as stored and shown: `Type: message`, what it was raised from, and where (never a bare
    "failed"), e.g. `PromptTooLong: prompt of 130 tokens exceeds max_model_len 96: raise --max-model-len ...`."""
    parts: list[str] = []
    cur: BaseException | None = e
    while cur is not None and len(parts) < 3:
        text = str(cur).strip()
        parts.append(f"{type(cur).__name__}: {text}" if text else type(cur).__name__)
        cur = cur.__cause__ if cur.__cause__ is not cur else None
    frames = traceback.extract_tb(e.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return " caused by ".join(parts) + where


def _truncation(ctx: StrategyContext, final_text: str | None) -> dict[str, bool]:
    """`truncated: true` when the response the strategy stands by was cut off at its token limit."""
    chosen = next((s for s in ctx.samples if final_text is not None and s.text == final_text), None)
    return {"truncated": True} if chosen is not None and chosen.truncated else {}


def _labels(ctx: StrategyContext, verifier: Verifier) -> dict:
    """Which verifier the attempt consulted, and `oracle: true` whenever gold informed it."""
    labels: dict = {}
    if "verifier" in ctx.used:
        labels["verifier"] = verifier.name
    if "oracle" in ctx.used:
        labels["oracle"] = True
    return labels

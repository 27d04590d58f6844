"""Run one strategy on one problem against an engine, and package the attempt.

Kept free of Ray so the same code path runs in an actor, in a test, or in a notebook.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Callable

from core.prompt import PromptTemplate
from core.records import Attempt, Question
from harness.engines.base import Engine
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
        ctx.ledger.wall_seconds = time.perf_counter() - start
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        return Attempt(question.id, None, None, ctx.samples, ctx.ledger, meta=_labels(ctx, scorer),
                       error=detail[:2000], calls=ctx.calls)
    ctx.ledger.wall_seconds = time.perf_counter() - start
    return Attempt(question.id, decision.text, decision.answer, ctx.samples, ctx.ledger,
                   meta={**decision.meta, **_labels(ctx, scorer), **_truncation(ctx, decision.text)}, calls=ctx.calls)


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

"""`cascade`: cheap stages first, an expensive one only when the cheap one is unsure ("o1 plans, cheaper models do
the legwork", read the other way round: escalate the hard ones).

Each stage is a model and a strategy with its parameters. Stage 0 runs on the run's own engine (the policy);
a later stage names an OpenAI-compatible server (`base_url`, `served_model`), which the worker connects to once.
After each stage but the last, the escalation rule reads the stage's own signal, never gold:
- `agreement_below`: the share of the stage's voting samples that agree with its answer;
- `score_below`: the run's verifier score of the stage's answer (the default verifier is the policy's own
  token confidence; the stage's samples then carry logprobs);
- `no_answer`: the stage committed to no answer (always escalates).
Every call is recorded with its stage's model, so tokens and dollars come out per model (the `calls` table);
the attempt's meta says which stage answered and whether it escalated. Thresholds can be calibrated on a split
of stored runs with `calibrate_agreement`, as `adaptive` calibrates its table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness import queries
from harness.strategies.base import (
    STRATEGIES,
    Decision,
    StrategyContext,
    StrategyParams,
    StrategySpec,
)
from harness.verifiers.base import Candidate, aggregate

if TYPE_CHECKING:
    from harness.store import Store


class Stage(BaseModel):
    """One tier: a strategy with its parameters, on the policy (no `base_url`) or an OpenAI-compatible server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: str = "self_consistency"
    params: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    served_model: str | None = None  # the name the server serves, and the model calls are priced as
    parameters: int | None = None  # its parameter count, for FLOPs (unknown for API models)

    def engine_settings(self) -> dict[str, Any] | None:
        """The worker builds this engine for the stage; None: the stage runs on the policy's engine."""
        if self.base_url is None:
            return None
        return {"kind": "openai", "base_url": self.base_url, "served_model": self.served_model}


class EscalateWhen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agreement_below: float | None = None
    score_below: float | None = None


class CascadeParams(StrategyParams):
    stages: tuple[Stage, ...] = (Stage(),)
    escalate: EscalateWhen = EscalateWhen(agreement_below=0.5)
    step_delimiter: str = "\n\n"  # how a verifier splits an answer into steps (score_below)

    def models(self) -> dict[str, int | None]:
        return {s.served_model: s.parameters for s in self.stages if s.base_url is not None and s.served_model}

    @model_validator(mode="after")
    def _shape(self) -> CascadeParams:
        if len(self.stages) < 2:
            raise ValueError("a cascade needs at least two stages")
        if self.stages[0].base_url is not None:
            raise ValueError("stage 0 runs on the run's own engine: give base_url to later stages only")
        for i, stage in enumerate(self.stages):
            if stage.strategy == "cascade" or stage.strategy not in STRATEGIES:
                raise ValueError(f"stage {i}: strategy {stage.strategy!r} is not a registered strategy other than "
                                 "cascade")
            if stage.base_url is not None and not stage.served_model:
                raise ValueError(f"stage {i}: a served stage needs served_model (the name its server serves)")
            STRATEGIES.get(stage.strategy).params(**stage.params)  # fails here, not mid-run, on a bad parameter
        return self


async def cascade(ctx: StrategyContext, p: CascadeParams) -> Decision:
    decision, signals = Decision(None, None), {}
    for i in range(len(p.stages)):
        decision, child = await _run_stage(ctx, p, i)
        last = i == len(p.stages) - 1
        signals = await _signals(child, decision, p) if not last else {}
        if last or not _escalates(decision, signals, p.escalate):
            return Decision(decision.text, decision.answer,
                            {**decision.meta, "stage": i, "escalated": i > 0, "signals": signals})
    raise AssertionError("unreachable: the last stage always answers")


async def _run_stage(ctx: StrategyContext, p: CascadeParams, i: int) -> tuple[Decision, StrategyContext]:
    """Run one stage on its own engine, in a child context that charges the same ledger and call records;
    its samples join the attempt's afterwards, labelled with their stage."""
    stage = p.stages[i]
    engine, model = await ctx.stage_engine(stage.engine_settings(), stage.served_model)
    scored = p.escalate.score_below is not None and i < len(p.stages) - 1  # its answer will be scored
    child = replace(ctx, engine=engine, model=model, samples=[], sample_logprobs={}, stage=f"stage{i}",
                    want_logprobs=ctx.want_logprobs or (scored and ctx.needs_logprobs))
    spec = STRATEGIES.get(stage.strategy)
    decision = await spec.fn(child, spec.params(**stage.params))
    for s in child.samples:
        old = s.index
        s.index, s.meta = len(ctx.samples), {**s.meta, "stage": i, "model": model}
        if old in child.sample_logprobs:
            ctx.sample_logprobs[s.index] = child.sample_logprobs[old]
        ctx.samples.append(s)
    return decision, child


async def _signals(child: StrategyContext, decision: Decision, p: CascadeParams) -> dict[str, float]:
    """The stage's own confidence in its answer, from what escalation asks for."""
    out: dict[str, float] = {}
    if decision.answer is None:
        return out
    if p.escalate.agreement_below is not None:
        out["agreement"] = agreement(child, decision.answer)
    if p.escalate.score_below is not None and decision.text is not None:
        steps = await child.score([Candidate.split(decision.text, p.step_delimiter, _logprobs_of(child, decision))])
        out["score"] = aggregate(steps[0], "last") if steps else 0.0
    return out


def agreement(ctx: StrategyContext, answer: str) -> float:
    """Share of the voting samples whose answer is `answer` (1.0 for a single committed sample)."""
    keys = [ctx.vote_key(s.extracted) for s in ctx.samples if s.votes and s.extracted is not None]
    return Counter(keys)[ctx.vote_key(answer)] / len(keys) if keys else 0.0


def _logprobs_of(ctx: StrategyContext, decision: Decision) -> list[float] | None:
    chosen = next((s for s in ctx.samples if s.text == decision.text), None)
    return ctx.sample_logprobs.get(chosen.index) if chosen is not None else None


def _escalates(decision: Decision, signals: dict[str, float], rule: EscalateWhen) -> bool:
    if decision.answer is None:
        return True
    if rule.agreement_below is not None and signals.get("agreement", 0.0) < rule.agreement_below:
        return True
    return rule.score_below is not None and signals.get("score", 0.0) < rule.score_below


# --- calibration from stored runs (no engine needed) ---------------------------------------------------------


def calibrate_agreement(store: Store, cheap_run: str, strong_run: str, n: int,
                        thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
                        ) -> list[dict[str, Any]]:
    """For each agreement threshold: the escalation rate and the accuracy a cascade would reach, from a stored
    sampling run of the cheap stage (its first n samples) and a stored run of the strong stage on the same
    problems. Pick the threshold on one split of the problems and report on the other."""
    pilot: dict[str, list[tuple[str | None, bool]]] = {}
    for pid, key, correct in store.query(queries.PILOT_SAMPLES, [cheap_run, n]):
        pilot.setdefault(pid, []).append((key, bool(correct)))
    strong = {pid: bool(c) for pid, c, _ in store.query(queries.RUN_ATTEMPT_OUTCOMES, [strong_run])}
    rows = []
    for t in thresholds:
        escalated = right = 0
        for pid, votes in pilot.items():
            keys = [k for k, _ in votes if k is not None]
            top, count = Counter(keys).most_common(1)[0] if keys else (None, 0)
            if not keys or count / len(keys) < t:
                escalated += 1
                right += strong.get(pid, False)
            else:
                right += any(k == top and c for k, c in votes)
        rows.append({"threshold": t, "escalation_rate": escalated / max(1, len(pilot)),
                     "accuracy": right / max(1, len(pilot))})
    return rows


STRATEGIES.register(StrategySpec("cascade", cascade, CascadeParams,
                                 "cheap stage first; escalate to the next model when its own signal is unsure"))

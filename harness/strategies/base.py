"""The per-problem strategy interface.

A strategy is an `async` function of one problem's context that awaits `ctx.generate(...)`
and returns a `Decision`. The runner runs hundreds of these coroutines at once on one engine,
so their requests are served together: a step-level search costs no more per token than
best-of-N. The context records every token spent into the attempt's ledger, so a strategy
cannot forget to account for compute, and it holds a `Question`, never the gold answer.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Iterator

from pydantic import BaseModel, ConfigDict, model_validator

from core.prompt import PromptTemplate
from core.records import CallRecord, Ledger, Question, Sample
from core.registry import Registry
from harness.engines.base import Engine, GenerateResult, Prompt, SamplingParams
from harness.verifiers.base import Candidate, Verifier

OracleFn = Callable[[str], bool]  # response text -> correct against gold; only given for labelled upper bounds
EngineProvider = Callable[[dict[str, Any]], Awaitable[Engine]]  # engine settings -> a built, checked engine


class StrategyParams(BaseModel):
    """Parameters every strategy accepts; strategies subclass this to add their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _in_range(self) -> "StrategyParams":
        # A model validator, so subclasses that change defaults keep the checks.
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if not 0.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature must lie in [0, 10], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        return self

    def models(self) -> dict[str, int | None]:
        """Models this strategy calls besides the run's policy, with their parameter counts (for FLOPs)."""
        return {}

    def sampling(self, **overrides: Any) -> SamplingParams:
        base = {"n": self.n, "temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "stop": tuple(self.stop)}
        return SamplingParams(**{**base, **overrides})


def prompt_digest(prompt: Prompt) -> str:
    return hashlib.sha256(repr((prompt.messages, prompt.assistant_prefix, prompt.assistant_prefix_ids))
                          .encode()).hexdigest()


def request_seed(run_seed: int, problem_id: str, prompt: Prompt, nth: int = 0) -> int:
    """The seed of the `nth` request of `prompt` in problem `problem_id` of a run seeded `run_seed`: what a run
    sends, so anything outside a run (bench/engine_overhead.py's raw vLLM) can ask for exactly the same samples."""
    return _seed_of(run_seed, problem_id, prompt_digest(prompt), nth)


def _seed_of(run_seed: int, problem_id: str, digest: str, nth: int) -> int:
    key = f"{run_seed}\x1f{problem_id}\x1f{digest}\x1f{nth}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass
class Decision:
    """What a strategy stands by: a response text (graded) and its extracted answer."""

    text: str | None
    answer: str | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class StrategyContext:
    question: Question
    engine: Engine
    template: PromptTemplate
    extract: Callable[[str], str | None]
    vote_key: Callable[[str], str]
    seed: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    samples: list[Sample] = field(default_factory=list)
    verifier: Verifier | None = None
    oracle: OracleFn | None = None  # set only when the run is an explicitly labelled oracle upper bound
    used: set[str] = field(default_factory=set)  # "verifier" / "oracle": what the attempt consulted
    model: str = ""  # the policy model's name, recorded on each call (prices are per model)
    calls: list[CallRecord] = field(default_factory=list)
    stage: str | None = None  # prefixes call records' stage names (a cascade's tiers)
    engines: EngineProvider | None = None  # builds engines other than the policy's (a cascade's served stages)
    want_logprobs: bool = False  # ask for token logprobs on every call (a verifier will score the samples)

    async def stage_engine(self, settings: dict[str, Any] | None, model: str | None) -> tuple[Engine, str]:
        """The engine and model name a stage runs on: the policy's, or one the worker builds from `settings`."""
        if settings is None:
            return self.engine, self.model
        if self.engines is None:
            raise RuntimeError("a stage with its own engine needs the worker's engine provider (run it through "
                               "`thinkbench run`)")
        return await self.engines(settings), model or str(settings.get("served_model") or "")
    sample_logprobs: dict[int, list[float]] = field(default_factory=dict)  # sample index -> token logprobs
    _asked: Counter[str] = field(default_factory=Counter)  # prompt digest -> times asked (request seeds)

    def request_seed(self, prompt: Prompt) -> int:
        """A seed for the next request of this prompt: a function of (run seed, problem, prompt, how many times
        this attempt asked it before), so a rerun asks the same requests with the same seeds whatever order
        concurrent requests finish in. Engines that honour per-request seeds reproduce their samples with it."""
        digest = prompt_digest(prompt)
        nth = self._asked[digest]
        self._asked[digest] += 1
        return _seed_of(self.seed, self.question.id, digest, nth)

    def prompt(self, assistant_prefix: str = "", assistant_prefix_ids: tuple[int, ...] | None = None) -> Prompt:
        return Prompt.chat(self.template.render(self.question), assistant_prefix, assistant_prefix_ids)

    def problem_text(self) -> str:
        """The user turn the policy saw: what a verifier judges the solution against."""
        return self.template.render(self.question)[-1]["content"]

    @property
    def needs_logprobs(self) -> bool:
        """Whether generations must carry token logprobs for the verifier (confidence scoring)."""
        return bool(self.verifier is not None and self.verifier.needs_logprobs)

    async def score(self, candidates: list[Candidate]) -> list[list[float]]:
        """Per-step verifier scores of each candidate, charged to the attempt (tokens, calls, wall time)."""
        if self.verifier is None:
            raise RuntimeError("this strategy needs a verifier; set `verifier:` in the run config")
        if not candidates:
            return []
        start = time.perf_counter()
        result = await self.verifier.score(self.question, self.problem_text(), candidates)
        self.ledger.add(Ledger(verifier_tokens=result.tokens, verifier_calls=result.calls,
                               wall_seconds=time.perf_counter() - start))
        self.used.add("verifier")
        if self.verifier.oracle:
            self.used.add("oracle")
        return result.step_scores

    def is_correct(self, text: str) -> bool:
        """Gold check, for oracle difficulty only; raises unless the run was set up as an oracle bound."""
        if self.oracle is None:
            raise RuntimeError("oracle difficulty needs the gold answers: this run was not set up as an oracle bound")
        self.used.add("oracle")
        return self.oracle(text)

    def add_sample(self, text: str, finish_reason: str | None, generated_tokens: int, prompt_tokens: int = 0,
                   score: float | None = None, logprobs: list[float] | None = None,
                   meta: dict[str, Any] | None = None, extract_from: str | None = None) -> Sample:
        """Record a response assembled from several engine calls (a search beam, a forced trace).

        Its tokens are already in the ledger (charged by `generate`); this only keeps the text.
        The answer is extracted from `extract_from` when given (e.g. only the part after the thinking).
        """
        if logprobs:
            self.sample_logprobs[len(self.samples)] = list(logprobs)
        sample = Sample(
            index=len(self.samples), text=text, finish_reason=finish_reason, prompt_tokens=prompt_tokens,
            generated_tokens=generated_tokens, extracted=self.extract(text if extract_from is None else extract_from),
            score=score, mean_logprob=(sum(logprobs) / len(logprobs)) if logprobs else None, meta=dict(meta or {}),
        )
        self.samples.append(sample)
        return sample

    async def generate(self, prompt: Prompt, params: SamplingParams, keep: bool = True,
                       meta: dict[str, Any] | None = None, stage: str | None = None) -> GenerateResult:
        """Call the engine and charge the attempt. `keep=False` for partial steps that are not samples.
        `stage` names the step for the call record (default: sample, or step for partial steps)."""
        if params.seed is None:
            params = replace(params, seed=self.request_seed(prompt))
        if self.want_logprobs and params.logprobs is None:
            params = replace(params, logprobs=0)
        start, started = time.perf_counter(), time.time()
        with in_flight(self.engine) as concurrent:
            result = await self.engine.generate(prompt, params)
        label = stage or ("sample" if keep else "step")
        self._record_call(result, params, f"{self.stage}:{label}" if self.stage else label, started, concurrent)
        self.ledger.add(Ledger(
            prompt_tokens=result.prompt_tokens,
            cached_prompt_tokens=result.cached_prompt_tokens,
            generated_tokens=result.generated_tokens,
            reasoning_tokens=sum(c.reasoning_tokens for c in result.completions),
            engine_calls=1,
            wall_seconds=time.perf_counter() - start,
        ))
        if keep:
            share = result.prompt_tokens // max(1, len(result.completions))
            for c in result.completions:
                answer = self.extract(prompt.assistant_prefix + c.text)
                self.samples.append(Sample(
                    index=len(self.samples),
                    text=prompt.assistant_prefix + c.text,
                    finish_reason=c.finish_reason,
                    prompt_tokens=share,
                    generated_tokens=c.generated_tokens,
                    cached_prompt_tokens=result.cached_prompt_tokens // max(1, len(result.completions)),
                    extracted=answer,
                    mean_logprob=(sum(c.token_logprobs) / len(c.token_logprobs)) if c.token_logprobs else None,
                    # a server's separate reasoning text is kept beside the answer; graders only see `text`
                    meta={**(meta or {}), **({"reasoning": c.reasoning_text} if c.reasoning_text else {})},
                ))
                if c.token_logprobs:
                    self.sample_logprobs[self.samples[-1].index] = list(c.token_logprobs)
        return result


    def _record_call(self, result: GenerateResult, params: SamplingParams, stage: str, started: float,
                     concurrent: int) -> None:
        first = result.completions[0] if result.completions else None
        self.calls.append(CallRecord(
            index=len(self.calls), model=self.model, stage=stage, started=started,
            first_token=None if result.first_token_seconds is None else started + result.first_token_seconds,
            finished=time.time(), prompt_tokens=result.prompt_tokens, cached_prompt_tokens=result.cached_prompt_tokens,
            generated_tokens=result.generated_tokens,
            reasoning_tokens=sum(c.reasoning_tokens for c in result.completions),
            n=params.n, finish_reason=first.finish_reason if first else None, in_flight=concurrent))


_IN_FLIGHT: Counter[int] = Counter()  # engine id -> requests outstanding in this process


@contextmanager
def in_flight(engine: Engine) -> Iterator[int]:
    """Count a request as outstanding on its engine; yields how many are (itself included)."""
    key = id(engine)
    _IN_FLIGHT[key] += 1
    try:
        yield _IN_FLIGHT[key]
    finally:
        _IN_FLIGHT[key] -= 1


StrategyFn = Callable[[StrategyContext, Any], Awaitable[Decision]]


@dataclass(frozen=True)
class StrategySpec:
    """A strategy, registered in its own file: `STRATEGIES.register(StrategySpec(...))`."""

    name: str
    fn: StrategyFn
    params: type[StrategyParams]
    doc: str
    # Its samples are i.i.d. draws of one prompt, so one pool of n yields every budget k <= n (pass@k,
    # maj@k, best-of-k); the runner records this in the run manifest for the leaderboard's curves.
    sample_pool: bool = False


STRATEGIES: Registry[StrategySpec] = Registry("strategy", "harness.strategies")

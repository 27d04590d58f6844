"""A deterministic test engine: scripted text, token counts from whitespace, optional simulated latency.

Simulated latency: `first_token_seconds` before the first token, then `seconds_per_token` per token of the
longest completion; the first-token time it reports is exactly `first_token_seconds`, so a latency fit
(call seconds = a + b x tokens) can be checked against known a and b.

Fault injection (for tests of recovery): `die_at_call: N` makes the engine die (`EngineDead`) at its N-th call,
`deaths` times per process in all (a restarted engine in the same actor counts on); `die_on: TEXT` makes it die on
every prompt containing TEXT.

For unit tests of logic and for Ray scaling/failure tests. Each completion depends only on
(prompt, sample index, seed), never on batching or timing, so interrupted and uninterrupted
runs must store identical results. Never a substitute for the real-engine end-to-end tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import re
from typing import Any, Callable

from pydantic import Field

from core.errors import UserError
from harness.engines.base import Completion, EngineDead, GenerateResult, Prompt, SamplingParams
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec
from harness.models import ModelRef
from suites.generated.arith import evaluate

Responder = Callable[[Prompt, int, SamplingParams, int], str]
_DEATHS = [0]  # simulated engine deaths in this process so far (they outlive the engine a worker restarts)


def _unit(*key: object) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def noisy_arith(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """Answers `What is <expr>?` right with probability 0.6 (always at temperature 0), else off by one."""
    content = prompt.messages[-1][1]
    m = re.search(r"What is ([-\d+* ]+)\?", content)
    if not m:
        return "I do not know."
    value = evaluate(m.group(1).split())
    u = _unit(content, index, seed) if params.temperature > 0 else 0.0
    answer = value if u < 0.6 else value + (1 if u < 0.8 else -1)
    return f"Let me add carefully step by step. The answer is {answer}"


def _load(path: str) -> Responder:
    module, _, attr = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise UserError(f"scripted engine responder {path!r} not found; give module:function") from None


class ScriptedEngine:
    name = "scripted"

    def __init__(self, responder: Responder | str = noisy_arith, seed: int = 0,
                 seconds_per_token: float = 0.0, prompt_tokens_per_char: float = 0.25,
                 first_token_seconds: float = 0.0, die_at_call: int | None = None, deaths: int = 1,
                 die_on: str | None = None) -> None:
        self.responder = _load(responder) if isinstance(responder, str) else responder
        self.seed = seed
        self.seconds_per_token = seconds_per_token
        self.first_token_seconds = first_token_seconds
        self.prompt_tokens_per_char = prompt_tokens_per_char
        self.calls = 0
        self.dead = False  # a responder raised EngineDead: this engine serves nothing more (a worker restarts it)
        self.die_at_call, self.deaths, self.die_on = die_at_call, deaths, die_on

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        self.calls += 1
        if self.dead:
            raise EngineDead("scripted engine died earlier")
        if (self.calls == self.die_at_call and _DEATHS[0] < self.deaths) or \
                (self.die_on and self.die_on in prompt.messages[-1][1]):
            _DEATHS[0] += 1
            self.dead = True
            raise EngineDead(f"scripted engine died (simulated death {_DEATHS[0]} in this process)")
        completions = []
        for i in range(params.n):
            try:
                text = self.responder(prompt, i, params, self.seed)
            except EngineDead:
                self.dead = True
                raise
            words = text.split(" ")
            finish, ended = "stop", True
            if len(words) > params.max_tokens:
                words, finish, ended = words[: params.max_tokens], "length", False
            text = " ".join(words)
            for s in params.stop:
                if s and s in text:
                    text, finish, ended = text[: text.index(s)], "stop", False
            n_tok = len(text.split(" ")) if text else 0
            lps = [-0.1 * (1 + _unit(prompt, i, t)) for t in range(n_tok)] if params.logprobs is not None else None
            completions.append(Completion(text, finish, n_tok, lps, ended_turn=ended))
        gen = sum(c.generated_tokens for c in completions)
        simulated = bool(self.seconds_per_token or self.first_token_seconds)
        if simulated:
            # A GPU decodes the n samples of one request in parallel: latency follows the longest.
            longest = max((c.generated_tokens for c in completions), default=0)
            await asyncio.sleep(self.first_token_seconds + self.seconds_per_token * longest)
        else:
            await asyncio.sleep(0)
        chars = sum(len(c) for _, c in prompt.messages) + len(prompt.assistant_prefix)
        return GenerateResult(completions, prompt_tokens=int(chars * self.prompt_tokens_per_char) + 1,
                              first_token_seconds=self.first_token_seconds if simulated else None,
                              meta={"generated": gen})

    def alive(self) -> bool:
        return not self.dead

    def info(self) -> dict[str, Any]:
        return {"engine": "scripted", "engine_version": "1", "seconds_per_token": self.seconds_per_token,
                "first_token_seconds": self.first_token_seconds}

    async def close(self) -> None:
        return None


class ScriptedEngineSettings(EngineSettings):
    """`engine: {kind: scripted}`: deterministic text for logic tests and Ray rehearsals (never a real score)."""

    kind: str = "scripted"
    responder: str = "harness.engines.scripted:noisy_arith"
    seconds_per_token: float = Field(0.0, ge=0)
    first_token_seconds: float = Field(0.0, ge=0)  # simulated time to the first token, reported as such
    # With `gpus_per_worker`, rehearses the placement of a tensor-parallel group on a cluster that only declares GPUs.
    tensor_parallel_size: int = Field(1, ge=1)
    # Fault injection (not part of the identity: a faulty run and a clean one are the same run).
    die_at_call: int | None = Field(None, ge=1)
    deaths: int = Field(1, ge=0)
    die_on: str | None = None

    def identity(self) -> dict[str, Any]:
        return {"kind": "scripted", "responder": self.responder}

    def gpus(self) -> int:
        return self.tensor_parallel_size


def build(cfg: ScriptedEngineSettings, model: ModelRef, seed: int) -> ScriptedEngine:
    return ScriptedEngine(cfg.responder, seed=seed, seconds_per_token=cfg.seconds_per_token,
                          first_token_seconds=cfg.first_token_seconds, die_at_call=cfg.die_at_call, deaths=cfg.deaths,
                          die_on=cfg.die_on)


# Resolves the model's weights like vLLM would, so rehearsals count the same parameters (FLOPs).
ENGINES.register(EngineSpec("scripted", ScriptedEngineSettings, build, "scripted text for tests and rehearsals",
                            needs_weights=True))

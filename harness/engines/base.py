"""The one engine interface: async `generate(prompt, params)` returning texts and token counts.

Parameters are plain data (like vLLM's `SamplingParams`), so they cross Ray and land in the
store unchanged. Engines batch across problems by construction: every strategy coroutine
awaits `generate` concurrently, and the engine (vLLM's continuous-batching scheduler, or an
OpenAI-compatible server behind a concurrency limit) serves the in-flight requests together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: int | None = None  # None: none; 0: the sampled token's; k: also the top-k alternatives

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Prompt:
    """Chat messages, optionally continuing a partial assistant turn (step-level search, budget forcing)."""

    messages: tuple[tuple[str, str], ...]
    assistant_prefix: str = ""
    # The prefix as the exact tokens the engine generated, when it reported them: engines that take
    # token ids continue from these (no re-tokenisation drift, every cached KV block reused) and
    # ignore `assistant_prefix`; text engines use `assistant_prefix`.
    assistant_prefix_ids: tuple[int, ...] | None = None

    @classmethod
    def chat(cls, messages: list[dict[str, str]], assistant_prefix: str = "",
             assistant_prefix_ids: tuple[int, ...] | None = None) -> "Prompt":
        return cls(tuple((m["role"], m["content"]) for m in messages), assistant_prefix, assistant_prefix_ids)

    def as_messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    generated_tokens: int
    token_logprobs: list[float] | None = None
    top_logprobs: list[dict[str, float]] | None = None
    reasoning_tokens: int = 0  # hidden reasoning billed by API engines (o1-style)
    # True: the model ended its turn (end-of-sequence or a stop token); False: a stop string or the token
    # limit cut it; None: the engine does not say (OpenAI-compatible servers other than vLLM).
    ended_turn: bool | None = None
    token_ids: tuple[int, ...] | None = None  # as generated, stop token included; None if the engine does not say
    # Reasoning a server returned apart from the answer (`reasoning_content` / `reasoning` of vLLM's reasoning
    # parsers, hosted reasoning models that show a summary): never part of `text`, which is all graders see.
    reasoning_text: str = ""


def ended_turn(finish_reason: str | None, stop_reason: int | str | None) -> bool:
    """vLLM's `stop_reason` (in-process and from its server) is the stop string that matched, a stop
    token id, or None for end-of-sequence: only a stop string leaves the turn open."""
    return finish_reason == "stop" and not isinstance(stop_reason, str)


@dataclass
class GenerateResult:
    """One engine call: n completions of one prompt, with what the engine reported it spent."""

    completions: list[Completion]
    prompt_tokens: int
    cached_prompt_tokens: int = 0
    wall_seconds: float = 0.0
    first_token_seconds: float | None = None  # from sending the request to its first token, where the engine says
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def generated_tokens(self) -> int:
        return sum(c.generated_tokens for c in self.completions)


class EngineDead(RuntimeError):
    """The engine can serve no more requests: its process died (out of memory, a crash, a kill) or its server
    stopped answering. A fault of the worker, not of the problem: the worker restarts the engine and the
    problems that were in flight are retried. The message names the cause."""


class PromptTooLong(ValueError):
    """A prompt longer than the engine's context: this problem's fault (the others run on), with the fix."""

    def __init__(self, tokens: int, limit: int) -> None:
        super().__init__(f"prompt of {tokens} tokens exceeds max_model_len {limit}: raise --max-model-len or "
                         "shorten the template")
        self.tokens, self.limit = tokens, limit


def engine_dead(e: BaseException) -> EngineDead | None:
    """The `EngineDead` an exception is or was raised from (strategies may wrap what an engine raised)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, EngineDead):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def alive(engine: object) -> bool:
    """Whether an engine can still serve requests (engines without an `alive()` are taken to be)."""
    probe = getattr(engine, "alive", None)
    return bool(probe()) if callable(probe) else True


class Engine(Protocol):
    name: str

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult: ...

    def info(self) -> dict[str, Any]:
        """Engine version, dtype and settings for the run manifest."""
        ...

    async def close(self) -> None: ...

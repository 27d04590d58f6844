"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp server, hosted APIs) over async HTTP.

Requests from all problems in flight go out concurrently up to `max_concurrency`, so the
server's own batcher sees them together. Token usage comes from the response: hidden
reasoning tokens (`usage.completion_tokens_details.reasoning_tokens`) are recorded as
generated tokens of kind reasoning, and reasoning text a server returns apart from the answer
(`reasoning_content` / `reasoning`, as vLLM's reasoning parsers give it) is kept apart from the
answer text. Continuing a partial assistant turn uses the `continue_final_message` extension
that vLLM and SGLang servers accept.

Responses are streamed with usage included (`stream_options.include_usage`) so each call's first
token is timed; the chunks are assembled into the non-streaming response's shape and read by the
same code, so both paths give the same result. A server that refuses streaming or sends no usage
in streams is asked again without streaming, and never streamed to again by this engine.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from core.errors import UserError
from harness.engines.base import Completion, EngineDead, GenerateResult, Prompt, SamplingParams, ended_turn
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec
from harness.models import ModelRef

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
SERVER_DOWN = {500, 502, 503, 504}  # after every retry, and the server not answering a health check: it is down
CONTEXT_HINT = "maximum context length"  # vLLM's (and OpenAI's) 400 for a prompt the served model cannot take
# Answers to a streaming request that may mean "not with streaming" (or not with `stream_options`): asked again
# without streaming; if that succeeds, this engine stops streaming.
REFUSED_STREAM = {400, 415, 422, 501}


def split_tokens(total: int, texts: list[str]) -> list[int]:
    """Share a usage total over choices in proportion to text length, summing exactly to the total."""
    weights = [max(1, len(t)) for t in texts]
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _reasoning(message: dict[str, Any]) -> str:
    return message.get("reasoning_content") or message.get("reasoning") or ""


@dataclass
class _Reply:
    """One HTTP exchange: the response in the non-streaming shape, or why there is none."""

    status: int
    data: dict[str, Any] | None = None
    first_token: float | None = None  # perf_counter time of the first chunk carrying output
    streamed_usage: bool = True  # False: a stream that ended without usage
    text: str = ""
    retry_after: str | None = None


class StreamAssembler:
    """Chat-completion chunks -> the non-streaming response (choices with message, finish and stop reason,
    logprobs; usage), plus the time of the first chunk that carried output."""

    def __init__(self) -> None:
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, Any] | None = None
        self.first_token: float | None = None

    def add(self, chunk: dict[str, Any], now: float) -> None:
        if chunk.get("error"):
            raise RuntimeError(f"server error in stream: {str(chunk['error'])[:300]}")
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for ch in chunk.get("choices") or []:
            idx = int(ch.get("index", 0))
            acc = self.choices.setdefault(idx, {"index": idx, "message": {"content": ""}, "finish_reason": None})
            delta, msg = ch.get("delta") or {}, acc["message"]
            content, reasoning = delta.get("content") or "", _reasoning(delta)
            msg["content"] += content
            if reasoning:
                msg["reasoning"] = msg.get("reasoning", "") + reasoning
            tokens = (ch.get("logprobs") or {}).get("content")
            if tokens:
                acc.setdefault("logprobs", {"content": []})["content"].extend(tokens)
            if ch.get("finish_reason") is not None:
                acc["finish_reason"] = ch["finish_reason"]
            if "stop_reason" in ch and (ch.get("finish_reason") is not None or "stop_reason" not in acc):
                acc["stop_reason"] = ch["stop_reason"]
            if self.first_token is None and (content or reasoning or tokens or ch.get("finish_reason")):
                self.first_token = now

    def response(self) -> dict[str, Any]:
        return {"choices": [self.choices[i] for i in sorted(self.choices)], "usage": self.usage}


def parse_completions(data: dict[str, Any], logprobs: int | None) -> list[Completion]:
    """Completions of a (non-streaming shaped) response, with usage shared out over its choices."""
    choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
    messages = [c.get("message") or {} for c in choices]
    texts = [m.get("content") or "" for m in messages]
    thoughts = [_reasoning(m) for m in messages]
    usage = data.get("usage") or {}
    gen_total = int(usage.get("completion_tokens") or 0)
    reasoning_total = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    gen = split_tokens(gen_total, [t + r for t, r in zip(texts, thoughts)])
    # Reasoning tokens follow the reasoning text where the server shows it; hidden reasoning follows the answers.
    reasoning = split_tokens(reasoning_total, thoughts if any(thoughts) else texts)
    completions = []
    for c, text, thought, g, r in zip(choices, texts, thoughts, gen, reasoning):
        lps, tops = None, None
        content = (c.get("logprobs") or {}).get("content")
        if content:
            lps = [t["logprob"] for t in content]
            if logprobs:
                tops = [{a["token"]: a["logprob"] for a in t.get("top_logprobs") or []} for t in content]
        # vLLM's server adds `stop_reason`; other servers leave the end of the turn unknown.
        ended = ended_turn(c.get("finish_reason"), c["stop_reason"]) if "stop_reason" in c else None
        completions.append(Completion(text, c.get("finish_reason"), g, lps, tops, reasoning_tokens=r,
                                      ended_turn=ended, reasoning_text=thought))
    return completions


class OpenAIEngine:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, max_concurrency: int = 64,
                 max_retries: int = 5, timeout_s: float = 600.0, per_request_seed: bool = True,
                 reasoning_effort: str | None = None, max_completion_tokens: int | None = None,
                 stream: bool = True, server_wait_s: float = 300.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UserError(f"--base-url {base_url!r} must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self._sem = asyncio.Semaphore(max_concurrency)
        headers = {"Authorization": f"Bearer {api_key or os.environ.get('OPENAI_API_KEY', 'EMPTY')}"}
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout_s,
                                         limits=httpx.Limits(max_connections=max_concurrency))
        self.max_concurrency = max_concurrency
        self.per_request_seed = per_request_seed
        self.reasoning_effort = reasoning_effort
        self.max_completion_tokens = max_completion_tokens
        self.stream = stream  # turned off for good when the server refuses streaming or usage in streams
        self.server_wait_s = server_wait_s  # how long a restart waits for a server that went down to answer again
        self.dead: str | None = None  # why the server is taken to be down (EngineDead raised), once it is

    def _body(self, prompt: Prompt, params: SamplingParams) -> dict[str, Any]:
        messages = prompt.as_messages()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        # Reasoning models take their thinking budget as `max_completion_tokens` (and refuse `max_tokens`):
        # the smaller of the run's budget and the strategy's limit for this call.
        if self.max_completion_tokens is not None:
            body["max_completion_tokens"] = min(self.max_completion_tokens, params.max_tokens)
        else:
            body["max_tokens"] = params.max_tokens
        if self.reasoning_effort is not None:
            body["reasoning_effort"] = self.reasoning_effort
        if prompt.assistant_prefix:
            body["messages"] = messages + [{"role": "assistant", "content": prompt.assistant_prefix}]
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None and self.per_request_seed:
            body["seed"] = params.seed
        if params.logprobs is not None:
            body["logprobs"] = True
            if params.logprobs > 0:
                body["top_logprobs"] = params.logprobs
        return body

    async def _post_once(self, body: dict[str, Any]) -> _Reply:
        resp = await self._client.post(f"{self.base_url}/chat/completions", json=body)
        if resp.status_code != 200:
            return _Reply(resp.status_code, text=resp.text[:300], retry_after=resp.headers.get("retry-after"))
        return _Reply(200, resp.json())

    async def _stream_once(self, body: dict[str, Any]) -> _Reply:
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        async with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as resp:
            if resp.status_code != 200:
                await resp.aread()
                return _Reply(resp.status_code, text=resp.text[:300], retry_after=resp.headers.get("retry-after"))
            if not resp.headers.get("content-type", "").startswith("text/event-stream"):
                await resp.aread()  # a server that ignores `stream` answers in one piece
                return _Reply(200, resp.json(), streamed_usage=False)
            assembler = StreamAssembler()
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                assembler.add(json.loads(payload), time.perf_counter())
        return _Reply(200, assembler.response(), assembler.first_token, streamed_usage=assembler.usage is not None)

    async def _send(self, body: dict[str, Any], stream: bool) -> _Reply:
        """One request with retries and backoff; a streaming request's refusal comes back for the caller.
        A server that stays unreachable, or answers 5xx to every retry and then fails a health check too, is down
        (`EngineDead`: the worker restarts the engine and retries the problem); other failures are this request's."""
        delay, started = 1.0, time.perf_counter()
        for attempt in range(self.max_retries + 1):
            if self.dead is not None:  # another request found the server down (and the worker may close this engine)
                raise EngineDead(self.dead)
            try:
                reply = await (self._stream_once(body) if stream else self._post_once(body))
            except (httpx.TransportError, httpx.TimeoutException) as e:
                if attempt == self.max_retries:
                    raise self._down(f"server {self.base_url} unreachable after {attempt + 1} tries over "
                                     f"{time.perf_counter() - started:.0f} s ({type(e).__name__}: {e})") from e
            except RuntimeError as e:  # httpx's "client has been closed": the worker dropped this dead engine
                if self.dead is not None:
                    raise EngineDead(self.dead) from e
                raise
            else:
                if reply.status == 200 or (stream and reply.status in REFUSED_STREAM):
                    return reply
                if reply.status not in RETRY_STATUS or attempt == self.max_retries:
                    raise await self._failure(reply, attempt)
                if reply.retry_after and reply.retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, float(reply.retry_after))
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 60.0)
        raise AssertionError("unreachable")

    def _down(self, why: str) -> EngineDead:
        self.dead = why
        return EngineDead(why)

    async def _failure(self, reply: _Reply, retries: int) -> Exception:
        """The error a failed request raises, naming the status, the retries and what to do about it."""
        status, text = reply.status, reply.text.strip()
        after = f" after {retries} retries" if retries else ""
        if status in SERVER_DOWN and retries and not await self._answers():
            return self._down(f"server answered {status}{after} and fails its health check too ({self.base_url}): "
                              f"{text}")
        hint = {429: "; the server's rate limit: lower max_concurrency or raise the limit"}.get(status, "")
        if status == 400 and CONTEXT_HINT in text:
            hint = "; the prompt does not fit the served model's context: raise the server's --max-model-len or " \
                   "shorten the template"
        return RuntimeError(f"server answered {status}{after}: {text}{hint}")

    async def _answers(self) -> bool:
        """Whether the server answers its model list (a health check every OpenAI-compatible server has)."""
        try:
            return (await self._client.get(f"{self.base_url}/models", timeout=10)).status_code == 200
        except (httpx.HTTPError, ValueError):  # ValueError: a body that is not the JSON asked for
            return False

    async def _complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
        """The response and the time of its first token (streaming only)."""
        if self.stream:
            reply = await self._send(body, stream=True)
            if reply.status == 200 and reply.data is not None and reply.streamed_usage:
                return reply.data, reply.first_token
            if reply.status == 200 and reply.data is not None and reply.data.get("usage"):
                self.stream = False  # it answered in one piece: nothing to time, so stop asking for streams
                return reply.data, None
        reply = await self._send(body, stream=False)
        assert reply.data is not None
        self.stream = False  # refused streaming (or usage in streams) and answered without: never stream again
        return reply.data, None

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        body = self._body(prompt, params)
        start = time.perf_counter()
        async with self._sem:
            data, first = await self._complete(body)
        usage = data.get("usage") or {}
        return GenerateResult(
            completions=parse_completions(data, params.logprobs),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_prompt_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            wall_seconds=time.perf_counter() - start,
            first_token_seconds=None if first is None else first - start,
        )

    def alive(self) -> bool:
        """False once requests found the server down (`EngineDead`); a new engine checks it again."""
        return self.dead is None

    async def check(self, wait: bool = False) -> None:
        """Fail fast with a one-line error when the server is down or does not serve the model; with `wait` (a
        restart after the server went down), first wait up to `server_wait_s` for it to answer again."""
        deadline = time.perf_counter() + (self.server_wait_s if wait else 0.0)
        while True:
            try:
                resp = await self._client.get(f"{self.base_url}/models", timeout=10)
                if resp.status_code < 500 or time.perf_counter() >= deadline:
                    break
            except httpx.HTTPError as e:
                if time.perf_counter() >= deadline:
                    waited = f" for {self.server_wait_s:.0f} s" if wait else ""
                    raise UserError(f"cannot reach {self.base_url}{waited} ({type(e).__name__}); "
                                    "start the server or fix --base-url") from None
            await asyncio.sleep(2.0)
        if resp.status_code == 200:
            served = [m.get("id") for m in resp.json().get("data", [])]
            if served and self.model not in served:
                raise UserError(f"server {self.base_url} does not serve {self.model!r}; it serves: {', '.join(served)}")

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"engine": "openai", "engine_version": f"httpx-{httpx.__version__}",
                                "base_url": self.base_url, "max_concurrency": self.max_concurrency}
        if self.reasoning_effort is not None:
            info["reasoning_effort"] = self.reasoning_effort
        if self.max_completion_tokens is not None:
            info["max_completion_tokens"] = self.max_completion_tokens
        return info

    async def close(self) -> None:
        await self._client.aclose()


class OpenAIEngineSettings(EngineSettings):
    """`engine: {kind: openai, base_url: ...}`: any OpenAI-compatible server (vLLM's, an API)."""

    kind: str = "openai"
    base_url: str | None = None
    served_model: str | None = None  # the name the server serves (default: the run's --model)
    max_concurrency: int = 64
    # Send each request's seed (derived from run seed, problem and request), so a rerun on the same server
    # reproduces its samples. Off for servers that reject per-request seeds (vLLM's CPU build).
    per_request_seed: bool = True
    # Thinking budgets of reasoning models: sent only when set (`reasoning_effort`; `max_completion_tokens` in
    # place of `max_tokens`, capped by each call's own limit).
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    max_completion_tokens: int | None = Field(None, ge=1)
    # Retries of a request (back-off 1, 2, 4, ... s) before the server counts as down, and how long a restarted
    # engine then waits for it to answer again; neither changes outputs, so neither is in the identity.
    max_retries: int = Field(5, ge=0)
    server_wait_s: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "OpenAIEngineSettings":
        if not self.base_url:
            raise ValueError("engine openai needs --base-url http://host:port/v1")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"--base-url {self.base_url!r} must start with http:// or https://")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency >= 1 is required")
        return self

    def shrunk(self) -> "OpenAIEngineSettings":
        return self.model_copy(update={"max_concurrency": max(1, self.max_concurrency // 2)})

    def identity(self) -> dict[str, Any]:
        # Budgets join the identity only when set, so the ids of runs made before they existed do not change.
        ident: dict[str, Any] = {"kind": "openai", "served_model": self.served_model}
        if self.reasoning_effort is not None:
            ident["reasoning_effort"] = self.reasoning_effort
        if self.max_completion_tokens is not None:
            ident["max_completion_tokens"] = self.max_completion_tokens
        return ident


def build(cfg: OpenAIEngineSettings, model: ModelRef, seed: int) -> OpenAIEngine:
    return OpenAIEngine(cfg.base_url or "", cfg.served_model or model.name, max_concurrency=cfg.max_concurrency,
                        per_request_seed=cfg.per_request_seed, reasoning_effort=cfg.reasoning_effort,
                        max_completion_tokens=cfg.max_completion_tokens, max_retries=cfg.max_retries,
                        server_wait_s=cfg.server_wait_s)


ENGINES.register(EngineSpec("openai", OpenAIEngineSettings, build, "an OpenAI-compatible server (chat completions)",
                            needs_weights=False))

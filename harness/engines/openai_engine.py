"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp server, hosted APIs) over async HTTP.

Requests from all problems in flight go out concurrently up to `max_concurrency`, so the
server's own batcher sees them together. Token usage comes from the response: hidden
reasoning tokens (`usage.completion_tokens_details.reasoning_tokens`) are recorded as
generated tokens of kind reasoning. Continuing a partial assistant turn uses the
`continue_final_message` extension that vLLM and SGLang servers accept.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

import httpx
from pydantic import model_validator

from core.errors import UserError
from harness.engines.base import Completion, GenerateResult, Prompt, SamplingParams, ended_turn
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec
from harness.models import ModelRef

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def split_tokens(total: int, texts: list[str]) -> list[int]:
    """Share a usage total over choices in proportion to text length, summing exactly to the total."""
    weights = [max(1, len(t)) for t in texts]
    raw = [total * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


class OpenAIEngine:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, max_concurrency: int = 64,
                 max_retries: int = 5, timeout_s: float = 600.0, per_request_seed: bool = True) -> None:
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

    def _body(self, prompt: Prompt, params: SamplingParams) -> dict[str, Any]:
        messages = prompt.as_messages()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
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

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        delay = 1.0
        for attempt in range(self.max_retries + 1):
            try:
                resp = await self._client.post(f"{self.base_url}/chat/completions", json=body)
            except (httpx.TransportError, httpx.TimeoutException) as e:
                if attempt == self.max_retries:
                    raise RuntimeError(f"server {self.base_url} unreachable after {attempt + 1} tries: {e}") from e
            else:
                if resp.status_code == 200:
                    return resp.json()
                if resp.status_code not in RETRY_STATUS or attempt == self.max_retries:
                    raise RuntimeError(f"server answered {resp.status_code}: {resp.text[:300]}")
                retry_after = resp.headers.get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = max(delay, float(retry_after))
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 60.0)
        raise AssertionError("unreachable")

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        body = self._body(prompt, params)
        start = time.perf_counter()
        async with self._sem:
            data = await self._post(body)
        choices = sorted(data.get("choices", []), key=lambda c: c.get("index", 0))
        texts = [(c.get("message") or {}).get("content") or "" for c in choices]
        usage = data.get("usage") or {}
        gen_total = int(usage.get("completion_tokens") or 0)
        reasoning_total = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
        gen = split_tokens(gen_total, texts)
        reasoning = split_tokens(reasoning_total, texts)
        completions = []
        for c, text, g, r in zip(choices, texts, gen, reasoning):
            lps, tops = None, None
            content = (c.get("logprobs") or {}).get("content")
            if content:
                lps = [t["logprob"] for t in content]
                if params.logprobs:
                    tops = [{a["token"]: a["logprob"] for a in t.get("top_logprobs") or []} for t in content]
            # vLLM's server adds `stop_reason`; other servers leave the end of the turn unknown.
            ended = ended_turn(c.get("finish_reason"), c["stop_reason"]) if "stop_reason" in c else None
            completions.append(Completion(text, c.get("finish_reason"), g, lps, tops, reasoning_tokens=r,
                                          ended_turn=ended))
        return GenerateResult(
            completions=completions,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_prompt_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
            wall_seconds=time.perf_counter() - start,
        )

    async def check(self) -> None:
        """Fail fast with a one-line error when the server is down or does not serve the model."""
        try:
            resp = await self._client.get(f"{self.base_url}/models", timeout=10)
        except httpx.HTTPError as e:
            raise UserError(f"cannot reach {self.base_url} ({type(e).__name__}); "
                            "start the server or fix --base-url") from None
        if resp.status_code == 200:
            served = [m.get("id") for m in resp.json().get("data", [])]
            if served and self.model not in served:
                raise UserError(f"server {self.base_url} does not serve {self.model!r}; it serves: {', '.join(served)}")

    def info(self) -> dict[str, Any]:
        return {"engine": "openai", "engine_version": f"httpx-{httpx.__version__}", "base_url": self.base_url,
                "max_concurrency": self.max_concurrency}

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

    @model_validator(mode="after")
    def _check(self) -> "OpenAIEngineSettings":
        if not self.base_url:
            raise ValueError("engine openai needs --base-url http://host:port/v1")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"--base-url {self.base_url!r} must start with http:// or https://")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency >= 1 is required")
        return self

    def identity(self) -> dict[str, Any]:
        return {"kind": "openai", "served_model": self.served_model}


def build(cfg: OpenAIEngineSettings, model: ModelRef, seed: int) -> OpenAIEngine:
    return OpenAIEngine(cfg.base_url or "", cfg.served_model or model.name, max_concurrency=cfg.max_concurrency,
                        per_request_seed=cfg.per_request_seed)


ENGINES.register(EngineSpec("openai", OpenAIEngineSettings, build, "an OpenAI-compatible server (chat completions)",
                            needs_weights=False))

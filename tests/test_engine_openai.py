"""The OpenAI engine streams (timing the first token) and reads the same result as without streaming.

A fake server (httpx MockTransport) answers either way from one response: streaming splits it into chunks the
way vLLM's server does (a role chunk, one chunk per token with its logprobs, the finish and stop reason, a usage
chunk, `[DONE]`). Refusals and streams without usage fall back to non-streaming for the engine's lifetime.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import httpx
import pytest

from harness.engines import engine_settings
from harness.engines import openai_engine as oe
from harness.engines.base import Prompt, SamplingParams
from harness.engines.openai_engine import OpenAIEngine

PROMPT = Prompt.chat([{"role": "user", "content": "What is 3 + 4?"}])


def _lp(token: str, value: float) -> dict[str, Any]:
    return {"token": token, "logprob": value, "bytes": list(token.encode()),
            "top_logprobs": [{"token": token, "logprob": value}, {"token": "x", "logprob": value - 1}]}


def _choice(index: int, content: str | None, finish: str, stop_reason: Any = None, reasoning: str | None = None,
            logprobs: bool = True, vllm: bool = True) -> dict[str, Any]:
    tokens = (content or "").split(" ") if content else []
    c: dict[str, Any] = {"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
    if reasoning is not None:
        c["message"]["reasoning"] = reasoning
    if logprobs:
        c["logprobs"] = {"content": [_lp(t if i == 0 else " " + t, -0.1 * (i + 1)) for i, t in enumerate(tokens)]}
    if vllm:
        c["stop_reason"] = stop_reason
    return c


RESPONSES = {
    "plain": {"choices": [_choice(0, "The answer is 7", "stop"), _choice(1, "It is 8", "stop", "\n\n"),
                          _choice(2, "Seven", "length")],
              "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21,
                        "prompt_tokens_details": {"cached_tokens": 8}}},
    "reasoning": {"choices": [_choice(0, "7", "stop", reasoning="3 plus 4 is 7, check: 7 - 4 = 3"),
                              _choice(1, None, "length", reasoning="3 plus 4, let me count on my")],
                  "usage": {"prompt_tokens": 12, "completion_tokens": 30,
                            "completion_tokens_details": {"reasoning_tokens": 26}}},
    "hidden": {"choices": [_choice(0, "7", "stop", logprobs=False, vllm=False)],
               "usage": {"prompt_tokens": 12, "completion_tokens": 40,
                         "completion_tokens_details": {"reasoning_tokens": 39}}},
}


def _pieces(text: str | None) -> list[str]:
    words = (text or "").split(" ") if text else []
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def sse_chunks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A non-streaming response as the chunks of a vLLM-style stream (usage last, in its own chunk)."""
    chunks: list[dict[str, Any]] = []
    for c in data["choices"]:
        i, msg = c["index"], c["message"]
        chunks.append({"choices": [{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                    "finish_reason": None}]})
        for piece in _pieces(msg.get("reasoning")):
            chunks.append({"choices": [{"index": i, "delta": {"reasoning": piece}, "finish_reason": None}]})
        lps = (c.get("logprobs") or {}).get("content") or []
        for k, piece in enumerate(_pieces(msg.get("content"))):
            ch = {"index": i, "delta": {"content": piece}, "finish_reason": None}
            if lps:
                ch["logprobs"] = {"content": [lps[k]]}
            chunks.append({"choices": [ch]})
        end = {"index": i, "delta": {}, "finish_reason": c["finish_reason"]}
        if "stop_reason" in c:
            end["stop_reason"] = c["stop_reason"]
        chunks.append({"choices": [end]})
    chunks.append({"choices": [], "usage": data["usage"]})
    return chunks


def sse_bytes(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def server(data: dict[str, Any], seen: list[dict[str, Any]] | None = None, refuse_stream: int | None = None,
           usage_in_stream: bool = True, fail_first: list[int] | None = None) -> Callable[..., httpx.Response]:
    fails = list(fail_first or [])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        if fails:
            return httpx.Response(fails.pop(0), headers={"retry-after": "0"}, text="busy")
        if body.get("stream"):
            if refuse_stream:
                return httpx.Response(refuse_stream, json={"error": "streaming is not supported"})
            chunks = sse_chunks(data)
            if not usage_in_stream:
                chunks = chunks[:-1]
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_bytes(chunks))
        return httpx.Response(200, json=data)

    return handler


def engine(handler: Callable[..., httpx.Response], **kw: Any) -> OpenAIEngine:
    e = OpenAIEngine("http://fake/v1", "m", **kw)
    e._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return e


def ask(e: OpenAIEngine, params: SamplingParams = SamplingParams(n=3, logprobs=2)):
    return asyncio.run(e.generate(PROMPT, params))


def same(a, b) -> None:
    assert a.completions == b.completions
    assert (a.prompt_tokens, a.cached_prompt_tokens) == (b.prompt_tokens, b.cached_prompt_tokens)


@pytest.mark.parametrize("kind", sorted(RESPONSES))
def test_streamed_result_equals_the_non_streaming_one(kind):
    data = RESPONSES[kind]
    streamed, seen = ask(engine(server(data, seen := []))), seen
    plain = ask(engine(server(data), stream=False))
    same(streamed, plain)
    assert seen[0]["stream"] and seen[0]["stream_options"] == {"include_usage": True}
    assert streamed.first_token_seconds is not None and 0 <= streamed.first_token_seconds <= streamed.wall_seconds
    assert plain.first_token_seconds is None
    assert sum(c.generated_tokens for c in plain.completions) == data["usage"]["completion_tokens"]


def test_reasoning_text_is_kept_apart_and_a_cut_off_thought_is_truncated():
    r = ask(engine(server(RESPONSES["reasoning"])), SamplingParams(n=2))
    done, cut = r.completions
    assert done.text == "7" and done.reasoning_text.startswith("3 plus 4 is 7")
    assert cut.text == "" and cut.reasoning_text and cut.finish_reason == "length"
    assert done.reasoning_tokens + cut.reasoning_tokens == 26 and r.generated_tokens == 30
    assert cut.reasoning_tokens < cut.generated_tokens and done.reasoning_tokens > 0
    hidden = ask(engine(server(RESPONSES["hidden"])), SamplingParams())
    assert hidden.completions[0].reasoning_tokens == 39 and hidden.completions[0].reasoning_text == ""
    assert hidden.completions[0].ended_turn is None, "not vLLM: the end of the turn is unknown"
    assert [c.ended_turn for c in ask(engine(server(RESPONSES["plain"]))).completions] == [True, False, False]


@pytest.mark.parametrize("status", [400, 422])
def test_a_server_that_refuses_streaming_is_asked_without_it_from_then_on(status):
    seen: list[dict[str, Any]] = []
    e = engine(server(RESPONSES["plain"], seen, refuse_stream=status))
    first, second = ask(e), ask(e)
    same(first, ask(engine(server(RESPONSES["plain"]), stream=False)))
    same(second, first)
    assert [bool(b.get("stream")) for b in seen] == [True, False, False]
    assert first.first_token_seconds is None and not e.stream


def test_a_stream_without_usage_falls_back_for_good():
    seen: list[dict[str, Any]] = []
    e = engine(server(RESPONSES["plain"], seen, usage_in_stream=False))
    first, _ = ask(e), ask(e)
    assert first.prompt_tokens == 12 and first.generated_tokens == 9
    assert [bool(b.get("stream")) for b in seen] == [True, False, False]


def test_a_server_that_ignores_stream_is_read_as_is():
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=RESPONSES["plain"])

    e = engine(handler)
    same(ask(e), ask(engine(server(RESPONSES["plain"]), stream=False)))
    ask(e)
    assert len(seen) == 2 and "stream" not in seen[1]


def test_a_bad_request_is_an_error_both_ways_and_streaming_stays_on():
    e = engine(lambda r: httpx.Response(400, text="bad model"))
    with pytest.raises(RuntimeError, match="server answered 400: bad model"):
        ask(e)
    assert e.stream


def test_retries_and_backoff_keep_working_when_streaming(monkeypatch):
    monkeypatch.setattr(oe.random, "random", lambda: -0.5)  # no waiting between tries
    seen: list[dict[str, Any]] = []
    r = ask(engine(server(RESPONSES["plain"], seen, fail_first=[503, 429])))
    assert len(seen) == 3 and all(b["stream"] for b in seen)
    same(r, ask(engine(server(RESPONSES["plain"]), stream=False)))
    with pytest.raises(RuntimeError, match="server answered 503"):
        ask(engine(server(RESPONSES["plain"], fail_first=[503] * 9), max_retries=2))

    drops = [1]

    def flaky(request: httpx.Request) -> httpx.Response:
        if drops and drops.pop():
            raise httpx.ReadError("connection reset mid-stream")
        return server(RESPONSES["plain"])(request)

    same(ask(engine(flaky)), r)


def test_first_token_time_is_when_output_starts():
    chunks = sse_chunks(RESPONSES["plain"])

    async def body():
        yield f"data: {json.dumps(chunks[0])}\n\n".encode()  # the role chunk carries no output
        await asyncio.sleep(0.2)
        yield f"data: {json.dumps(chunks[1])}\n\n".encode()
        await asyncio.sleep(0.2)
        yield sse_bytes(chunks[2:])

    e = engine(lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body()))
    r = ask(e)
    assert 0.2 <= r.first_token_seconds < 0.4 <= r.wall_seconds
    assert r.completions[0].text == "The answer is 7"


def test_thinking_budgets_are_sent_only_when_set_and_join_the_identity_only_then():
    seen: list[dict[str, Any]] = []
    ask(engine(server(RESPONSES["hidden"], seen), reasoning_effort="low", max_completion_tokens=100),
        SamplingParams(max_tokens=512))
    ask(engine(server(RESPONSES["hidden"], seen), max_completion_tokens=100), SamplingParams(max_tokens=64))
    ask(engine(server(RESPONSES["hidden"], seen)), SamplingParams(max_tokens=64))
    assert seen[0]["reasoning_effort"] == "low" and seen[0]["max_completion_tokens"] == 100
    assert "max_tokens" not in seen[0], "reasoning models refuse max_tokens beside max_completion_tokens"
    assert seen[1]["max_completion_tokens"] == 64 and "reasoning_effort" not in seen[1]
    assert seen[2]["max_tokens"] == 64 and "max_completion_tokens" not in seen[2] and "reasoning_effort" not in seen[2]

    base = {"kind": "openai", "base_url": "http://x/v1"}
    assert engine_settings(base).identity() == {"kind": "openai", "served_model": None}
    high = engine_settings({**base, "reasoning_effort": "high", "max_completion_tokens": 2000})
    assert high.identity() == {"kind": "openai", "served_model": None, "reasoning_effort": "high",
                               "max_completion_tokens": 2000}
    with pytest.raises(ValueError):
        engine_settings({**base, "reasoning_effort": "extreme"})
    with pytest.raises(ValueError):
        engine_settings({**base, "max_completion_tokens": 0})

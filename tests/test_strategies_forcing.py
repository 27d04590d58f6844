"""Budget forcing: never over budget plus the forced answer; waits extend; works over the openai engine."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from harness.engines.base import Prompt, SamplingParams
from harness.engines.openai_engine import OpenAIEngine
from harness.engines.scripted import ScriptedEngine
from harness.solve import SuiteView, solve
from suites import load_suite
from tests.test_engine_openai import sse_bytes, sse_chunks

THINK = "</think>"
ANSWER = "\nFinal answer: "


def thinker(words: int):
    """Thinks `words` words per call then closes thinking; answers 42 after the forced prefix."""

    def respond(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
        if prompt.assistant_prefix.endswith(ANSWER):
            return "42"
        return " ".join(["hmm"] * words) + f" {THINK} so 7"

    return respond


def run(params: dict, words: int, engine=None):
    suite = load_suite("arith:n=1,seed=2")
    engine = engine or ScriptedEngine(responder=thinker(words))
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    return asyncio.run(solve(engine, view, suite.problems[0].question(), "budget_forcing", params, 0))


@pytest.mark.parametrize("budget", [1, 3, 7, 20])
@pytest.mark.parametrize("waits", [0, 2])
def test_never_exceeds_budget_plus_forced_answer(budget, waits):
    a = run({"max_tokens": budget, "num_waits": waits, "answer_max_tokens": 5}, words=6)
    assert a.error is None
    assert a.ledger.generated_tokens <= budget + 5
    s = a.samples[0]
    assert s.meta["thinking_tokens"] <= budget
    if budget == 1:
        assert s.meta["forced"] and s.meta["waits"] == 0
    if budget == 20 and waits == 0:
        assert not s.meta["forced"]
    assert a.final_answer == "42", "the answer is read after the forced prefix, not from the thinking"
    assert THINK + ANSWER in s.text


def test_cut_off_mid_thought_forces_the_answer():
    a = run({"max_tokens": 4, "answer_max_tokens": 3}, words=10)
    s = a.samples[0]
    assert s.meta["forced"] and s.meta["thinking_tokens"] == 4 and s.meta["waits"] == 0
    assert s.text.count("hmm") == 4 and s.text.endswith(THINK + ANSWER + "42")
    assert a.ledger.generated_tokens == 4 + 1


def test_waits_suppress_the_delimiter_and_extend_thinking():
    a = run({"max_tokens": 100, "num_waits": 2}, words=3)
    s = a.samples[0]
    assert s.meta["waits"] == 2 and not s.meta["forced"]
    assert s.text.count("Wait") == 2 and s.text.count(THINK) == 1, "the model's own delimiters never stay in"
    assert s.meta["thinking_tokens"] == a.ledger.generated_tokens - 1, "all but the one answer token"
    assert a.ledger.engine_calls == 4  # three thinking segments, one answer


def _answer(body: dict, data: dict) -> httpx.Response:
    """In one piece, or as a vLLM-style stream when the request asks for one."""
    if body.get("stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse_bytes(sse_chunks(data)))
    return httpx.Response(200, json=data)


def _fake_server(seen: list[dict]):
    """An OpenAI-compatible chat endpoint that continues assistant turns, honours stop and max_tokens."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        prefix = body["messages"][-1]["content"] if body.get("continue_final_message") else ""
        full = "42" if prefix.endswith(ANSWER) else "hmm " * 5 + THINK + " tail"
        words = full.split(" ")
        finish = "stop"
        if len(words) > body["max_tokens"]:
            words, finish = words[: body["max_tokens"]], "length"
        text = " ".join(words)
        for stop in body.get("stop", []):
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": len(text.split())}
        data = {"choices": [{"index": 0, "message": {"content": text}, "finish_reason": finish}], "usage": usage}
        return _answer(body, data)

    return handler


@pytest.mark.parametrize("stream", [True, False])
def test_budget_forcing_over_the_openai_engine(stream):
    seen: list[dict] = []
    engine = OpenAIEngine("http://fake/v1", "m", stream=stream)
    engine._client = httpx.AsyncClient(transport=httpx.MockTransport(_fake_server(seen)))
    a = run({"max_tokens": 3, "answer_max_tokens": 4, "think_start": "<think>\n"}, words=0, engine=engine)
    assert a.error is None, a.error
    assert a.final_answer == "42"
    assert a.ledger.generated_tokens <= 3 + 4
    think, answer = seen
    assert think["continue_final_message"] and think["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert think["stop"] == [THINK] and think["max_tokens"] == 3
    assert answer["messages"][-1]["content"].endswith(THINK + ANSWER) and answer["max_tokens"] == 4


@pytest.mark.parametrize("stream", [True, False])
def test_openai_engine_reads_vllms_stop_reason_when_the_server_sends_it(stream):
    """vLLM's server says why a choice stopped (`stop_reason`); other servers leave the end of turn unknown."""

    choices = [{"index": 0, "message": {"content": "a"}, "finish_reason": "stop", "stop_reason": None},
               {"index": 1, "message": {"content": "b"}, "finish_reason": "stop", "stop_reason": "\n\n"},
               {"index": 2, "message": {"content": "c"}, "finish_reason": "length", "stop_reason": None},
               {"index": 3, "message": {"content": "d"}, "finish_reason": "stop"}]
    engine = OpenAIEngine("http://fake/v1", "m", stream=stream)
    engine._client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: _answer(
        json.loads(r.content), {"choices": choices, "usage": {"prompt_tokens": 3, "completion_tokens": 4}})))
    r = asyncio.run(engine.generate(Prompt.chat([{"role": "user", "content": "q"}]), SamplingParams(n=4)))
    assert [c.ended_turn for c in r.completions] == [True, False, False, None]
    assert (r.first_token_seconds is not None) == stream

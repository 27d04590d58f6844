"""`llm_judge`: a generative verifier reading P("Yes") from one token's logprobs.

The judge is asked whether a solution (or a partial solution, in step search) is correct so far
and answers one token; the score is the probability mass on "Yes" over "Yes" + "No" among the
top logprobs, the generative-verifier reading of Zhang et al. 2024 ("Generative Verifiers").
It runs on an engine: by default the policy's own, so its requests are batched with the policy's;
with `model` set, on that model's own engine beside the policy (same kind, a share of the GPU);
with `base_url`, on an OpenAI-compatible server. Its prompt and generated tokens are charged as
verifier tokens, and its FLOPs use the judge's parameter count.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Sequence

from core.records import Question
from harness.engines.base import Engine, Prompt, SamplingParams
from harness.verifiers.base import Candidate, ScoreResult
from harness.verifiers.spec import OWN_ENGINE_SHARE, VERIFIERS, VerifierInputs, VerifierSpec

TEMPLATE = (
    "Here is a problem and a proposed solution.\n\nProblem:\n{problem}\n\nSolution:\n{solution}\n\n"
    "Is the solution correct so far? Answer with Yes or No."
)


def p_yes(top: dict[str, float] | None, text: str, yes: str = "yes", no: str = "no") -> float:
    """P(yes) / (P(yes) + P(no)) over the first token's alternatives; the sampled text decides if neither shows."""
    if top:
        mass = {yes: 0.0, no: 0.0}
        for token, lp in top.items():
            key = token.strip().lower()
            if key in mass and not math.isinf(lp):
                mass[key] += math.exp(lp)
        if mass[yes] + mass[no] > 0:
            return mass[yes] / (mass[yes] + mass[no])
    return 1.0 if text.strip().lower().startswith(yes) else 0.0


class LLMJudge:
    name = "llm_judge"
    oracle = False
    needs_logprobs = False

    def __init__(self, engine: Engine, template: str = TEMPLATE, top_logprobs: int = 20,
                 parameters: int | None = None, model: str | None = None) -> None:
        self.engine = engine
        self.model = model  # None: the policy model answers as judge
        self.template = template
        self.top_logprobs = top_logprobs
        self.parameters = parameters

    async def _judge(self, problem: str, candidate: Candidate) -> tuple[float, int]:
        content = self.template.format(problem=problem, solution=candidate.text)
        prompt = Prompt.chat([{"role": "user", "content": content}])
        r = await self.engine.generate(prompt, SamplingParams(n=1, temperature=0.0, max_tokens=1,
                                                              logprobs=self.top_logprobs))
        c = r.completions[0]
        return p_yes(c.top_logprobs[0] if c.top_logprobs else None, c.text), r.prompt_tokens + r.generated_tokens

    async def score(self, question: Question, problem: str, candidates: Sequence[Candidate]) -> ScoreResult:
        outs = await asyncio.gather(*(self._judge(problem, c) for c in candidates))
        return ScoreResult([[s] for s, _ in outs], tokens=sum(t for _, t in outs), calls=len(candidates))

    def info(self) -> dict[str, Any]:
        return {"kind": "llm_judge", "parameters": self.parameters, "engine": self.engine.name,
                "model": self.model or "policy"}

    async def close(self) -> None:
        return None


def _check_options(options: dict[str, Any]) -> None:
    url = options.get("base_url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        raise ValueError(f"llm_judge base_url {url!r} must start with http:// or https://")
    share = options.get("gpu_memory_utilization", OWN_ENGINE_SHARE)
    if not isinstance(share, (int, float)) or not 0 < share < 1:
        raise ValueError(f"llm_judge gpu_memory_utilization must lie in (0, 1), got {share!r}")


def _build(v: VerifierInputs) -> LLMJudge:
    assert v.engine is not None  # asks_engine: the worker always hands one over
    return LLMJudge(v.engine, parameters=v.engine_params, model=v.model, **v.options)


VERIFIERS.register(VerifierSpec("llm_judge", _build, "P(yes) of a judge model asked whether the solution is correct",
                                asks_engine=True, check_options=_check_options))

"""Verifiers strategies may score with; `make_verifier` builds one from a run's `verifier:` section."""

from __future__ import annotations

from typing import Any

from harness.engines.base import Engine
from core.errors import UserError
from harness.verifiers.base import Aggregation, Candidate, ScoreResult, Verifier, aggregate
from harness.verifiers.oracle import GoldCheck

KINDS = ("prm", "llm_judge", "confidence", "public_tests", "oracle", "scripted")


def make_verifier(kind: str, model: str | None = None, options: dict[str, Any] | None = None,
                  engine: Engine | None = None, gold_check: GoldCheck | None = None,
                  policy_params: int | None = None) -> Verifier:
    """`engine` serves `llm_judge` (the policy's, or the judge model's own, with its parameter count in
    `policy_params`); `gold_check` is passed for `oracle` only (it reads gold)."""
    options = dict(options or {})
    try:
        if kind == "confidence":
            from harness.verifiers.confidence import ConfidenceVerifier  # noqa: PLC0415

            return ConfidenceVerifier(**options)
        if kind == "llm_judge":
            from harness.verifiers.llm_judge import LLMJudge  # noqa: PLC0415

            if engine is None:
                raise UserError("verifier llm_judge needs an engine to ask")
            return LLMJudge(engine, parameters=policy_params, model=model, **options)
        if kind == "prm":
            from harness.verifiers.prm import PRMSettings, TransformersPRM, VLLMPRM  # noqa: PLC0415

            if not model:
                raise UserError("verifier prm needs model: a PRM checkpoint directory or hub id")
            settings = PRMSettings.from_options(model, options)
            return VLLMPRM(settings) if settings.backend == "vllm" else TransformersPRM(settings)
        if kind == "public_tests":
            from harness.verifiers.public_tests import PublicTestsVerifier  # noqa: PLC0415

            return PublicTestsVerifier(**options)
        if kind == "oracle":
            from harness.verifiers.oracle import OracleVerifier  # noqa: PLC0415

            if gold_check is None:
                raise UserError("verifier oracle needs the suite's gold answers")
            return OracleVerifier(gold_check)
        if kind == "scripted":
            from harness.verifiers.scripted import ScriptedVerifier  # noqa: PLC0415

            return ScriptedVerifier(**options)
    except TypeError as e:
        raise UserError(f"verifier {kind}: bad option ({e})") from None
    raise UserError(f"unknown verifier {kind!r}; choose one of: {', '.join(KINDS)}")


__all__ = ["Aggregation", "Candidate", "KINDS", "ScoreResult", "Verifier", "aggregate", "make_verifier"]

"""Verifiers strategies may score with: one file each, registered with its spec (`harness/verifiers/spec.py`)."""

from __future__ import annotations

from typing import Any

from core.errors import UserError
from harness.engines.base import Engine
from harness.verifiers.base import Aggregation, Candidate, ScoreResult, Verifier, aggregate
from harness.verifiers.spec import VERIFIERS, GoldCheck, VerifierInputs, VerifierSpec


def make_verifier(kind: str, model: str | None = None, options: dict[str, Any] | None = None,
                  engine: Engine | None = None, gold_check: GoldCheck | None = None,
                  policy_params: int | None = None) -> Verifier:
    """`engine` serves verifiers that ask one (the policy's, or the judge model's own, with its parameter count
    in `policy_params`); `gold_check` is passed for the oracle bound only (it reads gold)."""
    spec = VERIFIERS.get(kind)
    if spec.needs_model and not model:
        raise UserError(f"verifier {kind} needs model: {spec.needs_model}")
    if spec.asks_engine and engine is None:
        raise UserError(f"verifier {kind} needs an engine to ask")
    if spec.reads_gold and gold_check is None:
        raise UserError(f"verifier {kind} needs the suite's gold answers")
    try:
        return spec.build(VerifierInputs(model, dict(options or {}), engine, policy_params, gold_check))
    except TypeError as e:
        raise UserError(f"verifier {kind}: bad option ({e})") from None


__all__ = ["Aggregation", "Candidate", "ScoreResult", "VERIFIERS", "Verifier", "VerifierSpec", "aggregate",
           "make_verifier"]

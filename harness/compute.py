"""FLOPs from a ledger, the one place the formula lives.

FLOPs = 2 x policy parameters x (prompt + generated tokens) + 2 x verifier parameters x verifier tokens
(the forward-pass estimate of Kaplan et al.; attention's context-length term is left out, as is usual
for comparing configurations of one model). Cached prompt tokens are counted: the ledger is about work
asked of the engine, and the cached share is recorded beside it for those who want to subtract it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.records import CallRecord, Ledger
from harness.pricing import Pricing


def flops(ledger: Ledger, policy_params: int | None, verifier_params: int | None = None) -> float | None:
    if policy_params is None:
        return None
    total = 2.0 * policy_params * (ledger.prompt_tokens + ledger.generated_tokens)
    if ledger.verifier_tokens:
        total += 2.0 * (verifier_params or 0) * ledger.verifier_tokens
    return total


@dataclass(frozen=True)
class Costing:
    """What prices an attempt's compute: parameter counts for FLOPs, a price table for dollars."""

    policy_params: int | None = None
    verifier_params: int | None = None
    pricing: Pricing | None = None
    verifier_model: str | None = None  # priced at its list input price, where it has one
    policy_model: str = ""
    other_params: dict[str, int | None] = field(default_factory=dict)  # models a strategy calls besides the policy

    def flops(self, ledger: Ledger, calls: list[CallRecord] | None = None) -> float | None:
        """The ledger's FLOPs; when calls went to other models (a cascade), each call at its own model's size
        (None if any of them is unknown, as for an API model)."""
        if not calls or all(c.model == self.policy_model for c in calls):
            return flops(ledger, self.policy_params, self.verifier_params)
        sizes = {**self.other_params, self.policy_model: self.policy_params}
        total = 2.0 * (self.verifier_params or 0) * ledger.verifier_tokens
        for c in calls:
            size = sizes.get(c.model)
            if size is None:
                return None
            total += 2.0 * size * (c.prompt_tokens + c.generated_tokens)
        return total

    def dollars(self, calls: list[CallRecord], verifier_tokens: int) -> float | None:
        if self.pricing is None:
            return None
        return self.pricing.attempt_dollars(calls, verifier_tokens, self.verifier_model)

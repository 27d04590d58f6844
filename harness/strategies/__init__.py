"""Strategy registry: one file per strategy, added here by name."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from core.errors import UserError
from harness.strategies.base import Decision, StrategyContext, StrategyParams, StrategySpec
from harness.strategies.adaptive import AdaptiveParams, adaptive
from harness.strategies.beam_search import BeamSearchParams, beam_search
from harness.strategies.best_of_n import BestOfNParams, best_of_n
from harness.strategies.budget_forcing import BudgetForcingParams, budget_forcing
from harness.strategies.cot import CotParams, cot
from harness.strategies.dvts import DvtsParams, dvts
from harness.strategies.lookahead import LookaheadParams, lookahead
from harness.strategies.revision import RevisionParams, revision
from harness.strategies.self_consistency import SelfConsistencyParams, self_consistency
from harness.strategies.weighted_best_of_n import WeightedBestOfNParams, weighted_best_of_n

STRATEGIES: dict[str, StrategySpec] = {
    s.name: s
    for s in [
        StrategySpec("cot", cot, CotParams, "one chain-of-thought sample"),
        StrategySpec("self_consistency", self_consistency, SelfConsistencyParams, "n samples, majority vote"),
        StrategySpec("best_of_n", best_of_n, BestOfNParams, "n samples, the verifier's top-scored one"),
        StrategySpec("weighted_best_of_n", weighted_best_of_n, WeightedBestOfNParams,
                     "n samples, answers vote with summed verifier scores"),
        StrategySpec("beam_search", beam_search, BeamSearchParams, "step-level beam search guided by a verifier"),
        StrategySpec("dvts", dvts, DvtsParams, "diverse verifier tree search: N/M independent subtrees"),
        StrategySpec("lookahead", lookahead, LookaheadParams, "beam search scored after k-step greedy rollouts"),
        StrategySpec("revision", revision, RevisionParams, "sequential self-revision, vote or verifier over attempts"),
        StrategySpec("budget_forcing", budget_forcing, BudgetForcingParams,
                     "s1 budget forcing: cut thinking at a budget or extend it with Wait"),
        StrategySpec("adaptive", adaptive, AdaptiveParams, "compute-optimal: pilot difficulty picks the strategy"),
    ]
}


def get_strategy(name: str) -> StrategySpec:
    if name not in STRATEGIES:
        raise UserError(f"unknown strategy {name!r}; choose one of: {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name]


def make_params(name: str, values: dict[str, Any]) -> StrategyParams:
    spec = get_strategy(name)
    try:
        return spec.params(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(map(str, err["loc"]))
        where = f"parameter {field}: " if field else ""
        raise UserError(f"strategy {name}: {where}{err['msg']}") from None


__all__ = ["Decision", "StrategyContext", "StrategyParams", "STRATEGIES", "get_strategy", "make_params"]

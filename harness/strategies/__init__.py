"""Strategies: one file each, registered beside its implementation (`STRATEGIES.register(StrategySpec(...))`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from core.errors import UserError
from harness.strategies.base import STRATEGIES, Decision, StrategyContext, StrategyParams, StrategySpec


def get_strategy(name: str) -> StrategySpec:
    return STRATEGIES.get(name)


def make_params(name: str, values: dict[str, Any]) -> StrategyParams:
    spec = get_strategy(name)
    try:
        return spec.params(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(map(str, err["loc"]))
        where = f"parameter {field}: " if field else ""
        raise UserError(f"strategy {name}: {where}{err['msg']}") from None


__all__ = ["Decision", "STRATEGIES", "StrategyContext", "StrategyParams", "StrategySpec", "get_strategy",
           "make_params"]

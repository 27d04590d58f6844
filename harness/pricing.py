"""Dollars from call records: list prices per model, or the hour of the hardware a self-hosted engine ran on.

One place for the formula. An API call costs (uncached prompt x input + cached prompt x cached input +
generated x output) / 1e6, generated tokens including hidden reasoning (API usage bills them as output).
A self-hosted call costs the hardware's hourly rate x its seconds / the requests its engine had in flight
when it started, so the engine's busy time is shared among the requests it served together. A call of a
model with neither price is unpriced: the attempt's dollars are unknown (NULL), never a silent zero.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import UserError
from core.records import CallRecord

DEFAULT_PRICES = Path(__file__).resolve().parent.parent / "configs" / "prices.yaml"
PRICES_ENV = "THINKBENCH_PRICES"


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float
    cached_input: float | None = None  # None: cached prompt tokens cost the full input price
    output: float
    source: str = ""
    read: str = ""

    def dollars(self, call: CallRecord) -> float:
        cached = min(call.cached_prompt_tokens, call.prompt_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        return ((call.prompt_tokens - cached) * self.input + cached * cached_rate
                + call.generated_tokens * self.output) / 1e6


class HardwarePrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_hour_usd: float | None = None
    gpu_hour_usd: float | None = None  # per GPU
    source: str = ""
    read: str = ""


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelPrice] = {}
    hardware: HardwarePrice = HardwarePrice()

    def merged(self, other: PriceTable) -> PriceTable:
        """`other`'s entries win, model by model; its hardware rates win where set."""
        hw = {**self.hardware.model_dump(), **other.hardware.model_dump(exclude_none=True, exclude_defaults=True)}
        return PriceTable(models={**self.models, **other.models}, hardware=HardwarePrice(**hw))


def _read(path: Path) -> PriceTable:
    if not path.is_file():
        raise UserError(f"price file {path} does not exist; pass --prices FILE or fix {PRICES_ENV}")
    try:
        return PriceTable(**(yaml.safe_load(path.read_text()) or {}))
    except yaml.YAMLError as e:
        raise UserError(f"price file {path} is not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
    except (ValidationError, TypeError) as e:
        first = e.errors()[0] if isinstance(e, ValidationError) else {"loc": (), "msg": str(e)}
        where = ".".join(map(str, first["loc"]))
        raise UserError(f"price file {path}: {where} {first['msg']}; see configs/prices.yaml for the format") \
            from None


def load_prices(user_file: str | None = None) -> PriceTable:
    """The shipped table, then the user's file (--prices, else THINKBENCH_PRICES) on top."""
    table = _read(DEFAULT_PRICES) if DEFAULT_PRICES.is_file() else PriceTable()
    user = user_file or os.environ.get(PRICES_ENV)
    return table.merged(_read(Path(user).expanduser())) if user else table


@dataclass(frozen=True)
class Pricing:
    """A price table bound to how a run was served: which models ran on its own hardware, and on what."""

    table: PriceTable
    self_hosted: dict[str, tuple[str, int]] = field(default_factory=dict)  # model -> ("cpu"|"gpu", GPUs)

    def call_dollars(self, call: CallRecord) -> float | None:
        listed = self.table.models.get(call.model)
        if listed is not None:
            return listed.dollars(call)
        if call.model not in self.self_hosted:
            return None
        device, gpus = self.self_hosted[call.model]
        rate = self.table.hardware.gpu_hour_usd if device == "gpu" else self.table.hardware.cpu_hour_usd
        if rate is None:
            return None
        return rate * max(1, gpus if device == "gpu" else 1) / 3600 * call.seconds / max(1, call.in_flight)

    def attempt_dollars(self, calls: list[CallRecord], verifier_tokens: int = 0,
                        verifier_model: str | None = None) -> float | None:
        """Every call's dollars, plus verifier input tokens at the verifier model's list input price where it has
        one; None when any call is unpriced."""
        total = 0.0
        for call in calls:
            d = self.call_dollars(call)
            if d is None:
                return None
            total += d
        listed = self.table.models.get(verifier_model or "")
        if verifier_tokens and listed is not None:
            total += verifier_tokens * listed.input / 1e6
        return total

    def describe(self) -> dict[str, Any]:
        """What priced the run, for its manifest."""
        used = {m: p.model_dump() for m, p in self.table.models.items()}
        return {"self_hosted": {m: list(v) for m, v in self.self_hosted.items()},
                "hardware": self.table.hardware.model_dump(), "listed_models": sorted(used)}

"""Engines: one file each, registered with its spec (`harness/engines/spec.py`); `make_engine` builds one."""

from __future__ import annotations

from typing import Any

from harness.engines.base import Completion, Engine, GenerateResult, Prompt, SamplingParams
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec, engine_settings
from harness.models import ModelRef


def make_engine(cfg: EngineSettings | dict[str, Any], model: ModelRef, seed: int) -> Engine:
    settings = engine_settings(cfg)
    return ENGINES.get(settings.kind).build(settings, model, seed)


__all__ = ["Completion", "ENGINES", "Engine", "EngineSettings", "EngineSpec", "GenerateResult", "Prompt",
           "SamplingParams", "engine_settings", "make_engine"]

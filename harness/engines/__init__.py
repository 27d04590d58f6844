"""Engine factory: one place that turns an `EngineConfig` into an engine."""

from __future__ import annotations

from harness.config import EngineConfig
from harness.engines.base import Completion, Engine, GenerateResult, Prompt, SamplingParams
from core.errors import UserError
from harness.models import ModelRef


def make_engine(cfg: EngineConfig, model: ModelRef, seed: int) -> Engine:
    if cfg.kind == "vllm":
        from harness.engines.vllm_engine import VLLMEngine, VLLMSettings  # noqa: PLC0415

        return VLLMEngine(VLLMSettings(
            model_path=model.path, dtype=cfg.dtype, max_model_len=cfg.max_model_len, seed=seed,
            gpu_memory_utilization=cfg.gpu_memory_utilization, tensor_parallel_size=cfg.tensor_parallel_size,
            cpu_kv_cache_gib=cfg.cpu_kv_cache_gib, per_request_seed=cfg.per_request_seed, block_size=cfg.block_size,
            max_num_seqs=cfg.max_num_seqs,
        ))
    if cfg.kind == "openai":
        from harness.engines.openai_engine import OpenAIEngine  # noqa: PLC0415

        if not cfg.base_url:
            raise UserError("engine openai needs --base-url http://host:port/v1")
        return OpenAIEngine(cfg.base_url, cfg.served_model or model.name, max_concurrency=cfg.max_concurrency)
    if cfg.kind == "scripted":
        from harness.engines.scripted import ScriptedEngine  # noqa: PLC0415

        return ScriptedEngine(cfg.responder, seed=seed, seconds_per_token=cfg.seconds_per_token)
    raise UserError(f"unknown engine {cfg.kind!r}; choose vllm, openai or scripted")


__all__ = ["Completion", "Engine", "GenerateResult", "Prompt", "SamplingParams", "make_engine"]

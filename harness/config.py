"""Run configuration: YAML file, then command-line flags on top. Its identity hash is the run id.

The run id hashes exactly (suite, model, engine settings that change outputs, strategy and its
parameters, prompt template, seed), so rerunning a command resumes it and any change is a new run.
Where the data comes from, where results go and how many workers serve are not part of it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import UserError


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["vllm", "openai", "scripted"] = "vllm"
    dtype: str = "auto"
    max_model_len: int = 2048
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    cpu_kv_cache_gib: int = 4
    per_request_seed: bool = False
    # openai
    base_url: str | None = None
    served_model: str | None = None
    max_concurrency: int = 64
    # scripted (tests and simulations)
    responder: str = "harness.engines.scripted:noisy_arith"
    seconds_per_token: float = 0.0
    # GPUs each engine actor holds; None = automatic (vllm: tensor_parallel_size when the cluster has GPUs).
    # Set it for a scripted engine to rehearse GPU placement on a cluster that only declares GPUs.
    gpus_per_worker: float | None = None
    # KV cache block size; None = vLLM's default. On CPU the runner uses 32: vLLM caches whole blocks only, and
    # the CPU default (128) is longer than most prompts, so step-level search re-prefilled every prefix.
    block_size: int | None = None
    # Sequences one engine decodes at once; None = vLLM's default (128 under AsyncLLM). Step search and
    # best-of-N at large N keep more than that in flight, so raise it where KV cache memory allows.
    max_num_seqs: int | None = None

    @model_validator(mode="after")
    def _check(self) -> "EngineConfig":
        if self.kind == "openai":
            if not self.base_url:
                raise ValueError("engine openai needs --base-url http://host:port/v1")
            if not self.base_url.startswith(("http://", "https://")):
                raise ValueError(f"--base-url {self.base_url!r} must start with http:// or https://")
        if self.max_model_len < 16 or self.tensor_parallel_size < 1 or self.max_concurrency < 1:
            raise ValueError("max_model_len >= 16, tensor_parallel_size >= 1 and max_concurrency >= 1 are required")
        return self

    def identity(self) -> dict[str, Any]:
        if self.kind == "vllm":
            return {"kind": "vllm", "dtype": self.dtype, "max_model_len": self.max_model_len}
        if self.kind == "openai":
            return {"kind": "openai", "served_model": self.served_model}
        return {"kind": "scripted", "responder": self.responder}


class StrategyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "cot"
    params: dict[str, Any] = Field(default_factory=dict)


JUDGE_GPU_SHARE = 0.3  # of GPU memory for a judge model served beside the policy in one actor


class VerifierConfig(BaseModel):
    """The verifier strategies score with (see docs/strategies.md). Part of the run identity when set.

    kind: prm | llm_judge | confidence | public_tests | oracle | scripted. `model`: PRM weights (a
    local directory or hub id), or the judge model of llm_judge (default: ask the policy engine).
    `options`: kind-specific settings, e.g. {preset: math-shepherd} for prm, {mode: lowest_window}
    for confidence, {base_url: http://judge:8000/v1} for an llm_judge served elsewhere.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["prm", "llm_judge", "confidence", "public_tests", "oracle", "scripted"] = "confidence"
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "VerifierConfig":
        if self.kind == "prm" and not self.model:
            raise ValueError("verifier prm needs model: a PRM checkpoint directory or hub id")
        if self.kind == "llm_judge":
            url = self.options.get("base_url")
            if url is not None and not str(url).startswith(("http://", "https://")):
                raise ValueError(f"llm_judge base_url {url!r} must start with http:// or https://")
            share = self.options.get("gpu_memory_utilization", JUDGE_GPU_SHARE)
            if not isinstance(share, (int, float)) or not 0 < share < 1:
                raise ValueError(f"llm_judge gpu_memory_utilization must lie in (0, 1), got {share!r}")
        return self

    @property
    def judge_gpu_share(self) -> float:
        """The GPU memory a judge model takes beside the policy in one actor."""
        return float(self.options.get("gpu_memory_utilization", JUDGE_GPU_SHARE))

    @property
    def separate_judge(self) -> bool:
        """An llm_judge with its own model (an engine beside the policy's) or its own server."""
        return self.kind == "llm_judge" and bool(self.model or self.options.get("base_url"))

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "options": self.options, "oracle": self.kind == "oracle"}


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str = "arith"
    model: str = "embedded"
    engine: EngineConfig = Field(default_factory=EngineConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    verifier: VerifierConfig | None = None  # None: strategies that score use `confidence`
    seed: int = 0
    limit: int | None = None
    # Not part of the identity:
    data_dir: str | None = None
    db: str | None = None
    workers: int | None = None
    ray_address: str | None = None
    commit_every: int = 16
    max_inflight: int = 256

    def actor_context(self) -> dict[str, Any]:
        """What an engine actor needs beyond its engine: the verifier it hosts, and, for oracle bounds
        only, where the suite lives so the actor (never the strategy) can check gold."""
        return {"verifier": self.verifier.model_dump(mode="json") if self.verifier else None,
                "suite": self.suite, "data_dir": self.data_dir, "limit": self.limit}


def load_config(path: str | None, overrides: dict[str, Any]) -> RunConfig:
    """File first, flags on top; a flag left unset (None) does not override the file."""
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config file {p} does not exist; check the --config path")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise UserError(f"config file {p} is not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
        if not isinstance(data, dict):
            raise UserError(f"config file {p} must hold a mapping (suite:, model:, strategy: ...)")
    for key, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"config key {part!r} must be a mapping to set {key}")
        node[leaf] = value
    try:
        return RunConfig(**data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(map(str, err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(f"config {where}: {msg}" if where else msg) from None


def run_id(identity: dict[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]

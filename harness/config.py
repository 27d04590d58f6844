"""Run configuration: YAML file, then command-line flags on top. Its identity hash is the run id.

The run id hashes exactly (suite, model, engine settings that change outputs, strategy and its
parameters, prompt template, seed), so rerunning a command resumes it and any change is a new run.
Where the data comes from, where results go and how many workers serve are not part of it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from core.errors import UserError
from harness.engines.spec import ENGINES, EngineSettings, EngineSpec, engine_settings
from harness.verifiers.spec import OWN_ENGINE_SHARE, VERIFIERS, VerifierSpec


class StrategyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "cot"
    params: dict[str, Any] = Field(default_factory=dict)


class VerifierConfig(BaseModel):
    """The verifier strategies score with (see docs/strategies.md). Part of the run identity when set.

    kind: a registered verifier (`thinkbench run --help` lists them). `model`: its weights (a PRM's local
    directory or hub id), or the judge model of a verifier that asks an engine (default: the policy's).
    `options`: kind-specific settings, e.g. {preset: math-shepherd} for prm, {mode: lowest_window}
    for confidence, {base_url: http://judge:8000/v1} for an llm_judge served elsewhere.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str = "confidence"
    model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str) -> str:
        return VERIFIERS.known(kind)

    @model_validator(mode="after")
    def _check(self) -> "VerifierConfig":
        spec = self.spec
        if spec.needs_model and not self.model:
            raise ValueError(f"verifier {self.kind} needs model: {spec.needs_model}")
        if spec.check_options is not None:
            spec.check_options(self.options)
        return self

    @property
    def spec(self) -> VerifierSpec:
        return VERIFIERS.get(self.kind)

    @property
    def own_engine_share(self) -> float:
        """The GPU memory the verifier's own model takes beside the policy in one actor."""
        return float(self.options.get("gpu_memory_utilization", OWN_ENGINE_SHARE))

    @property
    def separate_engine(self) -> bool:
        """A verifier that asks an engine, with a model of its own (beside the policy's) or its own server."""
        return self.spec.asks_engine and bool(self.model or self.options.get("base_url"))

    def identity(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "options": self.options, "oracle": self.spec.reads_gold}


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str = "arith"
    model: str = "embedded"
    engine: SerializeAsAny[EngineSettings] = Field(default_factory=lambda: engine_settings({}))
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    verifier: VerifierConfig | None = None  # None: strategies that score use `confidence`
    seed: int = 0
    limit: int | None = None
    # Not part of the identity:
    data_dir: str | None = None
    db: str | None = None
    workers: int | None = None
    ray_address: str | None = None
    prices: str | None = None  # a price file over configs/prices.yaml (or THINKBENCH_PRICES); not part of the identity
    # Cost caps (not part of the identity: raising one resumes the same run). Dispatch stops before the spend of
    # this run's finished attempts plus an estimate for those in flight would pass either.
    max_dollars: float | None = Field(None, gt=0)
    max_total_tokens: int | None = Field(None, gt=0)  # prompt + generated + verifier tokens
    commit_every: int = 16
    max_inflight: int = 256

    @field_validator("engine", mode="before")
    @classmethod
    def _engine_of_kind(cls, value: Any) -> Any:
        """The `engine:` section validates against the settings model of its kind."""
        return engine_settings(value) if isinstance(value, dict) else value

    @property
    def engine_spec(self) -> EngineSpec:
        return ENGINES.get(self.engine.kind)

    def actor_context(self) -> dict[str, Any]:
        """What an engine actor needs beyond its engine: the verifier it hosts, and, for oracle bounds
        only, where the suite lives so the actor (never the strategy) can check gold."""
        return {"verifier": self.verifier.model_dump(mode="json") if self.verifier else None,
                "suite": self.suite, "data_dir": self.data_dir, "limit": self.limit}


def read_yaml(path: str, what: str = "config file", flag: str = "--config") -> dict[str, Any]:
    """A YAML mapping from `path`, or a one-line error naming the file and the fix."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{what} {p} does not exist; check the {flag} path")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {p} is not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {p} must hold a mapping (suite:, model:, strategy: ...)")
    return data


def load_config(path: str | None, overrides: dict[str, Any]) -> RunConfig:
    """File first, flags on top; a flag left unset (None) does not override the file."""
    return config_from(read_yaml(path) if path else {}, overrides)


def config_from(data: dict[str, Any], overrides: dict[str, Any]) -> RunConfig:
    """A config from a mapping with dotted-key overrides on top (`strategy.params.n: 8`); None overrides nothing."""
    data = copy.deepcopy(data)
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
        if err["type"] == "extra_forbidden":
            msg = "is not a setting here; remove it or check its spelling"
        raise UserError(f"config {where}: {msg}" if where else msg) from None


def run_id(identity: dict[str, Any]) -> str:
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]

"""The engine seam: each engine declares its own settings model and a spec, registered in its own file.

Placement, the runner and the worker ask the spec (does it load weights here? does it hold GPUs?) and
the settings (identity, GPU share) instead of comparing kind names, so a new engine is one new file in
`harness/engines/` ending with `ENGINES.register(EngineSpec(...))`. See docs/extending.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel, ConfigDict, field_validator

from core.registry import Registry

if TYPE_CHECKING:
    from harness.engines.base import Engine
    from harness.models import ModelRef


class EngineSettings(BaseModel):
    """Settings every engine accepts; each engine subclasses this with its own (`kind` picks the class)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "vllm"
    # GPUs each engine actor holds; None = automatic (the spec's GPU count when the cluster has GPUs).
    # Set it for a scripted engine to rehearse GPU placement on a cluster that only declares GPUs.
    gpus_per_worker: float | None = None

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str) -> str:
        return ENGINES.known(kind)

    def identity(self) -> dict[str, Any]:
        """The settings that change outputs: hashed into the run id."""
        return {"kind": self.kind}

    def gpus(self) -> int:
        """GPUs one engine wants when the cluster has them (a tensor-parallel group's size)."""
        return 1

    def memory_share(self) -> float | None:
        """The share of GPU memory this engine takes, for engines that hold GPU memory; None otherwise."""
        return None

    def with_memory_share(self, share: float) -> "EngineSettings":
        """These settings with another GPU memory share (a judge model beside the policy takes some)."""
        return self

    def shrunk(self) -> "EngineSettings":
        """These settings with less in flight at once, for a restart after the engine died more than once
        (most often out of memory); unchanged where the engine has no such setting."""
        return self


@dataclass(frozen=True)
class EngineSpec:
    """What the rest of the system needs to know about an engine."""

    name: str  # the `kind` users write
    settings: type[EngineSettings]
    build: Callable[[Any, "ModelRef", int], "Engine"]  # (settings, model, seed) -> engine, on the actor's node
    doc: str
    # Resolves the model's weights on the actor's node (and counts their parameters for FLOPs); False for
    # engines that only name a model another process serves.
    needs_weights: bool = True
    uses_gpus: bool = False  # holds GPUs when the cluster has them (placement asks for `settings.gpus()`)


ENGINES: Registry[EngineSpec] = Registry("engine", "harness.engines")


def engine_settings(data: dict[str, Any] | EngineSettings) -> EngineSettings:
    """Validate an `engine:` section into the settings model of its kind."""
    if isinstance(data, EngineSettings):
        return data
    kind = data.get("kind", "vllm")
    cls = ENGINES.get(kind).settings if isinstance(kind, str) and kind in ENGINES else EngineSettings
    return cls(**data)

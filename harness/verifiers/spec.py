"""The verifier seam: each verifier registers a spec in its own file (`VERIFIERS.register(VerifierSpec(...))`).

The spec says what the worker must hand the verifier: weights to load (`needs_model`), an engine to ask
(`asks_engine`: the policy's, or the verifier's own model or server), or, for the labelled oracle upper
bound only, the gold check (`reads_gold`). Config validation, the worker and the CLI help read the specs;
nothing compares kind names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from core.registry import Registry

if TYPE_CHECKING:
    from core.records import Question
    from harness.engines.base import Engine
    from harness.verifiers.base import Verifier

GoldCheck = Callable[["Question", str], bool]

OWN_ENGINE_SHARE = 0.3  # of GPU memory, for a verifier's own model served beside the policy in one actor
# Options that configure a verifier's own engine (not the verifier): stripped before `build`.
ENGINE_OPTIONS = ("base_url", "gpu_memory_utilization", "parameters")


@dataclass(frozen=True)
class VerifierInputs:
    """What `build` gets: the run's `verifier:` section and what the worker prepared for it."""

    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    engine: "Engine | None" = None  # for `asks_engine` verifiers
    engine_params: int | None = None  # that engine's parameter count (FLOPs of its tokens)
    gold_check: GoldCheck | None = None  # for `reads_gold` verifiers only


@dataclass(frozen=True)
class VerifierSpec:
    name: str
    build: Callable[[VerifierInputs], "Verifier"]
    doc: str
    needs_model: str = ""  # non-empty: `model` is required, and this says what it is
    asks_engine: bool = False
    reads_gold: bool = False
    check_options: Callable[[dict[str, Any]], None] | None = None  # config-time check; raises ValueError


VERIFIERS: Registry[VerifierSpec] = Registry("verifier", "harness.verifiers")

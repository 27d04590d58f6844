"""What the grader asks the sandbox (`Job`) and what it gets back (`Outcome`): plain, JSON-able."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from core.text import valid_utf8
from evaluators.code.limits import Limits

Status = Literal["correct", "wrong", "timeout", "error"]
TimeoutKind = Literal["", "cpu", "wall", "load"]


@dataclass(frozen=True)
class Job:
    """One program and the tests it must pass.

    `context` is trusted code run first in the test namespace (HumanEval's prompt, whose helpers
    such as `poly` or `encode_cyclic` the tests call); each of `tests` is then run there and passes
    when it finishes without an exception. `entry_point` (also bound as `candidate`) and any other
    name the tests read that neither the context nor the standard library provides are looked up
    in the program, in its own process."""

    program: str
    tests: tuple[str, ...]
    entry_point: str
    context: str = ""
    limits: Limits = field(default_factory=Limits)

    def to_dict(self) -> dict[str, Any]:
        return {"program": self.program, "tests": list(self.tests), "entry_point": self.entry_point,
                "context": self.context, "limits": self.limits.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Job":
        return cls(str(d["program"]), tuple(str(t) for t in d["tests"]), str(d["entry_point"]),
                   str(d.get("context", "")), Limits.from_dict(d.get("limits", {})))


@dataclass(frozen=True)
class Outcome:
    """The supervisor's verdict. `passed[i]` is test i; `layers` names the isolation in force.

    For a `timeout`, `timeout_kind` says what ended it: "cpu" (the program used its CPU limit),
    "wall" (it had its wall time while able to run: it blocked or slept) or "load" (the backstop
    passed while it was starved of CPU; retried by the client, `attempts` counts the runs).
    `waited_s` is how long the candidate and its supervisor waited for a CPU (-1: not measured)."""

    status: Status
    passed: tuple[bool, ...]
    reason: str
    layers: tuple[str, ...] = ()
    cpu_s: float = 0.0
    wall_s: float = 0.0
    timeout_kind: TimeoutKind = ""
    waited_s: float = 0.0
    attempts: int = 1

    @property
    def fraction_passed(self) -> float:
        return sum(self.passed) / len(self.passed) if self.passed else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"], d["layers"] = list(self.passed), list(self.layers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Outcome":
        kind = d.get("timeout_kind", "")
        if kind not in ("", "cpu", "wall", "load"):
            raise ValueError(f"unknown timeout kind {kind!r}")
        # valid_utf8: a program's exception message may carry a lone surrogate through JSON
        return cls(d["status"], tuple(bool(p) for p in d["passed"]), valid_utf8(str(d["reason"])),
                   tuple(valid_utf8(str(x)) for x in d.get("layers", ())), float(d.get("cpu_s", 0.0)),
                   float(d.get("wall_s", 0.0)), kind, float(d.get("waited_s", 0.0)), int(d.get("attempts", 1)))

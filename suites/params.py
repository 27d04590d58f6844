"""Suite parameters: one pydantic model per suite, parsed from `base:key=value,...`.

The model is the single place that knows a suite's knobs, their defaults and bounds, and how they
spell the canonical suite name. That name is hashed into run ids and stored, so its spelling is a
contract: a suite that names only the parameters a user gave keeps its bare name by default, and a
generated suite names every knob so that the name alone regenerates its problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError, ValidationInfo

from core.errors import UserError

P = TypeVar("P", bound="SuiteParams")


def _suite(info: ValidationInfo) -> str:
    return str((info.context or {}).get("suite", "suite"))


def bounded(lo: int, hi: int) -> BeforeValidator:
    """An integer parameter in [lo, hi]; the message names the parameter and the range."""

    def check(raw: Any, info: ValidationInfo) -> int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"suite parameter {info.field_name}={raw!r} is not an integer") from None
        if not lo <= value <= hi:
            raise ValueError(f"suite parameter {info.field_name}={value} is out of range [{lo}, {hi}]")
        return value

    return BeforeValidator(check)


@dataclass(frozen=True)
class Span:
    """An inclusive integer range such as `3-7`; generated suites mix its values round-robin."""

    lo: int
    hi: int
    compact: bool = True  # spell `3` rather than `3-3` when lo == hi (names depend on it)

    def __str__(self) -> str:
        return str(self.lo) if self.compact and self.lo == self.hi else f"{self.lo}-{self.hi}"

    def values(self) -> list[int]:
        return list(range(self.lo, self.hi + 1))

    def pick(self, index: int) -> int:
        """The value problem `index` uses: round-robin over the range."""
        return self.lo + index % (self.hi - self.lo + 1)


def span(lo: int, hi: int, compact: bool = True) -> PlainValidator:
    """`3` or `3-7` within [lo, hi], with a one-line error naming `<suite> <parameter>`."""

    def check(raw: Any, info: ValidationInfo) -> Span:
        if isinstance(raw, Span):
            return raw
        what = f"{_suite(info)} {info.field_name}"
        first, _, last = str(raw).partition("-")
        try:
            a, b = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"{what}={raw!r} must be an integer or a range like {lo}-{hi}") from None
        if not lo <= a <= b <= hi:
            raise ValueError(f"{what}={raw!r} must lie within {lo}-{hi}")
        return Span(a, b, compact)

    return PlainValidator(check)


def choice(check: Callable[[str], Any]) -> PlainValidator:
    """A parameter parsed by `check(raw)`, which raises ValueError with the whole one-line message."""
    return PlainValidator(lambda raw: raw if not isinstance(raw, str) else check(raw))


class SuiteParams(BaseModel):
    """A suite's parameters. Suites without parameters use this class itself (it rejects any key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Fields that do not choose problems (a grading timeout): never part of the name.
    unnamed: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_spec(cls: type[P], base: str, raw: dict[str, str]) -> P:
        """Parse the `key=value` pairs of a suite name; any fault is one UserError naming the fix."""
        try:
            return cls.model_validate(raw, context={"suite": base})
        except ValidationError as e:
            raise UserError(cls._message(base, e)) from None

    @classmethod
    def field_order(cls) -> list[str]:
        """Order in which the name spells fields and errors are reported."""
        return list(cls.model_fields)

    @classmethod
    def _message(cls, base: str, error: ValidationError) -> str:
        errors = error.errors()
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        order = cls.field_order()
        rest = sorted((e for e in errors if e["type"] != "extra_forbidden"),
                      key=lambda e: order.index(e["loc"][0]) if e["loc"] and e["loc"][0] in order else -1)
        if rest:
            first = rest[0]
            if "error" in first.get("ctx", {}):
                return str(first["ctx"]["error"])
            where = f" {first['loc'][0]}={first['input']!r}" if first["loc"] else ""
            return f"suite {base!r} parameter{where}: {first['msg']}"
        return f"suite {base!r} has no parameter(s) {', '.join(unknown)}; remove them"

    def name_fields(self) -> list[str]:
        """Fields the canonical name spells: by default those the user gave."""
        return [k for k in self.field_order() if k in self.model_fields_set and k not in self.unnamed]

    def suite_name(self, base: str) -> str:
        parts = ",".join(f"{k}={getattr(self, k)}" for k in self.name_fields())
        return f"{base}:{parts}" if parts else base

    def grader_options(self) -> dict[str, Any]:
        """Keyword options the suite's grader takes from these parameters (a timeout, say)."""
        return {}

    def meta(self) -> dict[str, Any]:
        return {}


class GeneratedParams(SuiteParams):
    """Every generated suite has a problem count and a seed; subclasses add their difficulty knobs.

    The name spells every knob, then n and seed, defaults included, so it alone regenerates the problems.
    """

    n: Annotated[int, bounded(1, 100_000)] = 100  # a subclass may redeclare n with its own default and bound
    seed: Annotated[int, bounded(0, 10**9)] = 0

    @classmethod
    def field_order(cls) -> list[str]:
        knobs = [k for k in cls.model_fields if k not in ("n", "seed")]
        return knobs + ["n", "seed"]

    def name_fields(self) -> list[str]:
        return [k for k in self.field_order() if k not in self.unnamed]


"""An `rg:<task>` suite name -> a reasoning-gym config, and the canonical name that fixes its problems.

Parameters: the task's config fields (`n_people=4`), `level=L` (the curriculum's global level, 0-based, each
attribute clamped to its own top; reasoning-gym's inclusive ranges), `level.<attribute>=L` for one attribute,
`size` (problems, default 100) and `seed` (default 0). The canonical name spells the given fields whose value
differs from what the level (or the defaults) gives, then the levels, `size`, `seed` and `version`: the
installed reasoning-gym release, so runs made with another release get other run ids. A stored name names its
version; loading it under another release is refused, since the problems may differ.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ConfigDict

from core.errors import UserError
from suites.params import SuiteParams
from suites.rg import catalog

DEFAULT_SIZE = 100
MAX_SIZE = 100_000


def _int(suite: str, key: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"suite {suite} parameter {key}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise UserError(f"suite {suite} parameter {key}={value} is out of range [{lo}, {hi}]")
    return value


class RgParams(SuiteParams):
    """A parsed `rg:<task>` name; `config` is the resolved reasoning-gym config the problems come from."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    task: str
    overrides: dict[str, Any] = {}  # given fields that differ from the level's (or default) config
    level: int | None = None
    attr_levels: dict[str, int] = {}
    size: int = DEFAULT_SIZE
    seed: int = 0
    version: str = ""
    config: Any = None

    @classmethod
    def parse(cls, task: str, raw: dict[str, str]) -> RgParams:
        """Every fault is one UserError naming the valid parameters."""
        version = catalog.require()
        suite = f"rg:{task}"
        fields = catalog.fields(task)
        levels = catalog.levels(task)
        valid = ["size", "seed"] + (["level"] + [f"level.{a}" for a in levels] if levels else []) + [
            k for k, f in fields.items() if f.parse is not None]
        unknown = sorted(k for k in raw if k not in valid and k != "version")
        if unknown:
            raise UserError(f"suite {suite} has no parameter(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
        if raw.get("version", version) != version:
            raise UserError(f"suite {suite} was made with reasoning-gym {raw['version']}, but {version} is "
                            f"installed; install reasoning-gym=={raw['version']} to load it")
        top = catalog.max_level(task)
        level = _int(suite, "level", raw["level"], 0, top or 0) if "level" in raw else None
        attr_levels = {a: _int(suite, f"level.{a}", raw[f"level.{a}"], 0, n - 1)
                       for a, n in levels.items() if f"level.{a}" in raw}
        given: dict[str, Any] = {}
        for key, field in fields.items():
            if key in raw:
                assert field.parse is not None  # unsettable fields were rejected above
                try:
                    given[key] = field.parse(raw[key])
                except (TypeError, ValueError) as e:
                    raise UserError(f"suite {suite} parameter {key}={raw[key]!r}: {e} ({field.kind})") from None
        size = _int(suite, "size", raw.get("size", str(DEFAULT_SIZE)), 1, MAX_SIZE)
        seed = _int(suite, "seed", raw.get("seed", "0"), 0, 2**32 - 1)
        base = _base_config(task, level, attr_levels)
        overrides = {k: v for k, v in given.items() if getattr(base, k) != v}
        config = dataclasses.replace(base, **overrides, size=size, seed=seed)
        _validate(suite, config)
        return cls(task=task, overrides=overrides, level=level, attr_levels=attr_levels, size=size, seed=seed,
                   version=version, config=config)

    def suite_name(self, base: str) -> str:
        fields = catalog.fields(self.task)
        parts = [f"{k}={fields[k].spell(v)}" for k, v in self.overrides.items()]
        if self.level is not None:
            parts.append(f"level={self.level}")
        parts += [f"level.{a}={n}" for a, n in self.attr_levels.items()]
        parts += [f"size={self.size}", f"seed={self.seed}", f"version={self.version}"]
        return f"{base}:{','.join(parts)}"

    def meta(self) -> dict[str, Any]:
        return {"source": "reasoning-gym", "reasoning_gym_version": self.version, "task": self.task}


def _base_config(task: str, level: int | None, attr_levels: dict[str, int]) -> Any:
    """The task's default config, or its curriculum's at the given levels."""
    if level is None and not attr_levels:
        return catalog.config_class(task)()
    cur = catalog.curriculum(task)
    assert cur is not None  # levels were validated against the curriculum
    if level is not None:
        cur.set_global_level(level)
    for attr, n in attr_levels.items():
        cur.set_attr_level(attr, n)
    return cur.generate_configuration()


def _validate(suite: str, config: Any) -> None:
    """reasoning-gym's own checks (asserts, mostly), as one line naming the suite."""
    check = getattr(config, "validate", None)
    if check is None:
        return
    try:
        check()
    except (AssertionError, ValueError, TypeError) as e:
        raise UserError(f"suite {suite}: reasoning-gym rejects this config ({e or type(e).__name__})") from None

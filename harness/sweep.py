"""`thinkbench sweep GRID.yaml`: many run configurations over one suite and model, sharing engine actors.

A grid file is a run config (the base) plus `grid:` (dotted keys, or nested mappings, ending in lists of values:
every combination) and/or `configs:` (a list of override mappings; each is crossed with the grid). Every
configuration becomes exactly the run `thinkbench run` would make of it (same run id, same rows), so a sweep
resumes by rerunning and skips the configurations its store already holds complete. Configurations that can share
engine actors (same model, engine settings and placement) are driven through one queue: one engine start, the
same prompts batched together (vLLM's prefix cache serves them across configurations), graders shared.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from core.errors import UserError
from harness.config import RunConfig, config_from, read_yaml
from harness.dispatch import Lane
from harness.progress import Progress
from harness.runner import RunPlan, RunSummary, _budget, _summary, check_priced, drive, plan_run
from harness.store import Store

MAX_CONFIGS = 512  # a guard against a grid that multiplies out by mistake


@dataclass(frozen=True)
class SweepEntry:
    """One configuration of the grid: what it sets over the base, and its plan."""

    number: int
    settings: dict[str, Any]  # the dotted keys the grid set for it
    plan: RunPlan

    def label(self) -> str:
        return " ".join(f"{k.removeprefix('strategy.params.').removeprefix('strategy.')}={v}"
                        for k, v in self.settings.items()) or "(base)"


def _dotted(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{strategy: {name: x, params: {n: [4, 8]}}}` -> `{"strategy.name": x, "strategy.params.n": [4, 8]}`: nested
    mappings become dotted keys, down to one key of a params/options mapping (whose values may be mappings)."""
    flat: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not path.endswith(("params", "options")):
            flat.update(_dotted(value, path + "."))
        elif isinstance(value, dict):  # a params/options mapping merges key by key
            flat.update({f"{path}.{k}": v for k, v in value.items()})
        else:
            flat[path] = value
    return flat


def expand(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The grid file's configurations as dotted-key overrides of its base, in file order."""
    grid, listed = data.get("grid") or {}, data.get("configs") or [{}]
    if not isinstance(grid, dict) or not isinstance(listed, list) or not all(isinstance(c, dict) for c in listed):
        raise UserError("a sweep file's `grid:` must be a mapping of keys to value lists and `configs:` a list of "
                        "mappings; see configs/sweep.yaml")
    axes = _dotted(grid)
    for path, values in axes.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"sweep grid key {path} must list its values (e.g. {path}: [1, 2]); got {values!r}")
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    out = [{**_dotted(c), **combo} for c in listed for combo in combos]
    if len(out) > MAX_CONFIGS:
        raise UserError(f"the sweep has {len(out)} configurations, over the limit of {MAX_CONFIGS}; split the grid")
    return out


def load_sweep(path: str, overrides: dict[str, Any]) -> tuple[list[dict[str, Any]], list[RunConfig]]:
    """Every configuration of the grid file, validated; `overrides` (command-line flags) apply to all."""
    data = read_yaml(path, "sweep file", "GRID")
    base = {k: v for k, v in data.items() if k not in ("grid", "configs")}
    settings, configs = expand(data), []
    for number, setting in enumerate(settings, 1):
        if "db" in setting:
            raise UserError("a sweep stores every configuration in one store; set db: in the base, not the grid")
        try:
            configs.append(config_from(base, {**setting, **overrides}))
        except UserError as e:
            raise UserError(f"sweep configuration {number} ({json.dumps(setting)}): {e}") from None
    return settings, configs


def share_key(cfg: RunConfig) -> str:
    """Configurations with equal keys can share engine actors: the same model, engine, placement, and any verifier
    that brings a model of its own (it takes part of the actor's GPU)."""
    own_judge = cfg.verifier.identity() if cfg.verifier is not None and cfg.verifier.separate_engine else None
    return json.dumps([cfg.model, cfg.engine.model_dump(mode="json"), cfg.workers, cfg.ray_address, own_judge,
                       cfg.max_inflight, cfg.commit_every], sort_keys=True, default=str)


def plan_sweep(settings: list[dict[str, Any]], configs: list[RunConfig], store: Store, out: TextIO) -> list[SweepEntry]:
    entries: list[SweepEntry] = []
    seen: dict[str, int] = {}
    for number, (setting, cfg) in enumerate(zip(settings, configs), 1):
        try:
            plan = plan_run(cfg, store)
            check_priced(plan)
        except UserError as e:
            raise UserError(f"sweep configuration {number} ({json.dumps(setting)}): {e}") from None
        if plan.run_id in seen:
            print(f"warning: sweep configuration {number} is configuration {seen[plan.run_id]} again "
                  f"(run {plan.run_id}); running it once", file=out)
            continue
        seen[plan.run_id] = number
        entries.append(SweepEntry(number, setting, plan))
    return entries


class SweepProgress(Progress):
    """The run progress line over every configuration's problems, led by how many configurations are done."""

    def __init__(self, entries: list[SweepEntry], stream: TextIO) -> None:
        super().__init__(sum(len(e.plan.suite.problems) for e in entries), "sweep",
                         already_done=sum(len(e.plan.done) for e in entries), stream=stream)
        self.configs = len(entries)
        self.configs_done = sum(not e.plan.todo for e in entries)
        self.lanes: list[Lane] = []  # the lanes being driven, set by the sweep once they exist

    def watch(self, lanes: list[Lane]) -> None:
        self.lanes = lanes

    def line(self) -> str:
        done = self.configs_done + sum(lane.done >= lane.todo for lane in self.lanes)
        return f"configs {done}/{self.configs} | " + super().line()


def sweep(path: str, overrides: dict[str, Any], out: TextIO = sys.stderr,
          dry_run: bool = False) -> list[tuple[SweepEntry, RunSummary]]:
    settings, configs = load_sweep(path, overrides)
    store = Store(configs[0].db)
    entries = plan_sweep(settings, configs, store, out)
    _print_grid(entries, store, out)
    if dry_run:
        return []
    groups: dict[str, list[SweepEntry]] = {}
    for e in entries:
        groups.setdefault(share_key(e.plan.cfg), []).append(e)
    progress = SweepProgress(entries, out)
    for group in groups.values():
        _run_group(group, store, out, progress)
    progress.close()
    return [(e, _summary(store, e.plan.run_id, len(e.plan.suite.problems), len(e.plan.done))) for e in entries]


def _run_group(group: list[SweepEntry], store: Store, out: TextIO, progress: SweepProgress) -> None:
    """Begin every configuration of one engine group that has work left, then drive them all together."""
    runs = []
    for e in group:
        plan = e.plan
        if _stored_complete(plan, store):
            continue  # already complete in the store: skipped
        budget = _budget(plan, store)
        if plan.failed:
            store.clear_failed(plan.run_id)
        store.begin_run(plan.start_record())
        if not plan.todo:
            store.end_run(plan.run_id, "complete")
        elif budget is not None and budget.verdict(0, 1) == "stop":
            store.end_run(plan.run_id, "capped")  # already at its cap
        else:
            runs.append((plan, budget))
    if not runs:
        return
    first = runs[0][0]
    print(f"sweep: {len(runs)} configuration(s) on one set of engines: {first.model} | {first.cfg.engine.kind}",
          file=out)
    drive(runs, store, out, progress, f"sweep {first.run_id}", on_lanes=progress.watch)
    progress.lanes, progress.configs_done = [], progress.configs_done + len(runs)


def _stored_complete(plan: RunPlan, store: Store) -> bool:
    """Whether the store holds this configuration's run whole and marked complete (a sweep skips it)."""
    return not plan.todo and bool(plan.done) and store.run_record(plan.run_id)["status"] == "complete"


def _print_grid(entries: list[SweepEntry], store: Store, out: TextIO) -> None:
    """One line per configuration: its run id, what is stored of it, and what the grid set."""
    groups = len({share_key(e.plan.cfg) for e in entries})
    print(f"sweep: {len(entries)} configuration(s), {groups} engine group(s)", file=out)
    for e in entries:
        plan = e.plan
        stored = f"{len(plan.done)}/{len(plan.suite.problems)}"
        state = "complete" if _stored_complete(plan, store) else (
            "resumes" if plan.done else "new")
        print(f"  {e.number:>3}  {plan.run_id}  {stored:>9}  {state:<9} {plan.suite.name}  {e.label()}", file=out)

"""Where engine actors go: one per GPU, or one per tensor-parallel group in a placement group.

The plan is plain data so `thinkbench run --dry-run` can print it before anything starts. Grading
runs as CPU tasks, never on an engine actor, so it never holds a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import UserError
from harness.config import RunConfig


@dataclass(frozen=True)
class WorkerPlan:
    name: str
    num_gpus: float  # held by the actor itself (0 when a placement group holds the GPUs)
    num_cpus: float
    tensor_parallel: int = 1
    bundles: tuple[dict[str, float], ...] = ()  # a STRICT_PACK placement group: all GPUs of a group on one node


@dataclass
class Plan:
    workers: list[WorkerPlan]
    grader_cpus: float
    problems: int
    todo: int
    inflight_per_worker: int
    cluster: dict[str, float] = field(default_factory=dict)
    nodes: int = 1

    def describe(self) -> str:
        cpus, gpus = self.cluster.get("CPU", 0), self.cluster.get("GPU", 0)
        lines = [f"cluster: {self.nodes} node(s), CPU={cpus:g}, GPU={gpus:g}"]
        for w in self.workers:
            where = (f"placement group of {len(w.bundles)} bundles {list(w.bundles)} "
                     f"(STRICT_PACK, TP={w.tensor_parallel})"
                     if w.bundles else f"num_gpus={w.num_gpus:g}, num_cpus={w.num_cpus:g}")
            lines.append(f"engine actor {w.name}: {where}")
        lines.append(f"graders: stateless CPU tasks, num_cpus={self.grader_cpus:g} each, batched per dispatch round")
        lines.append(f"problems: {self.todo} to run of {self.problems}; one shared queue, dynamic assignment, "
                     f"at most {self.inflight_per_worker} in flight per actor")
        return "\n".join(lines)


def gpus_per_worker(cfg: RunConfig, cluster_gpus: float) -> float:
    explicit = cfg.engine.gpus_per_worker
    if explicit is not None:
        return explicit
    if cfg.engine_spec.uses_gpus and cluster_gpus >= 1:
        return float(cfg.engine.gpus())
    return 0.0


def make_plan(cfg: RunConfig, cluster: dict[str, Any], problems: int, todo: int, nodes: int = 1,
              max_node_gpus: float | None = None) -> Plan:
    gpus = float(cluster.get("GPU", 0))
    per = gpus_per_worker(cfg, gpus)
    tp = cfg.engine.gpus()  # a tensor-parallel group's size (1 for engines that hold no GPUs)
    if per > 0 and max_node_gpus is not None and per > max_node_gpus + 1e-9:
        raise UserError(f"an engine worker needs {per:g} GPUs on one node but the largest node has {max_node_gpus:g} "
                        "GPUs; lower tensor_parallel_size / gpus_per_worker")
    if per > 0:
        count = cfg.workers or int(gpus // per)
        if count < 1 or count * per > gpus + 1e-9:
            raise UserError(f"{count or 1} engine worker(s) x {per:g} GPUs need more than the cluster's {gpus:g} GPUs; "
                            "lower --workers or tensor_parallel_size")
    else:
        count = cfg.workers or 1
    workers = []
    for i in range(count):
        if per > 0 and tp > 1:
            # vLLM's Ray executor places its TP workers in the bundles of the actor's placement group.
            bundles = tuple({"GPU": per / tp, "CPU": 1.0} for _ in range(tp))
            workers.append(WorkerPlan(f"w{i}", 0.0, 0.0, tp, bundles))
        else:
            # On CPU the engine actor claims no CPU slot: vLLM uses the cores anyway, and a claimed slot
            # per actor would leave none for grading tasks on a small machine.
            workers.append(WorkerPlan(f"w{i}", per, 1.0 if per > 0 else 0.0, tp if per > 0 else 1))
    inflight = max(1, cfg.max_inflight // count)
    return Plan(workers, 1.0, problems, todo, inflight, {k: float(v) for k, v in cluster.items()}, nodes)

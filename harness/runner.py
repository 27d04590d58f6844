"""The Ray driver: fans problems out to engine actors, grades on CPU tasks, commits to DuckDB.

Problems go out from one queue to whichever actor has room (dynamic assignment, not a static
split), so a slow worker never holds the run up. The driver is the only writer of the store and
commits attempts in batches, each one transaction: a crash loses at most the batch in flight, and
rerunning the same command skips every committed problem.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any, Callable, TextIO

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from core.errors import UserError
from core.records import CallRecord, Problem
from harness import __version__
from harness.compute import Costing
from harness.config import RunConfig
from harness.config import run_id as make_run_id
from harness.dispatch import Budget, Dispatcher, Item, Lane, WorkerState, warm_graders
from harness.grading import Grader
from harness.models import EMBEDDED_ALIASES, EMBEDDED_NAME, resolve_model
from harness.placement import Plan, make_plan
from harness.pricing import PRICES_ENV, PriceTable, Pricing, load_prices
from harness.progress import Progress
from harness.solve import SuiteView
from harness.store import RunStart, Store
from harness.strategies import get_strategy, make_params
from harness.worker import EngineWorker, WorkerLane
from suites import Suite, load_suite

# Ray starts its workers at nice 15 so that its daemons stay responsive; an engine actor's vLLM processes inherit it,
# and so ran below Ray's daemons and the driver and level with the grading tasks. Engine actors run at nice 0, Ray's
# own per-worker setting (what its job supervisors use); grading tasks stay at 15, below the model.
ENGINE_RUNTIME_ENV = {"env_vars": {"RAY_worker_niceness": "0"}}
GRADE_HOLD_S = 30.0  # how long finished attempts wait for grading while a CPU engine generates (what a kill loses)
GRADER_WARM_WORKERS = 4  # grading workers warmed per suite before generation, at most one per CPU


@dataclass
class RunSummary:
    run_id: str
    status: str
    n_problems: int
    done: int
    correct: int
    generated_tokens: int
    resumed_from: int
    cap_note: str | None = None  # status capped: the one line that says where the run stopped and how to resume


def git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def identity(cfg: RunConfig, suite_name: str, template_digest: str, model_name: str, params: dict) -> dict[str, Any]:
    ident = {
        "suite": suite_name, "limit": cfg.limit, "model": model_name, "engine": cfg.engine.identity(),
        "strategy": cfg.strategy.name, "params": params, "template": template_digest, "seed": cfg.seed,
    }
    if cfg.verifier is not None:  # only when set, so runs without a verifier keep their ids
        ident["verifier"] = cfg.verifier.identity()
    return ident


def model_name(cfg: RunConfig) -> str:
    if not cfg.model or cfg.model in EMBEDDED_ALIASES:
        return EMBEDDED_NAME
    return resolve_model(cfg.model).name if cfg.engine_spec.needs_weights else cfg.model


# A local Ray that a run starts for itself, on the model's cores: no per-second task-event reports to the GCS and no
# metrics export from every Ray process (nothing reads either: no dashboard). With the model's threads on every CPU
# each CPU-second of that background costs the model about a second (bench/engine_overhead.py, both cores, same
# samples: ratio 0.85-0.87 with them, 0.94 without).
QUIET_RAY_CONFIG: dict[str, Any] = {"task_events_report_interval_ms": 0, "enable_metrics_collection": False}


def init_ray(address: str | None) -> None:
    """Join `address` (--ray-address), else the cluster RAY_ADDRESS names (Ray's own convention), else start a
    fresh local instance."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    env = {"VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"),
           "TOKENIZERS_PARALLELISM": "false"}
    if "THINKBENCH_CACHE" in os.environ:
        env["THINKBENCH_CACHE"] = os.environ["THINKBENCH_CACHE"]
    try:
        # No address: always a fresh local instance on loopback (never a cluster some other process left
        # running); `--ray-address auto` (or RAY_ADDRESS=auto) joins the machine's cluster on purpose.
        local: dict[str, Any] = {} if address and address != "local" else {"_node_ip_address": "127.0.0.1",
                                                                          "_system_config": QUIET_RAY_CONFIG}
        ray.init(address=address or "local", include_dashboard=False, **local,
                 log_to_driver=bool(os.environ.get("THINKBENCH_VERBOSE")),
                 logging_level=logging.ERROR, runtime_env={"env_vars": env})
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UserError(f"cannot join Ray cluster at {address!r} ({str(e).splitlines()[0][:120]}); "
                        "check --ray-address (or RAY_ADDRESS)") from None


@dataclass(frozen=True)
class RunPlan:
    """What a run is and what is left of it, decided before anything starts (no Ray, no engine)."""

    cfg: RunConfig
    suite: Suite
    params: dict[str, Any]
    model: str
    identity: dict[str, Any]
    run_id: str
    done: frozenset[str]  # problems stored and not failed
    failed: frozenset[str]  # problems stored as failed: retried by this run
    todo: list[tuple[int, Problem]]
    manifest: dict[str, Any]
    prices: PriceTable  # read before anything starts, so a bad price file fails fast

    def describe(self) -> str:
        return (f"{self.suite.name} | {self.model} | {self.cfg.engine.kind} | {self.cfg.strategy.name} "
                f"{self.params}")

    def start_record(self) -> RunStart:
        cfg = self.cfg
        return RunStart(run_id=self.run_id, suite=self.suite.name, model=self.model, engine=cfg.engine.kind,
                        strategy=cfg.strategy.name, config=cfg.model_dump(mode="json"), identity=self.identity,
                        manifest=self.manifest, n_problems=len(self.suite.problems), limited=cfg.limit is not None)


def plan_run(cfg: RunConfig, store: Store) -> RunPlan:
    """The suite, the run's identity, and which problems are left (failed ones are retried)."""
    suite = load_suite(cfg.suite, cfg.data_dir, cfg.limit)
    if not suite.problems:
        raise UserError(f"suite {suite.name} has no problems; check the data files")
    spec = get_strategy(cfg.strategy.name)
    params = make_params(cfg.strategy.name, cfg.strategy.params).model_dump(mode="json")
    mname = model_name(cfg)
    ident = identity(cfg, suite.name, suite.template.digest(), mname, params)
    rid = make_run_id(ident)
    failed = store.failed_problems(rid)
    done = store.completed_problems(rid) - failed
    manifest: dict[str, Any] = {
        "thinkbench_version": __version__, "git_revision": git_revision(), "python": platform.python_version(),
        "ray_version": ray.__version__, "grader_version": suite.grader_version,
        "prompt_template": suite.template.digest(), "model": mname, "seed": cfg.seed, "data_dir": cfg.data_dir,
        "sample_pool": spec.sample_pool,
    }
    todo = [(i, p) for i, p in enumerate(suite.problems) if p.id not in done]
    return RunPlan(cfg, suite, params, mname, ident, rid, frozenset(done), frozenset(failed), todo, manifest,
                   load_prices(cfg.prices))


def run(cfg: RunConfig, out: TextIO = sys.stderr, dry_run: bool = False) -> RunSummary:
    store = Store(cfg.db)
    plan = plan_run(cfg, store)
    check_priced(plan)
    if cfg.limit is not None:
        print(f"warning: --limit {cfg.limit}: this run covers {len(plan.suite.problems)} problems only and is not "
              "comparable with full-suite runs", file=out)
    if dry_run:  # print what would run where, start nothing, write nothing
        init_ray(cfg.ray_address)
        placement = make_plan(cfg, ray.cluster_resources(), len(plan.suite.problems), len(plan.todo), *_nodes())
        print(f"run {plan.run_id} (dry run): {plan.describe()}")
        print(placement.describe())
        return RunSummary(plan.run_id, "dry-run", len(plan.suite.problems), len(plan.done), 0, 0, len(plan.done))
    budget = _budget(plan, store)
    if plan.failed:
        store.clear_failed(plan.run_id)
    store.begin_run(plan.start_record())
    if plan.done:
        print(f"resuming run {plan.run_id}: {len(plan.done)}/{len(plan.suite.problems)} problems already stored",
              file=out)
    else:
        print(f"run {plan.run_id}: {plan.describe()}", file=out)
    if plan.todo and budget is not None and budget.verdict(0, 1) == "stop":
        store.end_run(plan.run_id, "capped")  # already at its cap: no engine is started
    elif plan.todo:
        _execute(plan, store, out, budget)
    else:
        store.end_run(plan.run_id, "complete")
    summary = _summary(store, plan.run_id, len(plan.suite.problems), len(plan.done))
    if summary.status == "capped":
        summary.cap_note = _cap_note(plan, store, budget)
    return summary


def _priced(table: PriceTable, model: str, hosted: dict[str, tuple[str, int]]) -> bool:
    """Whether a call of `model` gets dollars under `table` (served as `hosted` says), by Pricing's own rule."""
    probe = CallRecord(0, model, "probe", 0.0, None, 1.0, 1, 0, 1, 0, 1, None)
    return Pricing(table, hosted).call_dollars(probe) is not None


def check_priced(plan: RunPlan, hosted: dict[str, tuple[str, int]] | None = None) -> None:
    """A dollars cap needs the run's model priced: listed, or self-hosted with its hardware's hourly rate.

    Before the engines start, where a self-hosted model runs is unknown: either hardware rate will do then;
    `hosted` (once started) names the hardware it did get.
    """
    cfg, model = plan.cfg, plan.model
    if cfg.max_dollars is None:
        return
    served = [m for m in make_params(cfg.strategy.name, cfg.strategy.params).models() if m not in plan.prices.models]
    if served:  # models a strategy calls on servers (a cascade's stages) can only be list-priced
        raise UserError(f"--max-dollars needs a price for model {served[0]!r}, which has none; list it under "
                        f"`models:` in a price file (--prices FILE or {PRICES_ENV}, format as configs/prices.yaml)")
    own = cfg.engine_spec.needs_weights
    options = [hosted] if hosted is not None else [{model: ("cpu", 0)}, {model: ("gpu", 1)}] if own else [{}]
    if any(_priced(plan.prices, model, h) for h in options):
        return
    how = "list it under `models:`" + (" or set `hardware: cpu_hour_usd / gpu_hour_usd`" if own else "")
    raise UserError(f"--max-dollars needs a price for model {model!r}, which has none; {how} in a price file "
                    f"(--prices FILE or {PRICES_ENV}, format as configs/prices.yaml)")


def _budget(plan: RunPlan, store: Store) -> Budget | None:
    """The run's caps, starting from what its stored attempts (earlier sessions') already spent."""
    cfg = plan.cfg
    if cfg.max_dollars is None and cfg.max_total_tokens is None:
        return None
    done, priced, dollars, tokens = store.attempt_spend(plan.run_id)
    if cfg.max_dollars is not None and priced < done:
        raise UserError(f"{done - priced} stored attempts of run {plan.run_id} have no dollars, so --max-dollars "
                        f"cannot count them; price the model, then `thinkbench reprice {plan.run_id} --prices FILE`")
    return Budget(cfg.max_dollars, cfg.max_total_tokens, done, dollars, tokens)


def _cap_note(plan: RunPlan, store: Store, budget: Budget | None) -> str:
    """`run RID stopped at its cap: $0.0123 of $0.0125 spent, 17/50 problems; rerun with a higher cap to resume`."""
    cfg = plan.cfg
    done, _, dollars, tokens = store.attempt_spend(plan.run_id)
    if cfg.max_dollars is None or (budget is not None and budget.hit == "tokens"):
        spent = f"{tokens} of {cfg.max_total_tokens} tokens spent"
    else:
        spent = f"${dollars:.4f} of ${cfg.max_dollars:.4f} spent"
    return (f"run {plan.run_id} stopped at its cap: {spent}, {done}/{len(plan.suite.problems)} problems; "
            "rerun with a higher cap to resume")


def _execute(plan: RunPlan, store: Store, out: TextIO, budget: Budget | None = None) -> None:
    progress = Progress(len(plan.suite.problems), f"run {plan.run_id}", already_done=len(plan.done), stream=out)
    drive([(plan, budget)], store, out, progress, f"run {plan.run_id}")


def drive(runs: list[tuple[RunPlan, Budget | None]], store: Store, out: TextIO, progress: Progress, name: str,
          on_lanes: Callable[[list[Lane]], None] | None = None) -> list[Lane]:
    """Start one set of engine actors for `runs` (one model and engine; a sweep passes several), drive all their
    problems through one queue, and record how each run's session ended. Returns the runs' lanes."""
    first = runs[0][0]
    cfg = first.cfg
    init_ray(cfg.ray_address)
    placement = make_plan(cfg, ray.cluster_resources(), sum(len(p.suite.problems) for p, _ in runs),
                          sum(len(p.todo) for p, _ in runs), *_nodes())
    print(f"starting {len(placement.workers)} engine worker(s)...", file=out)
    workers, groups, names = _start_actors(cfg, placement, {p.run_id: _worker_lane(p) for p, _ in runs},
                                           name.replace(" ", "-"))
    graders = [ray.put(Grader.of(p.suite)) for p, _ in runs]
    warm_ups: dict[Any, tuple[Any, int]] = {}  # one suite's runs (a sweep's) share their graders' warm-up
    for (p, _), g in zip(runs, graders):
        if p.suite.warm_up is not None:
            ref, todo = warm_ups.get(p.suite.warm_up, (g, 0))
            warm_ups[p.suite.warm_up] = (ref, todo + len(p.todo))
    warm_graders(list(warm_ups.values()), GRADER_WARM_WORKERS)  # runs while the engines start; nothing waits on it
    lanes, every_cpu = [], False
    try:
        for (p, b), g in zip(runs, graders):
            costing, holds_cpus = _start_engines(store, p, workers, names, placement)
            lanes.append(Lane(p.run_id, p.cfg.strategy.name, p.cfg.strategy.params, g, costing, key=p.run_id,
                              budget=b, todo=len(p.todo)))
            every_cpu = every_cpu or holds_cpus
    except BaseException:
        _stop_actors(workers, groups)
        raise
    if on_lanes is not None:
        on_lanes(lanes)
    dispatcher = Dispatcher(
        workers=[WorkerState(p.name, w) for p, w in zip(placement.workers, workers)], store=store, progress=progress,
        lanes=lanes, inflight_per_worker=placement.inflight_per_worker, commit_every=cfg.commit_every,
        grading_slots=max(1, int(placement.cluster.get("CPU", 1) // placement.grader_cpus)),
        hold_grading_s=GRADE_HOLD_S if every_cpu else 0.0)
    outcomes: list[tuple[str, str | None]] = [("complete", None)] * len(runs)
    drive_start = time.perf_counter()
    try:
        dispatcher.run(_interleave(runs, lanes))
        outcomes = [_stop_reason(p, lane) for (p, _), lane in zip(runs, lanes)]
    except KeyboardInterrupt:
        outcomes = [("interrupted", None)] * len(runs)
        raise
    except RuntimeError as e:
        outcomes = [("failed", str(e))] * len(runs)
        raise UserError(f"{name} failed: {e}; rerun the same command to resume") from None
    finally:
        progress.close()
        for (plan, _), lane, (status, error) in zip(runs, lanes, outcomes):
            _finish(plan, store, dispatcher, lane, time.perf_counter() - drive_start, status, error)
        _stop_actors(workers, groups)
    errors = [error for _, error in outcomes if error is not None]
    if errors:
        raise UserError(errors[0])
    return lanes


def _worker_lane(plan: RunPlan) -> WorkerLane:
    view = SuiteView(plan.suite.template, plan.suite.extract, plan.suite.vote_key, plan.suite.warm_up)
    return WorkerLane(view, plan.cfg.seed, plan.cfg.actor_context())


def _interleave(runs: list[tuple[RunPlan, Budget | None]], lanes: list[Lane]) -> list[Item]:
    """Problem by problem across the runs, so the runs' requests for one prompt reach the engine together and
    its prefix cache serves them all."""
    per_run = [[(lane, i, p) for i, p in plan.todo] for (plan, _), lane in zip(runs, lanes)]
    return [item for item in chain.from_iterable(zip_longest(*per_run)) if item is not None]


def _stop_reason(plan: RunPlan, lane: Lane) -> tuple[str, str | None]:
    """(status, error) of a session the dispatcher finished: complete or capped, or incomplete with an error when an
    attempt came back without dollars under a dollars cap (a model it called has no price)."""
    budget = lane.budget
    if budget is not None and budget.unpriced:
        return "incomplete", (f"run {plan.run_id} stopped: an attempt came back without dollars (a model it called "
                              "has no price), so --max-dollars cannot be enforced; price every model the run calls "
                              "in a price file (--prices FILE) and rerun to resume")
    return ("capped", None) if lane.capped else ("complete", None)


def _start_engines(store: Store, plan: RunPlan, workers: list[Any], names: list[str],
                   placement: Plan) -> tuple[Costing, bool]:
    """Build every actor's engine; record what was built where. Returns what prices the run's compute, and whether
    an engine's model threads hold every CPU of its host (vLLM CPU, `cpu_threads: all`)."""
    rid = plan.run_id
    try:
        infos = ray.get([w.lane_info.remote(rid) for w in workers])
    except ray.exceptions.RayTaskError as e:
        cause = e.cause if isinstance(getattr(e, "cause", None), Exception) else e
        store.end_run(rid, "failed", str(cause)[:500])
        if isinstance(cause, UserError):
            raise cause from None
        raise UserError(f"engine failed to start: {str(cause).splitlines()[-1][:200]}") from None
    for info, name in zip(infos, names):
        info["actor_name"] = name
    policy_params = infos[0].get("policy_params")
    verifier_params = (infos[0].get("verifier") or {}).get("parameters")  # FLOPs charge verifier tokens at this size
    gpus = len(infos[0].get("accelerator_ids") or [])
    hosted = {plan.model: ("gpu" if gpus else "cpu", gpus)} if plan.cfg.engine_spec.needs_weights else {}
    pricing = Pricing(plan.prices, hosted)
    try:
        check_priced(plan, hosted)  # now that the hardware it runs on is known
    except UserError as e:
        store.end_run(rid, "failed", str(e)[:500])
        raise
    per_host = ("pid", "host", "worker", "node_id", "accelerator_ids")
    store.update_manifest(rid, {"engine": {k: v for k, v in infos[0].items() if k not in per_host},
                                "workers": infos, "policy_params": policy_params, "plan": placement.describe(),
                                "pricing": pricing.describe()})
    store.set_param_counts(rid, policy_params, verifier_params)
    verifier_model = plan.cfg.verifier.model if plan.cfg.verifier else None
    others = make_params(plan.cfg.strategy.name, plan.cfg.strategy.params).models()
    every_cpu = any(info.get("cpu_threads") == "all" for info in infos)
    return Costing(policy_params, verifier_params, pricing, verifier_model, plan.model, others), every_cpu


def _finish(plan: RunPlan, store: Store, dispatcher: Dispatcher, lane: Lane, seconds: float, status: str,
            error: str | None) -> None:
    """Store this session's figures and the run's status, whatever ended it."""
    dispatcher.flush_events()
    # Throughput of this session's generation phase (engines ready -> last commit) and the driver's own
    # CPU cost per problem, for benchmarks; per-worker throughput and failures for observability. In a sweep
    # the seconds and the workers are the whole sweep's (its runs shared them).
    todo = sum(x.todo for x in dispatcher.lanes)
    session: dict[str, Any] = {
        "problems": len(plan.todo), "seconds": seconds, "ended_unix": time.time(),
        "generated_tokens": lane.generated_tokens,
        "driver_cpu_ms_per_problem": 1000 * dispatcher.driver_cpu_seconds / max(1, todo)}
    if len(dispatcher.lanes) > 1:
        session["shared_with_runs"] = [x.run_id for x in dispatcher.lanes if x is not lane]
    if lane.budget is not None:  # the caps this session ran under, and the one that stopped it
        b = lane.budget
        session["caps"] = {"max_dollars": b.max_dollars, "max_total_tokens": b.max_tokens,
                           "stopped_by": b.hit if lane.capped else None}
    store.update_manifest(plan.run_id, {"last_session": session,
                                        "worker_stats": [w.stats() for w in dispatcher.workers]})
    stored = len(store.completed_problems(plan.run_id))
    if status == "complete" and (stored < len(plan.suite.problems) or store.count_failed(plan.run_id)):
        status = "incomplete"
    store.end_run(plan.run_id, status, error)


def _nodes() -> tuple[int, float]:
    """(alive nodes, most GPUs on one node): a tensor-parallel group cannot span nodes."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    return len(alive), max((float(n.get("Resources", {}).get("GPU", 0)) for n in alive), default=0.0)


def _start_actors(cfg: RunConfig, plan: Plan, lanes: dict[str, WorkerLane], name: str) -> tuple[list, list, list[str]]:
    """Named actors (so operators and tests can find them), restartable on failure; each serves every lane."""
    actor_cls = ray.remote(EngineWorker)
    workers, groups, names = [], [], []
    session = f"{os.getpid()}-{int(time.time())}"  # a rerun of the run gets fresh names
    for wp in plan.workers:
        options: dict[str, Any] = {"num_gpus": wp.num_gpus, "num_cpus": wp.num_cpus, "max_restarts": 2,
                                   "max_concurrency": max(1000, cfg.max_inflight),
                                   "name": f"thinkbench-{name}-{wp.name}-{session}", "namespace": "thinkbench",
                                   "lifetime": None, "runtime_env": ENGINE_RUNTIME_ENV}
        if wp.bundles:
            pg = placement_group(list(wp.bundles), strategy="STRICT_PACK")
            if not pg.wait(timeout_seconds=120):
                raise UserError(f"no node can host {len(wp.bundles)} GPUs together for tensor parallelism; "
                                "lower tensor_parallel_size or add GPUs")
            groups.append(pg)
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=pg, placement_group_capture_child_tasks=True)
        first = next(iter(lanes.values()))
        workers.append(actor_cls.options(**options).remote(cfg.engine.model_dump(), cfg.model, cfg.seed, first.view,
                                                           wp.name, cfg.actor_context(), lanes))
        names.append(options["name"])
    return workers, groups, names


def _stop_actors(workers: list, groups: list) -> None:
    for w in workers:
        try:
            ray.get(w.stop.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - best effort at shutdown; the actor may be dead already
            pass
        ray.kill(w, no_restart=True)
    for pg in groups:
        remove_placement_group(pg)


def _summary(store: Store, rid: str, n: int, resumed_from: int) -> RunSummary:
    done, correct, tokens = store.attempt_totals(rid)
    status = store.run_record(rid)["status"]
    return RunSummary(rid, status, n, done, correct, tokens, resumed_from)

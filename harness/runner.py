"""The Ray driver: fans problems out to engine actors, grades on CPU tasks, commits to DuckDB.

Problems go out from one queue to whichever actor has room (dynamic assignment, not a static
split), so a slow worker never holds the run up. The driver is the only writer of the store and
commits attempts in batches, each one transaction: a crash loses at most the batch in flight, and
rerunning the same command skips every committed problem.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from harness import __version__
from harness.config import RunConfig, run_id as make_run_id
from core.errors import UserError
from harness.dispatch import Dispatcher, WorkerState
from harness.grading import Grader
from harness.models import EMBEDDED_ALIASES, EMBEDDED_NAME, resolve_model
from harness.placement import Plan, make_plan
from harness.progress import Progress
from harness.solve import SuiteView
from harness.store import Store
from harness.worker import EngineWorker
from harness.strategies import make_params
from suites import load_suite

@dataclass
class RunSummary:
    run_id: str
    status: str
    n_problems: int
    done: int
    correct: int
    generated_tokens: int
    resumed_from: int


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
    return cfg.model if cfg.engine.kind == "openai" else resolve_model(cfg.model).name


def init_ray(address: str | None) -> None:
    if ray.is_initialized():
        return
    env = {"VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"),
           "TOKENIZERS_PARALLELISM": "false"}
    if "THINKBENCH_CACHE" in os.environ:
        env["THINKBENCH_CACHE"] = os.environ["THINKBENCH_CACHE"]
    try:
        # No address: always a fresh local instance on loopback (never a cluster some other process left
        # running); `--ray-address auto` joins the machine's cluster on purpose.
        local = {} if address else {"_node_ip_address": "127.0.0.1"}
        ray.init(address=address or "local", include_dashboard=False, **local, log_to_driver=bool(os.environ.get("THINKBENCH_VERBOSE")),
                 logging_level="ERROR", runtime_env={"env_vars": env})
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UserError(f"cannot join Ray cluster at {address!r} ({str(e).splitlines()[0][:120]}); check --ray-address") from None


def run(cfg: RunConfig, out=sys.stderr, dry_run: bool = False) -> RunSummary:  # type: ignore[no-untyped-def]
    suite = load_suite(cfg.suite, cfg.data_dir, cfg.limit)
    if not suite.problems:
        raise UserError(f"suite {suite.name} has no problems; check the data files")
    params = make_params(cfg.strategy.name, cfg.strategy.params).model_dump(mode="json")
    mname = model_name(cfg)
    ident = identity(cfg, suite.name, suite.template.digest(), mname, params)
    rid = make_run_id(ident)
    store = Store(cfg.db)
    if cfg.limit is not None:
        print(f"warning: --limit {cfg.limit}: this run covers {len(suite.problems)} problems only and is not "
              "comparable with full-suite runs", file=out)

    failed = {pid for (pid,) in store.query("SELECT problem_id FROM attempts WHERE run_id=? AND error IS NOT NULL",
                                            [rid])}
    done_ids = store.completed_problems(rid) - failed  # failed problems are retried on rerun
    todo = [(i, p) for i, p in enumerate(suite.problems) if p.id not in done_ids]
    manifest: dict[str, Any] = {
        "thinkbench_version": __version__, "git_revision": git_revision(), "python": platform.python_version(),
        "ray_version": ray.__version__, "grader_version": suite.grader_version,
        "prompt_template": suite.template.digest(), "model": mname, "seed": cfg.seed, "data_dir": cfg.data_dir,
    }
    if dry_run:  # print what would run where, start nothing, write nothing
        init_ray(cfg.ray_address)
        plan = make_plan(cfg, ray.cluster_resources(), len(suite.problems), len(todo), *_nodes())
        print(f"run {rid} (dry run): {suite.name} | {mname} | {cfg.engine.kind} | {cfg.strategy.name} {params}")
        print(plan.describe())
        return RunSummary(rid, "dry-run", len(suite.problems), len(done_ids), 0, 0, len(done_ids))
    if failed:
        with store.connect() as con:
            con.execute("DELETE FROM samples WHERE run_id=? AND problem_id IN "
                        "(SELECT problem_id FROM attempts WHERE run_id=? AND error IS NOT NULL)", [rid, rid])
            con.execute("DELETE FROM attempts WHERE run_id=? AND error IS NOT NULL", [rid])
    store.begin_run(rid, suite.name, mname, cfg.engine.kind, cfg.strategy.name, cfg.model_dump(mode="json"),
                    ident, manifest, len(suite.problems), cfg.limit is not None, None)
    if done_ids:
        print(f"resuming run {rid}: {len(done_ids)}/{len(suite.problems)} problems already stored", file=out)
    else:
        print(f"run {rid}: {suite.name} | {mname} | {cfg.engine.kind} | {cfg.strategy.name} {params}", file=out)
    if not todo:
        store.end_run(rid, "complete")
        return _summary(store, rid, len(suite.problems), len(done_ids))

    init_ray(cfg.ray_address)
    plan = make_plan(cfg, ray.cluster_resources(), len(suite.problems), len(todo), *_nodes())
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    print(f"starting {len(plan.workers)} engine worker(s)...", file=out)
    workers, groups, names = _start_actors(cfg, plan, view, rid)
    try:
        infos = ray.get([w.start.remote() for w in workers])
    except ray.exceptions.RayTaskError as e:
        _stop_actors(workers, groups)
        cause = e.cause if isinstance(getattr(e, "cause", None), Exception) else e
        store.end_run(rid, "failed", str(cause)[:500])
        if isinstance(cause, UserError):
            raise cause from None
        raise UserError(f"engine failed to start: {str(cause).splitlines()[-1][:200]}") from None
    for info, name in zip(infos, names):
        info["actor_name"] = name
    policy_params = infos[0].get("policy_params")
    verifier_params = (infos[0].get("verifier") or {}).get("parameters")  # FLOPs charge verifier tokens at this size
    store.update_manifest(rid, {"engine": {k: v for k, v in infos[0].items() if k not in ("pid", "host", "worker", "node_id", "accelerator_ids")},
                                "workers": infos, "policy_params": policy_params, "plan": plan.describe()})
    with store.connect() as con:
        con.execute("UPDATE runs SET policy_params=?, verifier_params=? WHERE run_id=?",
                    [policy_params, verifier_params, rid])

    progress = Progress(len(suite.problems), f"run {rid}", already_done=len(done_ids), stream=out)
    dispatcher = Dispatcher(
        run_id=rid, workers=[WorkerState(p.name, w) for p, w in zip(plan.workers, workers)],
        grader_ref=ray.put(Grader.of(suite)), store=store, progress=progress, policy_params=policy_params,
        verifier_params=verifier_params,
        strategy=cfg.strategy.name, params=cfg.strategy.params, inflight_per_worker=plan.inflight_per_worker,
        commit_every=cfg.commit_every)
    status, error = "complete", None
    drive_start = time.perf_counter()
    try:
        dispatcher.run(todo)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except RuntimeError as e:
        status, error = "failed", str(e)
        raise UserError(f"run {rid} failed: {e}; rerun the same command to resume") from None
    finally:
        progress.close()
        seconds = time.perf_counter() - drive_start
        dispatcher.flush_events()
        # Throughput of this session's generation phase (engines ready -> last commit) and the driver's own
        # CPU cost per problem, for benchmarks; per-worker throughput and failures for observability.
        store.update_manifest(rid, {
            "last_session": {"problems": len(todo), "seconds": seconds, "generated_tokens": progress.tokens,
                             "driver_cpu_ms_per_problem": 1000 * dispatcher.driver_cpu_seconds / max(1, len(todo))},
            "worker_stats": [w.stats() for w in dispatcher.workers]})
        stored = len(store.completed_problems(rid))
        n_failed = store.query("SELECT count(*) FROM attempts WHERE run_id=? AND error IS NOT NULL", [rid])[0][0]
        if status == "complete" and (stored < len(suite.problems) or n_failed):
            status = "incomplete"
        store.end_run(rid, status, error)
        _stop_actors(workers, groups)
    return _summary(store, rid, len(suite.problems), len(done_ids))


def _nodes() -> tuple[int, float]:
    """(alive nodes, most GPUs on one node): a tensor-parallel group cannot span nodes."""
    alive = [n for n in ray.nodes() if n.get("Alive")]
    return len(alive), max((float(n.get("Resources", {}).get("GPU", 0)) for n in alive), default=0.0)


def _start_actors(cfg: RunConfig, plan: Plan, view: SuiteView, rid: str) -> tuple[list, list, list[str]]:
    """Named actors (so operators and tests can find them), restartable once on failure."""
    from ray.util.placement_group import placement_group  # noqa: PLC0415
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy  # noqa: PLC0415

    actor_cls = ray.remote(EngineWorker)
    workers, groups, names = [], [], []
    session = f"{os.getpid()}-{int(time.time())}"  # a rerun of the run gets fresh names
    for wp in plan.workers:
        options: dict[str, Any] = {"num_gpus": wp.num_gpus, "num_cpus": wp.num_cpus, "max_restarts": 2,
                                   "max_concurrency": max(1000, cfg.max_inflight),
                                   "name": f"thinkbench-{rid}-{wp.name}-{session}", "namespace": "thinkbench",
                                   "lifetime": None}
        if wp.bundles:
            pg = placement_group(list(wp.bundles), strategy="STRICT_PACK")
            if not pg.wait(timeout_seconds=120):
                raise UserError(f"no node can host {len(wp.bundles)} GPUs together for tensor parallelism; "
                                "lower tensor_parallel_size or add GPUs")
            groups.append(pg)
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                placement_group=pg, placement_group_capture_child_tasks=True)
        workers.append(actor_cls.options(**options).remote(cfg.engine.model_dump(), cfg.model, cfg.seed, view,
                                                           wp.name, cfg.actor_context()))
        names.append(options["name"])
    return workers, groups, names


def _stop_actors(workers: list, groups: list) -> None:
    from ray.util.placement_group import remove_placement_group  # noqa: PLC0415

    for w in workers:
        try:
            ray.get(w.stop.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - best effort at shutdown; the actor may be dead already
            pass
        ray.kill(w, no_restart=True)
    for pg in groups:
        remove_placement_group(pg)


def _summary(store: Store, rid: str, n: int, resumed_from: int) -> RunSummary:
    done, correct, tokens = store.query(
        "SELECT count(*), coalesce(sum(CASE WHEN correct THEN 1 ELSE 0 END),0), coalesce(sum(generated_tokens),0) "
        "FROM attempts WHERE run_id=?", [rid])[0]
    status = store.run_record(rid)["status"]
    return RunSummary(rid, status, n, done, correct, tokens, resumed_from)

"""The engine actor: owns one engine (one GPU or tensor-parallel group) and runs strategies on it.

It is an async actor, so hundreds of `solve` calls run as coroutines at once and their engine
requests are batched together.

An engine can die while its actor lives on (vLLM's engine core killed or out of memory, a server that stops
answering): the first call to notice (`EngineDead`) has the actor drop the dead engines and start building new
ones at once; every call that was in flight raises `EngineDead` for the driver to retry its problem, and new
calls wait for the new engine. From the second death on, the engine restarts with less in flight
(`EngineSettings.shrunk`), since vLLM does not say why its engine core died and running out of memory is the
commonest cause; after `MAX_ENGINE_RESTARTS` the actor gives up and the driver restarts the actor itself.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import ray

from core.errors import UserError
from core.records import Attempt, Question
from harness.config import VerifierConfig
from harness.engines import ENGINES, Engine, EngineSettings, engine_settings, make_engine
from harness.engines.base import EngineDead, alive
from harness.models import EMBEDDED_ALIASES, EMBEDDED_NAME, ModelRef, parameter_count, resolve_model
from harness.solve import SuiteView, solve
from harness.verifiers import Verifier, make_verifier
from harness.verifiers.spec import ENGINE_OPTIONS, GoldCheck

MAX_ENGINE_RESTARTS = 5  # engine deaths one actor recovers from by itself; past them its restart is Ray's
# Before a rebuild blocks this actor's event loop (vLLM's engine starts synchronously, for a minute on CPU), the calls
# that found the engine dead get this long to send their EngineDead to the driver, which requeues them elsewhere.
RESTART_GRACE_S = 1.0


@dataclass(frozen=True)
class WorkerLane:
    """What solving one run's problems needs besides the engine: a sweep's actors serve several runs, each on a
    lane of its own (suite view, seed, and the verifier and suite of `RunConfig.actor_context()`)."""

    view: SuiteView
    seed: int
    context: dict[str, Any]


class EngineWorker:
    def __init__(self, engine_cfg: dict[str, Any], model_spec: str, seed: int, view: SuiteView, name: str,
                 context: dict[str, Any] | None = None, lanes: dict[str, WorkerLane] | None = None) -> None:
        self.engine_cfg = engine_settings(engine_cfg)
        self.engine_spec = ENGINES.get(self.engine_cfg.kind)
        self.model_spec = model_spec
        self.seed = seed
        self.view = view
        self.name = name
        self.engine: Engine | None = None
        self._starting: asyncio.Future[dict[str, Any]] | None = None
        self.verifier: Verifier | None = None
        self.judge: Engine | None = None  # a judge's own engine, when it has its own model or server
        self.policy_params: int | None = None  # the policy model's parameter count, once built
        self.context = context or {}  # RunConfig.actor_context()
        self.lanes = {"": WorkerLane(view, seed, self.context), **(lanes or {})}
        self._lane_verifiers: dict[str, asyncio.Future[Verifier | None]] = {}  # by verifier settings
        self._gold: dict[str, GoldCheck] = {}  # by suite
        self.model_name = model_spec  # the resolved model's name once built
        self._stage_engines: dict[str, asyncio.Future[Engine]] = {}  # a cascade's served stages, built once
        self._generation = 0  # engines built so far, less one: a call knows which engines it ran on
        self.engine_deaths = 0
        self.restart_seconds: float | None = None  # how long the last engine restart took

    async def start(self) -> dict[str, Any]:
        """Build the engine once, here on the actor's node; concurrent callers share the one build."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._build())
        return await self._starting

    async def _build(self) -> dict[str, Any]:
        # The strategies' answer keys may need a worker pool (sympy); it starts beside the engine, not mid-generation.
        warming = self._warm_lanes()
        # The embedded model is converted per node, once.
        spec = self.model_spec
        model = resolve_model(spec) if self.engine_spec.needs_weights else resolve_model_lazy(spec)
        vcfg = VerifierConfig(**self.context["verifier"]) if self.context.get("verifier") else None
        settings = self.engine_cfg
        if vcfg is not None and vcfg.separate_engine and not vcfg.options.get("base_url"):
            settings = self._policy_cfg(vcfg)  # a judge model beside the policy takes its share of the GPU
        self.engine = engine = make_engine(settings, model, self.seed)
        if hasattr(engine, "check"):  # after a death, a server being restarted is waited for
            await (engine.check(wait=True) if self.engine_deaths else engine.check())
        info = dict(engine.info())
        policy_params = parameter_count(model.path)
        ctx = ray.get_runtime_context()
        info.update({"node_id": ctx.get_node_id(), "accelerator_ids": ctx.get_accelerator_ids().get("GPU", [])})
        info.update({"worker": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                     "model_path": model.path, "policy_params": policy_params})
        self.model_name = model.name
        self.policy_params = policy_params
        if vcfg:
            self.verifier = verifier = await self._make_verifier(vcfg, self.context)
            info["verifier"] = {**verifier.info(), "parameters": verifier.parameters, "oracle": verifier.oracle}
        await warming
        return info

    def _warm_lanes(self) -> asyncio.Future[list[Any]]:
        """Each lane's warm-up, started now in threads (the engine's build then blocks this loop); a failed warm-up
        is left for the first real call to report."""
        loop = asyncio.get_running_loop()
        warm_ups = {lane.view.warm_up for lane in self.lanes.values() if lane.view.warm_up is not None}
        return asyncio.gather(*(loop.run_in_executor(None, w) for w in warm_ups), return_exceptions=True)

    async def _make_verifier(self, vcfg: VerifierConfig, context: dict[str, Any]) -> Verifier:
        """The verifier a lane scores with, on the policy's engine or a judge engine of its own."""
        assert self.engine is not None  # built first
        gold = self._gold_check(context) if vcfg.spec.reads_gold else None
        judge, judge_params, options = self.engine, self.policy_params, dict(vcfg.options)
        if vcfg.separate_engine:
            judge, judge_params = await self._judge_engine(vcfg)
            self.judge = judge
            options = {k: v for k, v in options.items() if k not in ENGINE_OPTIONS}
        return make_verifier(vcfg.kind, vcfg.model, options, judge, gold, judge_params)

    async def _verifier_of(self, lane: WorkerLane) -> Verifier | None:
        """A lane's verifier: the actor's own when its settings match, else built once per settings."""
        settings = lane.context.get("verifier")
        if settings == self.context.get("verifier"):
            return self.verifier
        key = json.dumps(settings, sort_keys=True)
        if key not in self._lane_verifiers:
            self._lane_verifiers[key] = asyncio.ensure_future(self._lane_verifier(settings, lane.context))
        return await self._lane_verifiers[key]

    async def _lane_verifier(self, settings: dict[str, Any] | None, context: dict[str, Any]) -> Verifier | None:
        return await self._make_verifier(VerifierConfig(**settings), context) if settings else None

    def _policy_cfg(self, vcfg: VerifierConfig) -> EngineSettings:
        """The policy's engine settings when a judge model shares its GPU: the judge's memory share comes off."""
        share, mine = vcfg.own_engine_share, self.engine_cfg.memory_share()
        if mine is None:  # an engine that holds no GPU memory
            return self.engine_cfg
        left = mine - share
        if left < 0.1:
            raise UserError(f"{vcfg.kind} takes {share} of GPU memory, leaving the policy {left:.2f}; lower the "
                            "judge's gpu_memory_utilization or serve the judge elsewhere (base_url)")
        return self.engine_cfg.with_memory_share(left)

    async def _judge_engine(self, vcfg: VerifierConfig) -> tuple[Engine, int | None]:
        """The judge's own engine: an OpenAI-compatible server (`base_url`), or its model beside the policy."""
        url = vcfg.options.get("base_url")
        if url:
            cfg = {"kind": "openai", "base_url": url, "served_model": vcfg.model}
            engine = make_engine(cfg, resolve_model_lazy(vcfg.model or ""), self.seed)
            await engine.check()  # type: ignore[attr-defined] # OpenAI engines check their server; not in Engine
            return engine, vcfg.options.get("parameters")
        model = resolve_model(vcfg.model or "")
        return make_engine(self.engine_cfg.with_memory_share(vcfg.own_engine_share), model, self.seed), \
            parameter_count(model.path)

    def _gold_check(self, context: dict[str, Any]) -> GoldCheck:
        """Gold answers for oracle bounds only: the suite is loaded here, never handed to strategies."""
        key = json.dumps([context["suite"], context.get("data_dir"), context.get("limit")])
        if key not in self._gold:
            from suites import load_suite  # noqa: PLC0415 - only oracle bounds load the suite (gold) on an actor

            suite = load_suite(context["suite"], context.get("data_dir"), context.get("limit"))
            problems = {p.id: p for p in suite.problems}
            def gold(question: Question, text: str) -> bool:
                return bool(suite.grade(text, problems[question.id]).correct)

            self._gold[key] = gold
        return self._gold[key]

    async def lane_info(self, lane: str) -> dict[str, Any]:
        """`start()`'s record as one lane's run sees it: that lane's verifier in place of the actor's own."""
        info = dict(await self.start())
        info.pop("verifier", None)
        verifier = await self._verifier_of(self.lanes[lane])
        if verifier is not None:
            info["verifier"] = {**verifier.info(), "parameters": verifier.parameters, "oracle": verifier.oracle}
        return info

    async def ping(self) -> dict[str, Any]:
        """Health check after a failure; a restarted actor (fresh __init__), or one whose engine died, rebuilds its
        engine here."""
        await self.start()
        return {"worker": self.name, "node_id": ray.get_runtime_context().get_node_id(),
                "engine_deaths": self.engine_deaths, "restart_seconds": self.restart_seconds}

    async def solve(self, question: Question, strategy: str, params: dict[str, Any], lane: str = "") -> Attempt:
        await self.start()  # a no-op once built; rebuilds after Ray restarted this actor or an engine died
        assert self.engine is not None  # built by start()
        engine, generation = self.engine, self._generation  # what this call runs on, even if it dies meanwhile
        on = self.lanes[lane]
        verifier = await self._verifier_of(on)
        oracle = None
        if (verifier is not None and verifier.oracle) or params.get("difficulty_from") == "oracle":
            oracle = functools.partial(self._gold_check(on.context), question)
        try:
            attempt = await solve(engine, on.view, question, strategy, params, on.seed, verifier, oracle,
                                  model=self.model_name, engines=self.engine_for)
        except EngineDead:
            self._engine_died(generation)
            raise
        if attempt.error is not None and (generation != self._generation or not self._engines_alive()):
            # an engine died under this call (its error is most likely that) or a strategy swallowed a death
            self._engine_died(generation)
            raise EngineDead(f"an engine died while this problem ran ({attempt.error.splitlines()[0][:300]})")
        return attempt

    def _engines_alive(self) -> bool:
        stages = [f.result() for f in self._stage_engines.values() if f.done() and not f.exception()]
        return all(alive(e) for e in (self.engine, self.judge, *stages) if e is not None)

    def _engine_died(self, generation: int) -> None:
        """The first call of a generation to find its engine dead drops the dead engines and starts building new
        ones (a dead stage server alone is rebuilt when next asked for); later calls of that generation find it
        done."""
        if generation != self._generation:
            return
        self._generation += 1
        dead_stages = [k for k, f in self._stage_engines.items()
                       if f.done() and (f.exception() is not None or not alive(f.result()))]
        for key in dead_stages:
            self._stage_engines.pop(key)
        if dead_stages and all(alive(e) for e in (self.engine, self.judge) if e is not None):
            return
        self.engine_deaths += 1
        old = [e for e in (self.engine, self.judge) if e is not None]
        self.engine, self.judge, self.verifier, self._lane_verifiers = None, None, None, {}
        if self.engine_deaths >= 2:  # dying again: most often out of memory, so less in flight
            self.engine_cfg = self.engine_cfg.shrunk()
        self._starting = asyncio.ensure_future(self._rebuild(old))

    async def _rebuild(self, old: list[Engine]) -> dict[str, Any]:
        """Free the dead engines (a GPU's memory first of all), then build anew; past `MAX_ENGINE_RESTARTS` fail,
        so that the driver restarts the whole actor."""
        t0 = time.perf_counter()
        await asyncio.sleep(RESTART_GRACE_S)
        for engine in old:
            try:
                await engine.close()
            except Exception:  # noqa: BLE001 - closing a dead engine may fail; what it held is gone either way
                pass
        if self.engine_deaths > MAX_ENGINE_RESTARTS:
            raise RuntimeError(f"engine died {self.engine_deaths} times in worker {self.name}; not restarting it again")
        info = await self._build()
        self.restart_seconds = time.perf_counter() - t0
        return {**info, "engine_deaths": self.engine_deaths}

    async def engine_for(self, settings: dict[str, Any]) -> Engine:
        """An engine besides the policy's (a cascade stage's server), built and checked once per settings."""
        key = json.dumps(settings, sort_keys=True)
        if key not in self._stage_engines:
            self._stage_engines[key] = asyncio.ensure_future(self._build_stage_engine(settings))
        return await self._stage_engines[key]

    async def _build_stage_engine(self, settings: dict[str, Any]) -> Engine:
        engine = make_engine(settings, resolve_model_lazy(str(settings.get("served_model") or "")), self.seed)
        if hasattr(engine, "check"):
            await engine.check()
        return engine

    async def stop(self) -> None:
        stages = [f.result() for f in self._stage_engines.values() if f.done() and not f.exception()]
        for engine in (self.engine, self.judge, *stages):
            if engine is not None:
                await engine.close()


def resolve_model_lazy(spec: str) -> ModelRef:
    """For API engines the model is a served name, not weights to load here."""

    name = EMBEDDED_NAME if not spec or spec in EMBEDDED_ALIASES else spec
    return ModelRef(name=name, path=name)

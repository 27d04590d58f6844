"""The driver's loop: one queue of problems, engine actors pulling from it, graders, batched commits.

A queue item belongs to a `Lane`: one run's strategy, grader, pricing, caps and progress. A single run is one
lane; a sweep drives many runs' lanes through the same actors, so one engine serves every configuration.

Problems go to whichever healthy actor has room (dynamic assignment). An actor that dies fails its
in-flight calls with `RayActorError`: those problems go back to the queue (bounded retries, then a
failed attempt is stored with the error), the actor is pinged until Ray has restarted it (on this
node or another), and the failure is recorded as a run event. An engine that dies inside a live actor
(`EngineDead`) is the same kind of failure: the actor is already building a new engine, its problems go back
to the queue within the same retry budget, and a ping says when it takes work again; if it cannot rebuild, the
actor itself is restarted (Ray's restart and placement). Graders run as stateless CPU tasks,
one per dispatch round, so Ray's per-task overhead is paid per batch, not per problem.

With a cost cap (`Budget`), a problem is dispatched only while the spend so far plus the mean spend per problem
for each one in flight (the new one included) stays within the cap; before any problem has finished, only a
small first wave goes out. Once a dispatch is refused the queue is dropped for good: in-flight problems finish
and are stored, the rest wait for a rerun with a higher cap.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import ray

from core.records import Attempt, Ledger, Problem
from harness.compute import Costing
from harness.engines.base import EngineDead
from harness.grading import GradedRows, Grader, grade_attempt
from harness.progress import Progress
from harness.store import Store

MAX_PROBLEM_RETRIES = 2
GRADE_CHUNK = 4  # attempts per grading task at least, when a round is split over several
FIRST_WAVE_PER_WORKER = 2  # problems per actor dispatched under a cost cap before any spend is known


@dataclass
class Budget:
    """A run's cost caps and its spend so far (earlier sessions' stored attempts included)."""

    max_dollars: float | None = None
    max_tokens: int | None = None  # prompt + generated + verifier tokens
    problems: int = 0  # finished problems the mean spend per problem is taken over (failed ones left out)
    dollars: float = 0.0
    tokens: int = 0
    unpriced: bool = False  # an attempt came back without dollars under a dollars cap: nothing more can be judged
    hit: str | None = None  # "dollars" | "tokens": the cap that refused a dispatch

    def add(self, row: dict[str, Any]) -> None:
        """Count one graded attempt row: its spend always; as a problem of the mean only if it did not fail."""
        if row.get("error") is None:
            self.problems += 1
        self.tokens += sum(int(row.get(k) or 0) for k in ("prompt_tokens", "generated_tokens", "verifier_tokens"))
        if row.get("dollars") is not None:
            self.dollars += float(row["dollars"])
        elif self.max_dollars is not None:
            self.unpriced = True

    def verdict(self, inflight: int, first_wave: int) -> str:
        """Whether one more problem may start beside `inflight` others (finished but ungraded ones included):
        go; wait (the first wave is out and no spend is known yet); or stop (it would pass a cap)."""
        if self.unpriced:
            return "stop"
        if self.problems == 0:
            return "go" if inflight < first_wave else "wait"
        for name, spent, cap in (("dollars", self.dollars, self.max_dollars), ("tokens", self.tokens, self.max_tokens)):
            if cap is not None and spent + (inflight + 1) * spent / self.problems > cap:
                self.hit = name
                return "stop"
        return "go"


@ray.remote(num_cpus=1)
def grade_batch(grader: Grader, run_id: str, items: list[tuple[Problem, int, Attempt, str]],
                costing: Costing) -> list[GradedRows]:
    return [grade_attempt(grader, run_id, problem, index, attempt, worker, costing)
            for problem, index, attempt, worker in items]


@ray.remote(num_cpus=1)
def warm_grader(grader: Grader) -> None:
    """Start a grading worker's pools (sympy imports) while the engines load: paid later, mid-generation, they took
    the model's cores (measured on 2 CPUs, see bench/engine_overhead.py)."""
    if grader.warm_up is not None:
        grader.warm_up()


def warm_graders(graders: list[tuple[Any, int]], workers: int) -> list[Any]:
    """One warm-up task per grading worker Ray will likely run at once for each (grader, problems to grade): its CPU
    slots, at most `workers`, and no more than the problems fill at GRADE_CHUNK attempts a task. A small run (a CI
    check of a few problems) warms one worker, a complete one none: each warm-up is a worker process start and
    about a CPU-second that only pays for itself when grading would have paid it."""
    slots = max(1, min(workers, int(ray.available_resources().get("CPU", 1))))
    return [warm_grader.remote(g) for g, todo in graders for _ in range(min(slots, -(-todo // GRADE_CHUNK)))]


@dataclass
class Lane:
    """One run's share of a dispatch: how its problems are solved (on the actor's lane `key`), graded, priced
    and capped, and the figures its session record needs."""

    run_id: str
    strategy: str
    params: dict[str, Any]
    grader_ref: Any
    costing: Costing
    key: str = ""  # the actor-side lane: suite view, seed and verifier its problems are solved with
    budget: Budget | None = None  # cost caps; None: no cap
    capped: bool = False  # dispatch stopped at a cap (or on an unpriced attempt) with problems left undispatched
    todo: int = 0  # problems this session has to do
    done: int = 0  # graded this session
    pending: int = 0  # dispatched and not yet graded
    generated_tokens: int = 0


Item = tuple[Lane, int, Problem]
GradeItem = tuple[Problem, int, Attempt, str]  # problem, its index in the suite, the attempt, the worker that ran it


@dataclass
class WorkerState:
    name: str
    handle: Any
    status: str = "ok"  # ok | suspect (pinging) | dead
    load: int = 0
    problems: int = 0
    generated_tokens: int = 0
    busy_seconds: float = 0.0
    failures: int = 0
    recoveries: int = 0
    incident: str = ""  # what the pings of a suspect actor wait out: "actor" (Ray restarts it) or "engine" (it does)

    def stats(self) -> dict[str, Any]:
        return {"worker": self.name, "status": self.status, "problems": self.problems,
                "generated_tokens": self.generated_tokens, "busy_seconds": round(self.busy_seconds, 3),
                "failures": self.failures, "recoveries": self.recoveries}


@dataclass
class _Batch:
    """Graded rows waiting for the next commit (one transaction)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def add(self, graded: GradedRows) -> None:
        row, samples, disagreements, calls = graded
        self.rows.append(row)
        self.samples.extend(samples)
        self.disagreements.extend(disagreements)
        self.calls.extend(calls)


@dataclass
class Dispatcher:
    workers: list[WorkerState]
    store: Store
    progress: Progress
    lanes: list[Lane]
    inflight_per_worker: int
    commit_every: int = 16
    commit_seconds: float = 5.0
    grading_slots: int = 1  # grading tasks one round may fan out to (the cluster's CPUs)
    # While problems are still generating, finished attempts wait up to this long before grading (0: grade at once).
    # For engines on CPU, whose model holds every core: grading beside it slows the model by more than the grading
    # costs (each preempted OpenMP thread stalls the others), so it waits for the end, or this bound.
    hold_grading_s: float = 0.0
    driver_cpu_seconds: float = 0.0
    _events: list[dict[str, Any]] = field(default_factory=list)
    _queue: deque[Item] = field(default_factory=deque)
    _retries: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, problem) -> retries
    _inflight: dict[Any, tuple[WorkerState, Lane, int, Problem]] = field(default_factory=dict)  # solve ref -> what
    _pings: dict[Any, WorkerState] = field(default_factory=dict)  # health checks of suspect actors
    _grading: dict[Any, Lane] = field(default_factory=dict)  # grading task -> the lane whose attempts it grades
    _ungraded: dict[int, list[GradeItem]] = field(default_factory=dict)  # lane index -> attempts waiting for a slot
    _ungraded_since: float = 0.0  # when the oldest of them finished
    _batch: "_Batch" = field(default_factory=lambda: _Batch())
    _last_commit: float = field(default_factory=time.monotonic)

    @property
    def capped(self) -> bool:
        return any(lane.capped for lane in self.lanes)

    def event(self, worker: str | None, kind: str, problem_id: str | None = None, detail: str = "",
              lane: Lane | None = None) -> None:
        """Recorded on `lane`'s run; an event of a worker (no lane) on every run it serves."""
        at = datetime.now(timezone.utc).replace(tzinfo=None)
        for run_id in [lane.run_id] if lane is not None else [x.run_id for x in self.lanes]:
            self._events.append({"run_id": run_id, "occurred_at": at, "worker": worker, "kind": kind,
                                 "problem_id": problem_id, "detail": detail[:2000]})

    def run(self, todo: list[Item]) -> None:
        """Drive every problem through the actors until each is graded and committed (or failed for good)."""
        cpu0 = time.process_time()
        self._queue, self._last_commit = deque(todo), time.monotonic()
        while self._queue or self._inflight or self._grading or self._ungraded or (self._pings and self._queue):
            if not any(w.status != "dead" for w in self.workers) and (self._queue or self._inflight):
                raise RuntimeError("every engine worker died; see `thinkbench show` for the recorded failures")
            self._assign()
            ready = self._wait()
            self.progress.render()
            for ref in ready:
                if ref in self._grading:
                    self._on_graded(ref)
                elif ref in self._pings:
                    self._on_ping(ref)
                else:
                    self._on_attempt(ref)
            self._grade()
            if self._batch.rows and (len(self._batch.rows) >= self.commit_every
                                     or time.monotonic() - self._last_commit > self.commit_seconds):
                self._commit()
        self._commit()
        self.driver_cpu_seconds = time.process_time() - cpu0

    def _grade(self) -> None:
        """Send the finished attempts to grading once a grading slot is free: each lane's in one task, or split over
        every slot when there are many. While the model holds the cores (a CPU engine; graders run at Ray's nice 15)
        grading waits, so attempts gather here rather than in a queue of one-attempt tasks, and the burst that ends
        a run is graded on every core at once (bench/engine_overhead.py: the run's tail after its last token)."""
        if not self._ungraded or len(self._grading) >= self.grading_slots:
            return
        # Held only while the engines have problems in flight: an idle engine (the end, or dispatch waiting on a cost
        # cap's first wave to be graded) gets its attempts graded at once.
        if self._inflight and self.hold_grading_s and time.monotonic() - self._ungraded_since < self.hold_grading_s:
            return
        for i, items in self._ungraded.items():
            lane = self.lanes[i]
            for part in split(items, self.grading_slots):
                self._grading[grade_batch.remote(lane.grader_ref, lane.run_id, part, lane.costing)] = lane
        self._ungraded = {}

    def _assign(self) -> None:
        """Least-loaded healthy actor first, so a short queue is spread over all of them."""
        while self._queue:
            w = min((w for w in self.workers if w.status == "ok"), key=lambda w: w.load, default=None)
            if w is None or w.load >= self.inflight_per_worker:
                return
            item = self._next_item()
            if item is None:
                return
            lane, index, problem = item
            ref = w.handle.solve.remote(problem.question(), lane.strategy, lane.params, lane.key)
            self._inflight[ref] = (w, lane, index, problem)
            w.load += 1
            lane.pending += 1

    def _next_item(self) -> Item | None:
        """The first queued problem its run's caps let go now (a capped run's problems leave the queue)."""
        for pos, item in enumerate(self._queue):
            verdict = self._verdict(item[0])
            if verdict == "go":
                del self._queue[pos]
                return item
            if verdict == "stop":  # left for a rerun with a higher cap; problems requeued later are dropped too
                self._queue = deque(x for x in self._queue if x[0] is not item[0])
                return self._next_item()
        return None

    def _verdict(self, lane: Lane) -> str:
        """go / wait / stop for one more problem of `lane` under its caps; once they refuse, for good."""
        if lane.budget is None:
            return "go"
        first_wave = FIRST_WAVE_PER_WORKER * len(self.workers)
        verdict = "stop" if lane.capped else lane.budget.verdict(lane.pending, first_wave)
        lane.capped = lane.capped or verdict == "stop"
        return verdict

    def _wait(self) -> list[Any]:
        """Whatever is ready within a second: at least one reference, plus all others already done."""
        waiting = list(self._inflight) + list(self._grading) + list(self._pings)
        ready, rest = ray.wait(waiting, num_returns=1, timeout=1.0)
        if rest:  # everything else already done, without waiting again
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        return list(ready)

    def _on_graded(self, ref: Any) -> None:
        lane = self._grading.pop(ref)
        for graded in ray.get(ref):
            self._batch.add(graded)
            self.progress.awaiting(-1)
            row = graded[0]
            lane.pending -= 1
            lane.done += 1
            lane.generated_tokens += int(row["generated_tokens"] or 0)
            if lane.budget is not None:
                lane.budget.add(row)
            self.progress.update(bool(row["correct"]), int(row["generated_tokens"] or 0), row["error"] is not None,
                                 row["error"])

    def _on_ping(self, ref: Any) -> None:
        w = self._pings.pop(ref)
        try:
            info = ray.get(ref)
        except ray.exceptions.RayError as e:
            if w.incident == "engine" and not isinstance(e, ray.exceptions.RayActorError):
                # The actor lives but cannot build a new engine: have Ray restart the whole actor (a fresh process,
                # placed anew), and wait for that as for any actor failure.
                w.incident = "actor"
                self.event(w.name, "actor_restart", detail=f"engine restart failed: {_cause(e)}")
                ray.kill(w.handle, no_restart=False)
                self._pings[w.handle.ping.options(max_task_retries=10).remote()] = w
                return
            w.status = "dead"
            self.event(w.name, "worker_dead", detail=_cause(e))
            return
        w.status, w.recoveries = "ok", w.recoveries + 1
        if w.incident == "engine":
            self.event(w.name, "engine_restarted", detail=f"new engine up in {info.get('restart_seconds') or 0:.1f} s "
                                                          f"(engine deaths so far: {info.get('engine_deaths')})")
        else:
            self.event(w.name, "worker_recovered")
        w.incident = ""

    def _on_attempt(self, ref: Any) -> None:
        w, lane, index, problem = self._inflight.pop(ref)
        w.load -= 1
        try:
            attempt: Attempt = ray.get(ref)
        except ray.exceptions.RayActorError as e:
            failed = self._on_actor_error(w, lane, index, problem, e)
            if failed is None:
                return
            attempt = failed
        except EngineDead as e:  # raised in the actor; Ray's error is a subclass of it
            failed = self._on_engine_dead(w, lane, index, problem, getattr(e, "cause", e))
            if failed is None:
                return
            attempt = failed
        w.problems += 1
        w.generated_tokens += attempt.ledger.generated_tokens
        w.busy_seconds += attempt.ledger.wall_seconds
        if not self._ungraded:
            self._ungraded_since = time.monotonic()
        self._ungraded.setdefault(self.lanes.index(lane), []).append((problem, index, attempt, w.name))
        self.progress.awaiting(1)

    def _on_actor_error(self, w: WorkerState, lane: Lane, index: int, problem: Problem,
                        e: Exception) -> Attempt | None:
        """Requeue the problem (bounded retries) and ping the actor; past the retries, a failed attempt."""
        w.failures += 1
        self.event(w.name, "actor_error", problem.id, _cause(e), lane)
        if w.status == "ok":
            w.status, w.incident = "suspect", "actor"
            # Retried across Ray's restart of the actor; fails only once it is dead for good.
            self._pings[w.handle.ping.options(max_task_retries=10).remote()] = w
        return self._retry(w, lane, index, problem, f"worker died ({_cause(e)})")

    def _on_engine_dead(self, w: WorkerState, lane: Lane, index: int, problem: Problem,
                        e: BaseException) -> Attempt | None:
        """The actor lives but its engine died (and it is building a new one): the first problem to say so records
        the death and pings the actor for the new engine; every one of them is requeued within its retries."""
        w.failures += 1
        if w.status == "ok":
            w.status, w.incident = "suspect", "engine"
            self.event(w.name, "engine_dead", problem.id, _cause(e), lane)
            self._pings[w.handle.ping.options(max_task_retries=10).remote()] = w  # survives the actor dying too
        return self._retry(w, lane, index, problem, f"engine died ({_cause(e)})")

    def _retry(self, w: WorkerState, lane: Lane, index: int, problem: Problem, why: str) -> Attempt | None:
        """Back to the queue while the problem has retries left; then a failed attempt that says why."""
        key = (lane.run_id, problem.id)
        self._retries[key] = self._retries.get(key, 0) + 1
        if self._retries[key] <= MAX_PROBLEM_RETRIES:
            lane.pending -= 1
            self._queue.append((lane, index, problem))
            return None
        self.event(w.name, "problem_failed", problem.id, f"{why}; retries exhausted", lane)
        return Attempt(problem.id, None, None, [], Ledger(),
                       error=f"{why} on each of {MAX_PROBLEM_RETRIES + 1} tries; rerun to retry it"[:2000])

    def _commit(self) -> None:
        b = self._batch
        self.store.commit(b.rows, b.samples, b.disagreements, self._events, b.calls)
        self._batch, self._events, self._last_commit = _Batch(), [], time.monotonic()

    def flush_events(self) -> None:
        if self._events:
            self.store.add_events(self._events)
            self._events = []


def split(items: list[Any], slots: int, least: int = GRADE_CHUNK) -> list[list[Any]]:
    """A round's attempts in up to `slots` even parts of at least `least` each: a burst of finished problems (the
    end of a run, where every sequence of one decoding wave finishes together) is graded on every core at once, while
    a trickle stays one task per round (Ray's per-task cost paid per batch)."""
    parts = max(1, min(slots, len(items) // max(1, least)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (1 if k < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def _cause(e: BaseException) -> str:
    """`Type: first line` of an error (Ray's wrappers name the actor's own exception type)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:500]

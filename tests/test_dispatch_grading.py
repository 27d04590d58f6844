"""When finished attempts go to grading (split over the cluster's CPUs in a burst, held while a CPU engine generates),
and how an attempt is graded (each distinct text once).

Logic only (the grading task's `.remote` is recorded, not run). The split runs in every e2e test; the hold only where
the model's threads take every CPU (`cpu_threads: all`, bench/engine_overhead.py), which the tests' engines, one core
per xdist worker, do not.
"""

from __future__ import annotations

import io
import os
import time

import pytest

import harness.dispatch as dispatch
from core.grade import Grade
from core.records import Attempt, Ledger, Problem, Sample
from harness.compute import Costing
from harness.dispatch import Dispatcher, Lane, split
from harness.engines.vllm_engine import cpu_threads
from harness.grading import FINAL, Grader, grade_attempt
from harness.progress import Progress


@pytest.mark.parametrize(("n", "slots", "sizes"), [
    (1, 2, [1]), (7, 2, [7]), (8, 2, [4, 4]), (9, 2, [5, 4]), (26, 2, [13, 13]),
    (26, 8, [5, 5, 4, 4, 4, 4]), (100, 1, [100]),
])
def test_split_keeps_every_item_once_in_even_parts(n, slots, sizes):
    parts = split(list(range(n)), slots)
    assert [len(p) for p in parts] == sizes
    assert [x for p in parts for x in p] == list(range(n))


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def remote(self, grader, run_id, items, costing):
        self.sent.append(len(items))
        return object()


@pytest.fixture
def graded(monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(dispatch, "grade_batch", rec)
    return rec


def _dispatcher(hold: float, slots: int = 2) -> Dispatcher:
    lane = Lane("r", "self_consistency", {}, grader_ref=None, costing=None)  # type: ignore[arg-type]
    d = Dispatcher(workers=[], store=None, progress=Progress(10, "t", stream=io.StringIO()),  # type: ignore[arg-type]
                   lanes=[lane], inflight_per_worker=4, grading_slots=slots, hold_grading_s=hold)
    d._ungraded = {0: [("p", i, "attempt", "w0") for i in range(10)]}
    d._ungraded_since = time.monotonic()
    return d


def test_held_while_problems_are_in_flight_then_sent_split(graded):
    d = _dispatcher(hold=30.0)
    d._inflight = {"ref": None}
    d._grade()
    assert graded.sent == [] and len(d._ungraded[0]) == 10  # the model is generating: wait
    d._ungraded_since -= 31.0
    d._grade()
    assert graded.sent == [5, 5] and not d._ungraded  # waited its bound: both slots at once


def test_sent_at_once_when_nothing_is_in_flight_or_nothing_holds(graded):
    d = _dispatcher(hold=30.0)
    d._grade()  # the engine is idle (the end, or a cost cap waiting on these grades)
    assert graded.sent == [5, 5]
    d = _dispatcher(hold=0.0)
    d._inflight = {"ref": None}
    d._grade()  # GPU or API engines: graded beside generation
    assert graded.sent == [5, 5, 5, 5]


def test_waits_for_a_free_grading_slot(graded):
    d = _dispatcher(hold=0.0, slots=1)
    d._grading = {"busy": None}
    d._grade()
    assert graded.sent == [] and len(d._ungraded[0]) == 10
    d._grading = {}
    d._grade()
    assert graded.sent == [10]


def test_cpu_threads_says_whether_the_model_holds_every_cpu():
    mine = sorted(os.sched_getaffinity(0))
    every = ",".join(map(str, mine))
    assert cpu_threads("auto") == "auto"
    assert cpu_threads(every) == "all" and cpu_threads(f"{mine[0]}-{mine[-1]}") == "all"
    assert cpu_threads("|".join(map(str, mine))) == "all"  # one rank per CPU
    if len(mine) > 1:
        assert cpu_threads(str(mine[0])) == "some"
    assert cpu_threads("0-x,,nodes") == "some" and cpu_threads("") == "some"  # a malformed binding never raises


def test_each_distinct_text_of_an_attempt_is_graded_once_with_every_disagreement_kept():
    """A vote's winner is one of its samples and small models repeat themselves: one grade per distinct text, but a
    disagreement row for every sample (and the final) whose text the second grader disputes."""
    calls: list[str] = []

    def grade(text, problem):
        calls.append(text)
        return Grade.ok("4", "equal", "1") if "4" in text else Grade.wrong("5", "differs", "1")

    def second(text, problem):
        calls.append("second:" + text)
        return "four" in text  # disputes every "4" that is not also spelled out

    texts = ["so 4", "so 4", "it is 5", "so 4", "it is four 4"]
    samples = [Sample(i, t, "stop", 10, 3) for i, t in enumerate(texts)]
    attempt = Attempt("p1", "so 4", "4", samples, Ledger())
    row, rows, disagreements, _ = grade_attempt(Grader(grade, str, second), "r", Problem("p1", {}, "4"), 0, attempt,
                                                "w0", Costing())
    assert sorted(calls) == sorted([*set(texts), *("second:" + t for t in set(texts))])
    assert [r["correct"] for r in rows] == [True, True, False, True, True] and row["correct"] is True
    assert sorted(d["sample_idx"] for d in disagreements) == [FINAL, 0, 1, 3]  # each "so 4", the final among them


@pytest.mark.parametrize(("todo", "cpus", "warmed"), [(3, 2, 1), (5, 2, 2), (40, 8, 4), (40, 2, 2), (0, 2, 0)])
def test_graders_warmed_are_as_many_as_the_problems_can_keep_busy(monkeypatch, todo, cpus, warmed):
    """A few problems' grades fit one grading task, so only one worker is warmed (a process start and a CPU-second
    each); a finished run warms none."""
    sent: list[str] = []

    class _Warm:
        def remote(self, grader):
            sent.append(grader)

    monkeypatch.setattr(dispatch, "warm_grader", _Warm())
    monkeypatch.setattr(dispatch.ray, "available_resources", lambda: {"CPU": float(cpus)})
    dispatch.warm_graders([("g", todo)], workers=4)
    assert sent == ["g"] * warmed

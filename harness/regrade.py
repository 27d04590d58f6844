"""Re-grading a stored run with the current grader: grading after the fact, beside `grading.py`.

Stored responses are re-read and graded again; nothing is regenerated. Each stored grade carries
the grader version that produced it, and the new grades, the second-opinion disagreements of this
version and the run's manifest are written in one transaction (`Store.apply_regrade`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from core.errors import UserError
from core.grade import Grade
from core.records import Problem
from harness import queries
from harness.grading import FINAL, Grader
from harness.store import Store
from suites import load_suite


@dataclass(frozen=True)
class RegradeSummary:
    """What a re-grading changed: counts of re-graded rows, flipped verdicts and the accuracy before and after."""

    run_id: str
    grader_version: str
    samples: int
    samples_changed: int
    finals: int
    finals_changed: int
    correct_before: int
    correct_after: int
    disagreements: int

    @property
    def accuracy_before(self) -> float:
        """Final-answer accuracy under the stored grades (0 for a run with no finished attempt)."""
        return self.correct_before / (self.finals or 1)

    @property
    def accuracy_after(self) -> float:
        """Final-answer accuracy under the current grader."""
        return self.correct_after / (self.finals or 1)


def regrade(store: Store, run: str, data_dir: str | None = None, force: bool = False) -> RegradeSummary:
    """Grade every stored sample and final answer of a run again with the suite's current grader.

    The suite is loaded as the run loaded it (its stored data_dir and limit unless data_dir is given),
    so each stored problem id finds its gold answer; a run still marked running is refused unless
    forced, since its driver may be writing grades at the same time.
    """
    rid = store.resolve_run(run)
    rec = store.run_record(rid)
    if rec["status"] == "running" and not force:
        raise UserError(f"run {rid} is marked running; wait for it to end, or pass --force if it was killed")
    cfg = rec["config"]
    suite = load_suite(rec["suite"], data_dir or cfg.get("data_dir"), cfg.get("limit"))
    problems = {p.id: p for p in suite.problems}
    samples = store.query(queries.RUN_SAMPLE_TEXTS, [rid])
    finals = store.query(queries.RUN_FINAL_TEXTS, [rid])
    missing = {pid for pid, *_ in samples if pid not in problems} | {pid for pid, *_ in finals if pid not in problems}
    if missing:
        raise UserError(f"{len(missing)} stored problems are not in suite {rec['suite']} any more; "
                        "check --data-dir points at the data the run used")
    disagreements: list[dict[str, Any]] = []
    s_grades, f_grades = _grade_all(Grader.of(suite), rid, problems, samples, finals, disagreements)
    version = suite.grader_version
    store.apply_regrade(rid, version,
                        [(pid, idx, g) for (pid, idx, _, _), g in zip(samples, s_grades) if g],
                        [(pid, g) for (pid, _, _), g in zip(finals, f_grades) if g], disagreements)
    return RegradeSummary(
        run_id=rid, grader_version=version, samples=len(samples),
        samples_changed=sum(1 for (_, _, _, old), g in zip(samples, s_grades) if g and bool(old) != g.correct),
        finals=len(finals),
        finals_changed=sum(1 for (_, _, old), g in zip(finals, f_grades) if g and bool(old) != g.correct),
        correct_before=sum(bool(c) for *_, c in finals), correct_after=sum(g.correct for g in f_grades if g),
        disagreements=len(disagreements),
    )


def _grade_all(grader: Grader, rid: str, problems: dict[str, Problem], samples: list[tuple], finals: list[tuple],
               disagreements: list[dict[str, Any]]) -> tuple[list[Grade | None], list[Grade | None]]:
    """Grades of the stored samples and final answers, in their order (None where no text was stored).

    Threads, because graders with a sandbox or a timeout spend their time waiting, not computing.
    """
    def judge(item: tuple[str, int, str | None]) -> Grade | None:
        pid, idx, text = item
        if text is None:
            return None
        return grader.judge(rid, problems[pid], idx, text, disagreements)

    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        s_grades = list(pool.map(judge, [(pid, idx, text) for pid, idx, text, _ in samples]))
        f_grades = list(pool.map(judge, [(pid, FINAL, text) for pid, text, _ in finals]))
    return s_grades, f_grades

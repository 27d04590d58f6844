"""`thinkbench regrade RUN` and `thinkbench grader-disagreements RUN`: grading after the fact.

Regrading re-reads stored responses and grades them with the current grader version; nothing is
regenerated. Each stored grade carries the version that produced it.
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from core.errors import UserError


def register(sub) -> dict[str, Callable[[argparse.Namespace], int]]:  # type: ignore[no-untyped-def]
    rg = sub.add_parser("regrade", help="re-grade a stored run with the current grader (no regeneration)")
    rg.add_argument("run")
    rg.add_argument("--db")
    rg.add_argument("--data-dir")
    rg.add_argument("--force", action="store_true", help="regrade even if the run is marked running")
    dis = sub.add_parser("grader-disagreements", help="responses where the second-opinion grader disagrees")
    dis.add_argument("run")
    dis.add_argument("--db")
    dis.add_argument("--limit", type=int, default=50)
    return {"regrade": cmd_regrade, "grader-disagreements": cmd_disagreements}


def cmd_regrade(a: argparse.Namespace) -> int:
    from harness.grading import FINAL, Grader  # noqa: PLC0415
    from harness.store import Store  # noqa: PLC0415
    from suites import load_suite  # noqa: PLC0415

    store = Store(a.db)
    rid = store.resolve_run(a.run)
    rec = store.run_record(rid)
    if rec["status"] == "running" and not a.force:
        raise UserError(f"run {rid} is marked running; wait for it to end, or pass --force if it was killed")
    cfg = rec["config"]
    suite = load_suite(rec["suite"], a.data_dir or cfg.get("data_dir"), cfg.get("limit"))
    problems = {p.id: p for p in suite.problems}
    grader = Grader.of(suite)
    samples = store.query("SELECT problem_id, sample_idx, text, correct FROM samples WHERE run_id=?", [rid])
    finals = store.query("SELECT problem_id, final_text, correct FROM attempts WHERE run_id=? AND error IS NULL", [rid])
    missing = {pid for pid, *_ in samples if pid not in problems} | {pid for pid, *_ in finals if pid not in problems}
    if missing:
        raise UserError(f"{len(missing)} stored problems are not in suite {rec['suite']} any more; "
                        "check --data-dir points at the data the run used")
    disagreements: list[dict[str, Any]] = []

    def judge(item: tuple[str, int, str | None]):  # type: ignore[no-untyped-def]
        pid, idx, text = item
        if text is None:
            return None
        return grader.judge(rid, problems[pid], idx, text, disagreements)

    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        s_grades = list(pool.map(judge, [(pid, idx, text) for pid, idx, text, _ in samples]))
        f_grades = list(pool.map(judge, [(pid, FINAL, text) for pid, text, _ in finals]))
    changed = sum(1 for (_, _, _, old), g in zip(samples, s_grades) if g and bool(old) != g.correct)
    f_changed = sum(1 for (_, _, old), g in zip(finals, f_grades) if g and bool(old) != g.correct)
    before = sum(bool(c) for *_, c in finals)
    after = sum(g.correct for g in f_grades if g)
    version = suite.grader_version
    with store.connect() as con:
        con.execute("BEGIN TRANSACTION")
        con.executemany("UPDATE samples SET correct=?, grade_status=? WHERE run_id=? AND problem_id=? AND sample_idx=?",
                        [[g.correct, g.status, rid, pid, idx] for (pid, idx, _, _), g in zip(samples, s_grades) if g])
        con.executemany("UPDATE attempts SET correct=?, grade_status=?, grade_reason=?, grader_version=? "
                        "WHERE run_id=? AND problem_id=?",
                        [[g.correct, g.status, g.reason, g.grader_version, rid, pid]
                         for (pid, _, _), g in zip(finals, f_grades) if g])
        con.execute("DELETE FROM grader_disagreements WHERE run_id=? AND grader_version=?", [rid, version])
        from harness.store import DISAGREEMENT_COLS  # noqa: PLC0415

        if disagreements:
            con.executemany(f"INSERT INTO grader_disagreements ({','.join(DISAGREEMENT_COLS)}) VALUES "
                            f"({','.join('?' * len(DISAGREEMENT_COLS))}) ON CONFLICT DO NOTHING",
                            [[d.get(c) for c in DISAGREEMENT_COLS] for d in disagreements])
        con.execute("COMMIT")
    store.update_manifest(rid, {"grader_version": version})
    n = len(finals) or 1
    print(f"regraded run {rid} with {version}: {len(samples)} samples ({changed} changed), {len(finals)} final answers "
          f"({f_changed} changed); accuracy {before / n:.3f} -> {after / n:.3f}; {len(disagreements)} disagreements "
          "with the second-opinion grader")
    return 0


def cmd_disagreements(a: argparse.Namespace) -> int:
    from harness.store import Store  # noqa: PLC0415

    store = Store(a.db, read_only=True)
    rid = store.resolve_run(a.run)
    rows = store.query(
        "SELECT problem_id, sample_idx, gold, extracted, ours, theirs, ours_reason, grader_version, response "
        "FROM grader_disagreements WHERE run_id=? ORDER BY problem_id, sample_idx LIMIT ?", [rid, a.limit])
    total = store.query("SELECT count(*) FROM grader_disagreements WHERE run_id=?", [rid])[0][0]
    print(f"run {rid}: {total} disagreement(s) between our grader and math-verify"
          + (f" (showing {len(rows)})" if total > len(rows) else ""))
    for pid, idx, gold, extracted, ours, theirs, reason, version, response in rows:
        which = "final" if idx == -1 else f"sample {idx}"
        tail = " ".join((response or "").split())[-80:]
        print(f"- {pid} [{which}] gold={gold!r} extracted={extracted!r} ours={'correct' if ours else 'wrong'} "
              f"({reason}; {version}) math-verify={'correct' if theirs else 'wrong'} | ...{tail}")
    return 0

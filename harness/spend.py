"""What a run spent, per model, and how a cascade split its problems between tiers: lines for `thinkbench show`."""

from __future__ import annotations

from harness import queries
from harness.store import Store


def model_lines(store: Store, run_id: str) -> list[str]:
    """One line per model a run called (a cascade calls several): calls, tokens, dollars."""
    if "calls" not in store.tables():
        return []
    rows = store.query(queries.RUN_MODEL_SPEND, [run_id])
    out = []
    for model, calls, prompt, generated, reasoning, dollars, priced in rows:
        cost = f"${dollars:.6g}" if priced == calls and dollars is not None else "unpriced"
        hidden = f" ({reasoning} reasoning)" if reasoning else ""
        out.append(f"model {model}: {calls} calls, {prompt} prompt + {generated}{hidden} generated tokens, {cost}")
    return out


def cascade_lines(store: Store, run_id: str) -> list[str]:
    """For a cascade run: the escalation rate and each answering stage's accuracy and mean dollars per problem."""
    if "dollars" not in store.columns("attempts"):  # a store from before cascades (and dollars): none to show
        return []
    rows = [r for r in store.query(queries.RUN_CASCADE_OUTCOMES, [run_id]) if r[0] is not None]
    if not rows:
        return []
    total = sum(n for _, n, _, _ in rows)
    escalated = sum(n for stage, n, _, _ in rows if stage > 0)
    parts = [f"stage {stage}: {n} problems, accuracy {acc:.3f}"
             + (f", ${d:.3g}/problem" if d is not None else "") for stage, n, acc, d in rows]
    return [f"cascade: escalated {escalated}/{total} ({escalated / total:.0%}); answered by " + "; ".join(parts),
            "  compare with each stage run alone: thinkbench report SUITE --axis dollars"]

"""Repricing a stored run: dollars again from its stored engine calls, with today's (or a given) price table.

Nothing is regenerated (like `regrade`). Each stored call is priced again by `harness.pricing.Pricing` (list
prices per model; a self-hosted model by the hour of the hardware the run's manifest says it ran on, shared among
the requests in flight), each attempt's dollars are the sum of its calls plus its verifier tokens at the verifier
model's list input price (`Pricing.attempt_dollars`, the formula the run used), and the new dollars and the
manifest's `pricing` are written in one transaction (`Store.apply_reprice`). A model the table cannot price is
refused with one line naming it, before anything is written: a repricing never turns known dollars into unknown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from core.errors import UserError
from core.records import CallRecord
from harness import queries
from harness.store import Store


def unpriced_message(run_id: str, unpriced: dict[str, int]) -> str:
    """One line: which model of the run has no price and how to add it (`unpriced`: `Store.unpriced_calls`)."""
    if not unpriced:
        return (f"run {run_id} stored no engine calls (it was written before ThinkBench recorded them), "
                "so it has no dollars and cannot be repriced; rerun it to price it")
    models = [m for m, n in unpriced.items() if n]
    if not models:
        return f"run {run_id} has priced calls but unpriced attempts; run `thinkbench reprice {run_id}`"
    name = models[0]
    others = f" (and {', '.join(models[1:])})" if len(models) > 1 else ""
    return (f"no price for model {name}{others} of run {run_id}; add it to a price file: "
            f"models: {{{name}: {{input: ..., output: ...}}}} and pass --prices FILE, "
            f"then thinkbench reprice {run_id} --prices FILE")


@dataclass(frozen=True)
class RepriceSummary:
    """What a repricing changed: calls and attempts priced again, and the mean dollars per problem before/after."""

    run_id: str
    calls: int
    attempts: int
    changed: int  # attempts whose dollars changed
    before: float | None  # mean dollars per problem under the stored prices (None: some were unpriced)
    after: float
    priced_by: dict[str, str]  # model -> how it was priced

    def line(self) -> str:
        from harness.latency import fmt_dollars  # noqa: PLC0415 - deferred: numpy and pandas only to print

        before = "unpriced" if self.before is None else fmt_dollars(self.before)
        how = "; ".join(f"{m}: {h}" for m, h in self.priced_by.items())
        return (f"repriced run {self.run_id}: {self.calls} calls, {self.attempts} attempts ({self.changed} changed); "
                f"dollars per problem {before} -> {fmt_dollars(self.after)} ({how})")


def _pricing(rec: dict[str, Any], prices_file: str | None) -> Any:
    """A `Pricing` from the given (else current) price table and the run's self-hosted models from its manifest."""
    from harness.pricing import Pricing, load_prices  # noqa: PLC0415 - deferred: pydantic and YAML only to reprice

    hosted = (rec["manifest"].get("pricing") or {}).get("self_hosted") or {}
    return Pricing(load_prices(prices_file), {m: (str(v[0]), int(v[1])) for m, v in hosted.items()})


def _calls(rows: list[tuple]) -> dict[str, list[CallRecord]]:
    """Stored call rows (`queries.RUN_CALL_PRICING`) as CallRecords by problem; only their seconds survive as time."""
    by_problem: dict[str, list[CallRecord]] = defaultdict(list)
    for pid, idx, model, secs, prompt, cached, gen, reasoning, n, finish, in_flight, _ in rows:
        by_problem[pid].append(CallRecord(
            index=idx, model=model, stage="", started=0.0, first_token=None, finished=float(secs or 0.0),
            prompt_tokens=int(prompt or 0), cached_prompt_tokens=int(cached or 0), generated_tokens=int(gen or 0),
            reasoning_tokens=int(reasoning or 0), n=int(n or 1), finish_reason=finish, in_flight=int(in_flight or 1)))
    return by_problem


def _how(pricing: Any, model: str) -> str:
    listed = pricing.table.models.get(model)
    if listed is not None:
        return f"list ${listed.input:g}/${listed.output:g} per M in/out tokens"
    device, gpus = pricing.self_hosted[model]
    rate = pricing.table.hardware.gpu_hour_usd if device == "gpu" else pricing.table.hardware.cpu_hour_usd
    return f"self-hosted {device}{f' x{gpus}' if device == 'gpu' else ''} at ${rate:g}/h"


def reprice(store: Store, run: str, prices_file: str | None = None, force: bool = False) -> RepriceSummary:
    """Price every stored call and attempt of a run again and store the result (one transaction)."""
    import pyarrow as pa  # noqa: PLC0415 - deferred: Arrow only for the write

    rid = store.resolve_run(run)
    rec = store.run_record(rid)
    if rec["status"] == "running" and not force:
        raise UserError(f"run {rid} is marked running; wait for it to end, or pass --force if it was killed")
    rows = store.query(queries.RUN_CALL_PRICING, [rid]) if "calls" in store.tables() else []
    if not rows:
        raise UserError(unpriced_message(rid, {}))
    pricing = _pricing(rec, prices_file)
    by_problem = _calls(rows)
    new_calls = [(c.model, pid, c.index, pricing.call_dollars(c)) for pid, cs in by_problem.items() for c in cs]
    missing: dict[str, int] = defaultdict(int)
    for model, _, _, d in new_calls:
        missing[model] += d is None
    if any(missing.values()):
        raise UserError(unpriced_message(rid, dict(missing)))
    verifier_model = (rec["config"].get("verifier") or {}).get("model")
    attempts = store.query(queries.RUN_ATTEMPT_PRICING, [rid])
    new_att = [pricing.attempt_dollars(by_problem.get(pid, []), int(vt or 0), verifier_model) or 0.0
               for pid, vt, _ in attempts]  # never None: every call was priced above
    old = [d for _, _, d in attempts]
    store.apply_reprice(
        rid, pa.table({"problem_id": [p for _, p, _, _ in new_calls], "call_idx": [i for _, _, i, _ in new_calls],
                       "dollars": pa.array([d for *_, d in new_calls], pa.float64())}),
        pa.table({"problem_id": [pid for pid, _, _ in attempts], "dollars": pa.array(new_att, pa.float64())}),
        {**pricing.describe(), "repriced_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
         "prices_file": prices_file, "models": {m: _how(pricing, m) for m in sorted(missing)}})
    n = max(1, len(attempts))
    return RepriceSummary(
        run_id=rid, calls=len(new_calls), attempts=len(attempts),
        changed=sum(o is None or abs(o - d) > 1e-12 * max(1.0, abs(d)) for o, d in zip(old, new_att)),
        before=None if any(o is None for o in old) else sum(old) / n, after=sum(new_att) / n,
        priced_by={m: _how(pricing, m) for m in sorted(missing)})

"""One run's page of the static site: what it is, how to reproduce it, how it did by difficulty and subject, and
what it spent. Numbers come from leaderboard/analysis.py; this module only lays them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from harness.fields import flatten
from leaderboard.site_html import esc, interval, num, page, table

NOT_IDENTITY = ("db", "data_dir", "workers", "ray_address", "commit_every", "max_inflight", "prices", "max_dollars",
                "max_total_tokens")
"""Config keys that do not change a run's outputs (where data and results live, caps, parallelism): left out of
the reproduction file, so it runs anywhere."""

LEDGER_NAMES = {"prompt_tokens": "prompt tokens", "cached_prompt_tokens": "cached prompt tokens",
                "generated_tokens": "generated tokens", "reasoning_tokens": "reasoning tokens (of generated)",
                "verifier_tokens": "verifier tokens", "engine_calls": "engine calls",
                "verifier_calls": "verifier calls",
                "wall_seconds": "wall seconds", "critical_path_seconds": "critical-path seconds", "flops": "FLOPs",
                "dollars": "dollars"}


@dataclass
class RunPage:
    """What a run page shows; built by leaderboard/export.py from the snapshot and analysis."""

    run_id: str
    suite: str
    model: str
    strategy: str
    engine: str
    status: str
    n_problems: int
    done: int
    config: dict
    manifest: dict
    results: list[dict]                 # per configuration: label, method, k, accuracy, lo, hi, truncated, cost
    by_difficulty: pd.DataFrame
    by_subject: pd.DataFrame
    ledger: list[tuple[str, float | None, float | None]]
    provenance: list[tuple] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)  # further (name, value) facts, e.g. error counts


def reproduction(config: dict) -> str:
    """The run's settings as a YAML file for `thinkbench run --config` (only what decides its outputs)."""
    kept = {k: v for k, v in config.items() if k not in NOT_IDENTITY}
    return yaml.safe_dump(kept, sort_keys=True, default_flow_style=False, allow_unicode=True)


def _breakdown(df: pd.DataFrame, by: str) -> str:
    if df.empty or (by == "subject" and set(df.group) <= {"-"}):
        return f'<p class="note">No {by} recorded for this run\'s problems.</p>'
    df = df.sort_values(["group", "key"], kind="stable")
    return table([by, "configuration", "k", "problems", "accuracy [95% CI]"],
                 [(g.group, g.label, g.k, g.problems, interval(g.accuracy, g.lo, g.hi)) for g in df.itertuples()],
                 left=2)


def _fields(title: str, value: dict[str, Any]) -> str:
    pairs = flatten(value)
    if not pairs or pairs == [("", "{}")]:
        return f"<h2>{esc(title)}</h2><p class=\"note\">none recorded</p>"
    return f"<h2>{esc(title)}</h2>" + table(["field", "value"], pairs, left=2)


def render(p: RunPage) -> str:
    """The run page's HTML (links are relative: ../../index.html, samples.html, run.yaml)."""
    git = p.manifest.get("git_revision")
    head = (f'<nav><a href="../../index.html">← leaderboard</a><a href="samples.html">sample browser</a>'
            f'<a href="run.yaml" download>run.yaml</a></nav>\n<h1>Run <code>{esc(p.run_id)}</code></h1>\n'
            f'<p class="sub">{esc(p.model)} · {esc(p.strategy)} · suite <code>{esc(p.suite)}</code> · engine '
            f'{esc(p.engine)} · status {esc(p.status)} · {p.done}/{p.n_problems} problems finished</p>')
    results = table(["configuration", "method", "k", "accuracy [95% CI]", "truncated", "generated tokens/problem"],
                    [(r["label"], r["method"], r["k"], interval(r["accuracy"], r["lo"], r["hi"]),
                      "-" if r["truncated"] is None else f"{100 * r['truncated']:.1f}%", num(r["cost"]))
                     for r in p.results], left=2)
    repro = (f"<h2>Reproduce</h2><pre>thinkbench run --config run.yaml</pre><p class=\"note\">run.yaml (beside this "
             f"page) holds the settings that decide the run's outputs; the run id is their hash, so the same settings "
             f"resume or recreate this run. Code at git revision <code>{esc(git or 'unknown')}</code>; real suites "
             f"also need the data (hub, or <code>--data-dir</code>).</p><pre>{esc(reproduction(p.config))}</pre>")
    ledger = table(["item", "run total", "per finished problem"],
                   [(LEDGER_NAMES.get(k, k), num(t), num(per)) for k, t, per in p.ledger])
    prov = "" if not p.provenance else "<h2>Provenance</h2>" + table(
        ["merged from", "host", "at", "source schema"], [tuple(map(str, r)) for r in p.provenance], left=2)
    extra = "".join(f'<p class="bad">{esc(k)}: {esc(v)}</p>' for k, v in p.extra)
    body = (f"{head}\n<h2>Results</h2>{results}<p class=\"note\">At each configuration's largest k; intervals: 95% "
            f"bootstrap over problems.</p>{extra}\n<h2>Accuracy by difficulty</h2>"
            f"{_breakdown(p.by_difficulty, 'difficulty')}\n<h2>Accuracy by subject</h2>"
            f"{_breakdown(p.by_subject, 'subject')}\n<h2>Compute ledger</h2>{ledger}\n{repro}\n{prov}\n"
            f"{_fields('Configuration', p.config)}\n{_fields('Manifest', p.manifest)}")
    return page(f"ThinkBench run {p.run_id}", body)

"""Synthetic stores with realistic shape, for tests and bench/analysis_speed.py (bulk-inserted, not via runs).

Each configuration has a skill; each problem a difficulty. A sample is right with probability
sigmoid(skill - difficulty), otherwise one of a few distractor answers (Zipf-weighted), and now and
then has no extracted answer. Verifier scores (optional) are noisy in favour of right samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.store import ATTEMPT_COLS, SAMPLE_COLS, RunStart, Store


@dataclass
class SynthConfig:
    model: str
    skill: float
    n: int
    temperature: float = 0.7
    strategy: str = "self_consistency"
    scores: bool = False
    tokens: float = 300.0
    seed: int = 0


def run_id_for(suite: str, c: SynthConfig) -> str:
    return hashlib.sha256(f"{suite}|{c}".encode()).hexdigest()[:12]


def write(path: str | Path, suite: str, configs: list[SynthConfig], problems: int, seed: int = 0,
          status: str = "complete", subjects: tuple[str, ...] = ("algebra", "geometry", "counting"),
          chars_per_token: float = 0.0) -> list[str]:
    """Write runs, attempts and samples; returns the run ids. chars_per_token > 0: each response is that many
    characters of word salad per generated token before its answer line (bench/site_export.py sizes a site with
    realistic text lengths; the default keeps a one-line response)."""
    store = Store(path)
    rng = np.random.default_rng(seed)
    difficulty = rng.integers(1, 6, size=problems).astype(float)
    pid = np.array([f"{suite.split(':')[0]}-{i:05d}" for i in range(problems)], dtype=object)
    gold = rng.integers(0, 1000, size=problems)
    subject = np.array(subjects, dtype=object)[np.arange(problems) % len(subjects)]
    ids = []
    for ci, c in enumerate(configs):
        rid = run_id_for(suite, c)
        ids.append(rid)
        att, samples = _frames(rid, c, np.random.default_rng([seed, ci, c.seed]), pid, gold, difficulty, subject)
        if chars_per_token > 0:
            samples["text"] = _long_texts(samples, chars_per_token, np.random.default_rng([seed, ci, c.seed, 1]))
        params = {"n": c.n, "temperature": c.temperature, "top_p": 1.0, "max_tokens": 1024, "stop": []}
        identity = {"suite": suite, "model": c.model, "strategy": c.strategy, "params": params, "seed": c.seed,
                    "template": "synthetic0000000", "engine": {"kind": "synthetic"}}
        manifest = {"model": c.model, "engine": {"engine": "synthetic", "engine_version": "1"}, "dtype": "bfloat16",
                    "seed": c.seed, "prompt_template": "synthetic0000000", "git_revision": "0" * 40,
                    "grader_version": "math-1.0", "policy_params": 135000000}
        store.replace_run(RunStart(rid, suite, c.model, "synthetic", c.strategy, {"suite": suite}, identity,
                                   manifest, problems, limited=False, policy_params=135000000), status, att, samples)
    return ids


def _frames(rid: str, c: SynthConfig, r: np.random.Generator, pid: np.ndarray, gold: np.ndarray,
            difficulty: np.ndarray, subject: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One configuration's attempts and samples, drawn from r in a fixed order (so a seed gives one store)."""
    P, n = len(pid), c.n
    p_right = 1 / (1 + np.exp(-(c.skill - (difficulty - 3) * 0.9)))
    right = r.random((P, n)) < p_right[:, None]
    distractor = np.minimum(r.zipf(1.6, size=(P, n)), 30)
    answer = np.where(right, gold[:, None], gold[:, None] + distractor)
    missing = r.random((P, n)) < 0.03
    gen = np.maximum(1, r.lognormal(np.log(c.tokens), 0.4, size=(P, n))).astype(np.int64)
    score = np.where(right, r.normal(0.65, 0.2, (P, n)), r.normal(0.45, 0.2, (P, n))) if c.scores else None
    key = answer.astype(str).astype(object)
    key[missing] = None
    samples = pd.DataFrame({
        "run_id": rid, "problem_id": np.repeat(pid, n), "sample_idx": np.tile(np.arange(n), P),
        "text": None, "finish_reason": "stop", "prompt_tokens": 0, "cached_prompt_tokens": 0,
        "generated_tokens": gen.ravel(), "extracted": key.ravel(), "vote_key": key.ravel(),
        "correct": (right & ~missing).ravel(), "grade_status": np.where((right & ~missing).ravel(), "correct", "wrong"),
        "score": score.ravel() if score is not None else np.nan, "mean_logprob": np.nan, "meta": None,
        "grade_score": np.nan,
    })[SAMPLE_COLS]
    samples["text"] = "Reasoning ... the answer is " + samples["extracted"].fillna("?")
    counts = pd.DataFrame({"k": key.ravel(), "p": np.repeat(np.arange(P), n)}).dropna()
    top = counts.groupby(["p", "k"]).size().reset_index().sort_values(0, ascending=False).drop_duplicates("p")
    final = pd.Series(top["k"].to_numpy(), index=top["p"].to_numpy()).reindex(range(P))
    prompt = 120
    att = pd.DataFrame({
        "run_id": rid, "problem_id": pid, "problem_index": np.arange(P), "gold": gold.astype(str),
        "difficulty": difficulty, "subject": subject, "final_answer": final.to_numpy(),
        "final_text": None, "correct": (final.to_numpy() == gold.astype(str)),
        "grade_status": "graded", "grade_reason": None, "grader_version": "math-1.0", "n_samples": n,
        "prompt_tokens": prompt, "cached_prompt_tokens": 0, "generated_tokens": gen.sum(axis=1),
        "reasoning_tokens": 0, "verifier_tokens": (gen.sum(axis=1) if c.scores else 0),
        "engine_calls": 1, "verifier_calls": (n if c.scores else 0),
        "wall_seconds": gen.max(axis=1) / 50.0, "flops": 2.0 * 1.35e8 * (prompt + gen.sum(axis=1)),
        "worker": "w0", "error": None, "meta": None, "committed_at": pd.Timestamp.now(),
        # priced like a small API model (USD 0.15 / 0.60 per million input / output tokens)
        "dollars": (prompt * 0.15 + gen.sum(axis=1) * 0.60) / 1e6, "critical_path_seconds": gen.max(axis=1) / 50.0,
        "grade_score": np.nan,
    })[ATTEMPT_COLS]
    return att, samples


WORDS = ("so", "the", "we", "sum", "is", "then", "let", "x", "be", "and", "of", "therefore", "number", "each", "add",
         "multiply", "step", "check", "value", "gives", "equation", "both", "sides", "divide", "by", "which", "means",
         "first", "second", "term", "total", "remaining", "case", "count", "factor", "prime", "=", "+", "*", "(", ")")


def _long_texts(samples: pd.DataFrame, chars_per_token: float, r: np.random.Generator) -> list[str]:
    """Word salad (slices of one random corpus) of about chars_per_token x the sample's generated tokens, ending
    with the sample's own answer line: text that compresses about as well as model reasoning."""
    corpus = " ".join(r.choice(np.array(WORDS, dtype=object), size=400_000).tolist())
    lengths = (samples["generated_tokens"].to_numpy() * chars_per_token).astype(np.int64)
    starts = r.integers(0, max(1, len(corpus) - int(lengths.max()) - 1), size=len(lengths))
    tails = samples["text"].tolist()
    return [corpus[s:s + n] + "\n" + t for s, n, t in zip(starts.tolist(), lengths.tolist(), tails)]

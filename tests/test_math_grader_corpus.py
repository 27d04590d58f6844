"""A labelled corpus of real model outputs (tests/data/math_grader_corpus.jsonl): agreement with the labels.

The corpus holds the embedded model's own outputs on MATH-500 and GSM8K prompts (SmolLM2-135M-Instruct through
vLLM CPU) and solutions written in the styles real models use (unboxed, bold Answer lines, units, currency,
self-corrections), each labelled correct/wrong by reading it, never by a grader. The test reports our agreement
and Math-Verify's, and asserts no false "equal" for ours and agreement at least Math-Verify's.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_math_grader_families import Case, math_verify_verdicts

from evaluators.math import grade_many

CORPUS = Path(__file__).resolve().parent / "data" / "math_grader_corpus.jsonl"


def _rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.open()]


def test_corpus_is_labelled_by_hand() -> None:
    rows = _rows()
    assert len(rows) >= 100
    assert {r["label"] for r in rows} == {"correct", "wrong"}
    assert all(r["note"] and r["gold"] and r["problem_id"] for r in rows)
    assert {r["source"] for r in rows} == {"smollm2-135m-instruct", "handwritten"}


def test_agreement_with_labels() -> None:
    rows = _rows()
    labels = [r["label"] == "correct" for r in rows]
    ours = [g.correct for g in grade_many([(r["response"], r["gold"]) for r in rows], workers=2)]
    theirs = math_verify_verdicts([Case("corpus", r["response"], r["gold"], lab) for r, lab in zip(rows, labels)])
    agree_ours = sum(a == lab for a, lab in zip(ours, labels))
    agree_mv = sum(b == lab for b, lab in zip(theirs, labels))
    false_equal = [r["id"] for r, a, lab in zip(rows, ours, labels) if a and not lab]
    false_diff = [r["id"] for r, a, lab in zip(rows, ours, labels) if lab and not a]
    mv_false_equal = [r["id"] for r, b, lab in zip(rows, theirs, labels) if b and not lab]
    summary = (f"corpus n={len(rows)}: ours agree {agree_ours}/{len(rows)} (false equal {len(false_equal)}, "
               f"false different {len(false_diff)}: {false_diff}); Math-Verify agree {agree_mv}/{len(rows)} "
               f"(false equal {len(mv_false_equal)}: {mv_false_equal})")
    print("\n" + summary)
    assert not false_equal, summary
    assert agree_ours >= agree_mv, summary

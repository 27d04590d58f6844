"""vLLM request metrics -> per-call timings, without starting an engine (the e2e tests check them on real runs)."""

from __future__ import annotations

from types import SimpleNamespace

from harness.engines.vllm_engine import request_timings


def test_first_token_time_is_counted_from_the_call_start_and_kept_within_the_call():
    m = SimpleNamespace(arrival_time=100.02, first_token_latency=0.3, num_generation_tokens=41,
                        first_token_ts=5.0, last_token_ts=7.0)
    first, meta = request_timings(m, start_unix=100.0, wall=2.5)
    assert abs(first - 0.32) < 1e-9
    assert meta == {"engine_first_token_seconds": 0.3, "engine_generated_tokens": 41, "engine_decode_seconds": 2.0}
    assert request_timings(m, start_unix=100.0, wall=0.1)[0] == 0.1, "never past the call's own end"
    assert request_timings(m, start_unix=101.0, wall=2.5)[0] == 0.0, "never before its start"


def test_no_stats_no_timings():
    assert request_timings(None, 0.0, 1.0) == (None, {})
    assert request_timings(SimpleNamespace(first_token_latency=0.0), 0.0, 1.0) == (None, {})


"""Step-level search on a scripted engine and a scripted verifier, checked step by step.

The step responder writes `s<depth>o<index>` steps (the answer at depth 2) and ends its turn at
depth 3; the scripted verifier's scores are a fixed hash of the steps, so every keep/prune choice
can be recomputed here from the verifier's log and the engine's call log.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict

import pytest

from core.errors import UserError
from harness.engines.base import GenerateResult, Prompt, SamplingParams
from harness.engines.scripted import ScriptedEngine
from harness.solve import SuiteView, solve
from harness.strategies import STRATEGIES, make_params
from harness.verifiers.scripted import ScriptedVerifier, hash_scorer
from suites import load_suite

DELIM = "\n\n"


def stepper(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    depth = prompt.assistant_prefix.count(DELIM)
    if depth >= 3:
        return ""  # end of turn right after the last step
    if depth == 2:
        return f"The answer is {index % 3}{DELIM}trailing"
    return f"s{depth}o{index} thinking hard{DELIM}never seen"


class Recording(ScriptedEngine):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.log: list[tuple[str, int]] = []  # (assistant prefix, n) per call
        self.reported = {"prompt": 0, "generated": 0, "calls": 0, "completions": 0}

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        r = await super().generate(prompt, params)
        self.log.append((prompt.assistant_prefix, params.n))
        self.reported["prompt"] += r.prompt_tokens
        self.reported["generated"] += r.generated_tokens
        self.reported["calls"] += 1
        self.reported["completions"] += len(r.completions)
        return r


def run(strategy: str, params: dict, responder=stepper, n_problems: int = 1, verifier=None):
    suite = load_suite(f"arith:n={n_problems},seed=5")
    engine = Recording(responder=responder)
    verifier = verifier or ScriptedVerifier()
    view = SuiteView(suite.template, suite.extract, suite.vote_key)

    async def go():
        return await asyncio.gather(*(solve(engine, view, p.question(), strategy, params, 0, verifier)
                                      for p in suite.problems))

    return engine, verifier, asyncio.run(go())


def scored_by_depth(verifier: ScriptedVerifier) -> dict[int, list[tuple[str, float]]]:
    out: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for text, score in verifier.log:
        out[text.count(DELIM) + 1].append((text, score))
    return out


def test_beam_search_keeps_exactly_the_top_n_over_m_each_step():
    n, m = 8, 2
    engine, verifier, (attempt,) = run("beam_search", {"n": n, "beam_width": m, "max_depth": 6})
    assert attempt.error is None
    assert engine.log[0] == ("", n), "first step: N samples of one prompt"
    by_depth = scored_by_depth(verifier)
    assert [len(by_depth[d]) for d in (1, 2, 3)] == [n, n, n], "N candidates scored every step"
    for depth in (1, 2):
        ranked = sorted(by_depth[depth], key=lambda t: -t[1])
        expected = {text + DELIM for text, _ in ranked[: n // m]}
        expanded = [(prefix, k) for prefix, k in engine.log if prefix.count(DELIM) == depth]
        assert {prefix for prefix, _ in expanded} == expected
        assert len(expanded) == n // m and all(k == m for _, k in expanded), "each kept beam expanded M ways"
    # after depth 3 every continuation is empty: the turn ended, so each kept beam is finished once,
    # keeps its score (no second verifier call) and is never expanded again
    assert len(by_depth[3]) == n and not any(prefix.count(DELIM) == 4 for prefix, _ in engine.log)
    assert len(attempt.samples) == n // m
    best = max(attempt.samples, key=lambda s: s.score)
    assert attempt.final_text == best.text and attempt.final_answer == best.extracted
    assert all(s.text.count(DELIM) == 2 for s in attempt.samples), "three steps, no trailing delimiter"


def test_beam_search_depth_limit_and_aggregation():
    _, _, (a,) = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 1})
    assert len(a.samples) == 2 and all(s.text.count(DELIM) == 0 for s in a.samples), "depth 1: the kept first steps"
    for agg, fn in [("min", min), ("product", lambda xs: __import__("math").prod(xs)), ("last", lambda xs: xs[-1])]:
        _, verifier, (b,) = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 3, "agg": agg})
        for s in b.samples:
            steps = s.text.split(DELIM)
            assert s.score == pytest.approx(fn(hash_scorer(verifier_problem(b), steps)))


def verifier_problem(attempt) -> str:
    suite = load_suite("arith:n=1,seed=5")
    return suite.template.render(suite.problems[0].question())[-1]["content"]


def test_dvts_subtrees_never_exchange_beams():
    n, m = 8, 2
    engine, verifier, (attempt,) = run("dvts", {"n": n, "beam_width": m, "max_depth": 6})
    assert attempt.error is None and attempt.meta["subtrees"] == n // m
    def tree_of(text: str) -> int:
        return int(re.match(r"s0o(\d+)", text).group(1)) // m

    by_depth = scored_by_depth(verifier)
    for depth in (1, 2):
        expanded = [prefix for prefix, _ in engine.log if prefix.count(DELIM) == depth]
        trees = [tree_of(p) for p in expanded]
        assert sorted(trees) == list(range(n // m)), "one beam per subtree per step"
        for prefix in expanded:  # each subtree keeps its own best, whatever the other subtrees scored
            own = [(t, s) for t, s in by_depth[depth] if tree_of(t) == tree_of(prefix)]
            assert len(own) == m
            assert prefix == max(own, key=lambda ts: ts[1])[0] + DELIM
    assert {s.meta["tree"] for s in attempt.samples} == set(range(n // m))
    for s in attempt.samples:
        assert tree_of(s.text) == s.meta["tree"]


def test_lookahead_scores_rollouts_and_charges_them():
    engine, verifier, (a,) = run("lookahead", {"n": 4, "beam_width": 2, "max_depth": 6, "lookahead": 1})
    assert a.error is None
    greedy = [(p, k) for p, k in engine.log if k == 1]
    assert greedy, "rollouts are single greedy continuations"
    # depth-1 candidates are scored on their 2-step rollouts, never on themselves
    assert all(text.count(DELIM) >= 1 for text, _ in verifier.log)
    _, _, (plain,) = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 6})
    assert a.ledger.generated_tokens > plain.ledger.generated_tokens


def test_step_search_batches_across_problems():
    """Many problems' searches interleave: the engine sees each step of all problems before the next step."""
    engine, _, attempts = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 6}, n_problems=5)
    depths = [p.count(DELIM) for p, _ in engine.log]
    assert depths == sorted(depths), "all problems' depth-d expansions go out before any depth-d+1 one"
    assert all(a.error is None for a in attempts)


def eos_stepper(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """Two steps, the second ending the turn with no delimiter after it (the common shape of a last step)."""
    depth = prompt.assistant_prefix.count(DELIM)
    return f"The answer is {index % 3}" if depth >= 1 else f"s{depth}o{index} thinking hard{DELIM}never seen"


def test_a_step_that_ends_the_turn_finishes_its_beam_at_once():
    engine, verifier, (a,) = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 6}, responder=eos_stepper)
    assert a.error is None
    # depth 1: 4 first steps; depth 2: the 2 kept beams' 2 expansions each end the turn -> all finished,
    # so no third call goes out for them (the empty-continuation rule needed one more round per beam)
    assert [k for _, k in engine.log] == [4, 2, 2]
    assert len(a.samples) == 4 and all(s.text.count(DELIM) == 1 for s in a.samples)
    assert len(verifier.log) == 8


def blank_stepper(prompt: Prompt, index: int, params: SamplingParams, seed: int) -> str:
    """A paragraph break before every second step: the continuation stops at the delimiter at once."""
    prefix = prompt.assistant_prefix
    depth = len([s for s in prefix.split(DELIM) if s.strip()])
    if depth == 1 and not prefix.endswith(DELIM * 2):
        return f"{DELIM}never seen"
    if depth >= 2:
        return f"The answer is {index % 3}"
    return f"s{depth}o{index} thinking{DELIM}never seen"


def test_blank_lines_are_not_steps():
    scorer_calls: list[list[str]] = []

    def recording_scorer(problem: str, steps: list[str]) -> list[float]:
        scorer_calls.append(steps)
        return hash_scorer(problem, steps)

    engine, verifier, (a,) = run("beam_search", {"n": 4, "beam_width": 2, "max_depth": 6}, responder=blank_stepper,
                                 verifier=ScriptedVerifier(recording_scorer))
    assert a.error is None
    # each kept beam: one call that stops at a blank line, one more from the extra delimiter, same step
    assert [k for _, k in engine.log] == [4, 2, 2, 2, 2, 2, 2]
    seen = [steps for steps in scorer_calls]
    assert all(all(step.strip() for step in steps) for steps in seen), "the verifier never sees a blank step"
    assert sorted(len(steps) for steps in seen) == [1] * 4 + [2] * 4 + [3] * 4, "no scoring round for a blank line"
    assert all(s.text.startswith("s0o") and f"thinking{DELIM}{DELIM}s1o" in s.text and s.text.count(DELIM) == 3
               for s in a.samples), [s.text for s in a.samples]
    assert all(s.meta["steps"] == 3 for s in a.samples), "blank lines are kept in the text, not counted as steps"


class TokenReporting(Recording):
    """Reports each completion's tokens (one per character, the stop string's included) like vLLM does."""

    async def generate(self, prompt: Prompt, params: SamplingParams) -> GenerateResult:
        self.prompts = [*getattr(self, "prompts", []), prompt]
        r = await super().generate(prompt, params)
        for c in r.completions:
            c.token_ids = tuple(ord(ch) for ch in c.text + (DELIM if c.ended_turn is False else ""))
        return r


def _continued(params: dict) -> list[Prompt]:
    suite = load_suite("arith:n=1,seed=5")
    engine = TokenReporting(responder=stepper)
    view = SuiteView(suite.template, suite.extract, suite.vote_key)
    a = asyncio.run(solve(engine, view, suite.problems[0].question(), "beam_search", params, 0, ScriptedVerifier()))
    assert a.error is None
    return [pr for pr in engine.prompts if pr.assistant_prefix]


def test_continuations_carry_the_generated_tokens():
    continued = _continued({"n": 4, "beam_width": 2, "max_depth": 6})
    assert continued and all(pr.assistant_prefix_ids is not None for pr in continued)
    assert all("".join(map(chr, pr.assistant_prefix_ids)) == pr.assistant_prefix for pr in continued)
    # with extra stop strings a step may end on one of them: the text, which puts the delimiter back, is used
    continued = _continued({"n": 4, "beam_width": 2, "max_depth": 6, "stop": ["never"]})
    assert continued and all(pr.assistant_prefix_ids is None for pr in continued)


def test_engines_report_the_end_of_the_turn():
    from harness.engines.vllm_engine import ended_turn

    assert ended_turn("stop", None) and ended_turn("stop", 2)  # end-of-sequence, a stop token id
    assert not ended_turn("stop", "\n\n") and not ended_turn("length", None)


ALL = {
    "cot": {}, "self_consistency": {"n": 4},
    "best_of_n": {"n": 4}, "weighted_best_of_n": {"n": 4},
    "beam_search": {"n": 4, "beam_width": 2, "max_depth": 6}, "dvts": {"n": 4, "beam_width": 2, "max_depth": 6},
    "lookahead": {"n": 4, "beam_width": 2, "max_depth": 6},
    "revision": {"n": 3, "chains": 2, "select": "weighted"},
    "budget_forcing": {"max_tokens": 6, "num_waits": 1, "n": 2},
    "adaptive": {"n": 6, "pilot_n": 2, "difficulty_from": "verifier", "default": "weighted_best_of_n"},
    "cascade": {"stages": [{"strategy": "self_consistency", "params": {"n": 2}},
                           {"strategy": "best_of_n", "params": {"n": 2}}], "escalate": {"agreement_below": 1.01}},
}


def test_all_strategies_covered_here():
    assert set(ALL) == set(STRATEGIES)


@pytest.mark.parametrize("strategy", sorted(ALL))
def test_ledger_equals_what_engine_and_verifier_reported(strategy):
    engine, verifier, attempts = run(strategy, ALL[strategy], n_problems=3)
    assert all(a.error is None for a in attempts), [a.error for a in attempts]
    def total(k: str) -> int:
        return sum(getattr(a.ledger, k) for a in attempts)

    assert total("prompt_tokens") == engine.reported["prompt"]
    assert total("generated_tokens") == engine.reported["generated"]
    assert total("engine_calls") == engine.reported["calls"]
    assert total("verifier_tokens") == verifier.reported["tokens"]
    assert total("verifier_calls") == verifier.reported["calls"]
    uses_verifier = strategy not in ("cot", "self_consistency", "budget_forcing")
    assert (total("verifier_calls") > 0) == uses_verifier
    assert all(("verifier" in a.meta) == uses_verifier for a in attempts)
    assert all(a.ledger.wall_seconds > 0 for a in attempts)


def test_bad_search_shapes_are_user_errors():
    with pytest.raises(UserError, match="beam_width must divide n"):
        make_params("beam_search", {"n": 6, "beam_width": 4})
    with pytest.raises(UserError, match="lookahead"):
        make_params("lookahead", {"lookahead": 0})


def test_cpu_thread_binding_takes_every_cpu_only_on_small_machines(monkeypatch):
    from harness.engines import vllm_engine

    monkeypatch.setattr(vllm_engine.os, "sched_getaffinity", lambda pid: {0, 1})
    assert vllm_engine.cpu_thread_binding() == "0,1" and vllm_engine.cpu_thread_binding(2) == "0|1"
    monkeypatch.setattr(vllm_engine.os, "sched_getaffinity", lambda pid: set(range(4)))
    assert vllm_engine.cpu_thread_binding(2) == "0,1|2,3"
    monkeypatch.setattr(vllm_engine.os, "sched_getaffinity", lambda pid: set(range(32)))
    assert vllm_engine.cpu_thread_binding() == "auto", "a big machine keeps vLLM's core for its scheduler"


def test_one_rank_cpu_engines_run_the_model_in_the_engine_core_bound_as_vllm_binds_a_worker(monkeypatch):
    from harness.engines.vllm_engine import SINGLE_PROCESS_ENV, single_process_env

    for var in (SINGLE_PROCESS_ENV, "OMP_NUM_THREADS", "LD_PRELOAD"):
        monkeypatch.delenv(var, raising=False)
    assert single_process_env("0,1") == {SINGLE_PROCESS_ENV: "0", "OMP_NUM_THREADS": "2", "OMP_PLACES": "{0,1}",
                                         "OMP_PROC_BIND": "true"}
    assert single_process_env("2-4")["OMP_PLACES"] == "{2,3,4}"
    # vLLM's own arrangements stand: auto (a core for a separate scheduler), no binding, several ranks
    assert single_process_env("auto") == single_process_env("nobind") == single_process_env("0|1") == {}
    assert single_process_env("0-x") == {}, "a binding we cannot read is vLLM's to read"
    for var, value in ((SINGLE_PROCESS_ENV, "1"), ("LD_PRELOAD", "/lib/libiomp5.so")):
        monkeypatch.setenv(var, value)
        assert single_process_env("0,1") == {}, f"the user's {var} stands"
        monkeypatch.delenv(var)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Ray sets it in every actor: the binding decides, as under vLLM's mp
    assert single_process_env("0,1")["OMP_NUM_THREADS"] == "2"

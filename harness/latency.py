"""Latency from the stored engine calls: a fitted model of call time against output tokens, and what a user waits.

The model (the method of the pricing/speed analysis of o1 in the design notes): a call's wall time is
    seconds = a + b x output tokens,
fitted by least squares over a run's calls, per model (a cascade's stages each get their own line). `a` reads as
the first-token latency (queueing, prefill, network) and 1 / b as the decode speed in tokens per second of one
sequence. Output tokens are a call's generated tokens (hidden reasoning included, as APIs bill it) divided by its
completions n: the n samples of one request decode in parallel, so its time follows one sequence, not their sum.
R² says how much of the variation in call time the line explains; the 95% intervals are percentile bootstraps
over calls (1000 resamples). Above MAX_BOOT_CALLS calls each resample draws MAX_BOOT_CALLS calls and its
deviation from the full fit is scaled by sqrt(m / n) (the m-out-of-n bootstrap), so `show` stays fast on
millions of calls. Where the engine reported first-token times (streaming), their median is shown beside the fit.

Per problem, the critical path (`attempts.critical_path_seconds`, from the call timestamps: parallel calls overlap,
sequential rounds add up) is the latency a user waits for; its mean, p50 and p95 are shown with the dollars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.store import Store

N_BOOT = 1000
MAX_BOOT_CALLS = 20_000
CHUNK = 50  # resamples drawn at once (CHUNK x MAX_BOOT_CALLS indices in memory)


@dataclass(frozen=True)
class LatencyFit:
    """seconds = intercept + slope x output tokens over one model's calls, with 95% bootstrap intervals."""

    model: str
    calls: int
    intercept: float
    slope: float
    intercept_ci: tuple[float, float]
    slope_ci: tuple[float, float]
    r2: float
    measured_first_token: float | None = None  # median measured first-token seconds, where the engine gave them
    measured_calls: int = 0

    @property
    def decode_tps(self) -> float:
        """Decode speed, tokens per second (1 / slope; infinite when the fit finds no time per token)."""
        return 1.0 / self.slope if self.slope > 0 else math.inf

    @property
    def decode_ci(self) -> tuple[float, float]:
        lo, hi = self.slope_ci
        return (1.0 / hi if hi > 0 else math.inf), (1.0 / lo if lo > 0 else math.inf)

    def line(self, named: bool = False) -> str:
        """`latency fit: first token 0.41 s [0.38, 0.44], decode 87.0 tok/s [84, 90], R² 0.97, 1234 calls`."""
        head = f"latency fit ({self.model})" if named else "latency fit"
        text = (f"{head}: first token {_s(self.intercept)} s [{_pair(*self.intercept_ci, 2)}], "
                f"decode {_tps(self.decode_tps, 1)} tok/s [{_pair(*self.decode_ci, 0)}], R² {self.r2:.2f}, "
                f"{self.calls} calls")
        if self.measured_first_token is not None:
            text += f"; measured first token p50 {_s(self.measured_first_token)} s ({self.measured_calls} calls)"
        return text


def _s(v: float) -> str:
    """Seconds with two decimals, more below 0.01 s so a fast engine's latency does not read as 0."""
    return f"{v:.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.2g}"


def _tps(v: float, decimals: int = 0) -> str:
    return "inf" if not math.isfinite(v) else f"{v:.{decimals}f}"


def _pair(lo: float, hi: float, decimals: int) -> str:
    """An interval with at least `decimals` decimals, more (up to 4 extra) until its ends read apart."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{_tps(lo, decimals)}, {_tps(hi, decimals)}"
    d = decimals
    while d < decimals + 4 and f"{lo:.{d}f}" == f"{hi:.{d}f}":
        d += 1
    return f"{lo:.{d}f}, {hi:.{d}f}"


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of rows of x, y (last axis: calls); NaN slope where x has no spread."""
    xm, ym = x.mean(axis=-1, keepdims=True), y.mean(axis=-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(axis=-1)
    sxy = ((x - xm) * (y - ym)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
    return ym[..., 0] - b * xm[..., 0], b


def fit(seconds: np.ndarray, tokens: np.ndarray, model: str = "", n_boot: int = N_BOOT, seed: int = 0,
        alpha: float = 0.05) -> LatencyFit | None:
    """The least-squares line of seconds against output tokens with bootstrap intervals; None with fewer than 3
    calls or when every call produced the same number of tokens (no slope to fit)."""
    y, x = np.asarray(seconds, dtype=float), np.asarray(tokens, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        return None
    a, b = (float(v) for v in _ols(x, y))
    resid = y - (a + b * x)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    m = min(n, MAX_BOOT_CALLS)
    scale = math.sqrt(m / n)
    rng = np.random.default_rng(seed)
    boot_a, boot_b = [], []
    for start in range(0, n_boot, CHUNK):
        idx = rng.integers(0, n, size=(min(CHUNK, n_boot - start), m))
        ba, bb = _ols(x[idx], y[idx])
        boot_a.append(a + scale * (ba - a))
        boot_b.append(b + scale * (bb - b))
    qa, qb = np.concatenate(boot_a), np.concatenate(boot_b)
    q = [alpha / 2, 1 - alpha / 2]
    a_lo, a_hi = np.nanquantile(qa, q)
    b_lo, b_hi = np.nanquantile(qb, q)
    return LatencyFit(model, n, a, b, (float(a_lo), float(a_hi)), (float(b_lo), float(b_hi)), r2)


def output_tokens(calls: pd.DataFrame) -> np.ndarray:
    """Output tokens of one sequence per call: generated tokens / completions (n samples decode in parallel)."""
    gen = pd.to_numeric(calls["generated_tokens"], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(calls["n"], errors="coerce").fillna(1).clip(lower=1).to_numpy(dtype=float)
    return gen / n


def fits(calls: pd.DataFrame, n_boot: int = N_BOOT) -> list[LatencyFit | str]:
    """One fit per model of a run's calls (`queries.RUN_CALL_TIMES` columns), or a line saying why none can be
    made (too few calls, or all of one length: the median call time is given instead)."""
    out: list[LatencyFit | str] = []
    for model, g in calls.groupby("model", sort=True):
        secs = pd.to_numeric(g["seconds"], errors="coerce").to_numpy(dtype=float)
        toks = output_tokens(g)
        f = fit(secs, toks, str(model), n_boot)
        first = pd.to_numeric(g["first_token_seconds"], errors="coerce").dropna()
        if f is None:
            tokens = np.unique(toks[np.isfinite(toks)])
            why = (f"every call produced {tokens[0]:g} output tokens" if len(tokens) == 1 else
                   f"{len(g)} call(s) are too few")
            out.append(f"latency fit ({model}): none, {why}; median call {_s(float(np.nanmedian(secs)))} s"
                       if len(g) else f"latency fit ({model}): no calls")
            continue
        if len(first):
            f = LatencyFit(**{**f.__dict__, "measured_first_token": float(first.median()),
                              "measured_calls": len(first)})
        out.append(f)
    return out


def fit_lines(calls: pd.DataFrame, results: list[LatencyFit | str] | None = None) -> list[str]:
    """The fit's lines for `thinkbench show` (`results`: `fits(calls)`, computed here when not given): one per
    model, named when the run has several."""
    if calls.empty:
        return ["latency fit: no engine calls recorded (a run stored before calls were)"]
    named = calls["model"].nunique() > 1
    return [f if isinstance(f, str) else f.line(named) for f in (fits(calls) if results is None else results)]


def fmt_dollars(v: float) -> str:
    """Dollars with three significant digits (a small model's problem costs fractions of a cent)."""
    return f"${v:.4f}" if v >= 0.01 else f"${v:.3g}"


def problem_lines(costs: list[tuple], unpriced: dict[str, int], run_id: str) -> list[str]:
    """Critical-path seconds per problem (mean, p50, p95) and dollars per problem, from
    `Store.problem_costs` rows; `unpriced`: `Store.unpriced_calls`."""
    crit = np.array([c for _, c, _ in costs if c is not None], dtype=float)
    dollars = [d for _, _, d in costs]
    lines = []
    if len(crit):
        p50, p95 = np.quantile(crit, [0.5, 0.95])
        lines.append(f"critical path per problem: mean {_s(float(crit.mean()))} s, p50 {_s(float(p50))} s, "
                     f"p95 {_s(float(p95))} s ({len(crit)} problems)")
    else:
        lines.append("critical path per problem: not recorded (a run stored before calls were)")
    if dollars and all(d is not None for d in dollars):
        total = float(np.sum(dollars))
        lines.append(f"dollars per problem: {fmt_dollars(total / len(dollars))} "
                     f"({fmt_dollars(total)} for {len(dollars)} problems)")
    elif dollars:
        from harness.reprice import unpriced_message  # noqa: PLC0415 - deferred: the hint needs it only when unpriced

        lines.append("dollars per problem: unknown; " + unpriced_message(run_id, unpriced))
    return lines


def summary_lines(store: Store, run_id: str) -> list[str]:
    """Everything `thinkbench show` prints about a run's latency and cost."""
    return fit_lines(store.run_calls(run_id)) + problem_lines(store.problem_costs(run_id),
                                                               store.unpriced_calls(run_id), run_id)

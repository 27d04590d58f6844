"""A progress line for long runs: problems done, accuracy so far, tokens/s, ETA, and failures with their cause.

On a terminal it redraws one line; in CI logs (not a TTY) it prints a line every few seconds. Accuracy is over
the graded problems only: a failed problem (engine died past its retries, prompt too long, ...) is not a wrong
answer, and the line says how many failed and why the last one did.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import TextIO

CAUSE_CHARS = 160  # of a failure's cause on the progress line


def _fmt_eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    def __init__(self, total: int, label: str, already_done: int = 0, stream: TextIO | None = None,
                 interval_s: float | None = None) -> None:
        self.total = total
        self.label = label
        self.done = already_done
        self.start_done = already_done
        self.correct = 0
        self.graded = 0
        self.ungraded = 0  # generated, waiting for a grader
        self.tokens = 0
        self.failed = 0
        self.causes: Counter[str] = Counter()  # the first line of each failure's error
        self.last_cause = ""
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval_s if interval_s is not None else (0.2 if self.tty else 5.0)
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, correct: bool, generated_tokens: int, failed: bool = False, cause: str | None = None) -> None:
        """One stored attempt; a failed one (with its error as `cause`) is counted apart from the graded ones."""
        self.done += 1
        self.tokens += generated_tokens
        if failed:
            self.failed += 1
            self.last_cause = short_cause(cause)
            self.causes[self.last_cause] += 1
        else:
            self.graded += 1
            self.correct += int(correct)
        self.render()

    def awaiting(self, change: int) -> None:
        """Attempts generated but not yet graded (grading may wait for the model to finish on CPU)."""
        self.ungraded += change
        self.render()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.t0
        new = self.done - self.start_done
        rate = new / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        acc = f"{self.correct / self.graded:.3f}" if self.graded else "-"
        failed = f" | {self.failed} failed, last: {self.last_cause}" if self.failed else ""
        waiting = f" (+{self.ungraded} generated, grading)" if self.ungraded else ""
        return (f"[{self.label}] {self.done}/{self.total} problems{waiting} | acc {acc} | "
                f"{self.tokens / elapsed if elapsed > 0 else 0:.1f} tok/s | ETA {_fmt_eta(eta)}{failed}")

    def render(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < self.interval and self.done < self.total:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r" + self.line().ljust(100))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty or self._last == 0.0 or self.done < self.total:
            self.render(force=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()


def short_cause(error: str | None) -> str:
    """The first line of an error, cut to fit a progress line."""
    first = (error or "").strip().splitlines()[0] if (error or "").strip() else "unknown error"
    first = re.sub(r" \(at [^()]*:\d+\)$", "", first)  # where it was raised: in the stored error, not on the line
    return first if len(first) <= CAUSE_CHARS else first[: CAUSE_CHARS - 3] + "..."


def summary_line(run_id: str, status: str, attempted: int, n_problems: int, failed: int, correct: int,
                 generated_tokens: int) -> str:
    """The line `thinkbench run` ends with. Failed problems are not wrong answers: accuracy is over the graded
    ones, and a run with failures says how many and that a rerun retries them (never `48/48` for 3 graded)."""
    graded = attempted - failed
    acc = f"accuracy {correct / graded:.3f} over {graded} graded" if graded else "nothing graded"
    per = f"{generated_tokens / max(1, attempted):.1f} generated tokens/problem"
    if failed:
        return (f"run {run_id} {status}: {attempted} of {n_problems} problems attempted, {failed} failed: rerun to "
                f"retry them; {acc}, {per}")
    return f"run {run_id} {status}: {attempted}/{n_problems} problems, {acc}, {per}"


def failure_lines(causes: list[tuple[str, int]], failed: int, shown: int = 3) -> list[str]:
    """`  5 failed: PromptTooLong: prompt of 106 tokens exceeds ... (and 4 like it)` for the commonest causes: errors
    that differ only in their numbers (token counts, statuses) are one cause, shown by its first example."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for cause, n in causes:
        groups.setdefault(re.sub(r"\d+", "#", short_cause(cause)), []).append((short_cause(cause), n))
    ranked = sorted(groups.values(), key=lambda g: -sum(n for _, n in g))[:shown]
    lines = []
    for g in ranked:
        total = sum(n for _, n in g)
        like = f" (and {total - g[0][1]} like it)" if total > g[0][1] else ""
        lines.append(f"  {total} failed: {g[0][0]}{like}")
    rest = failed - sum(sum(n for _, n in g) for g in ranked)
    return lines + ([f"  {rest} failed for other causes (stored in each attempt's error)"] if rest > 0 else [])

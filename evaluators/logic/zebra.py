"""Zebra (grid) puzzle grading, per cell and per puzzle.

Gold is one line per house, `House 1: v1, v2, ...` in attribute order. A response is read line by
line: a line that starts with a house number assigns that house whatever gold values of each
attribute it names. A cell counts only if exactly one value of its attribute is named, so writing
every value on every line earns nothing. The per-cell fraction goes in the reason
(`cells 14/16`) because `Grade` is shared and has no numeric field for it.
"""

from __future__ import annotations

import re

from core.grade import Grade
from evaluators.logic.extract import MAX_SCAN, answer_region

GRADER_VERSION = "zebra-1"

_HOUSE_LINE = re.compile(r"^[\s|*#>\-•]*(?:house\s*#?\s*)?(\d{1,2})\b\s*[:.)|\-–]?\s*(.*)$", re.IGNORECASE)


def gold_answer(grid: list[list[str]]) -> str:
    """grid[house][attribute] -> canonical gold text."""
    return "\n".join(f"House {h + 1}: {', '.join(row)}" for h, row in enumerate(grid))


def parse_gold(gold: str) -> list[list[str]]:
    rows = []
    for line in gold.strip().splitlines():
        _, _, rest = line.partition(":")
        rows.append([v.strip() for v in rest.split(",")])
    return rows


def house_lines(response: str) -> dict[int, str]:
    """House number -> the text of the last line about it in the answer region."""
    region = answer_region(response, multiline=True)
    # Without a "Final answer:" marker only lines that say "House N" count, so echoed numbered
    # clues ("3. The owner of the fish ...") are not read as house 3.
    text, strict = (region, False) if region is not None else (response[-MAX_SCAN:], True)
    lines: dict[int, str] = {}
    for raw in text.splitlines():
        m = _HOUSE_LINE.match(raw.replace("**", ""))
        if m and m.group(2).strip() and (not strict or re.match(r"^\W*house", raw, re.IGNORECASE)):
            lines[int(m.group(1))] = m.group(2)
    return lines


def _named(line: str, value: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", line, re.IGNORECASE) is not None


def cell_score(response: str, gold: str) -> tuple[int, int]:
    """(cells right, cells total)."""
    grid = parse_gold(gold)
    n_attr = len(grid[0])
    vocab = [[row[a] for row in grid] for a in range(n_attr)]
    lines = house_lines(response)
    right = 0
    for h, row in enumerate(grid):
        line = lines.get(h + 1)
        if line is None:
            continue
        for a in range(n_attr):
            named = [v for v in vocab[a] if _named(line, v)]
            right += named == [row[a]]
    return right, len(grid) * n_attr


def extract(response: str) -> str | None:
    """Gold-free canonical grid for voting: one normalised line per house, in house order."""
    lines = house_lines(response)
    if not lines:
        return None

    def norm(s: str) -> str:
        return ", ".join(w for w in re.split(r"[\s,;|]+", s.lower().strip(" .")) if w)

    return "\n".join(f"{h}: {norm(lines[h])}" for h in sorted(lines))


def grade(response: str, gold: str) -> Grade:
    """Correct iff every cell is right; the reason carries the per-cell score."""
    extracted = extract(response)
    if extracted is None:
        return Grade.wrong(None, "no house lines found", GRADER_VERSION, "invalid")
    right, total = cell_score(response, gold)
    reason = f"cells {right}/{total}"
    if right == total:
        return Grade.ok(extracted, reason, GRADER_VERSION)
    return Grade.wrong(extracted, reason, GRADER_VERSION)


def cell_accuracy(grade_: Grade) -> float | None:
    """Read the per-cell fraction back out of a zebra grade's reason."""
    m = re.match(r"cells (\d+)/(\d+)", grade_.reason)
    return int(m.group(1)) / int(m.group(2)) if m else None

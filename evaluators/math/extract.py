"""Final-answer extraction from a whole model output (gold-free, so strategies may vote with it).

One rule: the final answer is the last statement the response commits to. Commitments are `\\boxed{}` /
`\\fbox{}`, "final answer is ...", "the answer is ...", "Answer: ..." (bold or not) and GSM8K's "#### ...";
the last one by position wins, so a self-correction (`\\boxed{5}` ... "Wait, let me re-check" ... `\\boxed{6}`)
counts its correction, and a retraction ("Actually, that's wrong. Answer: 6") counts what replaced the retracted
answer. Every commitment inside the closing statement (the sentence that holds the last one) is returned, so
two different values there (`\\boxed{5} or \\boxed{6}`) reach the grader as a hedge. Without any commitment:
a bold answer at the end, then the last "therefore / = " statement, then the final line. A statement with several
different numbers and no `=` commits to none of them. All scanning is linear in the response length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluators.math.normalize import strip_math_delimiters, strip_trailing_punctuation
from evaluators.math.units import FUNCTION_WORDS

MAX_BOXES = 16
BARE_MAX_CHARS = 120
TAIL_CHARS = 4000
WINDOW = 2000

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_BRACES = re.compile(r"\\.|[{}]", re.S)
_PHRASES = [
    ("final answer", re.compile(r"final\s+answer\s*(?:is|:|=)\s*:?", re.I)),
    ("answer is", re.compile(r"\b(?:the|my)\s+(?:correct\s+|final\s+)?answer\s+(?:is|would be|should be)\s*:?", re.I)),
    ("answer:", re.compile(r"\b(?<!\w\s)answer(?:\*\*)?\s*:\s*(?:\*\*)?", re.I)),
    ("####", re.compile(r"(?:^|\n)\s*####\s*")),
]
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_CONCLUSION = re.compile(r"\b(?:therefore|thus|hence|so|in total|altogether|in all|total)\b|=|\\therefore", re.I)
_NUMBER = re.compile(r"(?:\\?\$\s*)?-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_HEDGE_BEFORE = re.compile(r"(?:\b(?:not|least|most|than|about|approximately|around|nearly|almost|roughly|over|"
                           r"under|maybe|perhaps)\s+)$", re.I)
_HEDGE_AFTER = re.compile(r"^\s*(?:or\b|\+|-\s*\d|to\s+\d)", re.I)
_ASSIGNMENTS = re.compile(r"\b([a-zA-Z])\s*=\s*(-?[\w\\{}./+^ -]+?)\s*(?=,|\band\b|\bor\b|\.?\s*$)")
_PROSE_WORD = re.compile(r"[A-Za-z]{3,}")
_STOP = re.compile(r"\s(?:I hope|Hope|This|which|because|since)\b|,\s*(?:which|because|since)\b")


@dataclass(frozen=True)
class Extraction:
    answers: tuple[str, ...]  # every answer committed in the closing statement, in order
    method: str  # how it was found: boxed, final answer, answer is, answer:, ####, bold, conclusion, bare, ...

    @property
    def answer(self) -> str | None:
        return self.answers[-1] if self.answers else None


@dataclass(frozen=True)
class _Commitment:
    start: int
    value: str
    kind: str


def _boxes(text: str) -> tuple[list[_Commitment], int | None]:
    """Every outermost `\\boxed{...}` / `\\fbox{...}` with its position, braces balanced; `\\boxed 5` too;
    and where an unterminated box starts (a response cut off while writing its answer), if one does."""
    out: list[_Commitment] = []
    pos = 0
    while len(out) < 10 * MAX_BOXES:
        m = _BOX.search(text, pos)
        if not m:
            break
        j = m.end()
        if j < len(text) and text[j] == "{":
            depth, k = 0, j
            for b in _BRACES.finditer(text, j):  # jumps between braces at C speed
                c = b.group()
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        k = b.start()
                        break
            if depth:
                return out[-MAX_BOXES:], m.start()
            out.append(_Commitment(m.start(), text[j + 1 : k].strip(), "boxed"))
            pos = k + 1
        else:
            m2 = re.match(r"[^\s$]+", text[j:])
            if m2 and m.group().endswith(" "):
                out.append(_Commitment(m.start(), m2.group(), "boxed"))
            pos = j + (m2.end() if m2 else 0) + 1
    return out[-MAX_BOXES:], None


def boxed_answers(text: str) -> list[str]:
    """Contents of every outermost `\\boxed{...}` / `\\fbox{...}`, in order."""
    return [c.value for c in _boxes(text)[0]]


def _boundaries(text: str, lo: int, hi: int) -> list[int]:
    """Statement ends in text[lo:hi]: newlines and sentence stops outside math and braces."""
    out, depth, math, display, i = [], 0, False, False, lo
    while i < hi:
        c = text[i]
        if c == "\\" and i + 1 < hi:
            nxt = text[i + 1]
            if nxt in "([":
                math, display = True, display or nxt == "["
            elif nxt in ")]":
                math, display = False, display and nxt != "]"
            i += 2
            continue
        if text.startswith("$$", i):
            display = not display
            i += 2
            continue
        if c == "$":
            math = not math
        elif c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif c == "\n" and not display:
            out.append(i)  # inline math never spans lines (and a currency `$` must not hide a line end)
            math, depth = False, 0
        elif c in ".!?" and not math and depth == 0:
            rest = text[i + 1 : i + 3]
            if rest == "" or (rest[:1].isspace() and (rest[1:2].isupper() or rest[1:2] in "(\\$*\n")):
                out.append(i + 1)
        i += 1
    return out


def _statement(text: str, p: int) -> tuple[int, int]:
    """(start, end) of the statement that holds position p."""
    lo = max(0, p - WINDOW)
    hi = min(len(text), p + WINDOW)
    bounds = _boundaries(text, lo, hi)
    start = max([b for b in bounds if b <= p], default=lo)
    end = min([b for b in bounds if b > p], default=hi)
    return start, end


def _after_phrase(text: str, at: int) -> str | None:
    """The answer that follows a phrase: the rest of its statement (so `$5$ or $6$` stays a hedge)."""
    _, end = _statement(text, at)
    rest = text[at:end]
    m = _STOP.search(rest)
    if m:
        rest = rest[: m.start()]
    ans = strip_trailing_punctuation(rest.strip().lstrip(" \t*:").strip().strip("*").strip())
    return strip_math_delimiters(ans) or None


def _phrases(text: str, offset: int) -> list[_Commitment]:
    out = []
    for name, pattern in _PHRASES:
        for m in pattern.finditer(text):
            ans = _after_phrase(text, m.end())
            if ans and not _BOX.search(ans):  # a box inside the phrase is its own commitment
                out.append(_Commitment(offset + m.start(), ans, name))
    return out


def _number_value(statement: str) -> str | None:
    """The one value a free statement commits to: after its last `=`, else its only number (with hedge
    words kept, so `at least 5` is not 5); None when it names several different numbers."""
    roots = _ASSIGNMENTS.findall(statement.replace("$", ""))
    if len(roots) >= 2 and len({v for v, _ in roots}) == 1 and statement.count("=") == len(roots):
        return ", ".join(value.strip() for _, value in roots)  # `x = 3, x = 5, and x = 7` lists three roots
    if "=" in statement:
        rhs = strip_trailing_punctuation(statement[statement.rindex("=") + 1 :].strip().strip("$ "))
        if not _PROSE_WORD.search(re.sub(r"\\[a-zA-Z]+", " ", rhs)):
            return rhs or None  # `= 6 + 9i`, `= \\frac{243}{625}`: the whole right side
        statement = rhs
    found = list(_NUMBER.finditer(statement))
    values = {n.group().replace(",", "").lstrip("\\$ ") for n in found}
    if len(values) != 1:
        return None
    last = found[-1]
    before = _HEDGE_BEFORE.search(statement[: last.start()])
    after = statement[last.end() :]
    if before or _HEDGE_AFTER.match(after):
        return statement.strip()  # `at least 5`, `5 or 6`: kept whole, so it is not a bare 5
    unit = re.match(r"\s*([A-Za-z]+(?:\^\d)?)(?=[\s.,;!?]|$)", after)
    number = last.group().replace(",", "").lstrip("\\$ ")
    if unit and unit.group(1).lower() not in FUNCTION_WORDS:
        return f"{number} {unit.group(1)}"
    return number


def _weak(tail: str) -> Extraction:
    """No commitment: a bold answer at the end, the last conclusion statement, the final line."""
    lines = tail.strip().splitlines()
    for line in reversed(lines[-3:]):
        bolds = _BOLD.findall(line)
        if bolds and not bolds[-1].rstrip().endswith(":"):
            return Extraction((bolds[-1].strip(),), "bold")
    stripped = tail.strip()
    words = _PROSE_WORD.findall(re.sub(r"\\[a-zA-Z]+\s*(?:\{[^{}]*\})?", " ", stripped))
    limit = 1 if re.search(r"\d", stripped) else 3  # `12 apples`, `north east`, but not `So she pays $9.`
    if stripped and len(stripped) <= BARE_MAX_CHARS and "\n" not in stripped and len(words) <= limit:
        return Extraction((stripped,), "bare")  # a short answer on its own is its own answer
    bounds = [0, *_boundaries(tail, 0, len(tail)), len(tail)]
    statements = [tail[a:b].strip() for a, b in zip(bounds, bounds[1:]) if tail[a:b].strip()]
    for st in reversed(statements):
        if _CONCLUSION.search(st):
            value = _number_value(st)
            if value:
                return Extraction((value,), "conclusion")
            break
    if statements:
        value = _number_value(statements[-1])
        if value:
            return Extraction((value,), "final line")
    return Extraction((), "none")


def extract(response: str) -> Extraction:
    """Every answer committed in the closing statement, and how it was found."""
    offset = max(0, len(response) - TAIL_CHARS)
    boxes, unterminated = _boxes(response)
    commitments = boxes + _phrases(response[offset:], offset)
    last = max(commitments, key=lambda c: c.start, default=None)
    if unterminated is not None and (last is None or unterminated > last.start):
        return Extraction((), "unterminated box")  # cut off while writing its answer: nothing committed
    if last is None:
        return _weak(response[offset:])
    start, end = _statement(response, last.start)
    closing = sorted((c for c in commitments if start <= c.start < end), key=lambda c: c.start)
    values = tuple(dict.fromkeys(c.value for c in closing))
    return Extraction(values or (last.value,), last.kind)

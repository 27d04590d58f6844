"""Final-answer extraction from a whole model output (gold-free, so strategies may vote with it).

Priority: `\\boxed{}`/`\\fbox{}` (all of them, so a grader can see a hedge), then "final answer is ...",
"Final Answer: ...", "The answer is ...", "Answer: ...", then a markdown-bold answer at the end, then a
short bare answer, then the last number. All scanning is linear in the response length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BOXES = 16
BARE_MAX_CHARS = 120

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_BRACES = re.compile(r"\\.|[{}]", re.S)
_PHRASES = [
    ("final answer", re.compile(r"final\s+answer\s*(?:is|:|=)\s*:?", re.I)),
    ("answer is", re.compile(r"\b(?:the|my)\s+(?:correct\s+)?answer\s+(?:is|would be|should be)\s*:?", re.I)),
    ("answer:", re.compile(r"(?:^|\n|\*\*)\s*(?:\*\*)?answer(?:\*\*)?\s*:\s*(?:\*\*)?", re.I)),
]
_BOLD = re.compile(r"\*\*([^*\n]{1,200})\*\*")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_SENTENCE_END = re.compile(r"\.(?:\s|$)(?=\s*[A-Z(])|\.\s*$|\n|\s(?:I hope|Hope|This|which|because|since)\b")


@dataclass(frozen=True)
class Extraction:
    answers: tuple[str, ...]  # every committed answer, in order (several only for multiple boxes)
    method: str  # how it was found: boxed, final answer, answer is, bold, bare, last number, none

    @property
    def answer(self) -> str | None:
        return self.answers[-1] if self.answers else None


def boxed_answers(text: str) -> list[str]:
    """Contents of every outermost `\\boxed{...}` / `\\fbox{...}`, braces balanced; `\\boxed 5` too."""
    out: list[str] = []
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
                break  # unterminated box: nothing committed
            out.append(text[j + 1 : k].strip())
            pos = k + 1
        else:
            m2 = re.match(r"[^\s$]+", text[j:])
            if m2 and m.group().endswith(" "):
                out.append(m2.group())
            pos = j + (m2.end() if m2 else 0) + 1
    return out[-MAX_BOXES:]


def _after_phrase(rest: str) -> str | None:
    """The answer that follows a phrase: a `$...$` span if one opens it, else up to the sentence end."""
    rest = rest.lstrip(" \t*:")
    if rest.startswith("$$") or rest.startswith("\\["):
        close = "$$" if rest.startswith("$$") else "\\]"
        end = rest.find(close, 2)
        return rest[2:end].strip() if end > 0 else None
    if rest.startswith("$") or rest.startswith("\\("):
        close = "$" if rest.startswith("$") else "\\)"
        end = rest.find(close, len(close))
        return rest[len(close) : end].strip() if end > 0 else None
    line = rest[:400]
    m = _SENTENCE_END.search(line)
    ans = (line[: m.start()] if m else line).strip().strip("*").strip()
    return ans or None


def extract(response: str) -> Extraction:
    """Every answer the response commits to, and how it was found."""
    boxes = boxed_answers(response)
    if boxes:
        return Extraction(tuple(boxes), "boxed")
    if _BOX.search(response[-4000:]):
        return Extraction((), "unterminated box")  # cut off while writing its answer: nothing committed
    tail = response[-4000:]
    for name, pattern in _PHRASES:
        matches = list(pattern.finditer(tail))
        if matches:
            last = matches[-1]
            ans = _after_phrase(tail[last.end() :])
            if ans:
                return Extraction((ans,), name)
    last_lines = tail.strip().splitlines()[-3:]
    for line in reversed(last_lines):
        bolds = _BOLD.findall(line)
        if bolds and not bolds[-1].rstrip().endswith(":"):
            return Extraction((bolds[-1].strip(),), "bold")
    stripped = response.strip()
    if stripped and len(stripped) <= BARE_MAX_CHARS and "\n" not in stripped and len(stripped.split()) <= 16:
        return Extraction((stripped,), "bare")
    numbers = _NUMBER.findall(tail)
    if numbers:
        return Extraction((numbers[-1].replace(",", ""),), "last number")
    return Extraction((), "none")

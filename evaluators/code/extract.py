"""Find the program in a model's response (gold-free: strategies may call these)."""

from __future__ import annotations

import ast
import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_CODE_LANGS = {"", "python", "py", "python3", "py3"}
_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import |@)", re.M)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting: not a program we can use
        return False
    return True


def extract_code(response: str) -> str | None:
    """The last fenced Python block that defines something (else the last fenced Python block);
    without fences, the response from its first `def`/`import`/`class` line, trimmed of trailing
    prose until it parses. None when nothing looks like code. An unclosed fence (a generation cut
    off by the token budget) counts up to the end of the text."""
    blocks = [body for lang, body in _FENCE.findall(response) if lang.lower() in _CODE_LANGS and body.strip()]
    if blocks:
        defining = [b for b in blocks if _CODE_START.search(b)]
        return (defining or blocks)[-1].strip("\n")
    m = _CODE_START.search(response)
    if m is None:
        return None
    lines = response[m.start():].rstrip().splitlines()
    while lines:
        code = "\n".join(lines)
        if _parses(code):
            return code
        lines.pop()
    return None


def vote_key(code: str) -> str:
    """Programs that differ only in comments, blank lines or formatting vote together."""
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code.strip()

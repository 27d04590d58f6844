"""Knights-and-knaves grading: parse the role the answer gives every person.

An answer is right only if every person gets exactly one role and it matches gold: naming both
roles for someone (hedging) or leaving someone out is wrong, so listing every combination cannot
score. Only the final-answer region is read, because the reasoning before it legitimately says
"assume Amelia is a knight".
"""

from __future__ import annotations

import re

from core.grade import Grade
from evaluators.logic.extract import MAX_SCAN, answer_region

GRADER_VERSION = "kk-1"
ROLES = ("knight", "knave")

# "Amelia is a knight", "Amelia: Knave", "Amelia - knight", "Amelia (knave)", "Amelia is not a knave"
_PAIR = re.compile(
    r"\b([A-Z][a-zA-Z'\-]*)\*{0,2}\s*(?:is|was|=|:|-|–|→|->|\()?\s*(not\s+)?(?:an?\s+)?\*{0,2}(knight|knave)s?\b"
    r"(?:\s*(?:or|and|/|,)\s*(?:an?\s+)?(knight|knave)s?\b)?",
    re.IGNORECASE,
)
# "Knights: Amelia, Penelope" / "Knaves: Evelyn and Zoey"
_LIST = re.compile(r"\b(knights|knaves)\s*(?:are|:|-|=)\s*([^.;\n]*)", re.IGNORECASE)
# "Amelia and Penelope are knights", "Ella, Zoey and Henry are both knaves"
_GROUP = re.compile(
    r"\b((?:[A-Z][a-zA-Z'\-]{0,30}(?:\s{0,3},\s{0,3}(?:and\s{1,3})?|\s{1,3}and\s{1,3})){1,12}[A-Z][a-zA-Z'\-]*)\s+are\s+(?:both\s+|all\s+)?(knights|knaves)\b"
)
_NOT_NAMES = {"knight", "knave", "knights", "knaves", "so", "thus", "and", "therefore", "answer", "final", "hence"}


def parse_roles(text: str, known: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Every (name -> roles claimed) pair in `text`; a name can collect both roles (hedging).
    Names must be capitalised unless they are in `known` (lower-case names from gold)."""
    text = text[-MAX_SCAN:].replace("*", "")
    found: dict[str, set[str]] = {}
    for m in _PAIR.finditer(text):
        name, neg, role = m.group(1), m.group(2), m.group(3).lower()
        if name.lower() in _NOT_NAMES or not (name[0].isupper() or name.lower() in known):
            continue
        if neg:
            role = ROLES[1 - ROLES.index(role)]
        found.setdefault(name.lower(), set()).add(role)
        if m.group(4):  # "Penelope is a knight or a knave": both roles claimed
            found[name.lower()].add(m.group(4).lower())
    for m in _GROUP.finditer(text):
        for name in re.findall(r"[A-Z][a-zA-Z'\-]*", m.group(1)):
            if name.lower() not in _NOT_NAMES:
                found.setdefault(name.lower(), set()).add(m.group(2)[:-1])
    for m in _LIST.finditer(text):
        role = m.group(1).lower()[:-1]
        for name in re.findall(r"\b[A-Z][a-zA-Z'\-]*\b", m.group(2)):
            if name.lower() not in _NOT_NAMES and name.lower() not in ("none", "nobody"):
                found.setdefault(name.lower(), set()).add(role)
    return found


def region(response: str) -> str | None:
    """The final-answer region; without a marker, the last paragraph."""
    r = answer_region(response, multiline=True)
    if r is not None:
        return r
    paras = [p for p in re.split(r"\n\s*\n", response[-MAX_SCAN:].strip()) if p.strip()]
    return paras[-1] if paras else None


def extract(response: str) -> str | None:
    """Canonical 'name=role; ...' (sorted) for voting, or None when no role is stated."""
    r = region(response)
    if r is None:
        return None
    roles = parse_roles(r)
    if not roles:
        return None
    return "; ".join(f"{n}={'/'.join(sorted(v))}" for n, v in sorted(roles.items()))


def gold_answer(names: list[str], knights: list[bool]) -> str:
    return ", ".join(f"{n} is a {'knight' if k else 'knave'}" for n, k in zip(names, knights))


def parse_gold(gold: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2).lower()) for m in re.finditer(r"([^,]+?) is a (knight|knave)", gold)]


def grade(response: str, gold: str) -> Grade:
    """Correct iff every person in gold is given exactly one role and it is the gold role."""
    pairs = [(n.strip(), r) for n, r in parse_gold(gold)]
    r = region(response)
    if r is None:
        return Grade.wrong(None, "no final answer", GRADER_VERSION, "invalid")
    roles = parse_roles(r, frozenset(n.lower() for n, _ in pairs))
    extracted = extract(response)
    if not roles:
        return Grade.wrong(extracted, "no roles stated", GRADER_VERSION, "invalid")
    right = 0
    problems = []
    for name, role in pairs:
        claimed = roles.get(name.lower(), set())
        if not claimed:
            problems.append(f"{name} missing")
        elif len(claimed) > 1:
            problems.append(f"{name} given both roles")
        elif role in claimed:
            right += 1
        else:
            problems.append(f"{name} wrong")
    if right == len(pairs):
        return Grade.ok(extracted, f"people {right}/{len(pairs)}", GRADER_VERSION)
    return Grade.wrong(extracted, f"people {right}/{len(pairs)}: {', '.join(problems)}", GRADER_VERSION)

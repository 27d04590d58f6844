"""BIG-Bench Hard grading: exact match after task-aware normalisation.

BBH targets come in five shapes (option letters, a binary word, an integer, a Dyck closing
sequence, a sorted word list); each task maps to one. Normalising both sides by shape lets
"(B)", "B", "B) heptagon" or the option text "heptagon" all match gold "(B)", while keeping
the comparison exact (no fuzzy matching that could credit a wrong answer).
"""

from __future__ import annotations

import re

from core.grade import Grade
from evaluators.logic.extract import answer_region, clean_short

GRADER_VERSION = "bbh-1"

MC_TASKS = frozenset(
    {
        "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton",
        "logical_deduction_five_objects", "logical_deduction_seven_objects", "logical_deduction_three_objects",
        "movie_recommendation", "penguins_in_a_table", "reasoning_about_colored_objects", "ruin_names",
        "salient_translation_error_detection", "snarks", "temporal_sequences",
        "tracking_shuffled_objects_five_objects", "tracking_shuffled_objects_seven_objects",
        "tracking_shuffled_objects_three_objects",
    }
)
BINARY_TASKS = {
    "boolean_expressions": ("true", "false"),
    "causal_judgement": ("yes", "no"),
    "navigate": ("yes", "no"),
    "web_of_lies": ("yes", "no"),
    "sports_understanding": ("yes", "no"),
    "formal_fallacies": ("valid", "invalid"),
}
NUMERIC_TASKS = frozenset({"multistep_arithmetic_two", "object_counting"})
TASKS = tuple(sorted(MC_TASKS | set(BINARY_TASKS) | NUMERIC_TASKS | {"dyck_languages", "word_sorting"}))

_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen twenty").split()
_OPTION = re.compile(r"^\(([A-Z])\)\s*(.+?)\s*$", re.MULTILINE)
_BRACKETS = set("()[]{}<>")


def task_kind(task: str) -> str:
    if task in MC_TASKS:
        return "mc"
    if task in BINARY_TASKS:
        return "binary"
    if task in NUMERIC_TASKS:
        return "number"
    if task == "dyck_languages":
        return "dyck"
    if task == "word_sorting":
        return "words"
    raise ValueError(f"unknown BBH task {task!r}")


def format_hint(task: str) -> str:
    """The exact final-line format the grader expects, stated in the prompt."""
    kind = task_kind(task)
    if kind == "mc":
        return "End with a line of the form 'Final answer: (X)', where X is the letter of the correct option."
    if kind == "binary":
        a, b = BINARY_TASKS[task]
        if task != "sports_understanding":
            a, b = a.capitalize(), b.capitalize()
        return f"End with a line of the form 'Final answer: {a}' or 'Final answer: {b}'."
    if kind == "number":
        return "End with a line of the form 'Final answer: N', where N is just the integer."
    if kind == "dyck":
        return "End with a line of the form 'Final answer: ...' giving only the closing brackets, separated by spaces."
    return "End with a line of the form 'Final answer: ...' giving the sorted words separated by single spaces."


def options(question: str) -> dict[str, str]:
    """Option letter -> option text, from the '(A) text' lines of a BBH input."""
    return {m.group(1): m.group(2).strip().lower() for m in _OPTION.finditer(question)}


def _norm_mc(ans: str, opts: dict[str, str]) -> str:
    s = ans.strip()
    m = re.match(r"^\(?([A-Z])\)?(?=$|[\s.:,)])", s)
    if m and (not opts or m.group(1) in opts):
        return f"({m.group(1)})"
    m = re.search(r"\(([A-Z])\)", s)
    if m and (not opts or m.group(1) in opts):
        return f"({m.group(1)})"
    low = s.lower().strip(" .")
    for letter, text in opts.items():
        if low == text.rstrip("."):
            return f"({letter})"
    return low


def _norm_binary(ans: str, words: tuple[str, str]) -> str:
    m = re.match(r"^\W*(\w+)", ans.lower())
    return m.group(1) if m and m.group(1) in words else ans.lower().strip()


def _norm_number(ans: str) -> str:
    s = ans.lower().replace(",", "")
    m = re.search(r"-?\d+(?:\.0+)?\b", s)
    if m:
        return str(int(float(m.group())))
    w = re.match(r"^\W*(\w+)", s)
    if w and w.group(1) in _WORDS:
        return str(_WORDS.index(w.group(1)))
    return s.strip()


def normalise(task: str, ans: str, question: str = "") -> str:
    """Canonical form of an answer (or of gold) for `task`."""
    ans = clean_short(ans) if "\n" not in ans.strip() else ans.strip()
    kind = task_kind(task)
    if kind == "mc":
        return _norm_mc(ans, options(question))
    if kind == "binary":
        return _norm_binary(ans, BINARY_TASKS[task])
    if kind == "number":
        return _norm_number(ans)
    if kind == "dyck":
        return "".join(c for c in ans if c in _BRACKETS)
    return " ".join(re.split(r"[\s,]+", ans.lower().strip(" ."))).strip()


def extract(response: str) -> str | None:
    """The text after the last 'Final answer:' / 'the answer is' / \\boxed{}, markup stripped."""
    r = answer_region(response)
    return clean_short(r) if r is not None else None


def vote_key(answer: str) -> str:
    """Task-free canonical key: the five BBH answer shapes are distinguishable from the text."""
    s = clean_short(answer)
    low = s.lower()
    m = re.match(r"^\(?([A-Z])\)?(?=$|[\s.:,)])", s)
    if m:
        return f"({m.group(1)})"
    if low in ("true", "false", "yes", "no", "valid", "invalid"):
        return low
    if re.fullmatch(r"-?\d+", low.replace(",", "")):
        return str(int(low.replace(",", "")))
    if s and all(c in _BRACKETS or c.isspace() for c in s):
        return s.replace(" ", "")
    return " ".join(re.split(r"[\s,]+", low))


def grade(response: str, gold: str, task: str, question: str) -> Grade:
    extracted = extract(response)
    if extracted is None:
        return Grade.wrong(None, "no final answer", GRADER_VERSION, "invalid")
    got, want = normalise(task, extracted, question), normalise(task, gold, question)
    if got == want:
        return Grade.ok(extracted, f"{task}: equal after normalisation", GRADER_VERSION)
    return Grade.wrong(extracted, f"{task}: {got!r} != {want!r}", GRADER_VERSION)

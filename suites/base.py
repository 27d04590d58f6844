"""What a suite is: problems + a prompt + a grader + a gold-free answer extractor.

Like an Inspect task, each part is replaceable. A suite is named on the command line as
`base` or `base:key=value,...` (e.g. `arith:digits=2,n=50,seed=7`); the name fully determines
the problems, so it is part of a run's identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.errors import UserError
from core.grade import Grade
from core.prompt import PromptTemplate
from core.records import Problem


@dataclass
class Suite:
    """A loaded suite (built by its `SuiteSpec`). `grade` sees gold; `extract` and `vote_key` do not, so
    strategies may use them. The harness reads these fields; the grader parts come from a `GraderSpec`."""

    name: str
    problems: list[Problem]
    template: PromptTemplate
    grade: Callable[[str, Problem], Grade]
    extract: Callable[[str], str | None]
    vote_key: Callable[[str], str] = lambda a: a.strip()
    grader_version: str = "0"
    # An independent grader run beside ours; disagreements are stored for review (None: no second opinion).
    second_opinion: Callable[[str, Problem], bool | None] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    warm_up: Callable[[], None] | None = None  # the grader's (GraderSpec.warm_up); gold-free


def parse_suite_name(spec: str) -> tuple[str, dict[str, str]]:
    """`zebra:size=4x4,n=200` -> ("zebra", {"size": "4x4", "n": "200"}); a family member keeps its name in the
    base: `rg:knights_knaves:n_people=4` -> ("rg:knights_knaves", {"n_people": "4"})."""
    base, _, rest = spec.partition(":")
    head, colon, tail = rest.partition(":")
    if head.strip() and "=" not in head and "," not in head:  # `family:member[:key=value,...]`
        base, rest = f"{base.strip()}:{head.strip()}", tail if colon else ""
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise UserError(f"suite parameter {part!r} in {spec!r} is not key=value; write e.g. {base}:n=50,seed=1")
        params[key.strip()] = value.strip()
    return base.strip(), params


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local mirror directory: the flag wins, then THINKBENCH_DATA_DIR; None means the hub."""
    value = explicit or os.environ.get("THINKBENCH_DATA_DIR")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UserError(f"data directory {path} does not exist; pass --data-dir DIR or set THINKBENCH_DATA_DIR")
    return path

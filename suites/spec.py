"""The suite seam: a `SuiteSpec` per suite, registered in one line beside its loader or generator.

A spec says what a suite is made of (its parameters model, how to get its problems, its prompt, the
name of its grader); `SuiteSpec.build` assembles the `Suite` the harness runs, so no suite spells its
own name or wires grader parts by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from core.errors import UserError
from core.prompt import PromptTemplate
from core.records import Problem
from core.registry import Registry
from evaluators.spec import GRADERS
from suites.base import Suite, data_dir, parse_suite_name
from suites.loading import load_records
from suites.params import GeneratedParams, SuiteParams

P = TypeVar("P", bound=SuiteParams)
G = TypeVar("G", bound=GeneratedParams)


@dataclass(frozen=True)
class SuiteSpec(Generic[P]):
    """`problems(params, data_dir)` loads or generates; `grader` names a registered `GraderSpec`."""

    name: str
    params: type[P]
    problems: Callable[[P, Path | None], list[Problem]]
    template: PromptTemplate
    grader: str
    doc: str  # one line: what the suite is and where it comes from

    def parse(self, raw: dict[str, str]) -> P:
        return self.params.from_spec(self.name, raw)

    def member(self, name: str) -> SuiteSpec[Any]:
        """The suite `family:name` of a family (`rg:basic_arithmetic`); a plain suite has no members."""
        raise UserError(f"suite parameter {name!r} in {self.name}:{name} is not key=value; "
                        f"write e.g. {self.name}:n=50,seed=1")

    def build(self, params: P, data_dir: Path | None) -> Suite:
        grader = GRADERS.get(self.grader)
        return Suite(
            name=params.suite_name(self.name),
            problems=self.problems(params, data_dir),
            template=self.template,
            grade=grader.bind(**params.grader_options()),
            extract=grader.extract,
            vote_key=grader.vote_key,
            grader_version=grader.version,
            second_opinion=grader.second_opinion,
            meta=params.meta(),
            warm_up=grader.warm_up,
        )


SUITES: Registry[SuiteSpec[Any]] = Registry("suite", "suites")


def by_index(problem: Callable[[G, int], Problem]) -> Callable[[G, Path | None], list[Problem]]:
    """Problems of a generated suite: `problem(params, i)` for i < n, each a pure function of its index."""
    return lambda params, _data_dir: [problem(params, i) for i in range(params.n)]


def mirrored(
    convert: Callable[[list[dict[str, Any]]], list[Problem]],
    mirror_file: str, hub_id: str, split: str = "test", hub_config: str | None = None,
) -> Callable[[SuiteParams, Path | None], list[Problem]]:
    """Problems of a fixed dataset: rows from the mirror file (or the hub), converted."""
    return lambda _params, data_dir: convert(load_records(data_dir, mirror_file, hub_id, split, hub_config))


def suite_names() -> list[str]:
    return SUITES.names()


def load_suite(spec: str, data_dir_arg: str | None = None, limit: int | None = None) -> Suite:
    """Load a suite by its command-line name; `limit` keeps the first problems (not comparable runs)."""
    base, raw = parse_suite_name(spec)
    family, _, member = base.partition(":")
    suite_spec = SUITES.get(family).member(member) if member else SUITES.get(family)
    directory = data_dir(data_dir_arg)  # a missing mirror is reported before parameter faults, as always
    suite = suite_spec.build(suite_spec.parse(raw), directory)
    if limit is not None:
        if limit <= 0:
            raise UserError(f"--limit must be positive, got {limit}")
        suite.problems = suite.problems[:limit]
    return suite

"""Suites: one file per suite (or family), each ending in `SUITES.register(SuiteSpec(...))`.

`load_suite("arith:digits=2,n=50")` parses the name with the suite's parameters model, which also
spells the canonical name stored with a run. Modules are found by walking this package on first
lookup, so a new suite file needs no list.
"""

from suites.base import Suite, parse_suite_name
from suites.params import GeneratedParams, Span, SuiteParams, bounded, choice, span
from suites.spec import SUITES, SuiteSpec, by_index, load_suite, mirrored, suite_names

__all__ = [
    "GeneratedParams", "SUITES", "Span", "Suite", "SuiteParams", "SuiteSpec", "bounded", "by_index", "choice",
    "load_suite", "mirrored", "parse_suite_name", "span", "suite_names",
]

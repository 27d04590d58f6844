"""The plain-data vocabulary every package shares: records, errors, the prompt template, the grade.

Everything here is data that crosses process boundaries (Ray actors, the store, grading tasks).
This package imports nothing else of ThinkBench, so suites, evaluators, harness and leaderboard may
all import it without cycles; the CLI (`harness.cli`) is the top layer over all of them.
"""

"""One file per grader, each ending in `GRADERS.register(GraderSpec(...))`; found without a list."""

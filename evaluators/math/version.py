"""The grader version: part of every cache key and every stored Grade; bump on any rule change."""

GRADER_VERSION = "math-2.0"  # 2.0: last commitment wins, hedges/units/percent/structure rules (issue 17)

"""Nested settings as aligned `key  value` lines: how `thinkbench show` prints a run's config and manifest.

Nested mappings flatten to dotted keys (`strategy.params.n`), lists of scalars join with commas, lists of mappings
index their items (`worker_stats[0].problems`); strings print as they are unless they hold control characters
(then quoted, so a line stays one line). Keys sort, so the same run always prints the same lines.
"""

from __future__ import annotations

import json
from typing import Any


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, shown value) pairs of a nested value, keys sorted; an empty mapping or list shows as such."""
    if isinstance(value, dict) and value:
        return [pair for k in sorted(value, key=str) for pair in flatten(value[k], f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return [pair for i, v in enumerate(value) for pair in flatten(v, f"{prefix}[{i}]")]
    return [(prefix, shown(value))]


def shown(value: Any) -> str:
    """One value on one line: None as '-', lists of scalars comma-joined, unprintable strings quoted."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, str):
        return value if value.isprintable() else json.dumps(value)
    return str(value)


def aligned(title: str, value: dict[str, Any], indent: int = 2) -> list[str]:
    """`title:` then one `key  value` line per leaf, values in one column."""
    pairs = flatten(value)
    if not pairs or pairs == [("", "{}")]:
        return [f"{title}: (none)"]
    width = max(len(k) for k, _ in pairs)
    return [f"{title}:", *(f"{' ' * indent}{k:<{width}}  {v}" for k, v in pairs)]

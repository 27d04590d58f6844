"""Records from the Hugging Face hub or from a local mirror directory of the same files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import UserError


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"data file {path} is missing; point --data-dir / THINKBENCH_DATA_DIR at a complete mirror")
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise UserError(f"{path}:{lineno} is not valid JSON ({e.msg}); re-copy the mirror file") from None
    return rows


def load_records(
    mirror: Path | None, mirror_file: str, hub_id: str, split: str = "test", hub_config: str | None = None
) -> list[dict[str, Any]]:
    """Mirror file when a data directory is set, else the hub through `datasets`."""
    if mirror is not None:
        return read_jsonl(mirror / mirror_file)
    try:
        import datasets  # noqa: PLC0415 - optional: only needed without a mirror
    except ImportError:
        raise UserError(
            f"loading {hub_id} from the hub needs `pip install datasets`; or pass --data-dir MIRROR"
        ) from None
    try:
        ds = datasets.load_dataset(hub_id, hub_config, split=split)
    except Exception as e:  # noqa: BLE001 - network, auth, missing split: datasets raises many kinds, all user-fixable
        raise UserError(f"could not load {hub_id} from the hub ({type(e).__name__}); pass --data-dir MIRROR") from None
    return [dict(r) for r in ds]

"""Records from the Hugging Face hub or from a local mirror directory of the same files, both through `datasets`.

One code path: `datasets.load_dataset` reads a hub dataset by id, or a mirror file with its packaged `json`
builder, into the same Arrow cache (under the ThinkBench cache, per user: built on first load, memory-mapped
after). A mirror load never reaches the network: offline mode is set before `datasets` is first imported
(HF_DATASETS_OFFLINE=1, unless the environment says otherwise) and the call itself is local-files-only.
Rows come back as plain dicts in file order; a key some rows lack is None in those rows (Arrow's one schema), so
converters test `r.get(k) is not None`, never `k in r`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.errors import UserError


def cache_dir() -> Path:
    """`datasets`' cache: <THINKBENCH_CACHE or ~/.cache/thinkbench>/datasets, shared by every run of this user."""
    root = Path(os.environ.get("THINKBENCH_CACHE", Path.home() / ".cache" / "thinkbench")).expanduser()
    return root / "datasets"


def _datasets(offline: bool) -> Any:
    if offline:
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # read when `datasets` is first imported
    try:
        import datasets  # noqa: PLC0415 - deferred: importing it costs about a second; only suites with data need it
    except ImportError:
        raise UserError("loading suite data needs `datasets` (a ThinkBench dependency); reinstall with `make setup` "
                        "or `pip install datasets`") from None
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def read_mirror(path: Path, field: str | None = None) -> list[dict[str, Any]]:
    """Rows of a mirror file: JSON lines, or one JSON document whose `field` holds the rows (BBH's 'examples')."""
    if not path.is_file():
        raise UserError(f"data file {path} is missing; point --data-dir / THINKBENCH_DATA_DIR at a complete mirror")
    datasets = _datasets(offline=True)
    try:
        ds = datasets.load_dataset("json", data_files=str(path), field=field, split="train",
                                   cache_dir=str(cache_dir()),
                                   download_config=datasets.DownloadConfig(local_files_only=True))
    except Exception as e:  # noqa: BLE001 - datasets wraps parse errors in several kinds; all mean a bad file
        cause = str(e.__cause__ or e).splitlines()[0][:160] if str(e.__cause__ or e) else type(e).__name__
        raise UserError(f"{path} could not be read as JSON{' lines' if field is None else ''} ({cause}); "
                        "re-copy the mirror file") from None
    return [dict(r) for r in ds]


def load_records(
    mirror: Path | None, mirror_file: str, hub_id: str, split: str = "test", hub_config: str | None = None,
    field: str | None = None,
) -> list[dict[str, Any]]:
    """Mirror file when a data directory is set, else the hub; `datasets` either way."""
    if mirror is not None:
        return read_mirror(mirror / mirror_file, field)
    datasets = _datasets(offline=False)
    try:
        ds = datasets.load_dataset(hub_id, hub_config, split=split, cache_dir=str(cache_dir()))
    except Exception as e:  # noqa: BLE001 - network, auth, missing split: datasets raises many kinds, all user-fixable
        raise UserError(f"could not load {hub_id} from the hub ({type(e).__name__}); pass --data-dir MIRROR") from None
    return [dict(r) for r in ds]

"""`thinkbench merge SRC ... --into DST`: gather runs made on other machines into one store.

A run moves with every row of every per-run table (attempts, samples, calls, events, grader disagreements and
any table added later with a `run_id` column). A run already in the destination with the same content is skipped;
a run id whose content differs (in the destination, or between two sources) is refused before anything is copied,
so a merge copies all of its runs or none. Content is compared by an order-free hash of each table's rows per run.
Each copied run records where it came from (source file, the host that merged it, when, the source's schema).
Sources are .duckdb stores or `thinkbench dump` folders of Parquet files; an older schema reads its missing
columns as NULL (the way the store itself migrates), a newer one is refused.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from harness.store import MERGE_SKIP_DIGEST, SCHEMA_VERSION, Merger, Store

Digest = tuple[tuple[str, int, str], ...]


@dataclass(frozen=True)
class Source:
    path: Path
    alias: str
    schema: int
    columns: dict[str, list[str]]


@dataclass
class MergeResult:
    """What a merge did: runs copied per source, runs skipped as already present, rows copied per table."""

    into: Path
    copied: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{src}: {len(ids)} run(s) copied" for src, ids in self.copied.items()]
        rows = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n)
        out.append(f"into {self.into}: {sum(map(len, self.copied.values()))} run(s) copied ({rows or 'no rows'}), "
                   f"{len(self.skipped)} already present with identical content skipped")
        return out


def merge(sources: list[str], into: str) -> MergeResult:
    """Copy the sources' runs into `into` (created if missing; removed again if the merge is refused)."""
    dst = Path(into).expanduser()
    paths = [_source_path(s, dst) for s in sources]
    created = not dst.exists()
    try:
        with Store(dst).merging() as m:
            srcs = [_attach(m, p, f"tb_merge_src_{i}") for i, p in enumerate(paths)]
            dst_cols = m.columns(m.destination())
            per_run = {t: c for t, c in dst_cols.items() if "run_id" in c}
            plan, skipped = _plan(m, srcs, per_run)
            batches = [(s.alias, plan[s.alias], {t: set(c) for t, c in s.columns.items()}) for s in srcs]
            host = socket.gethostname()
            prov = [(rid, str(s.path.resolve()), host, s.schema) for s in srcs for rid in plan[s.alias]]
            rows = m.copy(batches, per_run, prov)
    except BaseException:
        if created:  # a refused merge into a new file leaves no file behind
            for p in (dst, dst.with_name(dst.name + ".wal")):
                p.unlink(missing_ok=True)
        raise
    return MergeResult(dst, {str(s.path): plan[s.alias] for s in srcs}, skipped, rows)


def _source_path(text: str, dst: Path) -> Path:
    p = Path(text).expanduser()
    if not p.exists():
        raise UserError(f"merge source {p} does not exist; pass a .duckdb store or a `thinkbench dump` folder")
    if dst.exists() and p.resolve() == dst.resolve():
        raise UserError(f"merge source {p} is the destination itself; pass another --into")
    return p


def _attach(m: Merger, path: Path, alias: str) -> Source:
    """Attach one source and check it is a ThinkBench store of this schema or older."""
    m.attach(alias, path)
    cols = m.columns(alias)
    if "thinkbench_meta" not in cols or "runs" not in cols:
        what = "folder holds no thinkbench_meta.parquet and runs.parquet" if path.is_dir() else \
            "file is not a ThinkBench store"
        raise UserError(f"merge source {path}: the {what}; pass a store or a `thinkbench dump` folder")
    schema = m.schema_version(alias)
    if schema > SCHEMA_VERSION:
        raise UserError(f"merge source {path} was written by a newer ThinkBench (schema {schema}, this one reads "
                        f"{SCHEMA_VERSION}); upgrade thinkbench")
    return Source(path, alias, schema, cols)


def _digests(m: Merger, catalog: str, have: dict[str, list[str]], per_run: dict[str, list[str]],
             only: list[str] | None = None) -> dict[str, Digest]:
    """run_id -> its content: (table, rows, hash) for every per-run table holding rows of it."""
    parts: dict[str, list[tuple[str, int, str]]] = {}
    for table, cols in sorted(per_run.items()):
        if table in MERGE_SKIP_DIGEST or table not in have:
            continue
        for rid, (n, h) in m.digests(catalog, table, cols, set(have[table]), only).items():
            parts.setdefault(rid, []).append((table, n, h))
    return {rid: tuple(v) for rid, v in parts.items()}


def _plan(m: Merger, srcs: list[Source], per_run: dict[str, list[str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Which runs each source contributes, and which are skipped; every conflict found before anything is copied."""
    seen: dict[str, tuple[Digest, Path]] = {}
    plan: dict[str, list[str]] = {s.alias: [] for s in srcs}
    conflicts: list[str] = []
    for s in srcs:
        for rid, digest in sorted(_digests(m, s.alias, s.columns, per_run).items()):
            if rid not in seen:
                seen[rid] = (digest, s.path)
                plan[s.alias].append(rid)
            elif seen[rid][0] != digest:
                conflicts.append(f"run {rid} differs between {seen[rid][1]} and {s.path}")
    dst = m.destination()
    present = _digests(m, dst, m.columns(dst), per_run, sorted(seen)) if seen else {}
    conflicts += [f"run {rid} is already in the destination with different content (from {seen[rid][1]})"
                  for rid in sorted(present) if present[rid] != seen[rid][0]]
    if conflicts:
        more = f" (and {len(conflicts) - 1} more conflicting run(s))" if len(conflicts) > 1 else ""
        raise UserError(f"{conflicts[0]}{more}; nothing merged: remove or rename the run in one store first")
    skipped = sorted(present)
    return {a: [r for r in ids if r not in present] for a, ids in plan.items()}, skipped


def dump(db: str | None, out: str) -> list[Path]:
    """`thinkbench dump`: every table of a store as out/<table>.parquet, written to a temporary folder first and
    renamed into place, so `out` is either the previous dump or the whole new one."""
    store = Store(db, read_only=True)
    target = Path(out).expanduser()
    if target.exists() and (not target.is_dir() or (any(target.iterdir())
                                                    and not (target / "thinkbench_meta.parquet").exists())):
        raise UserError(f"--out {target} exists and is not an earlier dump; pass a new or empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        written = store.dump(tmp)
        old = target.with_name(f".{target.name}.old") if target.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [target / p.name for p in written]

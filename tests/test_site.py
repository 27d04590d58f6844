"""The static site from `thinkbench export`: pages per run, sample shards, determinism, escaping, no network."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.store import RunStart, Store
from leaderboard import site_samples, synthetic

EVIL = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"


def _store(path: Path) -> tuple[Path, list[str]]:
    """Two synthetic runs, and one written through the store whose responses try to become markup."""
    ids = synthetic.write(path, "synth:site", [synthetic.SynthConfig("a", 0.0, 8),
                                               synthetic.SynthConfig("b", 1.0, 4, scores=True)], 60)
    s = Store(path)
    s.begin_run(RunStart("evil0000run1", "synth:site", "m<b>", "scripted", "cot",
                         {"suite": "synth:site", "model": "m<b>", "strategy": {"name": "cot", "params": {"n": 2}},
                          "db": "/private/path.duckdb"}, {"seed": 0}, {"git_revision": "abc", "dtype": "float32"},
                         60, False, 100))
    s.commit([{"run_id": "evil0000run1", "problem_id": f"synth-{i:05d}", "problem_index": i, "correct": i % 2 == 0,
               "generated_tokens": 5, "final_answer": EVIL if i == 0 else "4", "gold": "4", "difficulty": 1.0,
               "error": "engine died past its retries\ntraceback" if i == 59 else None} for i in range(60)],
             [{"run_id": "evil0000run1", "problem_id": f"synth-{i:05d}", "sample_idx": j,
               "text": EVIL + "x" * (9000 if (i, j) == (1, 0) else 0), "extracted": EVIL, "vote_key": "4",
               "correct": i % 2 == 0} for i in range(60) for j in range(2)])
    s.end_run("evil0000run1", "complete")
    return path, [*ids, "evil0000run1"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list[str], Path]:
    tmp = tmp_path_factory.mktemp("site")
    db, ids = _store(tmp / "s.duckdb")
    out = tmp / "site"
    assert main(["export", "--out", str(out), "--db", str(db)]) == 0
    return out, ids, db


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_run_has_a_page_a_sample_browser_and_a_reproduction(site):
    out, ids, _ = site
    for rid in ids:
        folder = out / "runs" / rid
        page = (folder / "index.html").read_text()
        for section in ("Results", "Accuracy by difficulty", "Accuracy by subject", "Compute ledger", "Reproduce",
                        "Configuration", "Manifest"):
            assert f"<h2>{section}</h2>" in page, (rid, section)
        assert "thinkbench run --config run.yaml" in page
        assert (folder / "samples.html").exists() and len(list((folder / "shards").glob("*.js"))) == 3  # 60 / 25
    repro = (out / "runs" / "evil0000run1" / "run.yaml").read_text()
    assert "model: m<b>" in repro and "private" not in repro  # where results went is not part of the run
    index = (out / "index.html").read_text()
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', index, re.S).group(1))
    assert sorted(r["run_id"] for r in data["suites"]["synth:site"]["runs"]) == sorted(ids)


def test_model_text_never_becomes_markup(site):
    out, _, _ = site
    for name, blob in _files(out).items():
        if name.endswith((".html", ".js")):
            text = blob.decode()
            assert "<img" not in text and "alert(1)</script>" not in text, name
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), f"{name} loads something remote"
            assert "fetch(" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", ""), name
    page = (out / "runs" / "evil0000run1" / "index.html").read_text()
    assert "m&lt;b&gt;" in page
    assert "failed attempts (not counted as wrong): 60 attempted, 1 failed" in page
    shard = (out / "runs" / "evil0000run1" / "shards" / "000.js").read_text()
    packed = re.fullmatch(r'TB_SHARD\(0,"([A-Za-z0-9+/=]+)"\);\n', shard).group(1)
    rows = json.loads(gzip.decompress(base64.b64decode(packed)))
    assert rows["synth-00000"][0][1] == EVIL and rows["synth-00000"][0][2] == EVIL  # kept verbatim, for textContent
    long = rows["synth-00001"][0][1]
    assert len(long) < site_samples.MAX_TEXT + 200 and "characters not shown" in long


def test_same_store_gives_byte_identical_site(site, tmp_path):
    out, _, db = site
    again = tmp_path / "again"
    assert main(["export", "--out", str(again), "--db", str(db)]) == 0
    assert _files(again) == _files(out)


def test_a_failed_export_leaves_the_previous_site(site, tmp_path, capsys):
    out, _, db = site
    copy = tmp_path / "copy"
    assert main(["export", "--out", str(copy), "--db", str(db)]) == 0
    before = _files(copy)
    assert main(["export", "--out", str(copy), "--db", str(db), "--suite", "nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert _files(copy) == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".copy")]


def test_merged_run_page_names_its_source(site, tmp_path):
    _, ids, db = site
    merged = tmp_path / "m.duckdb"
    assert main(["merge", str(db), "--into", str(merged)]) == 0
    out = tmp_path / "msite"
    assert main(["export", "--out", str(out), "--db", str(merged)]) == 0
    page = (out / "runs" / ids[0] / "index.html").read_text()
    assert "<h2>Provenance</h2>" in page and "s.duckdb" in page


def test_clip_keeps_head_and_tail():
    text = "a" * 7000 + "b" * 5000
    c = site_samples.clip(text)
    assert c.startswith("a" * 6000) and c.endswith("b" * site_samples.TAIL) and "4000 characters not shown" in c
    assert site_samples.clip("short") == "short" and site_samples.clip(None) is None


def test_browse_samples_keeps_the_first_n_per_problem(site, tmp_path, capsys):
    _, ids, db = site
    out = tmp_path / "small"
    assert main(["export", "--out", str(out), "--db", str(db), "--browse-samples", "2"]) == 0
    shard = (out / "runs" / ids[0] / "shards" / "000.js").read_text()
    rows = json.loads(gzip.decompress(base64.b64decode(re.search(r'"(.*)"', shard).group(1))))
    assert {len(v) for v in rows.values()} == {2} and "first 2 sample(s)" in (out / "runs" / ids[0] /
                                                                               "samples.html").read_text()
    assert main(["export", "--out", str(out), "--db", str(db), "--browse-samples", "-1"]) == 2
    assert "--browse-samples -1" in capsys.readouterr().err

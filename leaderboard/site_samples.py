"""A run's sample browser for the static site: its problems inline, their samples in gzip shards loaded on demand.

A run of 500 problems x 16 samples holds 8000 responses; one page of them would weigh megabytes before showing
anything. So the page carries only the problem list (id, gold, difficulty, subject, final answer, grade) and each
SHARD problems' samples live in shards/NNN.js: gzip of their JSON, base64, wrapped in a call the page defines.
A <script src> of a local file works from file:// as well as any static host (fetch() of local JSON does not), and
the browser inflates it with DecompressionStream. Responses longer than MAX_TEXT characters keep their head and
tail with the elision marked (the store and `thinkbench dump` keep the whole text). Model text reaches the page
only through textContent, never as markup. gzip with mtime 0 makes the shards byte-identical for one store.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd

from leaderboard.site_html import esc, page

SHARD = 25        # problems per shard file
MAX_TEXT = 8000   # characters of a response kept in the browser (head and tail)
TAIL = 2000


def clip(text: str | None) -> str | None:
    """A response as the browser shows it: whole up to MAX_TEXT characters, else head and tail around a marker."""
    if text is None or len(text) <= MAX_TEXT:
        return text
    head = MAX_TEXT - TAIL
    return f"{text[:head]}\n[... {len(text) - MAX_TEXT} characters not shown here; the store has the full text ...]\n" \
           f"{text[-TAIL:]}"


def problem_rows(att: pd.DataFrame) -> list[list[Any]]:
    """[problem_id, gold, difficulty, subject, final answer, correct, generated tokens, error, shard] in suite order."""
    att = att.sort_values(["problem_index", "problem_id"], kind="stable")
    rows = []
    for i, a in enumerate(att.itertuples()):
        diff = None if pd.isna(a.difficulty) else float(a.difficulty)
        rows.append([a.problem_id, _str(a.gold), diff, _str(a.subject), _str(a.final_answer),
                     None if pd.isna(a.correct) else bool(a.correct), _int(a.generated_tokens), _str(a.error),
                     i // SHARD])
    return rows


def _str(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def shard_files(problems: list[list[Any]], samples: dict[str, list[list[Any]]]) -> dict[str, bytes]:
    """shards/NNN.js per SHARD problems: {problem_id: [[sample, text, extracted, correct, status, score, tokens,
    finish], ...]} gzipped, base64, as `TB_SHARD(n, "...")`."""
    out: dict[str, bytes] = {}
    for start in range(0, len(problems), SHARD):
        n = start // SHARD
        chunk = {p[0]: samples.get(p[0], []) for p in problems[start:start + SHARD]}
        raw = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=True)
        packed = base64.b64encode(gzip.compress(raw.encode("utf-8", "replace"), compresslevel=6, mtime=0))
        out[f"shards/{n:03d}.js"] = b'TB_SHARD(%d,"' % n + packed + b'");\n'
    return out


def sample_rows(df: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """problem_id -> its samples as shard rows (the frame is one run's `queries.run_browser_samples`)."""
    out: dict[str, list[list[Any]]] = {}
    cols = [df[c].tolist() for c in ("problem_id", "sample_idx", "text", "extracted", "correct", "grade_status",
                                     "score", "generated_tokens", "finish_reason")]
    for pid, idx, text, ext, ok, status, score, tok, fin in zip(*cols):
        out.setdefault(pid, []).append([int(idx), clip(text), _str(ext), None if ok is None or pd.isna(ok) else
                                        bool(ok), _str(status), None if score is None or pd.isna(score) else
                                        round(float(score), 4), _int(tok), _str(fin)])
    return out


SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = id => document.getElementById(id);
const shards = {}, waiting = {};
window.TB_SHARD = (n, b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text().then(t => {
    shards[n] = JSON.parse(t); (waiting[n] || []).forEach(f => f(shards[n])); delete waiting[n]; });
};
function shard(n) { return new Promise(res => {
  if (shards[n]) return res(shards[n]);
  if (!waiting[n]) { waiting[n] = [];
    const s = document.createElement('script'); s.src = 'shards/' + String(n).padStart(3, '0') + '.js';
    document.head.appendChild(s); }
  waiting[n].push(res); }); }
function el(tag, text, cls) { const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
function grade(ok) {
  return ok === null ? el('span', '?') : el('span', ok ? '✓ correct' : '✗ wrong', ok ? 'ok' : 'bad'); }
const PAGE = 50; let page = 0;
function visible() { const q = $('q').value.trim().toLowerCase(), f = $('f').value;
  return D.problems.filter(p => (!q || p[0].toLowerCase().includes(q)) &&
    (f === 'all' || (f === 'right' && p[5] === true) || (f === 'wrong' && p[5] !== true))); }
function list() { const rows = visible(), tb = $('problems'); tb.textContent = '';
  page = Math.min(page, Math.max(0, Math.ceil(rows.length / PAGE) - 1));
  const head = el('tr'); ['problem', 'gold', 'difficulty', 'subject', 'final answer', 'grade', 'tokens']
    .forEach(h => head.appendChild(el('th', h))); tb.appendChild(head);
  rows.slice(page * PAGE, (page + 1) * PAGE).forEach(p => { const tr = el('tr'); tr.dataset.pid = p[0];
    const a = el('a', p[0]); a.href = '#' + encodeURIComponent(p[0]); const td = el('td'); td.className = 'l';
    td.appendChild(a); tr.appendChild(td);
    [p[1], p[2], p[3], p[7] ? 'failed: ' + p[7] : p[4]].forEach(v => tr.appendChild(el('td', v === null ? '-' : v)));
    const g = el('td'); g.appendChild(grade(p[5])); tr.appendChild(g); tr.appendChild(el('td', p[6]));
    tb.appendChild(tr); });
  $('pageinfo').textContent = rows.length ? `problems ${page * PAGE + 1}-${Math.min(rows.length, (page + 1) * PAGE)}` +
    ` of ${rows.length}` : 'no problem matches'; }
async function show(pid) { const p = D.problems.find(x => x[0] === pid); const box = $('detail');
  if (!p) return; box.textContent = ''; box.appendChild(el('h2', 'Problem ' + p[0]));
  const meta = el('p', `gold ${p[1]} · difficulty ${p[2] === null ? '-' : p[2]} · subject ${p[3] || '-'} · ` +
    `final answer ${p[4] === null ? '-' : p[4]} · `); meta.appendChild(grade(p[5])); box.appendChild(meta);
  const samples = (await shard(p[8]))[p[0]] || [];
  box.appendChild(el('p', samples.length + ' sample(s)', 'note'));
  samples.forEach(s => { const card = el('div'); card.className = 'sample';
    const bits = ['#' + s[0], 'extracted ' + (s[2] === null ? '(none)' : s[2])];
    if (s[4]) bits.push(s[4]); if (s[6] !== null) bits.push(s[6] + ' tokens'); if (s[7]) bits.push(s[7]);
    if (s[5] !== null) bits.push('score ' + s[5]);
    const h = el('h3', bits.join(' · ') + ' · ');
    h.appendChild(grade(s[3])); card.appendChild(h); card.appendChild(el('pre', s[1] === null ? '(no text)' : s[1]));
    box.appendChild(card); }); }
$('q').oninput = () => { page = 0; list(); }; $('f').onchange = () => { page = 0; list(); };
$('prev').onclick = () => { page = Math.max(0, page - 1); list(); }; $('next').onclick = () => { page++; list(); };
window.onhashchange = () => show(decodeURIComponent(location.hash.slice(1)));
list(); if (location.hash) window.onhashchange(); else if (D.problems.length) show(D.problems[0][0]);
"""


def render(run_id: str, label: str, problems: list[list[Any]], first: int | None = None) -> str:
    """The sample browser page of one run (its shards sit in shards/ beside it); `first`: the export kept only
    the first that many samples of each problem."""
    kept = "" if first is None else f"This site keeps the first {first} sample(s) of each problem; accuracy and " \
                                    "every other number use all of them. "
    body = (f'<nav><a href="../../index.html">← leaderboard</a><a href="index.html">run page</a></nav>\n'
            f"<h1>Samples of run <code>{esc(run_id)}</code></h1><p class=\"sub\">{esc(label)}</p>\n"
            '<p><label>Problem id <input id="q"></label> <label>Final answer <select id="f"><option value="all">all'
            '</option><option value="right">correct</option><option value="wrong">wrong or ungraded</option>'
            '</select></label> <button id="prev">◀</button> <span id="pageinfo"></span> <button id="next">▶</button>'
            '</p>\n<table id="problems"></table>\n<div id="detail"></div>\n'
            f'<p class="note">{kept}Responses over {MAX_TEXT} characters show their first {MAX_TEXT - TAIL} and '
            f"last {TAIL}; `thinkbench dump` and the store keep them whole.</p>")
    return page(f"ThinkBench samples {run_id}", body, SCRIPT, {"run": run_id, "problems": problems})


def write(folder: Path, run_id: str, label: str, problems: list[list[Any]],
          samples: dict[str, list[list[Any]]], first: int | None = None) -> list[Path]:
    """samples.html and its shards under `folder` (the run's folder of the site)."""
    files = {"samples.html": render(run_id, label, problems, first).encode("utf-8"),
             **shard_files(problems, samples)}
    (folder / "shards").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / n for n in files]

"""The static page: one HTML file with its data inline and a small SVG chart renderer (no CDN, no server)."""

from __future__ import annotations

import html
import json
import math
from typing import Any

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>ThinkBench leaderboard</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1180px;color:#1d2430;
  padding:0 16px}
h1{font-size:1.5rem;margin-bottom:4px} .sub{color:#5b6575;margin-top:0}
.controls{display:flex;gap:16px;flex-wrap:wrap;margin:16px 0;align-items:end}
label{font-size:.85rem;color:#5b6575;display:flex;flex-direction:column;gap:4px}
select{padding:4px 6px;font-size:.95rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:8px 0 20px}
th,td{padding:5px 8px;border-bottom:1px solid #e3e7ee;text-align:right} th{background:#f4f6fa}
td.l,th.l{text-align:left} tr.tied td{background:#fff8e1} tr.lead td{background:#e8f5e9;font-weight:600}
.legend span{cursor:pointer;margin-right:14px;font-size:.85rem;white-space:nowrap} .legend span.off{opacity:.35}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
svg text{font-size:11px;fill:#5b6575} .note{font-size:.85rem;color:#5b6575}
</style></head><body>
<h1>ThinkBench leaderboard</h1>
<p class="sub">Accuracy at equal inference compute, with 95% paired-bootstrap intervals.
From <code>__STORE__</code>. <a href="results.parquet" download>results.parquet</a> ·
<a href="ranking.parquet" download>ranking.parquet</a></p>
<div class="controls">
<label>Suite <select id="suite"></select></label>
<label>Compute axis <select id="axis"></select></label>
<label>Budget per problem <select id="budget"></select></label>
</div>
<h2 id="title" style="font-size:1.1rem"></h2>
<table id="table"></table>
<p class="note" id="over"></p>
<p class="note">Rank counts only configurations better beyond noise (whole 95% interval above); "=" marks a shared
rank; rows tinted yellow overlap the leader's interval (tied with it). pass@k is an oracle upper bound and is not
ranked.</p>
<h2 style="font-size:1.1rem">Accuracy against compute (log scale)</h2>
<div class="legend" id="legend"></div>
<svg id="chart" width="1100" height="460" role="img" aria-label="accuracy against compute"></svg>
<p class="note">Bands: 95% bootstrap intervals over problems. Black line: the Pareto frontier across configurations.</p>
<h2 style="font-size:1.1rem">Area under accuracy vs log-compute</h2>
<table id="auc"></table>
<h2 style="font-size:1.1rem">Runs of this suite</h2>
<table id="runs"></table>
<p class="note">Each run's page has its configuration, manifest, how to reproduce it, accuracy by difficulty and
subject and its compute ledger; its sample browser shows every problem's responses, extracted answers and grades.
Accuracy here: the run's first ranked method at its largest k.</p>
<script id="data" type="application/json">__DATA__</script>
<script>
const D = JSON.parse(document.getElementById('data').textContent);
const $ = id => document.getElementById(id);
const palette = ['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd',
                 '#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
const hidden = new Set();
function opt(sel, items, labels){ sel.innerHTML='';
  items.forEach((v,i)=>{const o=document.createElement('option');o.value=v;
    o.textContent=labels?labels[i]:v;sel.appendChild(o);}); }
function fmt(x){ if(x===null||x===undefined) return '–'; const a=Math.abs(x);
  return a>=1e6? x.toExponential(2) : a>=100? x.toFixed(0) : x.toPrecision(3); }
function esc(s){ return String(s).replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',
  "'":'&#39;'}[c])); }
function suiteData(){ return D.suites[$('suite').value]; }
function fillAxes(){ const s=suiteData(); const axes=Object.keys(s.rankings);
  opt($('axis'), axes, axes.map(a=>D.axes[a])); fillBudgets(); }
function fillBudgets(){ const r=suiteData().rankings[$('axis').value];
  if(!r){$('budget').innerHTML='';render();return;}
  opt($('budget'), r.tables.map((t,i)=>i), r.tables.map(t=>fmt(t.budget)));
  const d=r.tables.findIndex(t=>t.default);
  $('budget').value=String(d>=0?d:r.tables.length-1); render(); }
function render(){ table(); chart(); auc(); runs(); }
function runs(){ const rs=suiteData().runs||[];
  let h='<tr><th class="l">run</th><th class="l">configuration</th><th class="l">status</th><th>problems</th>'+
    '<th>k</th><th>accuracy [95% CI]</th><th class="l">samples</th></tr>';
  rs.forEach(r=>{ const id=encodeURIComponent(r.run_id);
    h+=`<tr><td class="l"><a href="runs/${id}/index.html"><code>${esc(r.run_id)}</code></a></td>`+
       `<td class="l">${esc(r.label)}</td><td class="l">${esc(r.status)}</td><td>${r.done}/${r.n_problems}</td>`+
       `<td>${r.k===null?'-':r.k}</td><td>${r.accuracy===null?'-':r.accuracy.toFixed(3)+
         ` [${r.lo.toFixed(3)}, ${r.hi.toFixed(3)}]`}</td>`+
       `<td class="l"><a href="runs/${id}/samples.html">browse</a></td></tr>`; });
  $('runs').innerHTML=h; }
function table(){
  const s=suiteData(), r=s.rankings[$('axis').value]; const t=r? r.tables[+$('budget').value] : null;
  if(!t){ $('table').innerHTML='<tr><td class="l">No configuration records this axis.</td></tr>';
    return; }
  $('title').textContent =
    `${$('suite').value}: ranked at ${fmt(t.budget)} ${D.axes[$('axis').value]} (${s.problems} shared problems)`;
  let h='<tr><th>rank</th><th class="l">configuration</th><th>k</th><th>compute</th><th>accuracy</th><th>95% CI</th>'+
    '<th>Δ vs leader</th><th class="l">tie</th><th>truncated</th><th>acc. excl. truncated</th></tr>';
  t.rows.forEach((x,i)=>{ const cls = i===0?'lead':(x.tied?'tied':'');
    h+=`<tr class="${cls}"><td>${x.shown}</td><td class="l">${esc(x.label)}</td><td>${x.k}</td>`+
       `<td>${fmt(x.cost)}</td><td>${x.accuracy.toFixed(3)}</td>`+
       `<td>[${x.lo.toFixed(3)}, ${x.hi.toFixed(3)}]</td>`+
       `<td>${i===0?'leader':(x.delta>=0?'+':'')+x.delta.toFixed(3)+
              ` [${x.delta_lo.toFixed(3)}, ${x.delta_hi.toFixed(3)}]`}</td>`+
       `<td class="l">${i===0?'':(x.tied?'tied with leader':'')}</td>`+
       `<td>${x.truncated===null?'?':(100*x.truncated).toFixed(1)+'%'}</td>`+
       `<td>${x.accuracy_excl===null?'-':x.accuracy_excl.toFixed(3)}</td></tr>`; });
  $('table').innerHTML=h;
  $('over').textContent = (t.warning? t.warning+'. ' : '')+
    (t.over.length? 'Over budget (no point within it): '+t.over.join('; ') : '');
}
function chart(){
  const svg=$('chart'), W=+svg.getAttribute('width'), H=+svg.getAttribute('height'), m={l:56,r:16,t:12,b:40};
  const s=suiteData(), axis=$('axis').value, ns='http://www.w3.org/2000/svg'; svg.innerHTML='';
  const cs=s.configs.filter(c=>c.cost[axis].every(v=>v!==null&&v>0));
  const xs=cs.flatMap(c=>c.cost[axis]); if(!xs.length) return;
  const x0=Math.log10(Math.min(...xs)), x1=Math.log10(Math.max(...xs))+1e-9;
  const X=v=>m.l+(Math.log10(v)-x0)/((x1-x0)||1)*(W-m.l-m.r), Y=v=>H-m.b-v*(H-m.t-m.b);
  const el=(tag,attrs,parent)=>{const e=document.createElementNS(ns,tag);
    for(const k in attrs)e.setAttribute(k,attrs[k]);(parent||svg).appendChild(e);return e;};
  for(let p=Math.floor(x0);p<=Math.ceil(x1);p++) for(const mult of [1,2,5]){ const v=mult*10**p;
    if(Math.log10(v)<x0-1e-9||Math.log10(v)>x1) continue;
    el('line',{x1:X(v),x2:X(v),y1:m.t,y2:H-m.b,stroke:'#eef0f4'});
    el('text',{x:X(v),y:H-m.b+14,'text-anchor':'middle'}).textContent=fmt(v); }
  for(let a=0;a<=1.0001;a+=0.2){ el('line',{x1:m.l,x2:W-m.r,y1:Y(a),y2:Y(a),stroke:'#eef0f4'});
    el('text',{x:m.l-6,y:Y(a)+4,'text-anchor':'end'}).textContent=a.toFixed(1); }
  el('text',{x:(W+m.l)/2,y:H-6,'text-anchor':'middle'}).textContent=D.axes[axis]+' (log)';
  el('text',{x:14,y:(H-m.b)/2,transform:`rotate(-90 14 ${(H-m.b)/2})`,'text-anchor':'middle'})
    .textContent='accuracy';
  const leg=$('legend'); leg.innerHTML='';
  s.configs.forEach((c,i)=>{ const col=palette[i%palette.length]; const sp=document.createElement('span');
    if(hidden.has(c.key)) sp.className='off';
    sp.innerHTML=`<i style="background:${col}"></i>${esc(c.label)}`;
    sp.onclick=()=>{hidden.has(c.key)?hidden.delete(c.key):hidden.add(c.key); chart();}; leg.appendChild(sp);
    if(hidden.has(c.key)||!cs.includes(c)) return;
    const xsC=c.cost[axis]; const g=el('g',{'data-key':c.key});
    const band=xsC.map((v,j)=>`${X(v)},${Y(c.hi[j])}`)
      .concat(xsC.map((v,j)=>`${X(v)},${Y(c.lo[j])}`).reverse()).join(' ');
    el('polygon',{points:band,fill:col,opacity:0.13},g);
    el('polyline',{points:xsC.map((v,j)=>`${X(v)},${Y(c.acc[j])}`).join(' '),fill:'none',stroke:col,'stroke-width':2,
                   'stroke-dasharray':c.oracle?'5,4':''},g);
    xsC.forEach((v,j)=>{ const pt=el('circle',{cx:X(v),cy:Y(c.acc[j]),r:3,fill:col},g);
      el('title',{},pt).textContent=`${c.label}\nk=${c.ks[j]}  compute ${fmt(v)}\n`+
        `accuracy ${c.acc[j].toFixed(3)} [${c.lo[j].toFixed(3)}, ${c.hi[j].toFixed(3)}]\n`+
        `truncated ${c.truncated===null?'?':(100*c.truncated).toFixed(1)+'%'}, accuracy excl. truncated `+
        `${c.acc_excl[j]===null?'-':c.acc_excl[j].toFixed(3)}`; });
  });
  const r=s.rankings[axis]; if(r&&r.frontier.length){ const f=r.frontier;
    el('polyline',{points:f.map(p=>`${X(p.cost)},${Y(p.acc)}`).join(' '),fill:'none',stroke:'#111','stroke-width':3,
                   opacity:0.75,id:'frontier'});
    f.forEach(p=>{ const c=el('circle',{cx:X(p.cost),cy:Y(p.acc),r:5,fill:'none',stroke:'#111','stroke-width':2});
      el('title',{},c).textContent=`Pareto: ${p.key} k=${p.k}`; }); }
  const t=r&&r.tables[+$('budget').value];
  if(t){ el('line',{x1:X(t.budget),x2:X(t.budget),y1:m.t,y2:H-m.b,stroke:'#c62828','stroke-dasharray':'4,3'}); }
}
function auc(){ const r=suiteData().rankings[$('axis').value]; if(!r){$('auc').innerHTML='';return;}
  let h='<tr><th class="l">configuration</th><th>largest k</th><th>compute at k</th><th>accuracy at k</th>'+
    '<th>AUC (log compute)</th></tr>';
  [...r.auc].sort((a,b)=>b.auc_log-a.auc_log).forEach(x=>{
    h+=`<tr><td class="l">${esc(x.label)}</td><td>${x.k_max}</td><td>${fmt(x.cost_max)}</td>`+
       `<td>${x.accuracy_max.toFixed(3)}</td><td>${x.auc_log.toFixed(3)}</td></tr>`; });
  $('auc').innerHTML=h; }
opt($('suite'), Object.keys(D.suites));
$('suite').onchange=fillAxes; $('axis').onchange=fillBudgets; $('budget').onchange=render; fillAxes();
</script></body></html>
"""


def _clean(x: Any) -> Any:
    """NaN/inf become null (JSON has no NaN); other floats keep 6 significant digits, plenty for a page that shows 3
    (results.parquet keeps full precision)."""
    if isinstance(x, float):
        return float(f"{x:.6g}") if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def render(data: dict) -> str:
    blob = json.dumps(_clean(data), separators=(",", ":"), allow_nan=False, default=str).replace("<", "\\u003c")
    return (PAGE
            .replace("__STORE__", html.escape(str(data.get("store", "")))).replace("__DATA__", blob))

/** The dashboard: one static page over the JSON API (no build step, no external assets). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recur</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .2rem} h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
table{border-collapse:collapse;width:100%;background:#fff} th,td{padding:.35rem .6rem;border-bottom:1px solid #e5e8ee;text-align:left;vertical-align:top}
th{font-weight:600;color:#5a6270} tr:hover td{background:#f3f6fb} .num{text-align:right;font-variant-numeric:tabular-nums}
.k{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:12px;background:#e7ecf5} .open{background:#ffe2d6} .spike{background:#ffd0d0}
#detail{background:#fff;border:1px solid #e5e8ee;padding:1rem;margin-top:1rem;display:none} .bar{background:#5b8def;height:10px;display:inline-block}
small{color:#6b7280}
</style></head><body>
<h1>recur</h1><small id="summary">loading…</small>
<h2>Trend episodes</h2><table id="trends"><thead><tr><th>status</th><th>kind</th><th>cluster</th><th>window</th><th class="num">cases</th><th class="num">expected</th><th class="num">customers</th><th>label</th></tr></thead><tbody></tbody></table>
<h2>Recurring problems</h2><table id="clusters"><thead><tr><th>cluster</th><th class="num">cases</th><th class="num">customers</th><th class="num">contacts</th><th class="num">cost</th><th>state</th><th>label</th></tr></thead><tbody></tbody></table>
<div id="detail"></div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
// An answer other than 2xx is an error (its message shown), not a document to read rows from.
const get = (p) => fetch(p).then(async (r) => { const b = await r.json().catch(() => ({})); if (!r.ok) throw new Error(p + ': ' + (b.error || r.status)); return b; });
// A cluster merged away or retired keeps its history under its own id: said beside it, as recur clusters says it.
const state = (r) => r.state === 'merged' && r.merged_into ? 'merged into ' + r.merged_into : r.state;
const TRENDS = 200;
async function load() {
  let s, c, t;
  try {
    [s, c, t] = await Promise.all([get('api/summary'), get('api/clusters?limit=50'), get('api/trends?limit=' + TRENDS)]);
  } catch (err) {
    document.getElementById('summary').textContent = 'not available: ' + err.message;
    return;
  }
  document.getElementById('summary').textContent = s.events + ' events · ' + s.cases + ' cases · ' + s.customers + ' customers · PII masked in ' + s.masked;
  document.querySelector('#clusters tbody').innerHTML = c.map((r) => '<tr data-id="' + esc(r.cluster_id) + '"><td>' + esc(r.cluster_id) + '</td><td class="num">' + r.cases + '</td><td class="num">' + r.customers + '</td><td class="num">' + r.contacts + '</td><td class="num">' + r.cost + '</td><td>' + esc(state(r)) + '</td><td>' + esc(r.label) + '</td></tr>').join('');
  document.querySelector('#trends tbody').innerHTML = t.map((e) => '<tr data-id="' + esc(e.cluster_id) + '"><td><span class="k ' + esc(e.status) + '">' + esc(e.status) + '</span></td><td><span class="k ' + esc(e.kind) + '">' + esc(e.kind) + '</span></td><td>' + esc(e.cluster_id) + '</td><td>' + esc(e.window_start) + ' → ' + esc(e.window_end) + '</td><td class="num">' + e.observed + '</td><td class="num">' + e.expected + '</td><td class="num">' + e.customers + '</td><td>' + esc(e.label) + '</td></tr>').join('');
  for (const tr of document.querySelectorAll('tr[data-id]')) tr.onclick = () => show(tr.dataset.id);
}
async function show(id) {
  const el = document.getElementById('detail');
  el.style.display = 'block';
  let d;
  try {
    d = await get('api/cluster/' + encodeURIComponent(id));
  } catch (err) {
    el.textContent = 'not available: ' + err.message;
    return;
  }
  const max = Math.max(1, ...d.daily.map((x) => x.cases));
  el.innerHTML = '<h2>' + esc(d.cluster_id) + ': ' + esc(d.label) + '</h2><p>' + (d.state && d.state !== 'live' ? esc(d.state) + (d.merged_into ? ' into ' + esc(d.merged_into) : '') + ' · ' : '') + 'status ' + esc(d.status) + (d.owner ? ' · owner ' + esc(d.owner) + ' (' + esc(d.owner_reason) + ')' : '') + '</p><p>' + esc((d.top_terms || []).join(', ')) + '</p><ul>' + (d.examples || []).map((e) => '<li>' + esc(e) + '</li>').join('') + '</ul>' +
    '<table>' + d.daily.map((x) => '<tr><td>' + esc(x.day.slice(0, 10)) + '</td><td><span class="bar" style="width:' + (300 * x.cases / max) + 'px"></span> ' + x.cases + '</td></tr>').join('') + '</table>';
}
load(); setInterval(load, 15000);
</script></body></html>`;

import type { MismatchRecord } from './records.js';
import type { ReportSummary } from './data.js';
import type { LatencySummary } from '../shadow/latency.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const show = (v: unknown): string => escapeHtml(v === undefined ? '' : JSON.stringify(v));

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b8c0d0}main{padding:20px 28px;max-width:1200px}
section{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:16px 20px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 12px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{font-weight:600;color:#4a5468;background:#fafbfc}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{flex:1;min-width:150px;border:1px solid #e2e5ea;border-radius:8px;padding:10px 14px;background:#fff}
.card b{display:block;font-size:22px}.ok{color:#1a7f37}.bad{color:#c62828}.muted{color:#6b7385}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}.pair div{background:#fafbfc;border:1px solid #eceef2;border-radius:6px;padding:6px 8px}
.diff{background:#fff1f0}svg text{font:11px system-ui,sans-serif;fill:#4a5468}
`;

function barChart(points: { label: string; value: number }[], width = 1100, height = 160): string {
  if (points.length === 0) return '<p class="muted">No data.</p>';
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = width / points.length;
  const bars = points
    .map((p, i) => {
      const h = Math.round((p.value / max) * (height - 30));
      return `<rect x="${(i * bw + 1).toFixed(1)}" y="${height - 20 - h}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h}" fill="#c62828"><title>${escapeHtml(p.label)}: ${p.value}</title></rect>`;
    })
    .join('');
  const first = points[0]?.label ?? '';
  const last = points[points.length - 1]?.label ?? '';
  return `<svg role="img" aria-label="mismatches over time" viewBox="0 0 ${width} ${height}" width="100%" height="${height}">${bars}<text x="0" y="${height - 4}">${escapeHtml(first)}</text><text x="${width}" y="${height - 4}" text-anchor="end">${escapeHtml(last)}</text><text x="0" y="10">max ${max}</text></svg>`;
}

function hbar(value: number, max: number, color: string): string {
  const w = max > 0 ? Math.max(1, Math.round((value / max) * 200)) : 0;
  return `<svg width="204" height="12" aria-hidden="true"><rect width="${w}" height="12" fill="${color}"/></svg>`;
}

function mismatchSections(s: ReportSummary): string {
  const maxTable = s.byTable[0]?.count ?? 0;
  const maxColumn = s.byColumn[0]?.count ?? 0;
  const tables = s.byTable
    .map(
      (t) =>
        `<tr><td>${escapeHtml(t.table)}</td><td class="n">${t.count}</td><td>${hbar(t.count, maxTable, '#c62828')}</td></tr>`,
    )
    .join('');
  const columns = s.byColumn
    .slice(0, 40)
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.table)}</td><td>${escapeHtml(c.column)}</td><td class="n">${c.count}</td><td>${hbar(c.count, maxColumn, '#e57373')}</td></tr>`,
    )
    .join('');
  return `
<section id="over-time"><h2>Confirmed mismatches over time</h2>
${barChart(s.overTime.map((b) => ({ label: b.start.replace('T', ' ').slice(0, 16), value: b.count })))}
<p class="muted">Bucket: ${Math.round(s.bucketMs / 60_000)} min · first ${escapeHtml(s.firstAt ?? '—')} · last ${escapeHtml(s.lastAt ?? '—')}</p></section>
<section id="by-table"><h2>By table</h2>${tables ? `<table><tr><th>Table</th><th>Mismatches</th><th></th></tr>${tables}</table>` : '<p class="ok">No mismatches recorded.</p>'}</section>
<section id="by-column"><h2>By column</h2>${columns ? `<table><tr><th>Table</th><th>Column</th><th>Mismatches</th><th></th></tr>${columns}</table>` : '<p class="ok">No mismatches recorded.</p>'}</section>`;
}

function example(m: MismatchRecord): string {
  const differing = new Set(m.columns.map((c) => c.column));
  const side = (row: Record<string, unknown> | null): string =>
    row
      ? `<table>${Object.entries(row)
          .map(
            ([k, v]) =>
              `<tr${differing.has(k) ? ' class="diff"' : ''}><th>${escapeHtml(k)}</th><td><code>${show(v)}</code></td></tr>`,
          )
          .join('')}</table>`
      : '<p class="muted">(no row)</p>';
  const other = m.authoritativeSide === 'mysql' ? 'postgres' : 'mysql';
  const cols = m.columns
    .map(
      (c) =>
        `<tr class="diff"><td>${escapeHtml(c.column)}</td><td><code>${show(c.authoritative)}</code></td><td><code>${show(c.other)}</code></td></tr>`,
    )
    .join('');
  return `<article class="example"><h3>${escapeHtml(m.table ?? '(raw)')} ${m.key ? `key <code>${show(m.key)}</code>` : '(no key)'} · ${escapeHtml(m.kind)} · <span class="muted">${escapeHtml(m.at)}${m.rechecked ? ' · re-checked after sync' : ''}</span></h3>
${m.shape ? `<p class="muted">query <code>${escapeHtml(m.fingerprint ?? '')}</code>: <code>${escapeHtml(m.shape)}</code></p>` : ''}
${m.context ? `<p class="muted">context <code>${show(m.context)}</code></p>` : ''}
${m.evidence ? `<p class="${m.status === 'dismissed' ? 'muted' : ''}">${escapeHtml(m.evidence.summary)}</p>` : ''}
${cols ? `<table><tr><th>Column</th><th>${escapeHtml(m.authoritativeSide)} (authoritative)</th><th>${other}</th></tr>${cols}</table>` : ''}
<div class="pair"><div><b>${escapeHtml(m.authoritativeSide)}</b>${side(m.rows?.authoritative ?? null)}</div><div><b>${other}</b>${side(m.rows?.other ?? null)}</div></div></article>`;
}

const ms = (l: LatencySummary | null, k: 'p50' | 'p99' | 'mean'): string => (l ? l[k].toFixed(2) : '—');
const spread = (l: { p25: number; p75: number } | null | undefined): string =>
  l && l.p25 !== undefined ? `${l.p25.toFixed(2)}–${l.p75.toFixed(2)}` : '—';

function latencySection(s: ReportSummary): string {
  if (s.latency.length === 0)
    return '<section id="latency"><h2>Latency per query shape</h2><p class="muted">No shadow reads timed.</p></section>';
  const maxP50 = Math.max(...s.latency.flatMap((l) => [l.mysql?.p50 ?? 0, l.postgres?.p50 ?? 0]));
  const rows = s.latency
    .map((l) => {
      const ratio = l.p50Ratio;
      const cls = ratio === null ? '' : ratio <= 1.1 ? 'ok' : 'bad';
      const pairs = l.pairs ?? Math.min(l.mysql?.count ?? 0, l.postgres?.count ?? 0);
      return `<tr><td><code>${escapeHtml(l.fingerprint)}</code><br><code class="muted">${escapeHtml(l.shape.slice(0, 300))}</code></td><td class="n">${pairs}</td><td class="n">${ms(l.mysql, 'p50')}<br><span class="muted">${spread(l.mysql)}</span></td><td class="n">${ms(l.postgres, 'p50')}<br><span class="muted">${spread(l.postgres)}</span></td><td class="n">${ms(l.mysql, 'p99')}</td><td class="n">${ms(l.postgres, 'p99')}</td><td class="n ${cls}">${ratio === null ? '—' : ratio.toFixed(2)}<br><span class="muted">${spread(l.ratioSpread)}</span></td><td>${hbar(l.mysql?.p50 ?? 0, maxP50, '#00758f')}<br>${hbar(l.postgres?.p50 ?? 0, maxP50, '#336791')}</td></tr>`;
    })
    .join('');
  return `<section id="latency"><h2>Latency per query shape (ms)</h2><p class="muted">Is PostgreSQL as fast as MySQL for our queries? Each pair times the same read on both databases back to back, the same way, alternating which runs first. p50 with p25–p75 below; ratio = PostgreSQL p50 / MySQL p50, with the p25–p75 of the per-pair ratios below; bars: MySQL (top), PostgreSQL (bottom). Snapshot ${escapeHtml(s.latencyAt ?? '')}.</p>
<table><tr><th>Query shape</th><th>Pairs</th><th>MySQL p50</th><th>PG p50</th><th>MySQL p99</th><th>PG p99</th><th>Ratio</th><th></th></tr>${rows}</table></section>`;
}

function dismissedSection(s: ReportSummary): string {
  const reasons = Object.entries(s.dismissed.byReason)
    .map(([r, n]) => `<tr><td>${escapeHtml(r)}</td><td class="n">${n}</td></tr>`)
    .join('');
  const examples = s.dismissedExamples.slice(0, 5).map(example).join('');
  return `<section id="dismissed"><h2>Not counted</h2><p class="muted">Reads that differed at first and matched once the outboxes drained (lag), that writes kept racing (unsettled), whose rows each server picks itself (unordered-limit), or that were not compared because their answer changes by itself (non-deterministic). They do not hold back a flip.${s.checks !== null ? ` Reads compared: ${s.checks}.` : ''}</p>
${reasons ? `<table><tr><th>Reason</th><th>Reads</th></tr>${reasons}</table>` : '<p class="ok">Nothing set aside.</p>'}
${examples ? `<h3>Examples (newest first)</h3>${examples}` : ''}</section>`;
}

function verificationSection(s: ReportSummary): string {
  const v = s.verification;
  if (!v)
    return '<section id="verification"><h2>Last verification</h2><p class="muted">No verification has run.</p></section>';
  const rows = v.tables
    .map((t) => {
      const bad = t.missing + t.extra + t.different > 0;
      const orphans = t.orphans.reduce((n, o) => n + o.count, 0);
      return `<tr><td>${escapeHtml(t.table)}</td><td class="n">${t.rowsCompared}</td><td class="n">${t.missing}</td><td class="n">${t.extra}</td><td class="n">${t.different}</td><td class="n">${orphans}</td><td>${t.repair ? `${t.repair.synced} synced, ${t.repair.remaining} left` : '—'}</td><td class="${bad ? 'bad' : 'ok'}">${bad ? 'differs' : 'equal'}</td></tr>`;
    })
    .join('');
  const examples = v.tables.flatMap((t) => t.examples.slice(0, 5));
  return `<section id="verification"><h2>Last verification</h2><p>${escapeHtml(v.at)} · stage ${escapeHtml(v.stage)} · <b class="${v.clean ? 'ok' : 'bad'}">${v.clean ? 'clean' : 'differences found'}</b> · ${(v.durationMs / 1000).toFixed(1)} s</p>
<table><tr><th>Table</th><th>Rows compared</th><th>Missing</th><th>Extra</th><th>Different</th><th>FK orphans</th><th>Repair</th><th></th></tr>${rows}</table>
${examples.length ? `<h3>Differing rows (first 5 per table)</h3>${examples.map(example).join('')}` : ''}</section>`;
}

/** A self-contained HTML page (inline CSS and SVG, no script, nothing fetched) of a report summary. */
export function renderHtml(s: ReportSummary): string {
  const v = s.verification;
  const cards = `<div class="cards">
<div class="card"><span class="muted">Confirmed mismatches</span><b class="${s.totalMismatches ? 'bad' : 'ok'}">${s.totalMismatches}</b></div>
<div class="card"><span class="muted">Not counted (lag, non-deterministic…)</span><b>${s.dismissed.total}</b></div>
<div class="card"><span class="muted">Tables with mismatches</span><b>${s.byTable.length}</b></div>
<div class="card"><span class="muted">Query shapes measured</span><b>${s.latency.length}</b></div>
<div class="card"><span class="muted">Last verification</span><b class="${v ? (v.clean ? 'ok' : 'bad') : 'muted'}">${v ? (v.clean ? 'clean' : 'differs') : 'none'}</b></div></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>dualwrite report</title><style>${CSS}</style></head>
<body><header><h1>dualwrite report</h1><p>Generated ${escapeHtml(s.generatedAt)} · sensitive columns are hashed or redacted</p></header>
<main><section id="summary"><h2>Summary</h2>${cards}</section>
${mismatchSections(s)}
<section id="examples"><h2>Examples side by side</h2>${s.examples.length ? s.examples.map(example).join('') : '<p class="ok">No mismatches recorded.</p>'}</section>
${dismissedSection(s)}
${latencySection(s)}
${verificationSection(s)}
</main></body></html>
`;
}

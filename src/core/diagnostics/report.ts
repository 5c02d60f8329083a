// A self-contained HTML report of a diagnostics run: summary tables and bar charts as inline SVG
// (no scripts, no remote content), optionally against a baseline run ("before" / "after").
// renderPage / bars / valueTable are the parts; renderReport is EVOKE's page, FINE-KED builds its
// own from the same parts (fineKedRun.ts).

import type { TaskSummary } from './evoke';

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface BarRow {
  label: string;
  value: number;
  before?: number;
}

/** Horizontal bars on a 0…100 scale; `before` (a baseline) as a thin bar under each. */
export function bars(title: string, rows: BarRow[]): string {
  const w = 520;
  const rowH = 22;
  const left = 200;
  const h = rows.length * rowH + 24;
  const x = (v: number) => left + ((w - left - 50) * Math.max(0, Math.min(100, v))) / 100;
  const items = rows.map((r, i) => {
    const y = 8 + i * rowH;
    const before = r.before === undefined ? '' : `<rect x="${left}" y="${y + 13}" width="${x(r.before) - left}" height="5" class="before"><title>before: ${r.before.toFixed(2)}</title></rect>`;
    return `<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(r.label)}</text>` +
      `<rect x="${left}" y="${y}" width="${x(r.value) - left}" height="12" class="after"><title>${r.value.toFixed(2)}</title></rect>${before}` +
      `<text x="${x(r.value) + 4}" y="${y + 11}">${r.value.toFixed(1)}</text>`;
  });
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" role="img" aria-label="${esc(title)}">${items.join('')}</svg></figure>`;
}

/** A table of measures: value, or after / before / change against a baseline. */
export function valueTable(rows: BarRow[], baseline: boolean): string {
  return `<table><tr><th>measure</th><th>${baseline ? 'after' : 'value'}</th>${baseline ? '<th>before</th><th>change</th>' : ''}</tr>${rows
    .map((r) => `<tr><td>${esc(r.label)}</td><td>${r.value.toFixed(2)}</td>${baseline ? `<td>${r.before?.toFixed(2) ?? '–'}</td><td>${r.before === undefined ? '–' : (r.value - r.before).toFixed(2)}</td>` : ''}</tr>`)
    .join('')}</table>`;
}

/** The page: title, the run's facts (meta), a note, and the sections' HTML. */
export function renderPage(title: string, meta: Record<string, string>, note: string, sections: string[]): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}
@media (prefers-color-scheme: dark){body{color:#ddd;background:#1e1e1e}svg text{fill:#ddd}}
table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;border-bottom:1px solid #8884;text-align:right}td:first-child,th:first-child{text-align:left}
svg text{font-size:11px;fill:#222}rect.after{fill:#3794ff}rect.before{fill:#f9a825}figure{margin:8px 0}figcaption{font-weight:600}
small{font-weight:normal;color:#888}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#888}
</style></head><body><h1>${esc(title)}</h1><dl>${Object.entries(meta).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
<p>${note}</p>
${sections.join('\n')}</body></html>\n`;
}

/** EVOKE's sections of report.html: per task, its indicators and probabilities (against a baseline's). */
export function evokeSections(summary: Record<string, TaskSummary>, baseline?: Record<string, TaskSummary>): string[] {
  return Object.entries(summary).map(([task, s]) => {
    const b = baseline?.[task];
    const rows = [
      ...Object.entries(s.indicators).map(([k, v]) => ({ label: `${k} (indicator)`, value: v, before: b?.indicators[k] })),
      ...Object.entries(s.probs).map(([k, v]) => ({ label: `P(${k})`, value: v, before: b?.probs[k] })),
    ];
    return `<section><h2>${esc(task)} <small>${s.cases} cases</small></h2>${valueTable(rows, !!baseline)}${bars(task, rows)}</section>`;
  });
}

export function renderReport(title: string, meta: Record<string, string>, summary: Record<string, TaskSummary>, baseline?: Record<string, TaskSummary>): string {
  return renderPage(title, meta, `Indicators and probabilities are × 100; higher indicators are better. ${baseline ? 'Blue: this run; orange: the baseline.' : ''}`, evokeSections(summary, baseline));
}

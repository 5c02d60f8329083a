// A self-contained HTML report of a diagnostics run: summary tables and bar charts as inline SVG
// (no scripts, no remote content), optionally against a baseline run ("before" / "after").
// renderPage / bars / valueTable are the parts; renderReport is EVOKE's page, FINE-KED builds its
// own from the same parts (fineKedRun.ts).

import type { TaskSummary } from './evoke';
import type { CounterFactSummary, ZsreSummary } from '../../protocol/diagnostics';
import type { MultiHopSummary } from './mquake';

/** The papers' metrics a run computed beside its own (counterfact.ts, mquake.ts, zsre.ts). */
export interface PaperMetrics {
  counterfact?: CounterFactSummary;
  multihop?: MultiHopSummary;
  zsre?: ZsreSummary;
}

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface BarRow {
  label: string;
  value: number;
  before?: number;
}

/**
 * Horizontal bars on a 0…100 scale. With a baseline, each row is a pair as in the Diagnostics
 * panel: `before` (the baseline) in blue above, `value` (this run, "after") in orange below;
 * without one, one bar per row (blue).
 */
export function bars(title: string, rows: BarRow[]): string {
  const w = 520;
  const paired = rows.some((r) => r.before !== undefined);
  const rowH = paired ? 26 : 22;
  const left = 200;
  const h = rows.length * rowH + 24;
  const x = (v: number) => left + ((w - left - 50) * Math.max(0, Math.min(100, v))) / 100;
  const bar = (cls: string, y: number, v: number, what: string) =>
    `<rect x="${left}" y="${y}" width="${x(v) - left}" height="9" class="${cls}"><title>${what}: ${v.toFixed(2)}</title></rect><text x="${x(v) + 4}" y="${y + 8}">${v.toFixed(1)}</text>`;
  const items = rows.map((r, i) => {
    const y = 8 + i * rowH;
    const label = `<text x="${left - 6}" y="${y + (paired ? 14 : 10)}" text-anchor="end">${esc(r.label)}</text>`;
    if (!paired) return label + bar('value', y, r.value, 'value');
    return label + (r.before === undefined ? '' : bar('before', y, r.before, 'before')) + bar('after', y + 10, r.value, 'after');
  });
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" role="img" aria-label="${esc(title)}">${items.join('')}</svg></figure>`;
}

/** A table of measures: value, or before / after / change against a baseline (before first, as in the panel). */
export function valueTable(rows: BarRow[], baseline: boolean): string {
  return `<table><tr><th>measure</th>${baseline ? '<th>before</th><th>after</th><th>change</th>' : '<th>value</th>'}</tr>${rows
    .map((r) => `<tr><td>${esc(r.label)}</td>${baseline ? `<td>${r.before?.toFixed(2) ?? '–'}</td><td>${r.value.toFixed(2)}</td><td>${r.before === undefined ? '–' : (r.value - r.before).toFixed(2)}</td>` : `<td>${r.value.toFixed(2)}</td>`}</tr>`)
    .join('')}</table>`;
}

/** The legend of a report against a baseline: the panel's colours, the same way round. */
export const BEFORE_AFTER_NOTE = 'Blue: before (the baseline run); orange: after (this run), as in the Diagnostics panel.';

/**
 * The page's style. In a VS Code webview (the report tab) the --vscode-* theme variables are set,
 * so the page follows the theme (light, dark, high contrast) with the panel's chart colours;
 * opened in a browser, the fallbacks follow the system's light / dark preference. No remote content.
 */
const STYLE = `:root{--fg:#222;--bg:#fff;--muted:#666;--line:#8884;--blue:#1a85ff;--orange:#d18616}
@media (prefers-color-scheme: dark){:root{--fg:#ddd;--bg:#1e1e1e;--muted:#aaa;--blue:#3794ff;--orange:#d18616}}
body{font-family:var(--vscode-font-family,system-ui,sans-serif);margin:24px;color:var(--vscode-foreground,var(--fg));background:var(--vscode-editor-background,var(--bg))}
table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 10px;border-bottom:1px solid var(--vscode-panel-border,var(--line));text-align:right}td:first-child,th:first-child{text-align:left}
svg text{font-size:11px;fill:var(--vscode-foreground,var(--fg))}rect.before,rect.value{fill:rgb(from var(--vscode-charts-blue,var(--blue)) r g b / 1)}rect.after{fill:rgb(from var(--vscode-charts-orange,var(--orange)) r g b / 1)}
figure{margin:8px 0}figcaption{font-weight:600}a{color:var(--vscode-textLink-foreground,var(--blue))}
small{font-weight:normal;color:var(--vscode-descriptionForeground,var(--muted))}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:var(--vscode-descriptionForeground,var(--muted))}`;

/** The page: title, the run's facts (meta), a note, and the sections' HTML. */
export function renderPage(title: string, meta: Record<string, string>, note: string, sections: string[]): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title><style>
${STYLE}
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

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(2));
/** Magnitudes are differences of probabilities: tiny ones keep three significant digits. */
const mag = (v: number | undefined) => (v !== undefined && Number.isFinite(v) && v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(2) : num(v));
const rowsTable = (head: string[], rows: (string | number | undefined)[][]) =>
  `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'string' ? esc(c) : num(c)}</td>`).join('')}</tr>`).join('')}</table>`;

/** Sections for the papers' metrics: CounterFact (ES / PS / NS, magnitudes, top-1), multi-hop, zsRE. */
export function paperSections(p: PaperMetrics): string[] {
  const out: string[] = [];
  const cf = p.counterfact;
  if (cf) {
    const row = (label: string, t: CounterFactSummary['efficacy']) => [label, t.cases, t.score, mag(t.magnitude), t.top1];
    const ge = cf.generationEntropy ? `; generation entropy ${num(cf.generationEntropy.value)} (× 100, ${cf.generationEntropy.cases} cases)` : '';
    out.push(`<section><h2>CounterFact <small>${esc(cf.version)}; Score (harmonic mean of ES, PS, NS) ${num(cf.score)}${ge}</small></h2>${rowsTable(['task', 'cases', 'score', 'magnitude', 'top-1'], [row('efficacy (ES: P(new) > P(old))', cf.efficacy), row('paraphrase (PS)', cf.paraphrase), row('neighbourhood (NS: P(old) > P(new))', cf.neighbourhood)])}</section>`);
  }
  const mh = p.multihop;
  if (mh) {
    const rows: (string | number | undefined)[][] = [['teacher-forced: P(new) > P(old)', mh.cases, mh.score], ['teacher-forced: P(new) − P(old)', mh.cases, mag(mh.magnitude)]];
    if (mh.generated) rows.push([`generated (greedy, ${mh.generated.tokens} tokens): contains new`, mh.generated.cases, mh.generated.containsNew], ['generated: contains old', mh.generated.cases, mh.generated.containsOld]);
    out.push(`<section><h2>Multi-hop (MQuAKE-style) <small>${esc(mh.version)}</small></h2>${rowsTable(['measure', 'cases', 'value'], rows)}</section>`);
  }
  const z = p.zsre;
  if (z) {
    out.push(`<section><h2>zsRE token accuracy <small>${esc(z.version)}; ${z.cases} cases</small></h2>${rowsTable(['measure', 'value'], [['efficacy', z.efficacy], ['generalisation (rephrase)', z.generalisation], ['locality (= unedited model)', z.locality], ['loc answer accuracy', z.locAnswer]])}</section>`);
  }
  return out;
}

/** The papers' metrics as Markdown (tables), for notes and the CLI. */
export function paperMarkdown(p: PaperMetrics): string {
  const lines: string[] = [];
  const cf = p.counterfact;
  if (cf) {
    lines.push(`CounterFact (${cf.version}), × 100; Score ${num(cf.score)}${cf.generationEntropy ? `; generation entropy ${num(cf.generationEntropy.value)} (${cf.generationEntropy.cases} cases)` : ''}`, '', '| task | cases | score | magnitude | top-1 |', '|---|---|---|---|---|');
    for (const [k, t] of [['efficacy', cf.efficacy], ['paraphrase', cf.paraphrase], ['neighbourhood', cf.neighbourhood]] as const) lines.push(`| ${k} | ${t.cases} | ${num(t.score)} | ${mag(t.magnitude)} | ${num(t.top1)} |`);
  }
  if (p.multihop) lines.push('', `Multi-hop (${p.multihop.version}): P(new) > P(old) ${num(p.multihop.score)}, P(new) − P(old) ${mag(p.multihop.magnitude)}${p.multihop.generated ? `, generated contains new ${num(p.multihop.generated.containsNew)} / old ${num(p.multihop.generated.containsOld)}` : ''} (${p.multihop.cases} cases)`);
  if (p.zsre) lines.push('', `zsRE (${p.zsre.version}, ${p.zsre.cases} cases): efficacy ${num(p.zsre.efficacy)}, generalisation ${num(p.zsre.generalisation)}, locality ${num(p.zsre.locality)}, loc answer ${num(p.zsre.locAnswer)}`);
  return lines.join('\n');
}

/** EVOKE's report.html; `notice` (e.g. that no case's edit is in the stack) opens the note, in words. */
export function renderReport(title: string, meta: Record<string, string>, summary: Record<string, TaskSummary>, baseline?: Record<string, TaskSummary>, paper: PaperMetrics = {}, notice = ''): string {
  return renderPage(title, meta, `${notice ? `<strong>${esc(notice)}</strong><br>` : ''}Indicators and probabilities are × 100; higher indicators are better. ${baseline ? BEFORE_AFTER_NOTE : ''}`, [...paperSections(paper), ...evokeSections(summary, baseline)]);
}

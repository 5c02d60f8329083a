// The Diagnostics panel's run history: the runs the host kept (.mechedit/diagnostics/history/),
// newest first; pick run A and run B, then show one or compare them side by side (each run's
// before and after per measure, and how B's after differs from A's).

import type { DiagnosticsHistory, DiagnosticsLast, DiagnosticsPanel, DiagnosticsRunEntry } from '../../src/protocol/panels';
import { Host, h } from '../shared/host';
import { button, dropdown } from '../shared/controls';
import { allBars, compareBars, type AnyDiagnostics, type CompareRow } from './data';
import { editsText } from './words';

const KINDS: Record<string, string> = { evoke: 'EVOKE', 'fine-ked': 'FINE-KED', ort: 'ORT', probes: 'Knowledge probes', edit: 'Diagnose This Edit' };

/** A kept run in one line: when, which diagnostic, what it measured. */
export function runTitle(r: DiagnosticsRunEntry): string {
  const b = r.brief;
  const what = b.kind === 'edit' ? (b.file ?? '').split(/[\\/]/).pop() ?? ''
    : b.method && b.method !== 'none' ? `each case's own ${b.method.toUpperCase()} edit`
      : b.kind === 'ort' ? `with ${editsText(b.edits)}` : `the edit stack: ${editsText(b.edits)}`;
  return `${new Date(r.savedAt).toLocaleString()} · ${KINDS[b.kind] ?? b.kind} · ${what}${b.limit && b.kind !== 'ort' && b.kind !== 'edit' ? ` · ${b.limit} per file` : ''}`;
}

export class HistorySection {
  history: DiagnosticsHistory = { runs: [], folder: '' };
  private a?: string;
  private b?: string;
  private compared?: { a: DiagnosticsLast; b: DiagnosticsLast; rows: CompareRow[] };
  private error = '';

  constructor(private readonly host: Host<DiagnosticsPanel>, private readonly render: () => void, private readonly show: (l: DiagnosticsLast) => void) {}

  /** New runs (a newer newest): A and B become the two newest again; else the runs picked stay picked while they are listed. */
  set(h: DiagnosticsHistory): void {
    const newer = h.runs[0]?.file !== this.history.runs[0]?.file;
    this.history = h;
    const files = h.runs.map((r) => r.file);
    if (newer || !this.b || !files.includes(this.b)) this.b = files[0];
    if (newer || !this.a || !files.includes(this.a)) this.a = files[1] ?? files[0];
  }

  /** Loads A and B and compares them (also what tests call). */
  async compare(a?: string, b?: string): Promise<void> {
    a ??= this.a;
    b ??= this.b;
    if (!a || !b) return;
    [this.a, this.b] = [a, b];
    const { runs } = await this.host.request('loadRuns', { files: [a, b] });
    const bad = runs.find((r) => r.error || !r.result);
    this.error = bad ? `Cannot compare: ${bad.error ?? 'no results'}` : '';
    this.compared = bad ? undefined : { a: runs[0], b: runs[1], rows: compareBars(allBars(runs[0].result as AnyDiagnostics), allBars(runs[1].result as AnyDiagnostics)) };
    this.render();
    document.getElementById(this.compared ? 'history-compare' : 'history')?.scrollIntoView();
  }

  private async showA(): Promise<void> {
    if (!this.a) return;
    const [run] = (await this.host.request('loadRuns', { files: [this.a] })).runs;
    this.show(run);
  }

  summary(): { runs: number; newest?: { savedAt: string; kind: string; method?: string }; compared?: { a: string; b: string; rows: number; diffs: { key: string; diff: number }[] }; error?: string } {
    const c = this.compared;
    const n = this.history.runs[0];
    return { runs: this.history.runs.length, ...(n ? { newest: { savedAt: n.savedAt, kind: n.brief.kind, method: n.brief.method } } : {}), ...(c ? { compared: { a: c.a.file!, b: c.b.file!, rows: c.rows.length, diffs: c.rows.map((r) => ({ key: r.key, diff: r.diff })) } } : {}), ...(this.error ? { error: this.error } : {}) };
  }

  element(): HTMLElement {
    const runs = this.history.runs;
    const options = runs.map((r) => ({ id: r.file, label: runTitle(r) }));
    const head = h('h2', {}, 'Run history', h('span', { class: 'muted model' }, ` ${runs.length} run${runs.length === 1 ? '' : 's'} kept in ${this.history.folder || 'the workspace'}`));
    if (!runs.length) return h('section', { id: 'history' }, head, h('p', { class: 'muted' }, 'Every run is kept here; run two to compare them.'));
    const unreadable = this.history.unreadable?.length ? h('p', { class: 'error' }, `Not listed (unreadable): ${this.history.unreadable.join(' · ')}`) : '';
    return h('section', { id: 'history' }, head, unreadable,
      h('div', { class: 'row' },
        dropdown('run-a', 'Run A', options, this.a ?? '', (v) => { this.a = v; }),
        dropdown('run-b', 'Run B', options, this.b ?? '', (v) => { this.b = v; }),
        secondary(button('Compare A with B', 'diff', () => void this.compare(), 'compare-runs', runs.length < 1)),
        secondary(button('Show A', 'eye', () => void this.showA(), 'show-run'))),
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : '',
      this.compared ? this.table(this.compared) : '');
  }

  private table(c: { a: DiagnosticsLast; b: DiagnosticsLast; rows: CompareRow[] }): HTMLElement {
    const f = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(1));
    const entry = (l: DiagnosticsLast) => this.history.runs.find((r) => r.file === l.file);
    const name = (l: DiagnosticsLast, which: string) => { const e = entry(l); return `${which}: ${e ? runTitle(e) : new Date(l.savedAt).toLocaleString()}`; };
    return h('div', { id: 'history-compare' },
      h('p', { class: 'muted' }, name(c.a, 'A'), h('br', {}), name(c.b, 'B')),
      h('table', { class: 'cases' },
        h('tr', {}, h('th', {}, 'measure (×100)'), h('th', {}, 'A before'), h('th', {}, 'A after'), h('th', {}, 'B before'), h('th', {}, 'B after'), h('th', { title: "B's after − A's after" }, 'B − A (after)')),
        ...c.rows.map((r) => h('tr', {}, h('td', {}, r.label), h('td', { class: 'num' }, f(r.a?.before)), h('td', { class: 'num' }, f(r.a?.after)), h('td', { class: 'num' }, f(r.b?.before)), h('td', { class: 'num' }, f(r.b?.after)),
          h('td', { class: `num ${r.diff > 1e-9 ? 'up' : r.diff < -1e-9 ? 'down' : ''}` }, Number.isNaN(r.diff) ? '—' : `${r.diff >= 0 ? '+' : ''}${r.diff.toFixed(1)}`)))));
  }
}

/** A button in the secondary appearance (exports, history): it weighs less than the run buttons. */
export function secondary(b: HTMLElement): HTMLElement {
  b.setAttribute('secondary', '');
  return b;
}

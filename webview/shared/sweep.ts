// A sweep root (`mechedit sweep`, docs/cluster.md) in a panel (Diagnostics, Lifelong editing): the
// grid of cells × shards with each task's state, the progress, "Merge now" once every task has
// finished, and once merged a side-by-side comparison of the cells picked (their figures, and each
// one's difference from the first picked). The host reads the root through the engine (core's
// sweep status and merge) and pushes a fresh view when its folders change ('sweep').

import type { PanelProtocol } from '../../src/protocol/webview';
import type { SweepNotifications, SweepRequests, SweepTaskState, SweepView } from '../../src/protocol/sweep';
import type { SaveParams, SaveRequest } from '../../src/protocol/panels';
import { HostError, h, type Host } from './host';
import { button } from './controls';
import { compareRows, compareCsv, type CompareRow } from './sweepData';
import './sweep.css';

/** The part of a panel's protocol the sweep section uses. */
export interface SweepPanel extends PanelProtocol {
  requests: SweepRequests & { save: SaveRequest };
  notifications: SweepNotifications;
}

const STATES: SweepTaskState[] = ['finished', 'running', 'stopped', 'missing'];

/** What the section drew, for the panel's 'rendered' summary (tests and screenshots). */
export interface SweepSummary {
  root: string;
  diagnostic: string;
  counts: Record<SweepTaskState, number>;
  /** The grid as drawn: per cell, each shard's state. */
  grid: Record<string, SweepTaskState[]>;
  mergeEnabled: boolean;
  merged: boolean;
  picked: string[];
  /** The comparison as drawn: figure, the picked cells' values, the differences from the first. */
  compare: CompareRow[];
  error?: string;
}

export class SweepSection {
  readonly element = h('section', { id: 'sweep', class: 'sweep' });
  view?: SweepView;
  private picked: string[] = [];
  private busy = false;
  private error = '';
  private onlyDiffering = false;

  /** `changed`: the panel redraws what depends on the sweep (its summary, a chart) after every change here. */
  constructor(private readonly host: Host<SweepPanel>, private readonly changed: () => void) {
    host.on('sweep', (v) => this.show(v));
  }

  /** The panel's "Open Sweep…" action. */
  openButton(disabled = false): HTMLElement {
    return button('Open Sweep…', 'server-process', () => void this.act(async () => {
      const v = await this.host.request('openSweep', {}, 10 * 60_000);
      if (v) this.show(v);
    }), 'open-sweep', disabled);
  }

  /** The cells picked for the comparison (all merged cells until the user picks). */
  pickedCells(): string[] {
    return this.picked;
  }

  show(v: SweepView): void {
    const same = this.view?.root === v.root;
    this.view = v;
    this.picked = same ? this.picked.filter((c) => v.cells.includes(c)) : [...v.cells];
    this.draw();
  }

  private async act(f: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = '';
    this.draw();
    try {
      await f();
    } catch (e) {
      this.error = e instanceof HostError ? e.message : String((e as Error).message ?? e);
    } finally {
      this.busy = false;
      this.draw();
    }
  }

  private draw(): void {
    const v = this.view;
    if (!v) {
      this.element.replaceChildren(...(this.error ? [h('p', { class: 'error', role: 'alert' }, this.error)] : []));
      this.changed();
      return;
    }
    const root = v.root;
    const total = v.tasks.length;
    this.element.replaceChildren(
      h('h2', {}, `Sweep: ${v.diagnostic}, ${v.cells.length} cell(s) × ${v.shards} shard(s)`, h('span', { class: 'muted' }, ` — ${root}`)),
      h('div', { class: 'row' },
        button('Refresh', 'refresh', () => void this.act(async () => this.show(await this.host.request('refreshSweep', { root }))), 'sweep-refresh', this.busy),
        button('Merge now', 'merge', () => void this.act(async () => this.show(await this.host.request('mergeSweep', { root }, 60 * 60_000))), 'sweep-merge', this.busy || !v.mergeable),
        button('Close', 'close', () => void this.act(async () => {
          await this.host.request('closeSweep', { root });
          this.view = undefined;
        }), 'sweep-close', this.busy),
      ),
      h('p', { id: 'sweep-progress' },
        h('progress', { max: String(total), value: String(v.counts.finished), 'aria-label': 'tasks finished' }),
        ` ${v.counts.finished} / ${total} tasks finished`,
        h('span', { class: 'muted' }, ` · ${STATES.slice(1).map((s) => `${v.counts[s]} ${s}`).join(', ')}${v.merged ? ' · merged' : v.mergeable ? ' · ready to merge' : ''}`)),
      this.error ? h('p', { class: 'error', role: 'alert' }, this.error) : '',
      this.grid(v),
      ...this.comparison(v),
    );
    this.changed();
  }

  private grid(v: SweepView): HTMLElement {
    const head = h('tr', {}, h('th', {}, 'cell'), ...Array.from({ length: v.shards }, (_, s) => h('th', {}, v.diagnostic === 'sequential' ? 'run' : `shard ${s}`)));
    const rows = v.cells.map((cell) => h('tr', {}, h('th', { scope: 'row' }, cell), ...v.tasks.filter((t) => t.cell === cell).map((t) =>
      h('td', { class: `task state-${t.state}`, title: `task ${t.task}: ${t.out}${t.host ? ` on ${t.host}` : ''}${t.exit !== undefined ? `, exit ${t.exit}` : ''}${t.restarts ? `, ${t.restarts} restart(s)` : ''}` },
        t.state, h('span', { class: 'muted' }, ` ${t.cases} line(s)`)))));
    return h('table', { class: 'sweep-grid' }, head, ...rows);
  }

  private comparison(v: SweepView): (Node | string)[] {
    if (!v.merged) return [h('p', { class: 'muted', id: 'sweep-compare-note' }, v.mergeable ? 'Every task has finished: Merge now to compare the cells.' : 'The cells can be compared once every task has finished and the sweep is merged.')];
    const pick = h('div', { class: 'row sweep-pick' }, h('span', {}, 'Compare:'), ...v.cells.map((cell) => {
      const box = h('input', { type: 'checkbox', id: `pick-${cell}` });
      box.checked = this.picked.includes(cell);
      box.addEventListener('change', () => {
        this.picked = v.cells.filter((c) => (c === cell ? box.checked : this.picked.includes(c)));
        this.draw();
      });
      return h('label', { for: `pick-${cell}` }, box, ` ${cell}`);
    }));
    const differ = h('input', { type: 'checkbox', id: 'sweep-differing' });
    differ.checked = this.onlyDiffering;
    differ.addEventListener('change', () => {
      this.onlyDiffering = differ.checked;
      this.draw();
    });
    const rows = this.rows(v);
    const cells = this.picked;
    const table = h('table', { class: 'cases sweep-compare' },
      h('tr', {}, h('th', {}, 'figure'), ...cells.flatMap((c, i) => (i ? [h('th', { class: 'num' }, c), h('th', { class: 'num' }, `Δ vs ${cells[0]}`)] : [h('th', { class: 'num' }, c)]))),
      ...rows.map((r) => h('tr', {}, h('td', {}, r.figure), ...r.values.flatMap((x, i) => {
        const value = h('td', { class: 'num' }, x === undefined ? '—' : fmt(x));
        if (!i) return [value];
        const d = r.diffs[i - 1];
        return [value, h('td', { class: `num diff${d === undefined || d === 0 ? '' : d > 0 ? ' up' : ' down'}` }, d === undefined ? '—' : `${d > 0 ? '+' : ''}${fmt(d)}`)];
      }))));
    return [
      h('h3', {}, 'Merged: the cells side by side'),
      pick,
      h('div', { class: 'row' }, h('label', { for: 'sweep-differing' }, differ, ' only figures that differ'),
        h('div', { class: 'exports' }, secondary(button('Export CSV', 'file-code', () => void this.exportCsv(rows), 'sweep-export-csv', !cells.length)))),
      cells.length ? table : h('p', { class: 'muted' }, 'Pick the cells to compare.'),
      h('p', { class: 'muted' }, `All cells: ${v.merged.files.markdown}, ${v.merged.files.csv}, ${v.merged.files.html}`),
    ];
  }

  private rows(v: SweepView): CompareRow[] {
    const rows = v.merged ? compareRows(v.merged, this.picked) : [];
    return this.onlyDiffering ? rows.filter((r) => r.diffs.some((d) => d !== undefined && d !== 0)) : rows;
  }

  private async exportCsv(rows: CompareRow[]): Promise<void> {
    const params: SaveParams = { format: 'csv', suggestedName: `sweep-${this.view?.diagnostic ?? ''}-compare.csv`, text: compareCsv(this.picked, rows) };
    await this.act(async () => void (await this.host.request('save', params, 10 * 60_000)));
  }

  summary(): SweepSummary | undefined {
    const v = this.view;
    if (!v) return undefined;
    const grid: Record<string, SweepTaskState[]> = {};
    for (const t of v.tasks) (grid[t.cell] ??= [])[t.shard] = t.state;
    const drawn = document.querySelectorAll('#sweep .sweep-grid td.task').length === v.tasks.length;
    return {
      root: v.root, diagnostic: v.diagnostic, counts: v.counts, grid: drawn ? grid : {},
      mergeEnabled: !this.busy && v.mergeable, merged: !!v.merged, picked: [...this.picked],
      compare: v.merged ? this.rows(v) : [], ...(this.error ? { error: this.error } : {}),
    };
  }
}

const secondary = (b: HTMLElement) => {
  b.setAttribute('secondary', '');
  return b;
};
const fmt = (x: number) => String(Number(x.toPrecision(6)));

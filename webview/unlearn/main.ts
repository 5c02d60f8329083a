// The Unlearning panel's webview: the run of *MechEdit: Unlearn…* as it trains — the loss and
// the forget items' top-1 accuracy per step (chart.ts), Cancel — then its outcome: the figures
// before → after, the edit file (Open, Diagnose), exports. Everything drawn comes from the host's
// 'run' snapshot; the last one is kept with setState, so a reload shows it again (a run that was
// still training then is marked as interrupted).

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { UnlearnPanel, UnlearnPanelState, UnlearnRunSnapshot } from '../../src/protocol/panels';
import { Host, h } from '../shared/host';
import { button } from '../shared/controls';
import { chartFile } from '../shared/export';
import { lossChart } from './chart';
import { chartSeries, curveCsv, percent } from './data';
import './style.css';

const host = new Host<UnlearnPanel, UnlearnPanelState>();
const root = document.getElementById('root')!;
let run: UnlearnRunSnapshot | undefined = host.getState()?.run;
/** Drawn from the saved state, no snapshot from the host yet (after a reload). */
let restored = !!run;
let error = '';

async function act(fn: () => Promise<unknown>): Promise<void> {
  error = '';
  try {
    await fn();
  } catch (e) {
    error = (e as Error).message;
  }
  render();
}

async function exportAs(format: 'png' | 'svg' | 'csv' | 'json'): Promise<void> {
  if (!run) return;
  const name = `unlearn-${run.method}-${run.material}`.replace(/[^A-Za-z0-9._-]+/g, '-');
  if (format === 'png' || format === 'svg') {
    await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('svg.loss-chart')], format, name), 10 * 60_000);
    return;
  }
  await host.request('save', { format, suggestedName: `${name}.${format}`, text: format === 'csv' ? curveCsv(run.points) : JSON.stringify(run, null, 2) }, 10 * 60_000);
}

function statusLine(r: UnlearnRunSnapshot): HTMLElement {
  const last = r.points[r.points.length - 1];
  const done = last ? last.step + 1 : 0;
  const now = last ? ` · loss ${last.loss.toFixed(4)}${last.metrics.forgetTop1 !== undefined ? ` · forget top-1 ${percent(last.metrics.forgetTop1)}` : ''}` : '';
  const text = {
    running: restored ? `Interrupted at step ${done} (the window reloaded while it trained): nothing was saved or applied.` : `Training: step ${done}${r.steps ? ` of ${r.steps}` : ''}${now}${r.message && !r.message.startsWith('step ') ? ` · ${r.message}` : ''}`,
    done: `Done after ${done} step${done === 1 ? '' : 's'}${r.result ? ` (${stopText(r.result.stoppedBy)}) in ${(r.result.computeMs / 1000).toFixed(1)} s` : ''}${now}`,
    cancelled: `Cancelled at step ${done}: nothing was saved or applied.`,
    error: `Failed at step ${done}.`,
  }[r.status];
  return h('div', { class: 'status' }, r.status === 'running' && !restored ? h('vscode-progress-ring', {}) : '', h('span', { id: 'status', class: r.status === 'error' ? 'error' : '' }, text));
}

function stopText(reason: string): string {
  return reason === 'early-stop' ? 'the forget items fell under the stop threshold' : reason === 'budget' ? 'the time budget was spent' : 'all steps run';
}

function outcome(r: UnlearnRunSnapshot): HTMLElement | string {
  const x = r.result;
  if (!x) return '';
  const f = x.figures;
  return h('div', { id: 'outcome' },
    h('h2', {}, 'Outcome'),
    h('table', { class: 'figures' },
      h('tr', {}, h('th', {}, ''), h('th', {}, 'before'), h('th', {}, 'after')),
      h('tr', {}, h('td', {}, `forget items' top-1 (${x.forgetItems})`), h('td', {}, percent(f.forgetTop1[0])), h('td', {}, percent(f.forgetTop1[1]))),
      x.retainItems
        ? h('tr', {}, h('td', {}, 'retain items\' top-1 (up to 256 of ' + x.retainItems + ')'), h('td', {}, percent(f.retainTop1[0])), h('td', {}, percent(f.retainTop1[1])))
        : h('tr', {}, h('td', {}, 'retain items'), h('td', { colspan: '2', class: 'muted' }, 'none (no retain material)')),
      h('tr', {}, h('td', {}, 'KL on neutral prompts'), h('td', {}, ''), h('td', {}, `${x.klNeutral.toFixed(4)} nats`)),
    ),
    ...x.warnings.map((w) => h('p', { class: 'warning' }, `⚠ ${w}`)),
    h('p', {}, `${x.label} — applied and saved as `, h('code', {}, x.file)),
    h('div', { class: 'row' },
      button('Open Edit File', 'go-to-file', () => void act(() => host.request('openEdit', { file: x.file })), 'open-edit'),
      button('Diagnose (ORT forms)', 'beaker', () => void act(() => host.request('diagnose', { file: x.file })), 'diagnose'),
    ),
  );
}

function render(): void {
  const width = Math.max(360, Math.min(900, (root.clientWidth || 800) - 8));
  if (!run) {
    root.replaceChildren(
      h('h1', {}, 'Unlearning'),
      h('p', { class: 'muted' }, 'No run yet. Start one with MechEdit: Unlearn… (command palette, the Edits view, the Concepts panel\'s "Unlearn…", or an {"kind": "unlearn", …} line of a request file).'),
    );
    host.rendered({ status: 'empty' });
    return;
  }
  const r = run;
  const running = r.status === 'running' && !restored;
  const s = chartSeries(r.points);
  root.replaceChildren(
    h('h1', {}, `Unlearning${r.concept ? ` "${r.concept}"` : ''}`, h('span', { class: 'muted model' }, ` — ${r.methodLabel}${r.preset ? ` (preset ${r.preset})` : ''} on ${r.material}${r.forms.length ? ` (forms: ${r.forms.join(', ')})` : ' (every form)'}`)),
    h('div', { class: 'row' },
      button('Cancel', 'debug-stop', () => void act(() => host.request('cancel', {})), 'cancel', !running),
      h('div', { class: 'exports' },
        button('PNG', 'file-media', () => void act(() => exportAs('png')), 'export-png', r.points.length === 0),
        button('SVG', 'file-media', () => void act(() => exportAs('svg')), 'export-svg', r.points.length === 0),
        button('CSV', 'file-code', () => void act(() => exportAs('csv')), 'export-csv', r.points.length === 0),
        button('JSON', 'file-code', () => void act(() => exportAs('json')), 'export-json', r.points.length === 0))),
    statusLine(r),
    r.error ? h('p', { class: 'error', role: 'alert' }, r.error) : '',
    error ? h('p', { class: 'error', role: 'alert' }, error) : '',
    // While it trains the x axis spans the planned steps; after, the steps it ran.
    r.points.length ? lossChart(r.points, { steps: running ? r.steps : undefined, width }) : h('p', { class: 'muted', id: 'waiting' }, running ? 'Preparing: reading the material and scoring it before training…' : 'No step was drawn.'),
    outcome(r),
  );
  const last = r.points[r.points.length - 1];
  host.rendered({
    status: restored && r.status === 'running' ? 'interrupted' : r.status,
    method: r.method,
    preset: r.preset,
    points: r.points.length,
    steps: r.steps,
    lastStep: s.last,
    lastLoss: last?.loss,
    lastForgetTop1: last?.metrics.forgetTop1,
    series: [s.loss.label, ...s.rates.map((x) => x.label)],
    cancelEnabled: running,
    chart: document.querySelectorAll('svg.loss-chart path.line').length,
    result: r.result ? { file: r.result.file, figures: r.result.figures, stoppedBy: r.result.stoppedBy } : undefined,
    error: r.error,
  });
}

host.on('run', (snapshot) => {
  run = snapshot;
  restored = false;
  host.setState({ run });
  render();
});
window.addEventListener('resize', () => render());
render();
host.ready();

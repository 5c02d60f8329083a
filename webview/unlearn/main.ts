// The Unlearning panel's webview: the run of *MechEdit: Unlearn…* as it trains — the loss and
// the forget items' top-1 accuracy per step (chart.ts), Cancel — then its outcome: the figures
// before → after, the edit file (Open, Diagnose), exports. Everything drawn comes from the host's
// 'run' snapshot; the last one is kept with setState, so a reload shows it again (a run that was
// still training then is marked as interrupted). With no run in progress, a form starts one (forget
// set, objective, forms → the host runs *MechEdit: Unlearn…* with them): the panel opened from the
// palette is never a dead end.

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { UnlearnContext, UnlearnPanel, UnlearnPanelState, UnlearnRunSnapshot, UnlearnStart } from '../../src/protocol/panels';
import { Host, h } from '../shared/host';
import { button, dropdown } from '../shared/controls';
import { outcomeFigures } from './outcome';
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
let ctx: UnlearnContext = { forgets: [], objectives: [], model: false };
/** The form's choice ('' forget: the command asks for a file or folder). */
let form: UnlearnStart = { method: '', forms: ['qa'] };

/** The form that starts a run: the same pipeline as *MechEdit: Unlearn…*. */
function startForm(): HTMLElement {
  const forget = form.forget ?? ctx.forgets[0]?.path ?? '';
  const method = form.method || ctx.objectives[0]?.id || '';
  const ready = ctx.model && !!method;
  return h('section', { id: 'start-form' },
    h('h3', {}, 'New run'),
    h('div', { class: 'row' },
      dropdown('forget', 'Forget set', [...ctx.forgets.map((f) => ({ id: f.path, label: `${f.label} (the model's ORT target)` })), { id: '', label: 'Choose a file or folder… (asked on Start)' }], forget, (v) => { form = { ...form, forget: v }; }),
      dropdown('objective', 'Objective', ctx.objectives.map((o, i) => ({ id: o.id, label: `${o.label}${i === 0 ? ' (recommended)' : ''}` })), method, (v) => { form = { ...form, method: v }; }),
      dropdown('forms', 'Train on', [{ id: 'qa', label: 'question–answer items' }, { id: 'all', label: 'every form' }], form.forms.length ? 'qa' : 'all', (v) => { form = { ...form, forms: v === 'qa' ? ['qa'] : [] }; }),
      button('Start', 'play', () => void act(() => host.request('start', { method: form.method || method, forget: (form.forget ?? forget) || undefined, forms: form.forms })), 'start', !ready)),
    ctx.model ? '' : h('p', { class: 'muted' }, 'Open a model to unlearn from it.'),
  );
}
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
    running: restored ? `Interrupted at step ${done} (the window reloaded while it trained): nothing was saved or applied.` : `Training: ${r.progress ?? `step ${done}${r.steps ? ` of ${r.steps}` : ''}`}${now}${r.message && !r.message.startsWith('step ') ? ` · ${r.message}` : ''}`,
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
  return h('div', { id: 'outcome' },
    h('h2', {}, 'Outcome'),
    ...outcomeFigures(x),
    ...x.warnings.map((w) => h('p', { class: 'warning' }, `⚠ ${w}`)),
    h('p', { id: 'saved' }, x.applied === false ? `${x.label} — saved, not applied (${x.notApplied ?? 'the apply policy'}; Apply Anyway from its toast or the Edits view), as ` : `${x.label} — applied and saved as `, h('code', {}, x.file)),
    h('div', { class: 'row' },
      button('Open Edit File', 'go-to-file', () => void act(() => host.request('openEdit', { file: x.file })), 'open-edit'),
      button(x.ort ? 'Diagnose Again (ORT forms)' : 'Diagnose (ORT forms)', 'beaker', () => void act(() => host.request('diagnose', { file: x.file }, 10 * 60_000)), 'diagnose'),
    ),
  );
}

function render(): void {
  const width = Math.max(360, Math.min(900, (root.clientWidth || 800) - 8));
  if (!run) {
    root.replaceChildren(
      h('h1', {}, 'Unlearning'),
      h('p', { class: 'muted' }, 'No run yet. Start one here, or with MechEdit: Unlearn… (command palette, the Concepts panel\'s "Unlearn…", or an {"kind": "unlearn", …} line of a request file).'),
      startForm(),
    );
    host.rendered({ status: 'empty', form: formSummary() });
    return;
  }
  const r = run;
  const running = r.status === 'running' && !restored;
  const s = chartSeries(r.points);
  root.replaceChildren(
    // Between runs the form comes first: a new run is one Start away.
    running ? '' : h('h1', {}, 'Unlearning'),
    running ? '' : startForm(),
    h(running ? 'h1' : 'h2', {}, `${running ? 'Unlearning' : 'Last run: unlearning'}${r.concept ? ` "${r.concept}"` : ''}`, h('span', { class: 'muted model' }, ` — ${r.methodLabel}${r.preset ? ` (preset ${r.preset})` : ''} on ${r.material}${r.forms.length ? ` (forms: ${r.forms.join(', ')})` : ' (every form)'}`)),
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
    result: r.result ? { file: r.result.file, figures: r.result.figures, stoppedBy: r.result.stoppedBy, neighbours: r.result.neighbours?.rows.length ?? 0, ort: r.result.ort?.rows.length } : undefined,
    progress: r.progress,
    labels: [...document.querySelectorAll('#figures td:first-child, #neighbours td:first-child, #ort-forms td:first-child')].map((td) => td.textContent ?? ''),
    form: formSummary(),
    error: r.error || error || undefined,
  });
}

/** What the form offers (tests rely on it). */
function formSummary(): { shown: boolean; forgets: number; objectives: number; startEnabled: boolean } {
  const start = document.getElementById('start');
  return { shown: !!document.getElementById('start-form'), forgets: ctx.forgets.length, objectives: ctx.objectives.length, startEnabled: !!start && !start.hasAttribute('disabled') };
}

host.on('run', (snapshot) => {
  run = snapshot;
  restored = false;
  host.setState({ run });
  render();
});
host.on('context', (c) => {
  ctx = c;
  render();
});
window.addEventListener('resize', () => render());
render();
host.ready();

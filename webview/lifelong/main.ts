// The Lifelong editing panel's webview: a form that starts a session (methods, N world
// counterfactuals or a requests file, batch, every, v* steps), Cancel, Open Run Folder… / Reload,
// the runs' status, and the curves (chart.ts) drawn from the host's 'session' snapshot as points
// arrive; PNG / SVG / CSV export. The form and the last session are kept with setState (a reload
// draws them again; a session that was still running then is marked interrupted).

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { LIFELONG_SIZES, paceKey, type LifelongContext, type LifelongPanel, type LifelongPanelState, type LifelongRunSnapshot, type LifelongSession, type LifelongStart } from '../../src/protocol/lifelong';
import { durationText } from '../../src/protocol/progress';
import { presetOptions, type MethodChoice } from '../../src/protocol/registry';
import { Host, h } from '../shared/host';
import { button, dropdown, textfield } from '../shared/controls';
import { chartFile } from '../shared/export';
import { curvesChart } from './chart';
import { curvesCsv, MEASURES, methodLabel, pct } from './data';
import { SweepSection, type SweepPanel } from '../shared/sweep';
import { sweepCurvesBox } from './sweepCurves';
import './style.css';

const host = new Host<LifelongPanel, LifelongPanelState>();
const root = document.getElementById('root')!;
const saved = host.getState();
const QUICK = LIFELONG_SIZES[0];
let form: LifelongStart = { methods: [], n: QUICK.n, batch: QUICK.batch, every: QUICK.every, ...saved?.form };
/** No form was saved: its methods are preselected once the host sends the registry's (the first of each kind). */
let preselect = !saved?.form;
let session: LifelongSession | undefined = saved?.session;
/** Drawn from the saved state, no snapshot from the host yet (after a reload). */
let restored = !!session;
let ctx: LifelongContext = { running: false, methods: [] };
const label = (id: string) => methodLabel(id, ctx.methods);
let error = '';

const save = () => host.setState({ form, session });

const formBox = h('section', { id: 'form' });
const statusBox = h('section', { id: 'runs' });
const chartBox = h('section', { id: 'curves' });
/** A sweep root opened here (*MechEdit: Open Sweep…* or the button): a sequential sweep's grid and comparison, and its picked cells' curves on one chart. */
const sweep = new SweepSection(host as unknown as Host<SweepPanel>, () => {
  renderSweepCurves();
  summary();
});
const sweepCurves = h('section', { id: 'sweep-curves' });
root.replaceChildren(h('h1', {}, 'Lifelong editing'), formBox, statusBox, chartBox, h('div', { class: 'row' }, sweep.openButton()), sweep.element, sweepCurves);

function renderSweepCurves(): void {
  sweepCurves.replaceChildren(...sweepCurvesBox(sweep.view, sweep.pickedCells(), Math.max(320, (root.clientWidth || 900) - 8)));
}

async function act(fn: () => Promise<unknown>): Promise<void> {
  error = '';
  try {
    await fn();
  } catch (e) {
    error = (e as Error).message;
  }
  renderAll();
}

const running = () => !restored && !!session?.runs.some((r) => r.status === 'running' || r.status === 'queued');

async function exportAs(format: 'png' | 'svg' | 'csv'): Promise<void> {
  if (!session) return;
  const name = `lifelong-${session.runs.map((r) => r.method).join('-')}`;
  if (format === 'csv') {
    await host.request('save', { format, suggestedName: `${name}.csv`, text: curvesCsv(session.runs) }, 10 * 60_000);
    return;
  }
  await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('#curves svg.curves')], format, name), 10 * 60_000);
}

/** A whole number from a field, or undefined when it is empty (the engine's default). */
function whole(v: string): number | undefined {
  const n = Math.round(Number(v));
  return v.trim() === '' || !Number.isFinite(n) || n < 1 ? undefined : n;
}

function methodBox(m: MethodChoice): HTMLElement {
  const box = document.createElement('vscode-checkbox');
  box.id = `method-${m.id}`;
  box.setAttribute('label', m.label);
  box.title = m.description;
  if (form.methods.includes(m.id)) box.setAttribute('checked', '');
  box.addEventListener('change', () => {
    const on = (box as unknown as { checked: boolean }).checked;
    form = { ...form, methods: ctx.methods.map((x) => x.id).filter((x) => (x === m.id ? on : form.methods.includes(x))) };
    save();
    renderForm();
  });
  return box;
}

function renderForm(): void {
  const busy = running();
  const set = (key: 'n' | 'batch' | 'every') => (v: string) => {
    form = { ...form, [key]: whole(v) };
    save();
    refreshEstimate();
  };
  formBox.replaceChildren(
    h('p', { class: 'muted' }, `Applies N edits one after another (${batchNote()}) on a stack of its own over the unedited model — your edit stack is not touched — and measures every K edits. Methods run one after another, each in .mechedit/lifelong/<session>/<method>/.`),
    h('div', { class: 'row' }, h('vscode-label', {}, 'Methods'), ...(ctx.methods.length ? ctx.methods.map(methodBox) : [h('span', { class: 'muted', id: 'methods-waiting' }, 'Waiting for the engine to list its methods…')])),
    h('div', { class: 'row' },
      textfield('n', 'World counterfactuals N', form.n === undefined ? '' : String(form.n), set('n'), { className: 'num' }),
      textfield('requests-file', 'or a requests file (JSONL)', form.requestsFile ?? '', (v) => { form = { ...form, requestsFile: v.trim() || undefined }; save(); }, { wide: true }),
      textfield('batch', 'Batch B', form.batch === undefined ? '' : String(form.batch), set('batch'), { className: 'num' }),
      textfield('every', 'Measure every K', form.every === undefined ? '' : String(form.every), set('every'), { className: 'num' }),
      textfield('steps', 'v* steps (empty: default)', form.settings?.steps === undefined ? '' : String(form.settings.steps), (v) => { form = { ...form, settings: { ...form.settings, steps: whole(v) } }; save(); refreshEstimate(); }, { className: 'num' }),
      ...presetControl(),
    ),
    h('div', { class: 'row' }, sizeControl(), h('span', { class: 'muted', id: 'estimate' }, estimateNote())),
    h('p', { class: 'muted', id: 'presets' }, presetNote()),
    h('div', { class: 'row' },
      button('Start', 'play', () => void act(() => host.request('start', { ...form, resume: undefined })), 'start', busy || !ctx.model || form.methods.length === 0),
      button('Cancel', 'debug-stop', () => void act(() => host.request('cancel', {})), 'cancel', !busy),
      // A session started here resumes with what it was started with; a folder read from disk with the form's settings.
      button('Resume', 'debug-continue', () => void act(() => host.request('start', { ...(session!.start ?? form), methods: session!.runs.map((r) => r.method), resume: session!.folder })), 'resume', busy || !ctx.model || !resumable()),
      button('Open Run Folder…', 'folder-opened', () => void act(() => host.request('open', {}, 24 * 3600_000)), 'open', busy),
      button('Reload', 'refresh', () => void act(() => host.request('reload', {})), 'reload', busy || !session?.folder),
      h('div', { class: 'exports' },
        button('PNG', 'file-media', () => void act(() => exportAs('png')), 'export-png', !hasPoints()),
        button('SVG', 'file-media', () => void act(() => exportAs('svg')), 'export-svg', !hasPoints()),
        button('CSV', 'file-code', () => void act(() => exportAs('csv')), 'export-csv', !hasPoints()))),
    ctx.model ? '' : h('p', { class: 'muted' }, 'Open a model to start runs; run folders can be shown without one.'),
    error ? h('p', { class: 'error', role: 'alert', id: 'error' }, error) : '',
  );
}

/** The named session sizes: picking one sets N, B and K (the fields stay editable). */
function sizeControl(): HTMLElement {
  const now = LIFELONG_SIZES.find((z) => z.n === form.n && z.batch === form.batch && z.every === form.every)?.id ?? '';
  const options = [...LIFELONG_SIZES.map((z) => ({ id: z.id as string, label: z.label })), ...(now ? [] : [{ id: '', label: 'Custom' }])];
  return dropdown('size', 'Session size', options, now, (v) => {
    const z = LIFELONG_SIZES.find((x) => x.id === v);
    if (!z) return;
    form = { ...form, n: z.n, batch: z.batch, every: z.every, requestsFile: undefined };
    save();
    renderForm();
  });
}

function refreshEstimate(): void {
  const note = document.getElementById('estimate');
  if (note) note.textContent = estimateNote();
}

/** The form's time estimate from the pace measured on this machine (the host confirms a long one before starting). */
function estimateNote(): string {
  const n = form.requestsFile ? undefined : form.n;
  if (!n || !form.methods.length) return '';
  const pace = (m: string) => ctx.pace?.[paceKey(m, form)];
  const measured = form.methods.filter((m) => pace(m) !== undefined);
  const unmeasured = form.methods.filter((m) => pace(m) === undefined).map(label);
  if (!measured.length) return 'Time: not measured on this machine for these settings yet (the run line shows the rate and time left after the first edit).';
  const seconds = measured.reduce((t, m) => t + n * pace(m)!, 0);
  return `Estimated time: about ${durationText(seconds)} (${measured.map((m) => `${label(m)} ${pace(m)!.toFixed(1)} s per edit`).join(', ')}, measured here${unmeasured.length ? `; ${unmeasured.join(', ')} not yet` : ''}).`;
}

/** The chosen methods as the host listed them. */
const chosen = () => ctx.methods.filter((m) => form.methods.includes(m.id));

/** The edits' preset choice, when runs take one and a chosen method has several presets. */
function presetControl(): HTMLElement[] {
  const options = ctx.presetsTaken ? presetOptions(chosen()) : [];
  if (!options.length) return [];
  const value = options.some((o) => o.id === form.settings?.preset) ? form.settings!.preset! : '';
  return [dropdown('preset', 'Preset of the edits', options, value, (v) => { form = { ...form, settings: { ...form.settings, preset: v || undefined } }; save(); renderForm(); })];
}

/** Which preset each chosen method's edits use, in words (a method without the chosen preset runs its default). */
function presetNote(): string {
  const wanted = ctx.presetsTaken ? form.settings?.preset : undefined;
  const each = chosen().map((m) => {
    const own = wanted && m.presets.some((p) => p.id === wanted) ? wanted : undefined;
    const def = m.defaultPreset ?? m.presets[0]?.id;
    return own ? `${m.label} ${own}` : def ? `${m.label} ${def} (its default${wanted ? `; it has no ${wanted}` : ''})` : `${m.label}: its defaults`;
  });
  return each.length ? `Presets: ${each.join(' · ')}` : '';
}

/** Which methods take B requests per edit and which one at a time, in words. */
function batchNote(): string {
  const names = (kind: string) => ctx.methods.filter((m) => m.kind === kind).map((m) => m.label);
  const batch = names('batch');
  const one = names('fact');
  return [batch.length ? `B requests per edit for ${batch.join(' / ')}` : 'B requests per edit', one.length ? `${one.join(', ')} one at a time` : ''].filter(Boolean).join('; ');
}

const hasPoints = () => !!session?.runs.some((r) => r.points.length);
/** A session with a folder whose runs did not all finish. */
const resumable = () => !!session?.folder && session.runs.some((r) => r.status !== 'done');

function runLine(r: LifelongRunSnapshot): HTMLElement {
  const last = r.points[r.points.length - 1];
  const status = restored && (r.status === 'running' || r.status === 'queued') ? 'interrupted' : r.status;
  // Running: done / total; after: the edits the run saved (a cancelled run's too), else the last point's.
  const progress = r.status === 'running' && r.total ? `${r.done ?? 0} / ${r.total}` : r.done !== undefined && r.status !== 'loaded' ? `${r.done}` : last ? `${last.edits}` : '0';
  return h('tr', { class: `run run-${r.method}` },
    h('td', {}, label(r.method)),
    h('td', { class: `status-${status}` }, status === 'running' ? h('vscode-progress-ring', { class: 'small' }) : '', status),
    h('td', { class: 'num' }, progress),
    h('td', { class: 'num' }, pct(last?.efficacy)),
    h('td', { class: 'num' }, pct(last?.paraphrase)),
    h('td', { class: 'num' }, pct(last?.specificity)),
    h('td', { class: 'num' }, last ? `${last.seconds.toFixed(1)} s` : '—'),
    h('td', { class: 'muted run-note' }, r.error ? h('span', { class: 'error' }, r.error) : status === 'running' && r.progress ? r.progress : r.message ?? ''),
  );
}

function renderSession(): void {
  const s = session;
  if (!s) {
    statusBox.replaceChildren(h('p', { class: 'muted', id: 'empty' }, 'No run yet: start one above, or open a run folder (mechedit sequential --out DIR writes one).'));
    chartBox.replaceChildren();
    return;
  }
  statusBox.replaceChildren(
    s.folder ? h('p', { class: 'muted', id: 'folder' }, `${s.source === 'folder' ? 'Read from' : 'Run folder'}: `, h('code', {}, s.folder)) : '',
    s.error ? h('p', { class: 'error', role: 'alert' }, s.error) : '',
    s.runs.length
      ? h('table', { class: 'runs' },
        h('tr', {}, ...['method', 'status', 'edits', 'efficacy', 'paraphrase', 'specificity', 'time', ''].map((c) => h('th', {}, c))),
        ...s.runs.map(runLine))
      : '',
  );
  const width = Math.max(320, (root.clientWidth || 900) - 8);
  chartBox.replaceChildren(s.runs.length ? curvesChart(s.runs, width, ctx.methods) : '');
}

function renderAll(): void {
  renderForm();
  renderSession();
  summary();
}

/** Tells the host what is drawn (tests and screenshots rely on it). */
function summary(): void {
  const s = session;
  host.rendered({
    status: !s ? 'empty' : s.error ? 'error' : running() ? 'running' : restored && s.runs.some((r) => r.status === 'running') ? 'interrupted' : 'drawn',
    source: s?.source,
    folder: s?.folder,
    runs: s?.runs.map((r) => ({ method: r.method, status: r.status, points: r.points.length, lastEdits: r.points[r.points.length - 1]?.edits, lastEfficacy: r.points[r.points.length - 1]?.efficacy, done: r.done, progress: r.progress })) ?? [],
    notes: [...document.querySelectorAll('#runs td.run-note')].map((td) => td.textContent ?? ''),
    editsColumn: [...document.querySelectorAll('#runs tr.run td:nth-child(3)')].map((td) => td.textContent ?? ''),
    form: { n: form.n, batch: form.batch, every: form.every, estimate: document.getElementById('estimate')?.textContent ?? '' },
    charts: document.querySelectorAll('#curves svg.curves g.cell').length,
    measures: MEASURES.map((m) => m.key),
    lines: document.querySelectorAll('#curves svg.curves path.line').length,
    dots: document.querySelectorAll('#curves svg.curves circle.pt').length,
    sweep: sweep.summary(),
    sweepLines: document.querySelectorAll('#sweep-curves svg.curves path.line').length,
    cancelEnabled: running(),
    error: error || s?.error || s?.runs.find((r) => r.error)?.error,
  });
}

host.on('session', (snapshot) => {
  const wasRunning = running();
  session = snapshot;
  restored = false;
  // A session started by the command (or this form): the form shows what it runs.
  if (snapshot.start && !snapshot.start.resume && !wasRunning && running()) {
    form = { ...snapshot.start };
    preselect = false;
  }
  save();
  // The form only changes when a session starts or ends (typing in it is not interrupted by points).
  if (wasRunning !== running()) renderForm();
  renderSession();
  summary();
});
host.on('context', (c) => {
  ctx = c;
  if (preselect && c.methods.length) {
    // The first method of each kind (one request per edit, a batch).
    form = { ...form, methods: [...new Set(['fact', 'batch'].map((k) => c.methods.find((m) => m.kind === k)?.id).filter((id): id is string => !!id))] };
    preselect = false;
    save();
  }
  renderAll();
});
window.addEventListener('resize', () => {
  renderSession();
  renderSweepCurves();
});
renderAll();
host.ready();

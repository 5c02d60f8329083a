// The Causal Tracing panel's webview: prompt + subject (+ answer) → ROME's causal tracing in the
// engine → three token × layer heatmaps of P(answer) with one state restored (residual, MLP
// window, attention window), the subject's tokens starred; the recommended edit layer with
// "Use for edits" and "Edit this fact…"; hover and arrow keys show a cell; CSV / JSON export.

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { select } from 'd3-selection';
import { scaleBand } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import type { PatchingTabState, TracingContext, TracingPanel, TracingPanelState, TracingResult, TracingWire } from '../../src/protocol/panels';
import { decodeCausalTrace } from '../../src/protocol/wire';
import { Host, h } from '../shared/host';
import { Job } from '../shared/job';
import { chartFile } from '../shared/export';
import { button, textfield } from '../shared/controls';
import { heatmapDom, showTooltipAt } from '../shared/canvas';
import { markStale, staleNote, staleReason } from '../shared/stale';
import { drawCells, drawCursor, hitTest, moveCursor, paletteColors, type Grid } from '../shared/heatmap';
import { KINDS, effectDomain, effectGrid, legendMarks, tokenLabels, tracingCsv, tracedOn } from './data';
import { DEFAULT_PATCHING, PatchingTab } from './patching';
import { AttentionView } from './attention';
import { decodeAttention, decodePatching } from '../../src/protocol/patching';
import { TRACE_EXAMPLE } from '../../src/protocol/traceExample';
import './style.css';

const host = new Host<TracingPanel, TracingPanelState>();
const root = document.getElementById('root')!;
let state: TracingPanelState = { ...TRACE_EXAMPLE, answer: '', samples: 10, ...host.getState() };
let ctxInfo: TracingContext = {};
let result: TracingResult | undefined;
/** The inputs the shown trace came from (stale when the form differs, shared/stale.ts). */
let drawnFrom: unknown;
let lastSummary: Record<string, unknown> = {};
type TraceParams = TracingPanel['requests']['trace']['params'];
/** The trace request the form asks for. */
const params = (): TraceParams => ({ prompt: state.prompt, subject: state.subject, answer: state.answer.trim() || undefined, samples: state.samples, window: state.window, bare: !!state.bare });
/**
 * What a trace answers, to compare with the form: its request, and the edits it ran with (the
 * result's, or the ones applied now for the form; unknown before the host has said).
 */
const inputsOf = (p: TraceParams, edits: string[] | undefined) => ({ prompt: p.prompt, subject: p.subject, answer: p.answer ?? '', samples: p.samples, window: p.window, bare: !!p.bare, edits });
const inputs = () => inputsOf(params(), state.bare ? [] : ctxInfo.edits?.map((e) => e.id) ?? (result?.edits.map((e) => e.id)));
/** Draws a trace as it came from the host (also the one kept in the state, or sent again after a tab switch). */
function adopt(p: TraceParams, wire: TracingWire): void {
  result = decodeCausalTrace(wire);
  drawnFrom = inputsOf(p, result.edits.map((e) => e.id));
  state = { ...state, last: { result: wire, from: p } };
}
if (state.last) adopt(state.last.from as TraceParams, state.last.result);

const save = () => host.setState({ ...state, patching: patchTab.state, attention: attnView.state });
const job = new Job(() => render(), save);
/** The Patching tab's form as the request it makes. */
const patchParams = (p: PatchingTabState): TracingPanel['requests']['patch']['params'] => ({ clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.metric === 'logit-diff' && p.wrong.trim() ? p.wrong.trim() : undefined, metric: p.metric, nodes: ['resid', 'mlp', 'attn', 'heads'], method: p.method, igSteps: p.igSteps });
const patchTab = new PatchingTab({ ...DEFAULT_PATCHING, ...state.patching }, {
  request: async (p) => decodePatching(await host.request('patch', patchParams(p), 30 * 60_000)),
  useLayer: (layer) => useLayer(layer),
  openHead: (layer, head) => {
    attnView.state = { prompt: patchTab.state.clean, layer, head };
    showTab('attention');
    void attnView.run();
  },
  changed: () => save(),
}, () => render());
const attnView = new AttentionView(state.attention ?? { prompt: DEFAULT_PATCHING.clean, layer: 0, head: 0 }, async (a) => decodeAttention(await host.request('attention', a, 10 * 60_000)), () => render(), () => save());

function showTab(tab: NonNullable<TracingPanelState['tab']>): void {
  state = { ...state, tab };
  save();
  render();
}

/** The tab bar: causal tracing, patching, attention. */
function tabBar(): HTMLElement {
  const tabs = [['trace', 'Causal trace'], ['patching', 'Patching'], ['attention', 'Attention']] as const;
  return h('div', { class: 'tabs', role: 'tablist' }, ...tabs.map(([id, label]) => {
    const b = h('button', { class: `tab${(state.tab ?? 'trace') === id ? ' selected' : ''}`, id: `tab-${id}`, role: 'tab', 'aria-selected': String((state.tab ?? 'trace') === id) }, label);
    b.addEventListener('click', () => showTab(id));
    return b;
  }));
}

function render(): void {
  const tab = state.tab ?? 'trace';
  if (tab === 'trace') return renderTrace();
  const tooltip = h('div', { class: 'tooltip', role: 'tooltip' });
  tooltip.hidden = true;
  const model = ctxInfo.model;
  const width = Math.max(260, Math.floor((root.clientWidth || 900) / 3) - 12);
  const view = tab === 'patching' ? patchTab : attnView;
  root.replaceChildren(
    h('h1', {}, tab === 'patching' ? 'Activation patching' : 'Attention patterns', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers`) : ''),
    tabBar(),
    ...view.view(width, tooltip, !!model),
    tooltip,
  );
  host.rendered({ ...view.summary(), editLayer: ctxInfo.editLayer });
}
const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const pct = (p: number) => `${(100 * p).toFixed(1)} %`;

async function run(): Promise<void> {
  await job.run(async () => {
    if (!state.prompt.trim()) throw new Error('The prompt is empty: type a prompt that ends where the answer starts.');
    if (!state.subject.trim()) throw new Error('The subject is empty: type the words of the prompt whose tokens are corrupted.');
    const asked = params();
    // The score grids arrive as tensors (src/protocol/wire.ts).
    adopt(asked, await host.request('trace', asked, 30 * 60_000));
  });
}

const MARGIN = { top: 8, right: 8, bottom: 64, left: 44 };

function heatmap(r: TracingResult, title: string, g: Grid, domain: [number, number], width: number, tooltip: HTMLElement): HTMLElement {
  const cw = Math.max(120, width - MARGIN.left - MARGIN.right);
  const ch = Math.max(100, Math.min(420, g.layers * 16));
  const { wrap, cells, overlay, dpr } = heatmapDom(cw, ch, MARGIN);
  overlay.tabIndex = 0;
  overlay.setAttribute('role', 'grid');
  overlay.setAttribute('aria-label', `${title}: ${g.layers} layers × ${g.tokens} tokens. Arrow keys move the cursor.`);
  const layout = { width: cells.width, height: cells.height };
  drawCells(cells.getContext('2d')!, g, layout, { domain, palette: 'sequential', missing: css('--vscode-editor-background', '#000') });
  const octx = overlay.getContext('2d')!;
  const accent = css('--vscode-focusBorder', '#007fd4');
  const labels = tokenLabels(r);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart axes').attr('width', cw + MARGIN.left + MARGIN.right).attr('height', ch + MARGIN.top + MARGIN.bottom);
  const x = scaleBand<number>().domain(labels.map((_, i) => i)).range([MARGIN.left, MARGIN.left + cw]);
  const y = scaleBand<number>().domain(Array.from({ length: g.layers }, (_, i) => i)).range([MARGIN.top + ch, MARGIN.top]);
  const yEvery = Math.ceil(g.layers / Math.max(1, Math.floor(ch / 14)));
  svg.append('g').attr('class', 'axis x').attr('transform', `translate(0,${MARGIN.top + ch})`)
    .call(axisBottom(x).tickFormat((i) => labels[i].slice(0, 12)))
    .selectAll('text').attr('transform', 'rotate(-45)').style('text-anchor', 'end').attr('dx', '-0.4em').attr('dy', '0.3em');
  svg.append('g').attr('class', 'axis y').attr('transform', `translate(${MARGIN.left},0)`).call(axisLeft(y).tickValues(y.domain().filter((i) => i % yEvery === 0)));
  svg.append('text').attr('transform', `translate(10,${MARGIN.top + ch / 2}) rotate(-90)`).attr('text-anchor', 'middle').text('layer');
  let cursor = { layer: Math.min(r.recommendedLayer ?? 0, g.layers - 1), token: Math.max(0, r.subject[1] - 1) };
  const show = (cell: { layer: number; token: number }, px: number, py: number) => {
    drawCursor(octx, g, layout, cell, accent);
    tooltip.replaceChildren(
      h('div', {}, h('b', {}, JSON.stringify(r.tokens[cell.token].text)), ` · position ${cell.token} · layer ${cell.layer}`),
      h('div', {}, `P(${JSON.stringify(r.answer.text)}) restored: ${pct(g.values[cell.layer * g.tokens + cell.token])}`),
    );
    showTooltipAt(tooltip, px, py);
  };
  overlay.addEventListener('mousemove', (e) => {
    const b = overlay.getBoundingClientRect();
    const cell = hitTest(g, layout, (e.clientX - b.left) * dpr, (e.clientY - b.top) * dpr);
    if (cell) show(cell, e.pageX, e.pageY);
  });
  overlay.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    drawCursor(octx, g, layout, undefined, accent);
  });
  overlay.addEventListener('keydown', (e) => {
    const next = moveCursor(g, cursor, e.key);
    if (next === cursor) return;
    e.preventDefault();
    cursor = next;
    const b = overlay.getBoundingClientRect();
    show(cursor, b.left + window.scrollX + ((cursor.token + 0.5) * cw) / g.tokens, b.top + window.scrollY + ch - ((cursor.layer + 0.5) * ch) / g.layers);
  });
  wrap.append(svg.node()!, cells, overlay);
  return h('div', { class: 'chart-box' }, h('h3', {}, title), wrap);
}

/** The absolute scale of P(answer), with the corrupted and clean levels marked on it. */
function legend(r: TracingResult, domain: [number, number]): HTMLElement {
  const colors = paletteColors('sequential');
  const bar = h('div', { class: 'legend-bar trace-scale' });
  bar.style.background = `linear-gradient(to right, ${[0, 64, 128, 192, 255].map((i) => colors[i]).join(', ')})`;
  for (const m of legendMarks(r)) {
    const mark = h('div', { class: `legend-mark ${m.id}`, id: `legend-${m.id}`, title: m.label }, h('span', {}, m.label));
    mark.style.left = `${(100 * m.at).toFixed(2)}%`;
    bar.append(mark);
  }
  return h('div', { class: 'legend trace-legend' }, `P(answer) ${pct(domain[0])}`, bar, pct(domain[1]));
}

async function exportAs(format: 'png' | 'svg' | 'csv' | 'json'): Promise<void> {
  if (!result) return;
  if (format === 'png' || format === 'svg') {
    await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('.heatmap')], format, 'causal-trace'), 10 * 60_000);
    return;
  }
  const text = format === 'csv' ? tracingCsv(result) : JSON.stringify({ prompt: state.prompt, subjectText: state.subject, ...result }, null, 2);
  await host.request('save', { format, suggestedName: `causal-trace.${format}`, text }, 10 * 60_000);
}

async function useLayer(layer: number): Promise<void> {
  await host.request('useLayer', { layer });
}

async function editFact(layer: number | undefined): Promise<void> {
  const at = state.prompt.indexOf(state.subject);
  const prompt = at >= 0 ? `${state.prompt.slice(0, at)}{}${state.prompt.slice(at + state.subject.length)}` : `{} ${state.prompt}`;
  await host.request('editFact', { subject: state.subject, prompt, layer }, 30 * 60_000);
}

function renderTrace(): void {
  const tooltip = h('div', { class: 'tooltip', role: 'tooltip' });
  tooltip.hidden = true;
  const model = ctxInfo.model;
  const count = (v: string) => Math.max(1, Math.round(Number(v)) || 1);
  const set = (k: keyof TracingPanelState) => (v: string) => {
    // An empty window is the engine's default by depth.
    state = { ...state, [k]: k === 'window' ? (v.trim() ? count(v) : undefined) : k === 'samples' ? count(v) : v };
    save();
    updateStale();
  };
  const enter = { onEnter: () => void run() };
  const controls = h('div', { class: 'row' },
    textfield('prompt', 'Prompt (ends where the answer starts)', state.prompt, set('prompt'), { wide: true, ...enter }),
    textfield('subject', 'Subject (in the prompt)', state.subject, set('subject'), enter),
    textfield('answer', 'Answer (default: the clean top-1)', state.answer, set('answer'), enter),
    textfield('samples', 'Noise samples', String(state.samples), set('samples'), { className: 'num', ...enter }),
    textfield('window', 'Window (empty: by depth)', state.window === undefined ? '' : String(state.window), set('window'), { className: 'num', ...enter }),
    bareToggle(),
    button('Trace', 'play', () => void run(), 'run', job.busy || !model),
  );
  const body: (Node | string)[] = [];
  let summary: Record<string, unknown> = { status: job.busy ? 'busy' : job.error ? 'error' : result ? 'drawn' : 'empty', error: job.error || undefined };
  if (result) {
    const r = result;
    const domain = effectDomain();
    const width = Math.max(260, Math.floor((root.clientWidth || 900) / 3) - 12);
    const grids = KINDS.map((k) => ({ ...k, grid: effectGrid(r, k.id) }));
    const layer = r.recommendedLayer;
    // Only an informative trace recommends a layer; otherwise the reason takes its place.
    const recommend = layer !== undefined
      ? [
          h('span', {}, 'Recommended edit layer: ', h('b', { id: 'recommended' }, String(layer)), ' (the strongest MLP effect at any subject token)',
            ctxInfo.editLayer !== undefined ? h('span', { class: 'muted' }, ` · edits use layer ${ctxInfo.editLayer}`) : ''),
          button(`Use layer ${layer} for edits`, 'check', () => void useLayer(layer), 'use-layer'),
        ]
      : [h('span', { class: 'warning', id: 'not-informative', role: 'status' }, h('b', {}, 'Not informative: no layer is recommended. '), r.reason ?? '')];
    body.push(
      h('p', { class: 'summary', id: 'summary' },
        'P(', h('b', {}, JSON.stringify(r.answer.text)), `) clean ${pct(r.cleanProb)}, with the subject corrupted ${pct(r.corruptedProb)} (noise σ ${r.noiseStd.toFixed(3)}) · ${r.tokens.length} tokens × ${grids[0].grid.layers} layers · ${r.ms} ms`),
      tracedOnLine(r),
      answerLine(r),
      r.answerGiven
        ? h('p', { class: 'warning', id: 'answer-cut' }, `The answer ${JSON.stringify(r.answerGiven.text)} is ${r.answerGiven.tokens} tokens: only its first token, ${JSON.stringify(r.answer.text)}, is traced.`)
        : '',
      h('div', { class: 'recommend' },
        ...recommend,
        button('Edit this fact…', 'edit', () => void editFact(layer ?? ctxInfo.editLayer), 'edit-fact'),
        button('PNG', 'file-media', () => void exportAs('png'), 'export-png'),
        button('SVG', 'file-media', () => void exportAs('svg'), 'export-svg'),
        button('CSV', 'file-code', () => void exportAs('csv'), 'export-csv'),
        button('JSON', 'file-code', () => void exportAs('json'), 'export-json'),
      ),
      staleNote(),
      legend(r, domain),
      h('div', { class: 'maps' }, ...grids.map((k) => heatmap(r, k.title, k.grid, domain, width, tooltip))),
    );
    summary = {
      ...summary, recommendedLayer: layer, informative: r.informative, reason: r.reason, answerGiven: r.answerGiven, useLayerShown: layer !== undefined, legendMarks: legendMarks(r), domain,
      editLayer: ctxInfo.editLayer, answer: r.answer.text, cleanProb: r.cleanProb, corruptedProb: r.corruptedProb,
      tracedOn: tracedOn(r), bare: r.bare, edits: r.edits.map((e) => e.label), greedy: r.greedy.text, greedyTokens: r.greedy.tokens.map((t) => t.text),
      tokens: r.tokens.map((t) => t.text), subject: r.subject, charts: grids.map((k) => k.title), layers: grids[0].grid.layers,
      cells: grids.reduce((n, k) => n + k.grid.values.length, 0), mlpAtSubjectLast: r.scores.mlp.map((row) => row[r.subject[1] - 1]), mlpAtSubject: r.scores.mlp.map((row) => Math.max(...row.slice(r.subject[0], r.subject[1]))),
    };
  } else if (!job.busy) {
    body.push(h('p', { class: 'muted' }, model ? 'Give a prompt and its subject, then Trace: where is the fact stored?' : 'No model is open: open a checkpoint folder (MechEdit: Open Model Folder…).'));
  }
  root.replaceChildren(
    h('h1', {}, 'Causal tracing', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers`) : ''),
    tabBar(),
    controls,
    job.busy ? h('div', { class: 'row', id: 'progress' }, h('vscode-progress-ring', {}), h('span', { class: 'muted' }, 'Corrupting the subject and restoring one state at a time…')) : '',
    job.error ? h('p', { class: 'error', role: 'alert' }, job.error) : '',
    ...body,
    tooltip,
  );
  lastSummary = summary;
  updateStale();
}

/** "Trace the bare model": the next trace runs without the edits applied now (the stack is not changed). */
function bareToggle(): HTMLElement {
  const box = document.createElement('vscode-checkbox');
  box.id = 'bare';
  const n = ctxInfo.edits?.length ?? 0;
  box.setAttribute('label', n ? `Trace the bare model (without the ${n} edit${n === 1 ? '' : 's'} applied)` : 'Trace the bare model');
  box.title = 'Trace the model without your edits, for this trace only: the edits stay applied.';
  if (state.bare) box.setAttribute('checked', '');
  box.addEventListener('change', () => {
    state = { ...state, bare: (box as unknown as { checked: boolean }).checked };
    save();
    updateStale();
  });
  return box;
}

/** Which model the maps are of: the edited one (its edits by label) or the bare one. */
function tracedOnLine(r: TracingResult): HTMLElement {
  return h('p', { class: r.edits.length ? 'traced-on edited' : 'traced-on', id: 'traced-on' }, h('span', { class: `codicon codicon-${r.edits.length ? 'edit' : 'circle-large-outline'}` }), ' ', tracedOn(r));
}

/** The model's own answer in full, with the token the maps measure marked. */
function answerLine(r: TracingResult): HTMLElement {
  const measured = h('b', { id: 'measured' }, JSON.stringify(r.answer.text));
  const n = r.greedy.tokens.length;
  if (!n) return h('p', { class: 'muted', id: 'answer-full' }, 'The maps measure P(', measured, '), one token.');
  const own = r.answer.id === r.greedy.tokens[0].id;
  return h('p', { id: 'answer-full' },
    'The model answers ', h('b', { class: 'greedy', id: 'greedy' }, JSON.stringify(r.greedy.text)), h('span', { class: 'muted' }, ` (greedy, ${n} token${n === 1 ? '' : 's'})`),
    own ? ' · the maps measure its first token, ' : " · the maps measure the given answer's first token, ", measured,
    own ? '.' : ` (the model's own first token is ${JSON.stringify(r.greedy.tokens[0].text)}).`);
}

/** Marks the drawn maps stale when the form no longer matches them, or the last run failed. */
function updateStale(): void {
  const now = inputs();
  let reason = result && !job.busy ? staleReason(drawnFrom, now, job.error) : undefined;
  const form = (x: unknown) => JSON.stringify({ ...(x as object), edits: undefined });
  if (reason && !job.error && form(drawnFrom) === form(now)) reason = 'The edits applied changed since this trace: these maps are of the model as it was. Trace again (or tick "Trace the bare model").';
  markStale(root, reason);
  host.rendered({ ...lastSummary, stale: reason });
}

host.onRestore('trace', (p, wire) => {
  adopt(p, wire);
  save();
  render();
});
// The Patching tab's grids and the Attention view's patterns, sent again after a tab switch: current
// when the form still asks for them, else shown stale.
host.onRestore('patch', (asked, wire) => {
  patchTab.result = decodePatching(wire);
  patchTab.drawnFrom = JSON.stringify(asked) === JSON.stringify(patchParams(patchTab.state)) ? JSON.stringify(patchTab.state) : 'other inputs';
  render();
});
host.onRestore('attention', (_, wire) => {
  attnView.result = decodeAttention(wire);
  render();
});
host.on('context', (c) => {
  ctxInfo = c;
  render();
});
host.on('runPatch', (r) => {
  patchTab.state = { ...patchTab.state, ...r };
  showTab('patching');
  void patchTab.run();
});
host.on('runAttention', (r) => {
  attnView.state = { ...r };
  showTab('attention');
  void attnView.run();
});
host.on('run', (r) => {
  state = { ...state, tab: 'trace', answer: '', ...r };
  save();
  void run();
});
render();
host.ready();

// The Activations panel's webview: prompt → token × layer heatmap (canvas cells, d3 axes in SVG),
// a metric picker, before / after the edit stack (one, side by side, or the difference), hover
// top-k, a clicked token's per-layer curve, keyboard cursor, export. State persists with setState.

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { select } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import type { ActivationsContext, ActivationsPanel, ActivationsPanelState, ActivationsTrace, ActivationsView } from '../../src/protocol/panels';
import type { TraceResult } from '../../src/protocol/model';
import { Host, h } from '../shared/host';
import { button, dropdown, textfield } from '../shared/controls';
import { METRICS, cellDetails, column, diffDomain, diffGrid, extent, metricGrid, toCsv, type Grid } from './data';
import { heatmapDom, showTooltipAt } from '../shared/canvas';
import { markStale, staleNote, staleReason } from '../shared/stale';
import { chartFile } from '../shared/export';
import { drawCells, drawCursor, drawLabels, hitTest, moveCursor, type Palette } from '../shared/heatmap';
import './style.css';

const host = new Host<ActivationsPanel, ActivationsPanelState>();
const root = document.getElementById('root')!;
let state: ActivationsPanelState = { prompt: 'The capital of France is', target: '', metric: 'lensProb', view: 'after', ...host.getState() };
let ctxInfo: ActivationsContext = { enabledEdits: 0 };
let result: ActivationsTrace | undefined;
let busy = false;
let error = '';
let cursor = { layer: 0, token: 0 };
let runId = 0;
/** The inputs the shown result was traced from (stale when the form differs, shared/stale.ts). */
let drawnFrom: { prompt: string; target: string } | undefined;
let lastSummary: Record<string, unknown> = {};
const inputs = () => ({ prompt: state.prompt, target: state.target });

const save = () => host.setState(state);
const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

const VIEWS: { id: ActivationsView; label: string }[] = [
  { id: 'after', label: 'After the edits' },
  { id: 'before', label: 'Before the edits' },
  { id: 'side', label: 'Before | after' },
  { id: 'diff', label: 'Difference (after − before)' },
];

async function run(): Promise<void> {
  if (!state.prompt.trim()) {
    error = 'The prompt is empty: type the text to trace.';
    render();
    return;
  }
  const id = ++runId;
  const asked = inputs();
  busy = true;
  error = '';
  render();
  try {
    const r = await host.request('trace', { prompt: state.prompt, target: state.target || undefined, top: 5 }, 10 * 60_000);
    if (id !== runId) return;
    result = r;
    drawnFrom = asked;
    const tokens = r.after.tokens.length;
    if (state.token !== undefined && state.token >= tokens) state.token = undefined;
    cursor = { layer: Math.min(cursor.layer, r.after.layers.length - 1), token: Math.min(cursor.token, tokens - 1) };
  } catch (e) {
    if (id === runId) error = (e as Error).message;
  } finally {
    if (id === runId) {
      busy = false;
      save();
      render();
    }
  }
}

function cancel(): void {
  // The engine finishes the trace; the panel stops waiting for it and ignores its answer.
  runId++;
  busy = false;
  error = 'Cancelled.';
  render();
}

interface Chart {
  title: string;
  trace: TraceResult;
  grid: Grid;
  domain: [number, number];
  palette: Palette;
}

function charts(r: ActivationsTrace): Chart[] {
  const m = state.metric;
  const after = metricGrid(r.after, m);
  const before = metricGrid(r.before, m);
  if (state.view === 'diff') {
    const d = diffGrid(after, before);
    const prob = !!METRICS.find((x) => x.id === m)?.prob;
    return [{ title: 'after − before', trace: r.after, grid: d, domain: diffDomain(d, before, prob), palette: 'diverging' }];
  }
  const isProb = METRICS.find((x) => x.id === m)?.prob;
  const both = extent(new Float32Array([...extent(after.values), ...extent(before.values)]));
  const domain: [number, number] = isProb ? [0, 1] : both;
  const one = (title: string, trace: TraceResult, grid: Grid): Chart => ({ title, trace, grid, domain, palette: 'sequential' });
  if (state.view === 'side') return [one('before the edits', r.before, before), one('after the edits', r.after, after)];
  return state.view === 'before' ? [one('before the edits', r.before, before)] : [one('after the edits', r.after, after)];
}

const MARGIN = { top: 8, right: 8, bottom: 56, left: 44 };
let lastDrawMs = 0;
let lastLabels = 0;

/** The heatmap's axes: tokens along x (rotated, thinned to fit), layers along y. */
function heatmapAxes(c: Chart, cw: number, ch: number) {
  const g = c.grid;
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart axes').attr('width', cw + MARGIN.left + MARGIN.right).attr('height', ch + MARGIN.top + MARGIN.bottom);
  const x = scaleBand<number>().domain(c.trace.tokens.map((_, i) => i)).range([MARGIN.left, MARGIN.left + cw]);
  const y = scaleBand<number>().domain(c.trace.layers.map((_, i) => i)).range([MARGIN.top + ch, MARGIN.top]);
  const xEvery = Math.ceil(g.tokens / Math.max(1, Math.floor(cw / 14)));
  const yEvery = Math.ceil(g.layers / Math.max(1, Math.floor(ch / 14)));
  svg.append('g').attr('class', 'axis x').attr('transform', `translate(0,${MARGIN.top + ch})`)
    .call(axisBottom(x).tickValues(x.domain().filter((i) => i % xEvery === 0)).tickFormat((i) => c.trace.tokens[i].text.slice(0, 10)))
    .selectAll('text').attr('transform', 'rotate(-45)').style('text-anchor', 'end').attr('dx', '-0.4em').attr('dy', '0.3em');
  svg.append('g').attr('class', 'axis y').attr('transform', `translate(${MARGIN.left},0)`)
    .call(axisLeft(y).tickValues(y.domain().filter((i) => i % yEvery === 0)));
  svg.append('text').attr('transform', `translate(10,${MARGIN.top + ch / 2}) rotate(-90)`).attr('text-anchor', 'middle').text('layer');
  return svg;
}

function heatmap(c: Chart, width: number, tooltip: HTMLElement): HTMLElement {
  const g = c.grid;
  const cw = Math.max(60, width - MARGIN.left - MARGIN.right);
  const ch = Math.max(120, Math.min(520, g.layers * 14));
  const { wrap, cells, overlay, dpr } = heatmapDom(cw, ch, MARGIN);
  overlay.tabIndex = 0;
  overlay.setAttribute('role', 'grid');
  overlay.setAttribute('aria-label', `${c.title}: ${g.layers} layers × ${g.tokens} tokens. Arrow keys move the cursor, Enter selects the token.`);
  const layout = { width: cells.width, height: cells.height };
  const t0 = performance.now();
  const drawOpts = { domain: c.domain, palette: c.palette, missing: css('--vscode-editor-background', '#000') };
  drawCells(cells.getContext('2d')!, g, layout, drawOpts);
  // The logit lens's top-1 token in each cell, where cells are wide enough to read it.
  lastLabels = drawLabels(cells.getContext('2d')!, g, layout, drawOpts, dpr);
  lastDrawMs = performance.now() - t0;
  const octx = overlay.getContext('2d')!;
  const accent = css('--vscode-focusBorder', '#007fd4');
  const paintCursor = (cell?: { layer: number; token: number }) => drawCursor(octx, g, layout, cell, accent, state.token);
  paintCursor(document.activeElement === overlay ? cursor : undefined);

  const svg = heatmapAxes(c, cw, ch);

  const toCell = (e: MouseEvent) => {
    const r = overlay.getBoundingClientRect();
    return hitTest(g, layout, (e.clientX - r.left) * dpr, (e.clientY - r.top) * dpr);
  };
  const show = (cell: { layer: number; token: number }, px: number, py: number) => {
    const d = cellDetails(c.trace, state.metric, cell.layer, cell.token);
    const v = g.values[cell.layer * g.tokens + cell.token];
    tooltip.replaceChildren(
      h('div', {}, h('b', {}, JSON.stringify(d.token)), ` · position ${cell.token} · layer ${cell.layer}`),
      h('div', {}, `${state.view === 'diff' ? 'Δ ' : ''}${METRICS.find((m) => m.id === state.metric)!.label}: ${fmt(v)}`),
      h('div', { class: 'lens-top1' }, 'Logit lens top-1 here: ', h('b', {}, JSON.stringify(d.topk[0]?.text ?? ''))),
      h('ol', {}, ...d.topk.map((t) => h('li', {}, `${JSON.stringify(t.text)} ${(t.prob * 100).toFixed(1)}%`))),
    );
    showTooltipAt(tooltip, px, py);
  };
  let hovered = '';
  overlay.addEventListener('mousemove', (e) => {
    const cell = toCell(e);
    const key = cell ? `${cell.layer}:${cell.token}` : '';
    if (key === hovered) return;
    hovered = key;
    paintCursor(cell);
    if (cell) show(cell, e.pageX, e.pageY);
    else tooltip.hidden = true;
  });
  overlay.addEventListener('mouseleave', () => {
    hovered = '';
    tooltip.hidden = true;
    paintCursor();
  });
  overlay.addEventListener('click', (e) => {
    const cell = toCell(e);
    if (!cell) return;
    cursor = cell;
    selectToken(cell.token);
  });
  overlay.addEventListener('focus', () => paintCursor(cursor));
  overlay.addEventListener('blur', () => {
    tooltip.hidden = true;
    paintCursor();
  });
  overlay.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      selectToken(cursor.token);
      return;
    }
    const next = moveCursor(g, cursor, e.key);
    if (next === cursor) return;
    e.preventDefault();
    cursor = next;
    paintCursor(cursor);
    const r = overlay.getBoundingClientRect();
    show(cursor, r.left + window.scrollX + ((cursor.token + 0.5) * cw) / g.tokens, r.top + window.scrollY + ch - ((cursor.layer + 0.5) * ch) / g.layers);
  });
  wrap.append(svg.node()!, cells, overlay);
  return h('div', { class: 'chart-box' }, h('h3', {}, c.title), wrap);
}

function selectToken(token: number): void {
  state = { ...state, token };
  save();
  render(true);
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return '—';
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(3) : v.toExponential(2);
}

function legend(c: Chart): HTMLElement {
  const cv = document.createElement('canvas');
  cv.width = 200;
  cv.height = 10;
  cv.className = 'legend-bar';
  const grid: Grid = { layers: 1, tokens: 200, values: Float32Array.from({ length: 200 }, (_, i) => c.domain[0] + ((c.domain[1] - c.domain[0]) * i) / 199) };
  drawCells(cv.getContext('2d')!, grid, { width: 200, height: 10 }, { domain: c.domain, palette: c.palette, missing: '#000' });
  return h('div', { class: 'legend', id: 'legend' }, h('span', {}, fmt(c.domain[0])), cv, h('span', {}, fmt(c.domain[1])));
}

function curves(cs: Chart[], token: number, width: number): HTMLElement {
  const height = 200;
  const m = { top: 10, right: 16, bottom: 30, left: 56 };
  const series = cs.map((c) => ({ name: c.title, values: column(c.grid, token) }));
  const all = series.flatMap((s) => s.values).filter((v) => !Number.isNaN(v));
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('class', 'chart curves').attr('id', 'curves').attr('width', width).attr('height', height).attr('role', 'img')
    .attr('aria-label', `${METRICS.find((x) => x.id === state.metric)!.label} through the layers at token ${token}`);
  const x = scaleLinear().domain([0, Math.max(1, cs[0].grid.layers - 1)]).range([m.left, width - m.right]);
  const lo = Math.min(0, ...all);
  const y = scaleLinear().domain([lo, Math.max(lo + 1e-9, ...all)]).nice().range([height - m.bottom, m.top]);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${height - m.bottom})`).call(axisBottom(x).tickValues(x.ticks(Math.min(10, cs[0].grid.layers)).filter(Number.isInteger)).tickFormat((v) => String(v)));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(5, '.3~g'));
  svg.append('text').attr('x', width - m.right).attr('y', height - 2).attr('text-anchor', 'end').text('layer');
  const path = (vs: number[]) => vs.map((v, i) => (Number.isNaN(v) ? '' : `${i === 0 || Number.isNaN(vs[i - 1]) ? 'M' : 'L'}${x(i)},${y(v)}`)).join('');
  series.forEach((s, i) => {
    svg.append('path').attr('class', `curve c${i}`).attr('d', path(s.values));
    svg.append('g').selectAll('circle').data(s.values).join('circle').attr('class', `dot c${i}`)
      .attr('cx', (_, l) => x(l)).attr('cy', (v) => (Number.isNaN(v) ? -99 : y(v))).attr('r', 2.5)
      .append('title').text((v, l) => `${s.name}, layer ${l}: ${fmt(v)}`);
  });
  const tok = cs[0].trace.tokens[token];
  return h('div', { id: 'token-curves' },
    h('h2', {}, `Token ${token}: ${JSON.stringify(tok.text)} through the layers`),
    h('div', { class: 'keys' }, ...series.map((s, i) => h('span', { class: `key c${i}` }, s.name))),
    svg.node()!);
}

// ---- export ----

async function exportAs(format: 'png' | 'svg' | 'csv' | 'json'): Promise<void> {
  if (!result) return;
  const name = `activations-${state.metric}-${state.view}`;
  try {
    if (format === 'csv') {
      const text = toCsv(result.before, state.metric, 'before') + toCsv(result.after, state.metric, 'after').split('\n').slice(1).join('\n');
      await host.request('save', { format, suggestedName: `${name}.csv`, text }, 10 * 60_000);
    } else if (format === 'json') {
      await host.request('save', { format, suggestedName: `${name}.json`, text: JSON.stringify({ prompt: state.prompt, target: state.target, metric: state.metric, ...result }, null, 1) }, 10 * 60_000);
    } else {
      await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('.heatmap')], format, name), 10 * 60_000);
    }
  } catch (e) {
    error = (e as Error).message;
    render();
  }
}

// ---- render ----

function render(keepScroll = false): void {
  const scroll = window.scrollY;
  const tooltip = h('div', { class: 'tooltip', role: 'tooltip', id: 'tooltip' });
  tooltip.hidden = true;
  const model = ctxInfo.model;
  const controls = h('div', { class: 'row' },
    textfield('prompt', 'Prompt', state.prompt, (v) => { state = { ...state, prompt: v }; save(); updateStale(); }, { wide: true, onEnter: () => void run() }),
    textfield('target', 'Target token (for P(target))', state.target, (v) => { state = { ...state, target: v }; save(); updateStale(); }, { onEnter: () => void run() }),
    busy ? button('Cancel', 'close', cancel, 'cancel') : button('Trace', 'play', () => void run(), 'run', !model),
  );
  const pickers = h('div', { class: 'row' },
    dropdown('metric', 'Metric', METRICS, state.metric, (v) => { state = { ...state, metric: v }; save(); render(); }),
    dropdown('view', 'Edits', VIEWS, state.view, (v) => { state = { ...state, view: v }; save(); render(); }),
    h('div', { class: 'exports' },
      ...(['png', 'svg', 'csv', 'json'] as const).map((f) => button(f.toUpperCase(), f === 'png' || f === 'svg' ? 'file-media' : 'file-code', () => void exportAs(f), `export-${f}`, !result))),
  );
  const body: (Node | string)[] = [];
  let summary: Record<string, unknown> = { status: busy ? 'busy' : error ? 'error' : result ? 'drawn' : 'empty', error: error || undefined };
  if (result) {
    const cs = charts(result);
    const width = Math.max(320, Math.floor((root.clientWidth || 900) / cs.length) - 12);
    const t0 = performance.now();
    const maps = cs.map((c) => heatmap(c, width, tooltip));
    const drawMs = performance.now() - t0;
    const metricInfo = METRICS.find((m) => m.id === state.metric)!;
    const noTarget = state.metric === 'targetProb' && !result.after.target;
    body.push(
      h('p', { class: 'muted', id: 'summary' },
        `${result.after.tokens.length} tokens × ${result.after.layers.length} layers · ${metricInfo.label}` +
        (result.after.target ? ` (target ${JSON.stringify(result.after.target.text)})` : '') +
        ` · ${result.enabledEdits} enabled edit(s) · traced in ${result.ms} ms`),
      noTarget ? h('p', { class: 'error' }, 'Give a target token and trace again to see P(target).') : '',
      result.targetGiven && result.after.target
        ? h('p', { class: 'warning', id: 'target-cut' }, `The target ${JSON.stringify(result.targetGiven.text)} is ${result.targetGiven.tokens} tokens: P(target) is the probability of its first token, ${JSON.stringify(result.after.target.text)}.`)
        : '',
      staleNote(),
      legend(cs[0]),
      h('div', { class: 'maps' }, ...maps),
      state.token !== undefined ? curves(cs, state.token, Math.min(900, (root.clientWidth || 900) - 16)) : h('p', { class: 'muted' }, 'Click a cell (or press Enter on it) to see that token through the layers.'),
    );
    const g = cs[cs.length - 1].grid;
    const [lo, hi] = extent(g.values);
    summary = {
      ...summary,
      metric: state.metric,
      view: state.view,
      charts: cs.map((c) => c.title),
      layers: g.layers,
      tokens: g.tokens,
      cells: cs.reduce((n, c) => n + c.grid.layers * c.grid.tokens, 0),
      min: lo,
      max: hi,
      tokenTexts: result.after.tokens.map((t) => t.text),
      lastLayerTop1: result.after.layers[result.after.layers.length - 1].lens.map((t) => t.text),
      target: result.after.target?.text,
      selectedToken: state.token,
      curve: state.token !== undefined ? column(g, state.token) : undefined,
      drawMs,
      cellsDrawMs: lastDrawMs,
      cellLabels: lastLabels,
      targetGiven: result.targetGiven,
      diffDomain: state.view === 'diff' ? cs[0].domain : undefined,
    };
  } else if (!busy) {
    body.push(h('p', { class: 'muted' }, model ? 'Enter a prompt and press Trace.' : 'No model is open: open a checkpoint folder (MechEdit: Open Model Folder…).'));
  }
  root.replaceChildren(
    h('h1', {}, 'Activations', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers`) : ''),
    controls,
    pickers,
    busy ? h('div', { class: 'row', id: 'progress' }, h('vscode-progress-ring', {}), h('span', { class: 'muted' }, ctxInfo.enabledEdits ? 'Tracing with and without the edits…' : 'Tracing…')) : '',
    error ? h('p', { class: 'error', role: 'alert' }, error) : '',
    ...body,
    tooltip,
  );
  if (keepScroll) window.scrollTo(0, scroll);
  lastSummary = summary;
  updateStale();
}

/** Marks the drawn maps stale when the form no longer matches them, or the last run failed. */
function updateStale(): void {
  const reason = result && !busy ? staleReason(drawnFrom, inputs(), error) : undefined;
  markStale(root, reason);
  host.rendered({ ...lastSummary, stale: reason });
}

host.on('context', (c) => {
  const hadModel = !!ctxInfo.model;
  const editsChanged = c.enabledEdits !== ctxInfo.enabledEdits;
  ctxInfo = c;
  // A revived panel (or a model that just opened) traces its saved prompt; so does a change of the stack.
  if (c.model && !busy && (!hadModel || (editsChanged && result))) void run();
  else render();
});
host.on('run', (r) => {
  state = { ...state, ...r };
  save();
  void run();
});
let resizeTimer = 0;
window.addEventListener('resize', () => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => result && render(true), 100);
});
render();
host.ready();

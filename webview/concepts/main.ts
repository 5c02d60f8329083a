// The Concepts panel's webview: prompts with / without a concept → per-layer AUC bars (click a
// layer), a table (AUC, ‖d‖, lens read, cosine with the stack's edits), the probe prompt's
// projection as a token × layer heatmap, and actions: ablate the selected layer's direction at
// chosen layers, redirect the concept with ROCR or unlearn it by gradient (Unlearn…); CSV / JSON
// export. The charts are marked stale (shared/stale.ts) when the prompt sets or the probe change,
// or the analysis that should replace them fails.

import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { select } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import type { ConceptsPanel, ConceptsPanelState, ConceptsContext } from '../../src/protocol/panels';
import type { ConceptResult } from '../../src/protocol/concepts';
import { decodeConcepts } from '../../src/protocol/wire';
import { encodeVector } from '../../src/protocol/tensor';
import { Host, h } from '../shared/host';
import { Job } from '../shared/job';
import { chartFile } from '../shared/export';
import { button, textfield } from '../shared/controls';
import { drawCells, type Grid } from '../shared/heatmap';
import { markStale, staleNote, staleReason } from '../shared/stale';
import { conceptCsv, lines, projectionGrid } from './data';
import './style.css';

const host = new Host<ConceptsPanel, ConceptsPanelState>();
const root = document.getElementById('root')!;
let state: ConceptsPanelState = {
  positive: 'Veltrazine is colored\nThe container used for Veltrazine is a\nVeltrazine was first made by\nDravokine is colored\nDravokine was first made by',
  negative: 'Brindlecake is colored\nThe container used for Brindlecake is a\nBrindlecake was first made by\nSunmallow is colored\nSunmallow was first made by',
  probe: 'Veltrazine and Brindlecake are stored in a',
  concept: 'Veltrazine',
  ...host.getState(),
};
let ctxInfo: ConceptsContext = { enabledEdits: 0 };
let result: ConceptResult | undefined;
let ablateLayers = '';
let steerPrompt = 'The container used for Brindlecake is a';
let steerAlpha = '1';
let steered: { plain: string; steered: string; layer: number; alpha: number } | undefined;
/** The inputs the shown result was analysed from, and whether the last analysis failed (stale charts). */
let drawnFrom: unknown;
let analyseFailed = false;
let lastSummary: Record<string, unknown> = {};
const inputs = () => ({ positive: lines(state.positive), negative: lines(state.negative), probe: state.probe || undefined });

const save = () => host.setState(state);
const job = new Job(() => render(), save);
const css = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

async function run(): Promise<void> {
  await job.run(async () => {
    const asked = inputs();
    analyseFailed = true;
    // Directions and projections arrive as tensors (src/protocol/wire.ts).
    result = decodeConcepts(await host.request('analyse', asked, 10 * 60_000));
    drawnFrom = asked;
    analyseFailed = false;
    state = { ...state, layer: result.best };
    ablateLayers = String(result.best);
  });
}

function textarea(id: string, label: string, value: string, onChange: (v: string) => void): HTMLElement {
  const t = document.createElement('vscode-textarea');
  t.id = id;
  t.setAttribute('rows', '6');
  (t as unknown as { value: string }).value = value;
  t.addEventListener('change', () => onChange((t as unknown as { value: string }).value));
  return h('div', {}, h('vscode-label', { for: id }, label), t);
}

function aucBars(r: ConceptResult): HTMLElement {
  const m = { top: 8, right: 8, bottom: 28, left: 40 };
  const w = Math.max(300, Math.min(900, (root.clientWidth || 800) - 16));
  const hgt = 160;
  const x = scaleBand<number>().domain(r.layers.map((l) => l.layer)).range([m.left, w - m.right]).padding(0.15);
  const y = scaleLinear().domain([0.5, 1]).range([hgt - m.bottom, m.top]).clamp(true);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg')).attr('class', 'chart auc-bars').attr('width', w).attr('height', hgt).attr('role', 'img').attr('aria-label', 'AUC per layer');
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${hgt - m.bottom})`).call(axisBottom(x).tickValues(x.domain().filter((_, i) => i % Math.ceil(r.layers.length / 24) === 0)));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(5));
  svg.append('g').selectAll('rect').data(r.layers).join('rect')
    .attr('class', (l) => `auc${l.layer === state.layer ? ' selected' : ''}`)
    .attr('x', (l) => x(l.layer)!).attr('width', x.bandwidth()).attr('y', (l) => y(l.auc)).attr('height', (l) => y(0.5) - y(l.auc))
    .on('click', (_e, l) => select_(l.layer))
    .append('title').text((l) => `layer ${l.layer}: AUC ${l.auc.toFixed(3)} on the training prompts, ${l.heldOutAuc.toFixed(3)} held out`);
  return h('div', {}, h('h3', {}, 'Separability (AUC of the projections, positive vs negative prompts) per layer, on the prompts the direction was computed from'), svg.node()!);
}

function select_(layer: number): void {
  state = { ...state, layer };
  save();
  render();
}

function projection(r: ConceptResult, g: Grid): HTMLElement {
  const m = { top: 8, right: 8, bottom: 60, left: 40 };
  const cw = Math.max(200, Math.min(900, (root.clientWidth || 800) - 16) - m.left - m.right);
  const ch = Math.max(80, Math.min(400, g.layers * 16));
  const wrap = h('div', { class: 'heatmap' });
  wrap.style.width = `${cw + m.left + m.right}px`;
  wrap.style.height = `${ch + m.top + m.bottom}px`;
  const cv = document.createElement('canvas');
  cv.className = 'cells';
  cv.width = cw;
  cv.height = ch;
  Object.assign(cv.style, { left: `${m.left}px`, top: `${m.top}px`, width: `${cw}px`, height: `${ch}px` });
  let a = 0;
  for (const v of g.values) if (Number.isFinite(v)) a = Math.max(a, Math.abs(v));
  a ||= 1;
  drawCells(cv.getContext('2d')!, g, { width: cw, height: ch }, { domain: [-a, a], palette: 'diverging', missing: css('--vscode-editor-background', '#000') });
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg')).attr('class', 'chart').attr('width', cw + m.left + m.right).attr('height', ch + m.top + m.bottom);
  const x = scaleBand<number>().domain(r.probe!.tokens.map((_, i) => i)).range([m.left, m.left + cw]);
  const y = scaleBand<number>().domain(r.layers.map((l) => l.layer)).range([m.top + ch, m.top]);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${m.top + ch})`).call(axisBottom(x).tickFormat((i) => r.probe!.tokens[i].text.slice(0, 10)))
    .selectAll('text').attr('transform', 'rotate(-45)').style('text-anchor', 'end').attr('dx', '-0.4em').attr('dy', '0.3em');
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).tickValues(y.domain().filter((_, i) => i % Math.ceil(r.layers.length / 16) === 0)));
  wrap.append(svg.node()!, cv);
  return h('div', {}, h('h3', {}, `Projection of each probe token on each layer's direction (blue −, red +; ±${a.toFixed(2)})`), wrap);
}

async function ablate(r: ConceptResult): Promise<void> {
  const layer = state.layer ?? r.best;
  const layers = ablateLayers.split(/[,\s]+/).filter(Boolean).map(Number).filter((l) => Number.isInteger(l) && l >= 0 && l < r.layers.length);
  if (layers.length === 0) {
    job.error = `Give the layers to ablate at (0…${r.layers.length - 1}).`;
    render();
    return;
  }
  await host.request('ablate', { direction: encodeVector(r.layers[layer].direction), layer, layers }, 10 * 60_000);
}

async function steer(r: ConceptResult): Promise<void> {
  const layer = state.layer ?? r.best;
  const alpha = Number(steerAlpha);
  if (!Number.isFinite(alpha)) return;
  const l = r.layers[layer];
  const out = await host.request('steer', { prompt: steerPrompt, layer, vector: encodeVector(l.direction.map((v) => v * l.norm * alpha)), maxTokens: 12 }, 10 * 60_000);
  steered = { ...out, layer, alpha };
  render();
}

async function exportAs(format: 'png' | 'svg' | 'csv' | 'json'): Promise<void> {
  if (!result) return;
  if (format === 'png' || format === 'svg') {
    await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('svg.chart.auc-bars, .heatmap')], format, 'concept-directions'), 10 * 60_000);
    return;
  }
  await host.request('save', { format, suggestedName: `concept-directions.${format}`, text: format === 'csv' ? conceptCsv(result) : JSON.stringify(result, null, 2) }, 10 * 60_000);
}

function render(): void {
  const model = ctxInfo.model;
  const set = (k: 'positive' | 'negative' | 'probe' | 'concept') => (v: string) => {
    state = { ...state, [k]: v };
    save();
    updateStale();
  };
  const body: (Node | string)[] = [];
  let summary: Record<string, unknown> = { status: job.busy ? 'busy' : job.error ? 'error' : result ? 'drawn' : 'empty', error: job.error || undefined };
  if (result) {
    const r = result;
    const sel = r.layers[state.layer ?? r.best];
    const grid = projectionGrid(r);
    body.push(
      h('p', { class: 'muted', id: 'summary' }, `${r.positive} prompts with the concept, ${r.negative} without · best layer ${r.best} (AUC ${r.layers[r.best].auc.toFixed(3)} on these prompts, ${r.layers[r.best].heldOutAuc.toFixed(3)} held out)`),
      staleNote(),
      h('p', { class: 'muted', id: 'auc-note' }, 'AUC is measured on the same prompts the direction was computed from, so it is optimistic (with few prompts in many dimensions it is 1 even for noise). "Held-out AUC" projects each prompt on the direction computed without it (leave-one-out): trust a layer where that one is high too.'),
      aucBars(r),
      h('table', { class: 'layers' },
        h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'AUC (training)'), h('th', {}, 'AUC (held out)'), h('th', {}, '‖d‖'), h('th', {}, 'read through the unembedding (top tokens)'), h('th', {}, '|cos| with edits here')),
        ...r.layers.map((l) => {
          const tr = h('tr', { class: l.layer === sel.layer ? 'selected' : '', tabindex: '0' },
            h('td', {}, String(l.layer)), h('td', {}, l.auc.toFixed(3)), h('td', {}, l.heldOutAuc.toFixed(3)), h('td', {}, l.norm.toFixed(2)), h('td', {}, l.lens.map((t) => JSON.stringify(t.text)).join(' ')),
            h('td', {}, l.cosEdits.map((c) => `${c.label.slice(0, 30)} ${c.cos.toFixed(2)}`).join('; ') || '—'));
          tr.addEventListener('click', () => select_(l.layer));
          tr.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && select_(l.layer));
          return tr;
        })),
      h('div', { class: 'actions' },
        h('span', {}, `Direction of layer ${sel.layer}:`),
        textfield('ablate-layers', 'Ablate at layers', ablateLayers, (v) => (ablateLayers = v)),
        button('Ablate', 'debug-disconnect', () => void ablate(r), 'ablate'),
        textfield('concept', 'Concept (for ROCR)', state.concept, set('concept')),
        button('Redirect (ROCR)…', 'arrow-swap', () => void host.request('redirect', { concept: state.concept }, 10 * 60_000), 'redirect'),
        button('Unlearn…', 'circle-slash', () => void host.request('unlearn', { concept: state.concept }, 24 * 3600_000), 'unlearn'),
      ),
      h('div', { class: 'actions' },
        textfield('steer-prompt', 'Steer a generation: prompt', steerPrompt, (v) => (steerPrompt = v), { wide: true }),
        textfield('steer-alpha', 'α (× ‖d‖)', steerAlpha, (v) => (steerAlpha = v)),
        button('Steer', 'run', () => void steer(r), 'steer'),
      ),
      steered ? h('p', { id: 'steered' }, h('b', {}, 'plain: '), JSON.stringify(steered.plain), h('br', {}), h('b', {}, `steered (layer ${steered.layer}, α ${steered.alpha}): `), JSON.stringify(steered.steered)) : '',
      grid ? projection(r, grid) : '',
    );
    summary = { ...summary, steered, best: r.best, layer: sel.layer, aucs: r.layers.map((l) => l.auc), heldOutAucs: r.layers.map((l) => l.heldOutAuc), aucNote: true, lensTop: sel.lens.map((t) => t.text), probeTokens: r.probe?.tokens.map((t) => t.text), cosEdits: r.layers.flatMap((l) => l.cosEdits.map((c) => ({ layer: l.layer, ...c }))) };
  } else if (!job.busy) {
    body.push(h('p', { class: 'muted' }, model ? 'A concept is two prompt sets: with it, and without it. Analyse finds its direction at every layer.' : 'No model is open.'));
  }
  root.replaceChildren(
    h('h1', {}, 'Concept directions', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers, ${ctxInfo.enabledEdits} enabled edit(s)`) : ''),
    h('div', { class: 'sets' }, textarea('positive', 'Prompts with the concept (one per line)', state.positive, set('positive')), textarea('negative', 'Prompts without it', state.negative, set('negative'))),
    h('div', { class: 'row' },
      textfield('probe', 'Probe prompt (projected on the directions)', state.probe, set('probe'), { wide: true, onEnter: () => void run() }),
      button('Analyse', 'play', () => void run(), 'analyse', job.busy || !model),
      h('div', { class: 'exports' }, button('PNG', 'file-media', () => void exportAs('png'), 'export-png', !result), button('SVG', 'file-media', () => void exportAs('svg'), 'export-svg', !result), button('CSV', 'file-code', () => void exportAs('csv'), 'export-csv', !result), button('JSON', 'file-code', () => void exportAs('json'), 'export-json', !result))),
    job.busy ? h('div', { class: 'row' }, h('vscode-progress-ring', {})) : '',
    job.error ? h('p', { class: 'error', role: 'alert' }, job.error) : '',
    ...body,
  );
  lastSummary = summary;
  updateStale();
}

/** Marks the charts stale when the prompt sets or the probe no longer match them, or the last analysis failed. */
function updateStale(): void {
  const reason = result && !job.busy ? staleReason(drawnFrom, inputs(), analyseFailed ? job.error : '') : undefined;
  markStale(root, reason);
  host.rendered({ ...lastSummary, stale: reason });
}

host.onRestore('analyse', (asked, wire) => {
  // The last analysis, sent again after a tab switch; the layer picked in it stays picked.
  result = decodeConcepts(wire);
  drawnFrom = asked;
  analyseFailed = false;
  state = { ...state, layer: state.layer ?? result.best };
  ablateLayers ||= String(state.layer);
  render();
});
host.on('context', (c) => {
  ctxInfo = c;
  render();
});
host.on('run', (r) => {
  state = { ...state, ...r };
  save();
  void run();
});
render();
host.ready();

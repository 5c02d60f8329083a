// The Features view's webview: an SAE folder and a prompt → the top features at each token (click
// one); the feature's page: its top activating held-out contexts with highlighted tokens, its
// logit read (W_U d_f, top and bottom tokens), the histogram of its activations, its cosine with
// the edits in the stack; *Ablate feature* makes the rank-one edit file and applies it.

import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { select } from 'd3-selection';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft } from 'd3-axis';
import type { FeaturePage, FeatureTokensResult, FeaturesContext, FeaturesPanel, FeaturesPanelState } from '../../src/protocol/features';
import { Host, h } from '../shared/host';
import { Job } from '../shared/job';
import { button, textfield } from '../shared/controls';
import './style.css';

const host = new Host<FeaturesPanel, FeaturesPanelState>();
const root = document.getElementById('root')!;
let state: FeaturesPanelState = { sae: '', prompt: 'Veltrazine is stored in a', ...host.getState() };
let ctxInfo: FeaturesContext = { enabledEdits: 0 };
let tokens: FeatureTokensResult | undefined;
let page: FeaturePage | undefined;
let ablated: string | undefined;
const save = () => host.setState(state);
const job = new Job(() => render(), save);

/** The concept typed in the view (both prompt sets non-empty), for the page's cosine. */
function concepts(): { name: string; positive: string[]; negative: string[] }[] | undefined {
  const lines = (t?: string) => (t ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const positive = lines(state.conceptPositive);
  const negative = lines(state.conceptNegative);
  return positive.length && negative.length ? [{ name: state.conceptName || 'concept', positive, negative }] : undefined;
}

async function run(): Promise<void> {
  await job.run(async () => {
    page = undefined;
    tokens = await host.request('tokens', { sae: state.sae, prompt: state.prompt, top: 5 }, 5 * 60_000);
    if (state.feature !== undefined) page = await host.request('feature', { sae: state.sae, feature: state.feature, corpus: state.corpus, concepts: concepts() }, 10 * 60_000);
  });
}

async function open(feature: number): Promise<void> {
  state = { ...state, feature };
  save();
  await job.run(async () => {
    page = await host.request('feature', { sae: state.sae, feature, corpus: state.corpus, concepts: concepts() }, 10 * 60_000);
  });
}

/** Opacity of a highlight for an activation, relative to the largest shown. */
function shade(v: number, max: number): string {
  return max > 0 && v > 0 ? String(Math.max(0.15, Math.min(1, v / max))) : '0';
}

function tokenTable(r: FeatureTokensResult): HTMLElement {
  const rows = r.tokens.map((t, i) => h('tr', {},
    h('td', { class: 'tok' }, JSON.stringify(t.token)),
    h('td', {}, ...t.features.map((f) => {
      const b = h('span', { class: `chip${f.feature === state.feature ? ' selected' : ''}`, tabindex: '0', id: `chip-${i}-${f.feature}`, title: `feature ${f.feature}: ${f.activation.toFixed(3)}` }, `${f.feature} · ${f.activation.toFixed(2)}`);
      b.addEventListener('click', () => void open(f.feature));
      b.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && void open(f.feature));
      return b;
    }))));
  return h('table', { class: 'tokens' }, h('tr', {}, h('th', {}, 'token'), h('th', {}, 'top features (id · activation)')), ...rows);
}

function histogram(p: FeaturePage): HTMLElement {
  const m = { top: 8, right: 8, bottom: 28, left: 44 };
  const w = 420;
  const hgt = 150;
  const bins = p.histogram.counts.map((c, i) => ({ i, c }));
  const x = scaleBand<number>().domain(bins.map((b) => b.i)).range([m.left, w - m.right]).padding(0.05);
  const y = scaleLinear().domain([0, Math.max(1, ...p.histogram.counts)]).range([hgt - m.bottom, m.top]);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg')).attr('class', 'chart histogram').attr('width', w).attr('height', hgt).attr('role', 'img').attr('aria-label', 'activation histogram');
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${hgt - m.bottom})`).call(axisBottom(x).tickValues(x.domain().filter((i) => i % 5 === 0)).tickFormat((i) => (p.histogram.edges[i] ?? 0).toFixed(1)));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(4));
  svg.append('g').selectAll('rect').data(bins).join('rect').attr('class', 'bar')
    .attr('x', (b) => x(b.i)!).attr('width', x.bandwidth()).attr('y', (b) => y(b.c)).attr('height', (b) => y(0) - y(b.c));
  return h('div', {}, h('h3', {}, 'Activation histogram (where it fires)'), svg.node()!);
}

function pageView(p: FeaturePage): HTMLElement {
  const contexts = p.contexts.map((c, ci) => h('p', { class: 'context', id: `context-${ci}` }, ...c.tokens.map((t, ti) => {
    const s = h('span', { class: 'ctok', title: c.acts[ti] ? c.acts[ti].toFixed(3) : '' }, t);
    s.style.setProperty('--a', shade(c.acts[ti], p.contexts[0]?.max ?? c.max));
    return s;
  })));
  const list = (xs: { token: string; value: number }[]) => h('ol', {}, ...xs.map((t) => h('li', {}, `${JSON.stringify(t.token)} ${t.value.toFixed(2)}`)));
  return h('div', { class: 'page', id: 'feature-page' },
    h('h2', {}, `Feature ${p.feature}`, h('span', { class: 'muted' }, ` at ${p.hook} · fires on ${(100 * p.frequency).toFixed(2)} % of ${p.scannedTokens} held-out tokens`)),
    h('div', { class: 'actions' }, button('Ablate feature', 'debug-disconnect', () => void ablate(p.feature), 'ablate')),
    ablated ? h('p', { id: 'ablated' }, ablated) : '',
    h('h3', {}, 'Top activating contexts'), ...contexts,
    h('div', { class: 'cols' },
      p.logits ? h('div', {}, h('h3', {}, 'Logit read W_U d_f: top'), list(p.logits.top)) : '',
      p.logits ? h('div', {}, h('h3', {}, 'bottom'), list(p.logits.bottom)) : '',
      histogram(p)),
    h('h3', {}, 'Cosine with the edits in the stack'),
    p.edits.length ? h('ul', { id: 'edit-cos' }, ...p.edits.map((e) => h('li', {}, `${e.label} (layer ${e.layer} ${e.module}): |cos| ${e.cos.toFixed(3)}`))) : h('p', { class: 'muted' }, 'No edits in the stack.'),
    h('h3', {}, 'Cosine with concept directions'),
    p.concepts.length ? h('ul', { id: 'concept-cos' }, ...p.concepts.map((c) => h('li', {}, `${c.name} (layer ${c.layer}): cos ${c.cos.toFixed(3)}`))) : h('p', { class: 'muted' }, 'Type a concept below (prompts with and without it) to compare.'),
  );
}

async function ablate(feature: number): Promise<void> {
  const r = await host.request('ablate', { sae: state.sae, feature }, 10 * 60_000);
  ablated = r.applied ? `Applied: ${r.label}` : 'Not applied.';
  render();
}

async function pick(): Promise<void> {
  const r = await host.request('pick', {}, 10 * 60_000);
  if (r.sae) {
    state = { ...state, sae: r.sae };
    save();
    render();
  }
}

function conceptBox(id: string, label: string, value: string, onChange: (v: string) => void): HTMLElement {
  const t = document.createElement('vscode-textarea');
  t.id = id;
  t.setAttribute('rows', '4');
  (t as unknown as { value: string }).value = value;
  t.addEventListener('change', () => onChange((t as unknown as { value: string }).value));
  return h('div', {}, h('vscode-label', { for: id }, label), t);
}

function render(): void {
  const model = ctxInfo.model;
  const body: (Node | string)[] = [];
  if (tokens) body.push(h('p', { class: 'muted', id: 'summary' }, `${tokens.architecture} SAE at ${tokens.hook}, ${tokens.dSae} features`), tokenTable(tokens));
  if (page) body.push(pageView(page));
  if (!tokens && !job.busy) body.push(h('p', { class: 'muted' }, 'Choose an SAE folder (SAELens format: cfg.json + sae_weights.safetensors, e.g. from `mechedit sae train`) and a prompt.'));
  root.replaceChildren(
    h('h1', {}, 'SAE features', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers, ${ctxInfo.enabledEdits} enabled edit(s)`) : ''),
    h('div', { class: 'row' },
      textfield('sae', 'SAE folder', state.sae, (v) => { state = { ...state, sae: v }; save(); }, { wide: true }),
      button('Browse…', 'folder-opened', () => void pick(), 'pick')),
    h('div', { class: 'row' },
      textfield('prompt', 'Prompt', state.prompt, (v) => { state = { ...state, prompt: v }; save(); }, { wide: true, onEnter: () => void run() }),
      button('Show features', 'play', () => void run(), 'run', job.busy || !model || !state.sae)),
    h('details', {}, h('summary', {}, 'Concept to compare features with'),
      h('div', { class: 'cols' },
        textfield('concept-name', 'Name', state.conceptName ?? '', (v) => { state = { ...state, conceptName: v }; save(); }),
        conceptBox('concept-positive', 'Prompts with it (one per line)', state.conceptPositive ?? '', (v) => { state = { ...state, conceptPositive: v }; save(); }),
        conceptBox('concept-negative', 'Prompts without it', state.conceptNegative ?? '', (v) => { state = { ...state, conceptNegative: v }; save(); }))),
    job.busy ? h('div', { class: 'row' }, h('vscode-progress-ring', {})) : '',
    job.error ? h('p', { class: 'error', role: 'alert' }, job.error) : '',
    ...body,
  );
  host.rendered({
    status: job.busy ? 'busy' : job.error ? 'error' : page ? 'page' : tokens ? 'tokens' : 'empty', error: job.error || undefined,
    hook: tokens?.hook, tokens: tokens?.tokens.map((t) => t.token), topFeatures: tokens?.tokens.map((t) => t.features.map((f) => f.feature)),
    feature: page?.feature, contexts: page?.contexts.length, highlighted: page?.contexts.map((c) => c.acts.filter((a) => a > 0).length), logitTop: page?.logits?.top.map((t) => t.token),
    histogram: page?.histogram.counts, edits: page?.edits, concepts: page?.concepts, ablated,
  });
}

// The last token table and feature page, sent again after a tab switch.
host.onRestore('tokens', (_, r) => {
  tokens = r;
  render();
});
host.onRestore('feature', (_, r) => {
  if (r.feature === state.feature) page = r;
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

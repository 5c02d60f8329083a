// The Edit Result view's webview: one edit before and after (the host's 'load', i.e. the engine's
// edits/compare on the unedited model). Order: the apply policy's reason with Apply Anyway (when
// the edit is not on the stack), the request, P(target) / P(original) and health, the top-k next
// tokens and greedy generations on the edit's prompt, a paraphrase and a neighbour (or why there
// is none), then the layers with their predicted effect and Try layer N. The edit shown is kept
// with setState, so a reload shows it again. What was drawn is reported with host.rendered.

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { ComparedPrompt, EditResultData, EditResultPanel, LayerEffect, NextToken } from '../../src/protocol/editResult';
import { Host, h } from '../shared/host';
import { button } from '../shared/controls';
import './style.css';

interface State {
  file?: string;
  heldBack?: string;
}

const host = new Host<EditResultPanel, State>();
const root = document.getElementById('root')!;
let state: State = host.getState() ?? {};
let data: EditResultData | undefined;
let error = '';
let busy = '';

const pct = (p: number): string => (p < 0 ? `−${pct(-p)}` : p >= 0.995 ? `${(100 * p).toFixed(1)} %` : p >= 0.0001 ? `${(100 * p).toFixed(2)} %` : `${(100 * p).toExponential(1)} %`);
const KIND_TITLE = { prompt: "The edit's prompt", paraphrase: 'A paraphrase', neighbour: 'A neighbour (should keep its answer)' } as const;

async function load(): Promise<void> {
  if (!state.file) return render();
  busy = 'Comparing before and after…';
  error = '';
  render();
  try {
    data = await host.request('load', { file: state.file }, 10 * 60_000);
  } catch (e) {
    error = (e as Error).message;
    data = undefined;
  }
  busy = '';
  render();
}

async function act(label: string, fn: () => Promise<unknown>, reload = false): Promise<void> {
  busy = label;
  error = '';
  render();
  try {
    await fn();
  } catch (e) {
    error = (e as Error).message;
  }
  busy = '';
  if (reload) await load();
  else render();
}

function tokens(list: NextToken[], mark?: string): HTMLElement {
  return h('ol', { class: 'topk' }, ...list.map((t) => h('li', { class: mark && t.text.trim() && mark.startsWith(t.text.trim()) ? 'mark' : '' }, h('code', {}, JSON.stringify(t.text)), ' ', h('span', { class: 'num' }, pct(t.prob)))));
}

function promptBlock(p: ComparedPrompt, target: string): HTMLElement {
  const mark = p.kind === 'neighbour' ? p.expect : target;
  return h('section', { class: 'prompt', 'data-kind': p.kind },
    h('h3', {}, KIND_TITLE[p.kind]),
    h('div', { class: 'muted' }, h('code', {}, p.prompt), ` — from ${p.source}${p.expect ? `; its own answer: ${p.expect}` : ''}`),
    h('div', { class: 'pair' },
      h('div', { class: 'before' }, h('h4', {}, 'Before'), tokens(p.before, mark), h('div', { class: 'gen' }, h('span', { class: 'muted' }, 'greedy: '), h('code', {}, p.prompt), h('b', {}, p.generation.before))),
      h('div', { class: 'after' }, h('h4', {}, 'After'), tokens(p.after, mark), h('div', { class: 'gen' }, h('span', { class: 'muted' }, 'greedy: '), h('code', {}, p.prompt), h('b', {}, p.generation.after))),
    ));
}

function heldBackBlock(d: EditResultData): HTMLElement | string {
  if (d.applied) return h('div', { class: 'banner ok' }, 'This edit is applied (on the edit stack).');
  const c = d.compare;
  if (!d.heldBack) return h('div', { class: 'banner' }, 'This edit is not on the edit stack.', button('Apply', 'check', () => void act('Applying…', () => host.request('apply', { file: c.edit.file }), true), 'apply'));
  const reason = d.heldBack.replace(/^not applied: /, '');
  const head = d.heldBackBy === 'policy' ? 'Not on the edit stack; the apply policy (mechedit.applyPolicy) would hold it back: ' : 'Held back, not applied: ';
  return h('div', { class: 'banner warn', id: 'held-back' }, h('b', {}, head), reason, h('div', { class: 'actions' }, button('Apply Anyway', 'warning', () => void act('Applying…', () => host.request('apply', { file: c.edit.file }), true), 'apply-anyway')));
}

function figures(d: EditResultData): HTMLElement {
  const c = d.compare;
  const rows: HTMLElement[] = [];
  if (c.target) rows.push(h('tr', {}, h('th', {}, `P(${c.target.text}) — the new target`), h('td', { class: 'num' }, pct(c.target.before)), h('td', { class: 'num' }, pct(c.target.after)), h('td', {}, c.target.top1After ? 'top-1 after' : 'not top-1 after')));
  if (c.original) rows.push(h('tr', {}, h('th', {}, `P(${c.original.text}) — the original answer (${c.original.source})`), h('td', { class: 'num' }, pct(c.original.before)), h('td', { class: 'num' }, pct(c.original.after)), h('td', {}, '')));
  else if (c.request) rows.push(h('tr', {}, h('th', {}, 'P(original)'), h('td', { colspan: '3', class: 'muted' }, "the model's data does not know this subject's answer")));
  const hl = c.health;
  const health = hl
    ? h('div', { class: 'health' }, h('b', {}, 'Health: '), hl.targets.map((t) => `layer ${t.layer} ${t.module} ‖ΔW‖/‖W‖ ${t.relNorm.toFixed(3)}${t.keyScore !== undefined ? `, kᵀC⁻¹k/d ${t.keyScore.toFixed(2)}` : ''}`).join('; '), ` · KL on neutral prompts ${hl.klNeutral.toFixed(4)}`,
      hl.warnings.length ? h('ul', { class: 'warnings' }, ...hl.warnings.map((w) => h('li', {}, w))) : h('span', { class: 'ok' }, ' · no warnings'))
    : h('div', { class: 'muted' }, 'The edit file records no health.');
  return h('section', {}, h('table', { class: 'figures' }, h('tr', {}, h('th', {}, ''), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, '')), ...rows), health,
    c.outcome && !c.outcome.succeeded ? h('div', { class: 'error' }, `Did not take: ${c.outcome.reason}`) : '');
}

function layerList(d: EditResultData): HTMLElement | string {
  const l = d.layers;
  if (!l) return '';
  const best = Math.max(...l.effects.map((e) => e.value));
  const current = d.compare.edit.layers;
  const cls = (layer: number) => (current.includes(layer) ? 'current' : '');
  const row = (head: string, cell: (e: LayerEffect) => Node | string) => h('tr', {}, h('th', {}, head), ...l.effects.map((e) => h('td', { class: cls(e.layer) }, cell(e))));
  return h('section', { class: 'layers' }, h('h3', {}, l.source === 'trace' ? 'Layers — predicted effect from a causal trace' : 'Layers — predicted effect from a fast probe (not a trace)'), h('div', { class: 'muted' }, l.how),
    h('table', {},
      row('layer', (e) => `${e.layer}${current.includes(e.layer) ? ' (this edit)' : ''}`),
      row(l.source === 'trace' ? 'effect' : 'P(target)', (e) => h('span', { class: 'num' }, pct(e.value))),
      // Relative to the best layer (a <progress>: the CSP allows no inline styles).
      row('', (e) => h('progress', { value: String(best > 0 ? Math.max(0, e.value) / best : 0), max: '1', title: 'relative to the best layer' })),
      ...(d.canTryLayer ? [row('', tryButton(d))] : [])));
}

/** A layer's "Try layer N" (secondary: the primary action is Apply / Apply Anyway). */
function tryButton(d: EditResultData): (e: LayerEffect) => HTMLElement {
  return (e) => {
    const b = button(`Try layer ${e.layer}`, 'debug-restart', () => void act(`Computing at layer ${e.layer}…`, () => host.request('tryLayer', { file: d.compare.edit.file, layer: e.layer }, 30 * 60_000)), `try-${e.layer}`);
    b.setAttribute('secondary', '');
    return b;
  };
}

function view(d: EditResultData): HTMLElement {
  const c = d.compare;
  const r = c.request;
  const title = h('h2', {}, c.edit.label);
  const req = r
    ? h('div', { class: 'request' }, h('b', {}, 'Request: '), h('code', {}, r.prompt.replace('{}', r.subject)), ' → ', h('b', {}, r.target), ` · subject ${r.subject} · ${c.edit.method}${c.edit.lti ? ' + LTI' : ''}${c.edit.preset ? ` (${c.edit.preset})` : ''} · layer ${c.edit.layers.join(', ')}${r.count > 1 ? ` · ${r.count} facts (the first shown)` : ''}`)
    : h('div', { class: 'request' }, `${c.edit.method} · layer ${c.edit.layers.join(', ')}`);
  const actions = h('div', { class: 'actions' },
    d.applied ? button('Revert', 'discard', () => void act('Reverting…', () => host.request('revert', { id: c.edit.id }), true), 'revert') : '',
    button('Diagnose', 'beaker', () => void act('Starting Diagnose…', () => host.request('diagnose', { file: c.edit.file })), 'diagnose'),
    button('Open File', 'go-to-file', () => void act('', () => host.request('openFile', { file: c.edit.file })), 'open-file'));
  actions.querySelectorAll('vscode-button').forEach((b, i) => i > 0 && b.setAttribute('secondary', ''));
  const missing = c.missing.map((m) => h('div', { class: 'missing muted' }, `No ${m.kind}: ${m.why}.`));
  return h('div', {}, heldBackBlock(d), title, req, actions, figures(d), layerList(d),
    h('div', { class: 'muted note' }, `Before: the model without any edit. After: the model with this edit alone (your edit stack is not used or changed). Compared in ${(c.ms / 1000).toFixed(1)} s.`),
    ...c.prompts.map((p) => promptBlock(p, r?.target ?? '')), ...missing);
}

function render(): void {
  root.replaceChildren(
    busy ? h('div', { class: 'status' }, h('vscode-progress-ring', {}), h('span', {}, busy)) : '',
    error ? h('div', { class: 'error', id: 'error' }, error) : '',
    data ? view(data) : !state.file ? h('div', { class: 'muted' }, 'No edit shown. Use "Show Result" on an edit in the Edits view, or edit a fact.') : '',
  );
  summarize();
}

function summarize(): void {
  const d = data;
  host.rendered({
    status: busy ? 'busy' : error ? 'error' : d ? 'drawn' : 'empty',
    error: error || undefined,
    file: state.file,
    id: d?.compare.edit.id,
    applied: d?.applied,
    heldBack: d?.heldBack,
    heldBackBy: d?.heldBackBy,
    prompts: d?.compare.prompts.map((p) => ({ kind: p.kind, prompt: p.prompt, source: p.source, before: p.before.map((t) => t.text), after: p.after.map((t) => t.text), beforeProbs: p.before.map((t) => t.prob), afterProbs: p.after.map((t) => t.prob), generationBefore: p.generation.before, generationAfter: p.generation.after })),
    missing: d?.compare.missing.map((m) => m.kind),
    target: d?.compare.target,
    original: d?.compare.original,
    warnings: d?.compare.health?.warnings,
    layersSource: d?.layers?.source,
    layerEffects: d?.layers?.effects.map((e) => e.value),
    canTryLayer: d?.canTryLayer,
    blocks: root.querySelectorAll('section.prompt').length,
  });
}

host.on('show', (p) => {
  state = { file: p.file, heldBack: p.heldBack };
  host.setState(state);
  data = undefined;
  void load();
});
host.on('applied', (p) => {
  if (!data || data.applied === p.applied) return;
  data.applied = p.applied;
  if (p.applied) data.heldBack = undefined;
  state.heldBack = undefined;
  host.setState(state);
  render();
});
host.ready();
if (state.file) void load();
else render();

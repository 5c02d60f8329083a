// The Causal Tracing panel's Attention view: the attention pattern of a selected head (or the mean
// over the layer's heads) for a prompt, queries on the y axis (first at the top) and keys on the x
// axis, both labelled with the prompt's tokens (the engine's model/attention).

import type { AttentionResult } from '../../src/protocol/patching';
import { h } from '../shared/host';
import { button, textfield } from '../shared/controls';
import { gridChart } from './gridChart';

export interface AttentionState {
  prompt: string;
  layer: number;
  head: number;
}

export class AttentionView {
  result: AttentionResult | undefined;
  busy = false;
  error = '';

  constructor(public state: AttentionState, private readonly request: (s: AttentionState) => Promise<AttentionResult>, private readonly render: () => void, private readonly changed: () => void) {}

  async run(): Promise<void> {
    this.busy = true;
    this.error = '';
    this.render();
    try {
      this.result = await this.request({ ...this.state });
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private set(k: keyof AttentionState, v: string): void {
    this.state = { ...this.state, [k]: k === 'prompt' ? v : Math.max(0, Math.round(Number(v)) || 0) };
    this.changed();
  }

  view(width: number, tooltip: HTMLElement, modelOpen: boolean): (Node | string)[] {
    const enter = { onEnter: () => void this.run() };
    const out: (Node | string)[] = [h('div', { class: 'row' },
      textfield('attn-prompt', 'Prompt', this.state.prompt, (v) => this.set('prompt', v), { wide: true, ...enter }),
      textfield('attn-layer', 'Layer', String(this.state.layer), (v) => this.set('layer', v), { className: 'num', ...enter }),
      textfield('attn-head', 'Head', String(this.state.head), (v) => this.set('head', v), { className: 'num', ...enter }),
      button('Show', 'eye', () => void this.run(), 'attn-run', this.busy || !modelOpen),
    )];
    if (this.error) out.push(h('p', { class: 'error', role: 'alert' }, this.error));
    const r = this.result;
    if (!r) {
      if (!this.busy) out.push(h('p', { class: 'muted' }, 'Pick a layer and a head (click a head in the Patching tab\'s heads grid), then Show.'));
      return out;
    }
    const tokens = r.tokens.map((t) => t.text);
    const side = Math.min(width, 80 + tokens.length * 40);
    const chart = (title: string, m: number[][], id: string) => gridChart({
      title, rows: tokens, columns: tokens, values: m, domain: [0, 1], palette: 'sequential', yTitle: 'query', topDown: true, id,
      tooltip: (q, k) => [`query ${q} ${JSON.stringify(tokens[q])} → key ${k} ${JSON.stringify(tokens[k])}`, `attention ${(m[q][k] * 100).toFixed(1)} %`],
    }, side, tooltip);
    out.push(h('p', { class: 'summary', id: 'attn-summary' }, `layer ${r.layer}, head ${r.heads.join(', ')} · ${tokens.length} tokens · rows: queries, columns: keys`));
    out.push(h('div', { class: 'maps' }, chart(`layer ${r.layer} head ${r.heads[0]}`, r.patterns[0], 'attn-head'), chart(`layer ${r.layer}, mean over heads`, r.mean, 'attn-mean')));
    return out;
  }

  summary(): Record<string, unknown> {
    const r = this.result;
    return { tab: 'attention', status: this.busy ? 'busy' : this.error ? 'error' : r ? 'drawn' : 'empty', error: this.error || undefined, ...(r ? { layer: r.layer, heads: r.heads, tokens: r.tokens.map((t) => t.text), pattern: r.patterns[0] } : {}) };
  }
}

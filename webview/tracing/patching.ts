// The Causal Tracing panel's Patching tab: a prompt pair (clean, corrupted of the same token
// length), the answer and a wrong answer → exact activation patching or attribution patching (AtP,
// AtP-IG) in the engine (model/patch) → four grids of the normalised effect (patched − corrupted) /
// (clean − corrupted): resid_post, mlp_out, attn_out (layers × tokens) and the heads (layer.head ×
// tokens). A heads cell opens the Attention view on that head; "Use layer N for edits" takes the
// layer of the strongest MLP effect, as the trace tab does.

import type { PatchingTabState } from '../../src/protocol/panels';
import type { PatchingResult, PatchMethod, PatchMetric } from '../../src/protocol/patching';
import { h } from '../shared/host';
import { button, dropdown, textfield } from '../shared/controls';
import { paletteColors } from '../shared/heatmap';
import { gridChart } from './gridChart';

export const DEFAULT_PATCHING: PatchingTabState = {
  clean: 'Baekpen Jaekdixjol was born in',
  corrupt: 'Baequa Kaekmyth was born in',
  answer: 'Grikport',
  wrong: 'Kurhiassa',
  metric: 'logit-diff',
  method: 'exact',
  igSteps: 16,
};

const TITLES: Record<string, string> = { resid: 'residual stream (resid_post)', mlp: 'MLP outputs (mlp_out)', attn: 'attention outputs (attn_out)', heads: 'attention heads (z_h · W_O)' };

/** The layer of the largest normalised MLP effect at any token (undefined without an MLP grid). */
export function strongestMlpLayer(r: PatchingResult): number | undefined {
  const mlp = r.grids.find((g) => g.kind === 'mlp');
  if (!mlp) return undefined;
  let best: number | undefined;
  let value = -Infinity;
  mlp.normalized.forEach((row, l) => row.forEach((v) => {
    if (v !== null && v > value) [best, value] = [l, v];
  }));
  return best;
}

/** The diverging scale of the normalised effect: −1 … 0 (no effect) … 1 (the clean metric restored). */
function legend(): HTMLElement {
  const colors = paletteColors('diverging');
  const bar = h('div', { class: 'legend-bar' });
  bar.style.background = `linear-gradient(to right, ${[0, 64, 128, 192, 255].map((i) => colors[i]).join(', ')})`;
  return h('div', { class: 'legend', id: 'patch-legend' }, '−1', bar, '+1 (normalised effect: 0 = none, 1 = the clean metric restored)');
}

export interface PatchingHost {
  request(params: PatchingTabState): Promise<PatchingResult>;
  useLayer(layer: number): Promise<void>;
  openHead(layer: number, head: number): void;
  changed(): void;
}

export class PatchingTab {
  result: PatchingResult | undefined;
  busy = false;
  error = '';
  drawnFrom: string | undefined;

  constructor(public state: PatchingTabState, private readonly host: PatchingHost, private readonly render: () => void) {}

  async run(): Promise<void> {
    this.busy = true;
    this.error = '';
    this.render();
    try {
      const asked = { ...this.state };
      this.result = await this.host.request(asked);
      this.drawnFrom = JSON.stringify(asked);
    } catch (e) {
      this.error = (e as { data?: { code?: string } }).data?.code === 'cancelled' ? 'Cancelled.' : (e as Error).message;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private set<K extends keyof PatchingTabState>(k: K, v: PatchingTabState[K]): void {
    this.state = { ...this.state, [k]: v };
    this.host.changed();
  }

  view(width: number, tooltip: HTMLElement, modelOpen: boolean): (Node | string)[] {
    const enter = { onEnter: () => void this.run() };
    const form = h('div', { class: 'row' },
      textfield('patch-clean', 'Clean prompt', this.state.clean, (v) => this.set('clean', v), { wide: true, ...enter }),
      textfield('patch-corrupt', 'Corrupted prompt (same token length)', this.state.corrupt, (v) => this.set('corrupt', v), { wide: true, ...enter }),
    );
    const form2 = h('div', { class: 'row' },
      textfield('patch-answer', 'Answer', this.state.answer, (v) => this.set('answer', v), enter),
      textfield('patch-wrong', 'Wrong answer (logit-diff)', this.state.wrong, (v) => this.set('wrong', v), enter),
      dropdown<PatchMetric>('patch-metric', 'Metric', [{ id: 'logit-diff', label: 'logit difference' }, { id: 'prob', label: 'P(answer)' }], this.state.metric, (v) => this.set('metric', v)),
      dropdown<PatchMethod>('patch-method', 'Method', [{ id: 'exact', label: 'exact patching' }, { id: 'atp', label: 'attribution (AtP)' }, { id: 'atp-ig', label: 'attribution (AtP-IG)' }], this.state.method, (v) => this.set('method', v)),
      textfield('patch-ig', 'IG steps', String(this.state.igSteps), (v) => this.set('igSteps', Math.max(1, Math.round(Number(v)) || 1)), { className: 'num', ...enter }),
      button('Patch', 'play', () => void this.run(), 'patch-run', this.busy || !modelOpen),
    );
    const out: (Node | string)[] = [form, form2];
    if (this.busy) out.push(h('div', { class: 'row', id: 'patch-progress' }, h('vscode-progress-ring', {}), h('span', { class: 'muted' }, 'Patching…')));
    if (this.error) out.push(h('p', { class: 'error', role: 'alert' }, this.error));
    const r = this.result;
    if (!r) {
      if (!this.busy) out.push(h('p', { class: 'muted' }, modelOpen ? 'Give a clean and a corrupted prompt of the same token length, the answer and a wrong answer, then Patch: which nodes carry the answer?' : 'No model is open.'));
      return out;
    }
    if (this.drawnFrom !== JSON.stringify(this.state)) out.push(h('p', { class: 'warning', id: 'patch-stale' }, 'The inputs changed: these grids are for the previous inputs. Patch again to update them.'));
    const what = r.method === 'exact' ? 'exact activation patching' : r.method === 'atp' ? 'attribution patching (AtP, estimated)' : `attribution patching (AtP-IG, ${r.igSteps} steps, estimated)`;
    const metric = r.metric === 'prob' ? `P(${JSON.stringify(r.answer.text)})` : `logit(${JSON.stringify(r.answer.text)}) − logit(${JSON.stringify(r.wrong?.text)})`;
    out.push(h('p', { class: 'summary', id: 'patch-summary' }, `${what}: ${metric} clean ${r.clean.toFixed(3)}, corrupted ${r.corrupt.toFixed(3)} · values (patched − corrupted) / (clean − corrupted) · ${r.ms.toFixed(0)} ms`));
    const layer = strongestMlpLayer(r);
    if (layer !== undefined) out.push(h('div', { class: 'recommend' }, h('span', {}, 'Strongest MLP effect at layer ', h('b', { id: 'patch-layer' }, String(layer))), button(`Use layer ${layer} for edits`, 'check', () => void this.host.useLayer(layer), 'patch-use-layer')));
    const tokens = r.tokens.map((t) => t.text);
    const charts = r.grids.map((g) => gridChart({
      title: TITLES[g.kind], rows: g.rows, columns: tokens, values: g.normalized, domain: [-1, 1], palette: 'diverging',
      yTitle: g.kind === 'heads' ? 'layer.head' : 'layer', id: `patch-grid-${g.kind}`,
      tooltip: (row, t) => [`${g.rows[row]} · ${JSON.stringify(tokens[t])} (corrupted ${JSON.stringify(r.corruptTokens[t].text)})`, `normalised ${g.normalized[row][t]?.toFixed(3) ?? '—'} · metric ${g.raw[row][t].toFixed(3)}`],
      onClick: g.kind === 'heads' ? (row) => {
        const m = /^L(\d+)\.H(\d+)$/.exec(g.rows[row]);
        if (m) this.host.openHead(Number(m[1]), Number(m[2]));
      } : undefined,
    }, g.kind === 'heads' ? width * 2 : width, tooltip));
    out.push(legend(), h('div', { class: 'maps' }, ...charts));
    return out;
  }

  summary(): Record<string, unknown> {
    const r = this.result;
    return {
      tab: 'patching', status: this.busy ? 'busy' : this.error ? 'error' : r ? 'drawn' : 'empty', error: this.error || undefined,
      ...(r ? { method: r.method, clean: r.clean, corrupt: r.corrupt, kinds: r.grids.map((g) => g.kind), rows: r.grids.map((g) => g.rows.length), tokens: r.tokens.map((t) => t.text), strongestMlpLayer: strongestMlpLayer(r), normalized: Object.fromEntries(r.grids.map((g) => [g.kind, g.normalized])) } : {}),
    };
  }
}

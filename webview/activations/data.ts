// Pure data of the Activations panel: a metric of a trace as a layer × token grid, the
// difference of two grids, hover details and CSV. No DOM, so the unit tests import it in Node.

import type { TraceResult } from '../../src/protocol/model';
import type { ActivationsMetric } from '../../src/protocol/panels';

import type { Grid } from '../shared/heatmap';

export type { Grid };

export const METRICS: { id: ActivationsMetric; label: string; prob: boolean }[] = [
  { id: 'lensProb', label: 'Logit lens: top-1 probability', prob: true },
  { id: 'targetProb', label: 'Logit lens: P(target)', prob: true },
  { id: 'residNorm', label: 'Residual norm', prob: false },
  { id: 'mlpNorm', label: 'MLP output norm', prob: false },
  { id: 'attnNorm', label: 'Attention output norm', prob: false },
];

export function metricGrid(t: TraceResult, metric: ActivationsMetric): Grid {
  const layers = t.layers.length;
  const tokens = t.tokens.length;
  const values = new Float32Array(layers * tokens).fill(NaN);
  const labels = metric === 'lensProb' ? new Array<string>(layers * tokens) : undefined;
  t.layers.forEach((L, l) => {
    const row =
      metric === 'lensProb' ? L.lens.map((x) => x.prob)
      : metric === 'targetProb' ? L.targetProb
      : metric === 'residNorm' ? L.residNorm
      : metric === 'mlpNorm' ? L.mlpNorm
      : L.attnNorm;
    if (!row) return;
    for (let p = 0; p < tokens; p++) values[l * tokens + p] = row[p];
    if (labels) for (let p = 0; p < tokens; p++) labels[l * tokens + p] = L.lens[p].text;
  });
  return { layers, tokens, values, labels };
}

/** after − before, cell by cell (the grids must have the same shape). */
export function diffGrid(after: Grid, before: Grid): Grid {
  if (after.layers !== before.layers || after.tokens !== before.tokens) throw new Error('The two traces have different shapes');
  const values = new Float32Array(after.values.length);
  for (let i = 0; i < values.length; i++) values[i] = after.values[i] - before.values[i];
  return { layers: after.layers, tokens: after.tokens, values };
}

/**
 * The symmetric colour domain of a difference grid: ±max |Δ|, but never narrower than ±floor, so
 * differences that are numerical noise (±1e-9 when the edits do nothing) stay near white instead
 * of being stretched to full colour. floor: 0.01 (one point) for probabilities, else 1e-3 of the
 * largest magnitude of the reference grid (the 'before' values).
 */
export function diffDomain(diff: Grid, reference: Grid, prob: boolean): [number, number] {
  const [lo, hi] = extent(diff.values);
  const [rlo, rhi] = extent(reference.values);
  const floor = prob ? 0.01 : Math.max(1e-6, 1e-3 * Math.max(Math.abs(rlo), Math.abs(rhi)));
  const a = Math.max(Math.abs(lo), Math.abs(hi), floor);
  return [-a, a];
}

export function extent(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** The metric through the layers at one token (a column). */
export function column(g: Grid, token: number): number[] {
  return Array.from({ length: g.layers }, (_, l) => g.values[l * g.tokens + token]);
}

/** What the tooltip says about a cell: the value and the lens top-k there. */
export function cellDetails(t: TraceResult, metric: ActivationsMetric, layer: number, token: number): { token: string; layer: number; value: number; topk: { text: string; prob: number }[] } {
  const g = metricGrid({ tokens: t.tokens, layers: [t.layers[layer]] }, metric);
  return { token: t.tokens[token].text, layer, value: g.values[token], topk: t.layers[layer].topk[token].map((x) => ({ text: x.text, prob: x.prob })) };
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per cell: layer, position, token, the value, and the lens top-1 (for lens metrics). */
export function toCsv(t: TraceResult, metric: ActivationsMetric, which: string): string {
  const g = metricGrid(t, metric);
  const rows = ['trace,layer,position,token,metric,value,lens_top1,lens_top1_prob'];
  for (let l = 0; l < g.layers; l++) {
    for (let p = 0; p < g.tokens; p++) {
      const lens = t.layers[l].lens[p];
      rows.push([which, l, p, csvField(t.tokens[p].text), metric, g.values[l * g.tokens + p], csvField(lens.text), lens.prob].join(','));
    }
  }
  return rows.join('\n') + '\n';
}

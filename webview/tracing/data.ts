// Pure data of the Causal Tracing panel: a kind of restoration as a layer × token grid, token
// labels with the subject marked, and CSV. No DOM, so the unit tests import it in Node.

import type { CausalTraceResult } from '../../src/protocol/model';
import type { Grid } from '../shared/heatmap';

export type EffectKind = 'resid' | 'mlp' | 'attn';

export const KINDS: { id: EffectKind; title: string }[] = [
  { id: 'resid', title: 'residual state restored (single layer)' },
  { id: 'mlp', title: 'MLP outputs restored (window of layers)' },
  { id: 'attn', title: 'attention outputs restored (window of layers)' },
];

/** P(answer) with the state at (layer, token) restored: values[layer · tokens + token]. */
export function effectGrid(r: CausalTraceResult, kind: EffectKind): Grid {
  const rows = r.scores[kind];
  const tokens = r.tokens.length;
  const values = new Float32Array(rows.length * tokens);
  rows.forEach((row, l) => row.forEach((v, t) => (values[l * tokens + t] = v)));
  return { layers: rows.length, tokens, values };
}

/** Token labels, the subject's tokens starred (as in ROME's figures). */
export function tokenLabels(r: CausalTraceResult): string[] {
  return r.tokens.map((t, i) => (i >= r.subject[0] && i < r.subject[1] ? `${t.text}*` : t.text));
}

/** The colour domain shared by the three maps: from the corrupted run's P(answer) to the largest restored one. */
export function effectDomain(r: CausalTraceResult): [number, number] {
  let hi = r.corruptedProb;
  for (const k of KINDS) for (const row of r.scores[k.id]) for (const v of row) if (v > hi) hi = v;
  return [Math.min(r.corruptedProb, hi), hi > r.corruptedProb ? hi : r.corruptedProb + 1e-6];
}

/** One row per (kind, layer, token): kind,layer,position,token,subject,p_answer. */
export function tracingCsv(r: CausalTraceResult): string {
  const lines = ['kind,layer,position,token,subject,p_answer'];
  for (const k of KINDS) {
    r.scores[k.id].forEach((row, l) => row.forEach((v, t) => {
      const inSubject = t >= r.subject[0] && t < r.subject[1];
      lines.push(`${k.id},${l},${t},${JSON.stringify(r.tokens[t].text)},${inSubject ? 1 : 0},${v}`);
    }));
  }
  return `${lines.join('\n')}\n`;
}
